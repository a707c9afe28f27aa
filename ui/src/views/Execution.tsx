// The visual debugger of one execution: the graph coloured by what happened, the path taken, the step timeline, the
// node inspector, and the actions (retry the failed step, cancel, replay from a node), live while it runs.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, qs } from '../api';
import {
  Badge,
  ConfirmDialog,
  Json,
  LoadError,
  Loading,
  formatMs,
  formatTime,
  type ConfirmRequest,
} from '../components/common';
import { deriveView } from '../graph/status';
import { WorkflowGraph } from '../graph/WorkflowGraph';
import { useLoad } from '../hooks';
import { Timeline } from './Timeline';
import { Link, navigate } from '../router';
import type {
  AuditEntry,
  DeadLetterEntry,
  Definition,
  ExecutionDetail,
  WorkflowRecord,
  WorkflowVersion,
} from '../types';

const LIVE_POLL_MS = 1500;

interface VersionInfo {
  definition: Definition;
  name: string;
}

async function loadVersion(workflowId: string, version: number): Promise<VersionInfo> {
  const [found, workflow] = await Promise.all([
    api<WorkflowVersion>(`/v1/workflows/${encodeURIComponent(workflowId)}/versions/${version}`),
    api<WorkflowRecord>(`/v1/workflows/${encodeURIComponent(workflowId)}`),
  ]);
  return { definition: found.definition, name: workflow.name };
}
const liveStatuses = new Set(['running', 'waiting']);

