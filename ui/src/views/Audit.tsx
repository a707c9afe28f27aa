// The audit trail: every retry, discard, cancel and replay taken through the API, newest first.
import { api } from '../api';
import { LoadError, Loading, formatTime } from '../components/common';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { AuditEntry, Principal } from '../types';

export function AuditView({ principal }: { principal: Principal }) {
  const { data, error } = useLoad(
    () => api<{ entries: AuditEntry[] }>('/v1/audit?limit=500'),
    [principal],
    5000,
  );
  if (error) return <LoadError error={error} what="the audit trail" />;
  if (!data) return <Loading />;
  return (
    <section>
      <h1>Audit trail</h1>
      {principal.kind === 'admin' && (
        <p className="muted">
          Actions taken with the admin token on entries of no organization; organizations see their own.
        </p>
      )}
      {data.entries.length === 0 ? (
        <p className="muted">No actions recorded yet.</p>
      ) : (
        <table className="table" data-testid="audit">
          <thead>
            <tr>
              <th>When</th>
              <th>Action</th>
              <th>By</th>
              <th>Target</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {data.entries.map((entry, i) => (
              <tr key={i}>
                <td>{formatTime(entry.at)}</td>
                <td>{entry.action}</td>
                <td>{entry.actor}</td>
                <td className="mono small">
                  {entry.target.startsWith('x_') && principal.kind === 'org' ? (
                    <Link to={`/executions/${entry.target}`}>{entry.target}</Link>
                  ) : (
                    entry.target
                  )}
                </td>
                <td className="mono small">
                  {typeof entry.detail?.newExecutionId === 'string' && principal.kind === 'org' ? (
                    <Link to={`/executions/${entry.detail.newExecutionId}`}>
                      → {entry.detail.newExecutionId}
                    </Link>
                  ) : null}{' '}
                  {entry.detail ? JSON.stringify(entry.detail) : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
