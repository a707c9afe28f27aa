// The organization's workflows: name, published version, versions.
import { api } from '../api';
import { LoadError, Loading, formatTime } from '../components/common';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { Principal, WorkflowSummary } from '../types';

export function WorkflowsView({ principal }: { principal: Principal }) {
  const { data, error } = useLoad(() => api<{ workflows: WorkflowSummary[] }>('/v1/workflows'), [principal]);
  if (error) return <LoadError error={error} what="workflows" />;
  if (!data) return <Loading />;
  return (
    <section>
      <h1>Workflows</h1>
      {data.workflows.length === 0 ? (
        <p className="muted">No workflows yet: create one with POST /v1/workflows.</p>
      ) : (
        <table className="table" data-testid="workflows">
          <thead>
            <tr>
              <th>Name</th>
              <th>Published</th>
              <th>Versions</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {data.workflows.map((workflow) => (
              <tr key={workflow.id}>
                <td>
                  <Link to={`/workflows/${workflow.id}`}>{workflow.name}</Link>
                  <div className="muted mono small">{workflow.id}</div>
                </td>
                <td>{workflow.publishedVersion ? `v${workflow.publishedVersion}` : 'not published'}</td>
                <td>{workflow.latestVersion}</td>
                <td>{formatTime(workflow.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
