// The dead-letter browser: filter by queue, workflow and error code; inspect an entry; retry or discard one or many.
import { useMemo, useState } from 'react';
import { api, qs } from '../api';
import {
  ConfirmDialog,
  Json,
  LoadError,
  Loading,
  formatTime,
  type ConfirmRequest,
} from '../components/common';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { DeadLetterEntry, Principal, WorkflowSummary } from '../types';

interface BulkResult {
  results: { id: string; ok: boolean; error?: { message: string } }[];
}

export function DeadLetterView({ principal }: { principal: Principal }) {
  const [queue, setQueue] = useState('');
  const [workflowId, setWorkflowId] = useState('');
  const [code, setCode] = useState('');
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [inspected, setInspected] = useState<string>();
  const [confirm, setConfirm] = useState<ConfirmRequest>();
  const [notice, setNotice] = useState<string>();

  const entries = useLoad(
    () =>
      api<{ entries: DeadLetterEntry[] }>(
        `/v1/dead-letter${qs({ queue, workflowId, code: code.trim(), limit: 500 })}`,
      ),
    [queue, workflowId, code, principal],
    3000,
  );
  const workflows = useLoad(
    async () =>
      principal.kind === 'org'
        ? (await api<{ workflows: WorkflowSummary[] }>('/v1/workflows')).workflows
        : [],
    [principal],
  );
  const names = useMemo(() => new Map((workflows.data ?? []).map((w) => [w.id, w.name])), [workflows.data]);
  const list = entries.data?.entries ?? [];
  const queues = useMemo(
    () => [...new Set(['actions', 'triggers', 'wait', ...list.map((e) => e.queue)])],
    [list],
  );
  const selected = list.filter((entry) => checked.has(entry.id));
  const inspectedEntry = list.find((entry) => entry.id === inspected);

  const toggle = (id: string) =>
    setChecked((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const bulk = (action: 'retry' | 'discard', targets: DeadLetterEntry[]) =>
    setConfirm({
      title: `${action === 'retry' ? 'Retry' : 'Discard'} ${targets.length} entr${targets.length === 1 ? 'y' : 'ies'}?`,
      body:
        action === 'retry' ? (
          <p>Each job goes back to its queue with fresh attempts; its execution continues.</p>
        ) : (
          <p>The entries are deleted; their executions stay failed. This cannot be undone.</p>
        ),
      confirmLabel: action === 'retry' ? 'Retry' : 'Discard',
      danger: action === 'discard',
      run: async () => {
        const result = await api<BulkResult>('/v1/dead-letter/bulk', {
          method: 'POST',
          body: { action, ids: targets.map((entry) => entry.id) },
        });
        const failed = result.results.filter((r) => !r.ok);
        setNotice(
          `${action === 'retry' ? 'Retried' : 'Discarded'} ${result.results.length - failed.length}` +
            (failed.length > 0
              ? `; ${failed.length} failed: ${failed.map((f) => f.error?.message).join('; ')}`
              : ''),
        );
        setChecked(new Set());
        await entries.refresh();
      },
    });

  return (
    <section data-testid="dead-letters">
      <h1>Dead letters</h1>
      <div className="toolbar">
        <select value={queue} onChange={(event) => setQueue(event.target.value)} aria-label="Queue">
          <option value="">every queue</option>
          {queues.map((name) => (
            <option key={name}>{name}</option>
          ))}
        </select>
        {principal.kind === 'org' && (
          <select
            value={workflowId}
            onChange={(event) => setWorkflowId(event.target.value)}
            aria-label="Workflow"
          >
            <option value="">every workflow</option>
            {(workflows.data ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        )}
        <input
          type="search"
          placeholder="error code, e.g. http_500"
          value={code}
          onChange={(event) => setCode(event.target.value)}
          aria-label="Error code"
        />
        <button
          type="button"
          disabled={selected.length === 0}
          onClick={() => bulk('retry', selected)}
          data-testid="bulk-retry"
        >
          Retry selected ({selected.length})
        </button>
        <button
          type="button"
          className="danger"
          disabled={selected.length === 0}
          onClick={() => bulk('discard', selected)}
          data-testid="bulk-discard"
        >
          Discard selected
        </button>
      </div>
      {notice && <div className="notice ok">{notice}</div>}
      {entries.error && <LoadError error={entries.error} what="dead letters" />}
      {!entries.data && !entries.error && <Loading />}
      {entries.data && list.length === 0 && (
        <p className="muted">The dead-letter queue is empty for these filters.</p>
      )}
      {list.length > 0 && (
        <div className="split">
          <div className="grow scroll-x">
            <table className="table" data-testid="dead-letter-table">
              <thead>
                <tr>
                  <th>
                    <input
                      type="checkbox"
                      aria-label="Select all"
                      checked={selected.length === list.length}
                      onChange={(event) =>
                        setChecked(event.target.checked ? new Set(list.map((e) => e.id)) : new Set())
                      }
                    />
                  </th>
                  <th>Failed</th>
                  <th>Queue</th>
                  <th>Step</th>
                  <th>Workflow</th>
                  <th>Error</th>
                  <th>Attempts</th>
                  <th>Execution</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((entry) => (
                  <tr
                    key={entry.id}
                    className={inspected === entry.id ? 'selected' : ''}
                    data-entry={entry.id}
                  >
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select ${entry.id}`}
                        checked={checked.has(entry.id)}
                        onChange={() => toggle(entry.id)}
                      />
                    </td>
                    <td className="small">{formatTime(entry.failedAt)}</td>
                    <td className="mono">{entry.queue}</td>
                    <td>{entry.name}</td>
                    <td>
                      {names.get(String(entry.data.workflowId)) ?? String(entry.data.workflowId ?? '—')}
                    </td>
                    <td className="err small">
                      <strong>{entry.error.code}</strong> {entry.error.message}
                    </td>
                    <td>{entry.attempts}</td>
                    <td className="mono small">
                      {entry.executionId && principal.kind === 'org' ? (
                        <Link to={`/executions/${entry.executionId}`}>{entry.executionId}</Link>
                      ) : (
                        (entry.executionId ?? '—')
                      )}
                    </td>
                    <td className="nowrap">
                      <button
                        type="button"
                        onClick={() => setInspected(inspected === entry.id ? undefined : entry.id)}
                      >
                        Inspect
                      </button>
                      <button type="button" onClick={() => bulk('retry', [entry])}>
                        Retry
                      </button>
                      <button type="button" className="danger" onClick={() => bulk('discard', [entry])}>
                        Discard
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {inspectedEntry && (
            <aside className="side" data-testid="dead-letter-inspector">
              <h3 className="mono small">{inspectedEntry.id}</h3>
              <Json value={inspectedEntry} />
            </aside>
          )}
        </div>
      )}
      <ConfirmDialog request={confirm} onClose={() => setConfirm(undefined)} />
    </section>
  );
}