export function ExecutionView({ id }: { id: string }) {
  const [live, setLive] = useState(true);
  const [selected, setSelected] = useState<string>();
  const [confirm, setConfirm] = useState<ConfirmRequest>();
  const [graphReady, setGraphReady] = useState(false);
  const [replayFrom, setReplayFrom] = useState('');
  const [notice, setNotice] = useState<string>();

  // A version never changes: fetched once, with the first state, so the graph and the timeline draw together.
  const versions = useRef(new Map<string, Promise<VersionInfo | Error>>());
  const execution = useLoad(
    async () => {
      const detail = await api<ExecutionDetail>(`/v1/executions/${encodeURIComponent(id)}`);
      const key = `${detail.workflowId}@${detail.version}`;
      if (!versions.current.has(key))
        versions.current.set(
          key,
          loadVersion(detail.workflowId, detail.version).catch((error: Error) => error),
        );
      const [version, dead] = await Promise.all([
        versions.current.get(key)!,
        detail.status === 'failed' || detail.status === 'running'
          ? api<{ entries: DeadLetterEntry[] }>(`/v1/dead-letter${qs({ executionId: id })}`).then(
              (r) => r.entries,
            )
          : [],
      ]);
      return { detail, dead, version };
    },
    [id],
    live ? LIVE_POLL_MS : false,
  );
  const detail = execution.data?.detail;
  const loaded = execution.data?.version;
  const version = {
    data: loaded instanceof Error ? undefined : loaded,
    error: loaded instanceof Error ? loaded : undefined,
  };
  const audit = useLoad(
    async () =>
      (await api<{ entries: AuditEntry[] }>('/v1/audit?limit=300')).entries.filter(
        (entry) => entry.target === id || entry.detail?.newExecutionId === id,
      ),
    [id, detail?.updatedAt],
  );

  const dead = execution.data?.dead;
  const view = useMemo(() => {
    if (!detail || !loaded || loaded instanceof Error) return undefined;
    const deadNodes = new Set((dead ?? []).map((entry) => String(entry.data.nodeId ?? entry.name)));
    return deriveView(loaded.definition, detail, deadNodes);
  }, [detail, loaded, dead]);
  const onReady = useCallback(() => setGraphReady(true), []);
  const status = detail?.status;
  useEffect(() => {
    // Stop polling once the execution has ended; an action turns it back on.
    if (status && !liveStatuses.has(status)) setLive(false);
  }, [status]);

  if (execution.error && !detail) return <LoadError error={execution.error} what={`Execution ${id}`} />;
  if (!detail) return <Loading />;
  const isLive = liveStatuses.has(detail.status);
  const polling = live && isLive;
  const definition = version.data?.definition;
  const replayNode = replayFrom || selected || '';

  const act = (request: ConfirmRequest) => setConfirm(request);
  const afterAction = async (message: string) => {
    setNotice(message);
    setLive(true);
    await Promise.all([execution.refresh(), audit.refresh()]);
  };
  const retry = () =>
    act({
      title: 'Retry the failed step?',
      body: (
        <p>
          The step{(dead?.length ?? 0) > 1 ? 's' : ''} {dead?.map((entry) => entry.name).join(', ')} go back
          to the queue with fresh attempts, and the execution continues from there.
        </p>
      ),
      confirmLabel: 'Retry',
      run: async () => {
        await api(`/v1/executions/${encodeURIComponent(id)}/retry`, { method: 'POST' });
        await afterAction('Retry requested: the step is back on its queue.');
      },
    });
  const cancel = () =>
    act({
      title: 'Cancel this execution?',
      body: (
        <p>Pending steps and waits are dropped. This cannot be undone (replay can start a new execution).</p>
      ),
      confirmLabel: 'Cancel execution',
      danger: true,
      run: async () => {
        await api(`/v1/executions/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
        await afterAction('Execution cancelled.');
      },
    });
  const replay = () =>
    act({
      title: `Replay from ${replayNode}?`,
      body: (
        <p>
          A new execution of version {detail.version} starts at <strong>{replayNode}</strong> for the same
          lead, with the outputs of the nodes before it. Messages and other effects after that node are sent
          again.
        </p>
      ),
      confirmLabel: 'Replay',
      run: async () => {
        const created = await api<{ id: string }>(`/v1/executions/${encodeURIComponent(id)}/replay`, {
          method: 'POST',
          body: { fromNode: replayNode },
        });
        navigate(`/executions/${created.id}`);
      },
    });

  const selectedView = selected ? view?.nodes[selected] : undefined;
  const selectedNode = definition?.nodes.find((node) => node.id === selected);
  const ready = graphReady && view !== undefined;
  return (
    <section data-testid="debugger" data-ready={ready ? 'true' : 'false'} data-status={detail.status}>
      <header className="exec-header">
        <div>
          <h1>
            Execution <span className="mono">{detail.id}</span>
          </h1>
          <div className="facts">
            <Badge status={detail.status} />
            <span>
              Workflow{' '}
              <Link to={`/workflows/${detail.workflowId}?version=${detail.version}`}>
                {version.data?.name ?? detail.workflowId}
              </Link>{' '}
              v{detail.version}
            </span>
            <span>
              Lead{' '}
              {detail.leadId ? (
                <Link to={`/executions?q=${encodeURIComponent(detail.leadId)}`} className="mono">
                  {detail.leadId}
                </Link>
              ) : (
                '—'
              )}
            </span>
            <span>Started {formatTime(detail.startedAt)}</span>
            {detail.finishedAt && (
              <span>Took {formatMs(Date.parse(detail.finishedAt) - Date.parse(detail.startedAt))}</span>
            )}
            {detail.waitingUntil && <span>Waiting until {formatTime(detail.waitingUntil)}</span>}
            {detail.replayOf && (
              <span>
                Replay of{' '}
                <Link to={`/executions/${detail.replayOf.executionId}`} className="mono">
                  {detail.replayOf.executionId}
                </Link>{' '}
                from {detail.replayOf.nodeId}
              </span>
            )}
            <span className={polling ? 'live on' : 'live'} data-testid="live">
              {polling ? '● live' : 'not live'}
            </span>
          </div>
          {detail.error && (
            <div className="notice error" data-testid="execution-error">
              <strong>{detail.error.code}</strong>: {detail.error.message}
            </div>
          )}
          {detail.endReason && <div className="notice">Ended: {detail.endReason}</div>}
          {notice && <div className="notice ok">{notice}</div>}
        </div>
        <div className="actions">
          <button
            type="button"
            onClick={retry}
            disabled={(dead?.length ?? 0) === 0}
            title="Retry the failed step from the dead-letter queue"
            data-testid="retry-button"
          >
            Retry failed step
          </button>
          <button
            type="button"
            className="danger"
            onClick={cancel}
            disabled={!['running', 'waiting', 'failed'].includes(detail.status)}
            data-testid="cancel-button"
          >
            Cancel
          </button>
          <span className="replay">
            <select
              value={replayNode}
              onChange={(event) => setReplayFrom(event.target.value)}
              aria-label="Replay from node"
              data-testid="replay-node"
            >
              <option value="">replay from…</option>
              {definition?.nodes.map((node) => (
                <option key={node.id} value={node.id}>
                  {node.id}
                </option>
              ))}
            </select>
            <button type="button" onClick={replay} disabled={!replayNode} data-testid="replay-button">
              Replay
            </button>
          </span>
        </div>
      </header>

      <Legend />
      <div className="split">
        <div className="grow">
          {version.error && <LoadError error={version.error} what="the workflow version" />}
          {definition && view ? (
            <WorkflowGraph
              definition={definition}
              view={view}
              selected={selected}
              onSelect={setSelected}
              onReady={onReady}
            />
          ) : (
            <Loading />
          )}
        </div>
        <aside className="side" data-testid="inspector">
          {selectedNode ? (
            <>
              <h3>
                {selectedNode.id} <span className="muted">{selectedNode.type}</span>{' '}
                {selectedView && <Badge status={selectedView.state} />}
              </h3>
              {selectedView?.lastError && (
                <div className="notice error">
                  <strong>{selectedView.lastError.code}</strong>: {selectedView.lastError.message}
                </div>
              )}
              <h4>Parameters (input)</h4>
              <Json
                value={selectedNode.params ?? { event: selectedNode.event, filter: selectedNode.filter }}
              />
              <h4>Steps</h4>
              {selectedView?.steps.length ? (
                selectedView.steps.map((step, i) => <Json key={i} value={step} />)
              ) : (
                <p className="muted">This node has not run.</p>
              )}
            </>
          ) : (
            <>
              <h3>Triggering event</h3>
              <Json value={detail.event} />
              <p className="muted">Click a node to inspect its parameters and steps.</p>
            </>
          )}
        </aside>
      </div>

      <h2>Timeline</h2>
      <Timeline steps={detail.steps} startedAt={detail.startedAt} onSelect={setSelected} />

      <h2>Actions taken</h2>
      {audit.data && audit.data.length === 0 && <p className="muted">None.</p>}
      {audit.data && audit.data.length > 0 && (
        <table className="table" data-testid="execution-audit">
          <tbody>
            {audit.data.map((entry, i) => (
              <tr key={i}>
                <td>{formatTime(entry.at)}</td>
                <td>{entry.action}</td>
                <td>{entry.actor}</td>
                <td className="mono small">{entry.detail ? JSON.stringify(entry.detail) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog request={confirm} onClose={() => setConfirm(undefined)} />
    </section>
  );
}

function Legend() {
  const states = ['done', 'running', 'retrying', 'waiting', 'failed', 'dead-lettered', 'skipped', 'pending'];
  return (
    <div className="legend">
      {states.map((state) => (
        <span key={state} className={`legend-item state-${state}`}>
          {state === 'pending' ? 'not yet' : state}
        </span>
      ))}
    </div>
  );
}
