// The API's shapes as the web app reads them (the server's zod schemas and stores are the source of truth). A copy, so
// the bundle carries no server code; test/unit/ui-contract.test.ts fails the typecheck when the server's shapes drift.

export type ExecutionStatus = 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled' | 'exited';

export interface StepError {
  name: string;
  code: string;
  message: string;
  retryable: boolean;
}

export interface Step {
  nodeId: string;
  type: string;
  status: 'completed' | 'failed' | 'waiting' | 'skipped';
  attempt: number;
  startedAt: string;
  durationMs: number;
  edge?: string;
  output?: unknown;
  error?: StepError;
  arms?: string[];
  effect?: 'recorded' | 'replayed';
  until?: string;
  note?: string;
}

export interface Execution {
  id: string;
  orgId: string;
  workflowId: string;
  version: number;
  leadId: string | null;
  status: ExecutionStatus;
  triggerNodeId: string;
  event: Record<string, unknown>;
  pending: number;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  waitingUntil?: string;
  error?: StepError;
  endReason?: string;
  replayOf?: { executionId: string; nodeId: string };
}

export interface ExecutionDetail extends Execution {
  steps: Step[];
}

export interface WorkflowNode {
  id: string;
  type: string;
  name?: string;
  event?: string;
  params?: Record<string, unknown>;
  filter?: unknown;
  schedule?: unknown;
}

export interface WorkflowEdge {
  from: string;
  to: string;
  when?: string;
}

export interface Definition {
  name: string;
  description?: string;
  nodes: WorkflowNode[];
  edges: WorkflowEdge[];
  settings?: { enrollment: string };
}

export interface WorkflowSummary {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  latestVersion: number;
  publishedVersion: number | null;
}

export interface WorkflowRecord extends WorkflowSummary {
  draft: Definition;
  versions: { version: number; publishedAt: string }[];
}

export interface WorkflowVersion {
  version: number;
  publishedAt: string;
  definition: Definition;
}

export interface DeadLetterEntry {
  id: string;
  queue: string;
  jobId: string;
  name: string;
  data: Record<string, unknown>;
  error: StepError;
  attempts: number;
  failedAt: string;
  orgId?: string;
  executionId?: string;
}

export interface AuditEntry {
  at: string;
  actor: 'org-api-key' | 'admin';
  action: string;
  target: string;
  detail?: Record<string, unknown>;
}

export interface QueueMetrics {
  name: string;
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
  prioritized: number;
  workers: number;
  /** An action partition of another ACTION_QUEUE_PARTITIONS whose jobs are being moved to the current ones. */
  retired?: true;
  processed: { completed: number; failed: number; ms: number };
  series: { t: number[]; completed: number[]; failed: number[]; avgMs: (number | null)[] };
}

export interface WorkflowMetrics {
  id: string;
  name: string;
  publishedVersion: number | null;
  started: number;
  completed: number;
  failed: number;
  cancelled: number;
  exited: number;
  skipped: number;
  active: number;
  stepLatency: {
    count: number;
    meanMs: number | null;
    p50: number | null;
    p95: number | null;
    p99: number | null;
  };
}

export type Principal =
  { kind: 'admin' } | { kind: 'org'; org: { id: string; name: string; timeZone: string } };
