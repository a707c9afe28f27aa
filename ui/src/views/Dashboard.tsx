// The performance dashboard: for the admin token, per queue depth, workers, throughput and mean processing time over
// time (queues hold every organization's jobs); for an organization, its workflows' executions and step latency
// percentiles. Refreshed every 2 s from /v1/metrics/*.
import { useMemo, useState } from 'react';
import { api } from '../api';
import { LoadError, Loading, formatMs } from '../components/common';
import { TimeChart, colorAt } from '../components/TimeChart';
import { useLoad } from '../hooks';
import type { Principal, QueueMetrics, WorkflowMetrics } from '../types';

const POLL_MS = 2000;

/** Jobs per second over the last minute of a series of 10 s buckets. */
export function recentRate(series: QueueMetrics['series'], bucketSeconds: number, seconds = 60): number {
  const n = Math.max(1, Math.round(seconds / bucketSeconds));
  const done = series.completed.slice(-n).reduce((a, b) => a + b, 0);
  const failed = series.failed.slice(-n).reduce((a, b) => a + b, 0);
  return (done + failed) / (n * bucketSeconds);
}

export function DashboardView({ principal }: { principal: Principal }) {
  const [span, setSpan] = useState(900);
  const operator = principal.kind === 'admin';
  // Queue figures are the whole engine's (every organization's jobs): the admin token's only.
  const queues = useLoad(
    async () =>
      operator
        ? await api<{ bucketSeconds: number; queues: QueueMetrics[] }>(`/v1/metrics/queues?window=${span}`)
        : undefined,
    [span, operator],
    operator ? POLL_MS : false,
  );
  const workflows = useLoad(
    async () =>
      !operator
        ? (await api<{ workflows: WorkflowMetrics[] }>(`/v1/metrics/workflows?window=3600`)).workflows
        : undefined,
    [operator],
    POLL_MS,
  );

  const charts = useMemo(() => {
    const data = queues.data;
    if (!data || data.queues.length === 0) return undefined;
    const t = data.queues[0]!.series.t;
    const busy = data.queues.filter(
      (q) =>
        q.series.completed.some((n) => n > 0) ||
        q.series.failed.some((n) => n > 0) ||
        q.name.startsWith('actions'),
    );
    return {
      t,
      throughput: busy.map((q, i) => ({
        label: q.name,
        color: colorAt(i),
        values: q.series.completed.map((n, j) => (n + (q.series.failed[j] ?? 0)) / data.bucketSeconds),
      })),
      failures: busy.map((q, i) => ({
        label: q.name,
        color: colorAt(i),
        values: q.series.failed.map((n) => n / data.bucketSeconds),
      })),
      latency: busy.map((q, i) => ({ label: q.name, color: colorAt(i), values: q.series.avgMs })),
    };
  }, [queues.data]);

  if (queues.error && !queues.data) return <LoadError error={queues.error} what="queue metrics" />;
  if (operator && !queues.data) return <Loading />;
  return (
    <section data-testid="dashboard">
      <h1>Dashboard</h1>
      <div className="toolbar">
        {operator && (
          <label>
            Window{' '}
            <select value={span} onChange={(event) => setSpan(Number(event.target.value))}>
              <option value={300}>5 minutes</option>
              <option value={900}>15 minutes</option>
              <option value={3600}>1 hour</option>
              <option value={7200}>2 hours</option>
            </select>
          </label>
        )}
        <span className="live on">● live, every {POLL_MS / 1000} s</span>
      </div>
      <h2>Queues</h2>
      {!queues.data ? (
        <p className="muted" data-testid="queues-admin-only">
          Queue figures are the whole engine&apos;s, every organization&apos;s jobs together: sign in with the
          admin token.
        </p>
      ) : (
        <table className="table" data-testid="queues">
          <thead>
            <tr>
              <th>Queue</th>
              <th>Waiting</th>
              <th>Active</th>
              <th>Delayed</th>
              <th>Failed</th>
              <th>Workers</th>
              <th>Jobs/s (1 min)</th>
              <th>Processed in window</th>
              <th>Mean time</th>
            </tr>
          </thead>
          <tbody>
            {queues.data.queues.map((queue) => {
              const processed =
                queue.series.completed.reduce((a, b) => a + b, 0) +
                queue.series.failed.reduce((a, b) => a + b, 0);
              const failedInWindow = queue.series.failed.reduce((a, b) => a + b, 0);
              const total = queue.processed.completed + queue.processed.failed;
              return (
                <tr key={queue.name} data-queue={queue.name}>
                  <td className="mono">
                    {queue.name}
                    {queue.retired ? ' (retired)' : ''}
                  </td>
                  <td>{queue.waiting + queue.prioritized}</td>
                  <td>{queue.active}</td>
                  <td>{queue.delayed}</td>
                  <td>{queue.failed}</td>
                  <td>{queue.workers}</td>
                  <td data-testid={`rate-${queue.name}`}>
                    {recentRate(queue.series, queues.data!.bucketSeconds).toFixed(2)}
                  </td>
                  <td>
                    <span data-testid={`processed-${queue.name}`}>{processed}</span>
                    {failedInWindow > 0 && <span className="err"> ({failedInWindow} failed)</span>}
                  </td>
                  <td>{total > 0 ? formatMs(queue.processed.ms / total) : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {charts && (
        <div className="charts">
          <TimeChart
            title="Throughput (job attempts per second)"
            t={charts.t}
            series={charts.throughput}
            unit="jobs/s"
          />
          <TimeChart title="Failed attempts per second" t={charts.t} series={charts.failures} unit="jobs/s" />
          <TimeChart title="Mean processing time" t={charts.t} series={charts.latency} unit="ms" />
        </div>
      )}
      <h2>Workflows</h2>
      {operator ? (
        <p className="muted">Workflow figures are per organization: sign in with its API key.</p>
      ) : workflows.error ? (
        <LoadError error={workflows.error} what="workflow metrics" />
      ) : !workflows.data ? (
        <Loading />
      ) : (
        <table className="table" data-testid="workflow-metrics">
          <thead>
            <tr>
              <th>Workflow</th>
              <th>Started</th>
              <th>Active</th>
              <th>Completed</th>
              <th>Failed</th>
              <th>Exited</th>
              <th>Cancelled</th>
              <th>Refused</th>
              <th>Steps (1 h)</th>
              <th>p50</th>
              <th>p95</th>
              <th>p99</th>
            </tr>
          </thead>
          <tbody>
            {workflows.data.map((w) => (
              <tr key={w.id} data-workflow={w.id}>
                <td>{w.name}</td>
                <td data-testid="wf-started">{w.started}</td>
                <td>{w.active}</td>
                <td>{w.completed}</td>
                <td className={w.failed > 0 ? 'err' : ''}>{w.failed}</td>
                <td>{w.exited}</td>
                <td>{w.cancelled}</td>
                <td>{w.skipped}</td>
                <td>{w.stepLatency.count}</td>
                <td>{formatMs(w.stepLatency.p50)}</td>
                <td>{formatMs(w.stepLatency.p95)}</td>
                <td>{formatMs(w.stepLatency.p99)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
