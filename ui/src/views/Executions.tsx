// Execution search: by lead id, email or phone (or an execution id), else the newest executions of every workflow.
import { useState, type FormEvent } from 'react';
import { api, qs } from '../api';
import { LoadError, Loading } from '../components/common';
import { useLoad } from '../hooks';
import { navigate } from '../router';
import type { Execution, Principal } from '../types';
import { ExecutionTable } from './Workflow';

/** What a search box text means: an execution id, an email, a phone number or a lead id. */
export function classify(text: string): { kind: 'execution' | 'email' | 'phone' | 'leadId'; value: string } {
  const value = text.trim();
  if (/^x_[A-Za-z0-9_-]+$/.test(value)) return { kind: 'execution', value };
  if (value.includes('@')) return { kind: 'email', value };
  if (/^\+?[0-9 ()-]{6,20}$/.test(value)) return { kind: 'phone', value };
  return { kind: 'leadId', value };
}

export function ExecutionsView({ principal, query }: { principal: Principal; query: URLSearchParams }) {
  const q = query.get('q') ?? '';
  const status = query.get('status') ?? '';
  const [text, setText] = useState(q);
  const results = useLoad(
    async () => {
      const found = q ? classify(q) : undefined;
      const params: Record<string, string | undefined> = { status: status || undefined, limit: '50' };
      if (found && found.kind !== 'execution') params[found.kind] = found.value;
      return api<{ executions: Execution[] }>(`/v1/executions${qs(params)}`);
    },
    [q, status, principal],
    q ? false : 3000,
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = classify(text);
    if (found.kind === 'execution' && found.value) return navigate(`/executions/${found.value}`);
    navigate(`/executions${qs({ q: text.trim(), status })}`);
  };
  return (
    <section>
      <h1>Executions</h1>
      <form className="toolbar" onSubmit={submit}>
        <input
          type="search"
          placeholder="Lead id, email, phone or execution id"
          value={text}
          onChange={(event) => setText(event.target.value)}
          data-testid="search-input"
          className="wide"
        />
        <select
          value={status}
          onChange={(event) => navigate(`/executions${qs({ q, status: event.target.value })}`)}
          aria-label="Status"
        >
          <option value="">any status</option>
          {['running', 'waiting', 'completed', 'failed', 'cancelled', 'exited'].map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      {q && <p className="muted">Executions of the lead matching “{q}”</p>}
      {results.error && <LoadError error={results.error} what="executions" />}
      {!results.data && !results.error && <Loading />}
      {results.data && results.data.executions.length === 0 && (
        <p className="muted" data-testid="no-results">
          No executions found{q ? ` for “${q}”` : ''}.
        </p>
      )}
      {results.data && results.data.executions.length > 0 && (
        <ExecutionTable executions={results.data.executions} />
      )}
    </section>
  );
}
