// One workflow: its versions, the graph of the chosen one (or the draft) with a node's parameters, recent executions.
import { useState } from 'react';
import { api } from '../api';
import { Badge, Json, LoadError, Loading, formatTime } from '../components/common';
import { WorkflowGraph } from '../graph/WorkflowGraph';
import { useLoad } from '../hooks';
import { Link, navigate } from '../router';
import type { Definition, Execution, WorkflowRecord, WorkflowVersion } from '../types';

export function WorkflowView({ id, version }: { id: string; version: string | null }) {
  const [selected, setSelected] = useState<string>();
  const workflow = useLoad(() => api<WorkflowRecord>(`/v1/workflows/${encodeURIComponent(id)}`), [id]);
  const chosen =
    version ?? (workflow.data?.publishedVersion ? String(workflow.data.publishedVersion) : 'draft');
  const definition = useLoad(async (): Promise<Definition | undefined> => {
    if (!workflow.data) return undefined;
    if (chosen === 'draft') return workflow.data.draft;
    const found = await api<WorkflowVersion>(`/v1/workflows/${encodeURIComponent(id)}/versions/${chosen}`);
    return found.definition;
  }, [workflow.data, chosen]);
  const executions = useLoad(
    () => api<{ executions: Execution[] }>(`/v1/workflows/${encodeURIComponent(id)}/executions?limit=20`),
    [id],
    3000,
  );

  if (workflow.error) return <LoadError error={workflow.error} what={`Workflow ${id}`} />;
  if (!workflow.data) return <Loading />;
  const record = workflow.data;
  const node = definition.data?.nodes.find((n) => n.id === selected);
  return (
    <section>
      <h1>{record.name}</h1>
      <div className="muted mono small">{record.id}</div>
      <div className="toolbar">
        <label>
          Version{' '}
          <select
            value={chosen}
            onChange={(event) => navigate(`/workflows/${id}?version=${event.target.value}`)}
            data-testid="version-select"
          >
            {[...record.versions].reverse().map((v) => (
              <option key={v.version} value={String(v.version)}>
                v{v.version} · published {formatTime(v.publishedAt)}
                {v.version === record.publishedVersion ? ' (live)' : ''}
              </option>
            ))}
            <option value="draft">draft</option>
          </select>
        </label>
      </div>
      {definition.error && <LoadError error={definition.error} what={`version ${chosen}`} />}
      <div className="split">
        <div className="grow">
          {definition.data ? (
            <WorkflowGraph definition={definition.data} selected={selected} onSelect={setSelected} />
          ) : (
            <Loading />
          )}
        </div>
        <aside className="side">
          {node ? (
            <>
              <h3>
                {node.id} <span className="muted">{node.type}</span>
              </h3>
              <Json value={node} />
            </>
          ) : (
            <p className="muted">Select a node to see its parameters.</p>
          )}
        </aside>
      </div>
      <h2>Recent executions</h2>
      {executions.data && executions.data.executions.length === 0 && <p className="muted">None yet.</p>}
      {executions.data && executions.data.executions.length > 0 && (
        <ExecutionTable executions={executions.data.executions} />
      )}
    </section>
  );
}

export function ExecutionTable({ executions }: { executions: Execution[] }) {
  return (
    <table className="table" data-testid="executions">
      <thead>
        <tr>
          <th>Execution</th>
          <th>Status</th>
          <th>Version</th>
          <th>Lead</th>
          <th>Started</th>
          <th>Finished</th>
        </tr>
      </thead>
      <tbody>
        {executions.map((execution) => (
          <tr key={execution.id}>
            <td className="mono">
              <Link to={`/executions/${execution.id}`}>{execution.id}</Link>
            </td>
            <td>
              <Badge status={execution.status} />
            </td>
            <td>v{execution.version}</td>
            <td className="mono">{execution.leadId ?? '—'}</td>
            <td>{formatTime(execution.startedAt)}</td>
            <td>{formatTime(execution.finishedAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
