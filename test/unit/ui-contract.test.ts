// The web app keeps its own copy of the API's shapes (ui/src/types.ts) so its bundle carries no server code. These
// checks, run by the typecheck, fail when the server's shapes drift from that copy: every value the server sends must
// fit the type the app reads it as.
import { describe, expectTypeOf, it } from 'vitest';
import type { ExecutionState, StepRecord } from '../../src/engine/executions.js';
import type { AuditEntry } from '../../src/observability/audit.js';
import type { DeadLetterView } from '../../src/queue/dead-letter.js';
import type { WorkflowRecord, WorkflowSummary, WorkflowVersion } from '../../src/workflows/store.js';
import type * as Ui from '../../ui/src/types.js';

describe("the web app's copy of the API's shapes", () => {
  it('reads executions and their steps as the server stores them', () => {
    expectTypeOf<ExecutionState>().toExtend<Ui.Execution>();
    expectTypeOf<StepRecord>().toExtend<Ui.Step>();
    expectTypeOf<ExecutionState & { steps: StepRecord[] }>().toExtend<Ui.ExecutionDetail>();
  });

  it('reads workflows, versions, dead letters and audit entries as the server sends them', () => {
    expectTypeOf<WorkflowSummary>().toExtend<Ui.WorkflowSummary>();
    expectTypeOf<WorkflowRecord>().toExtend<Ui.WorkflowRecord>();
    expectTypeOf<WorkflowVersion>().toExtend<Ui.WorkflowVersion>();
    expectTypeOf<DeadLetterView>().toExtend<Ui.DeadLetterEntry>();
    expectTypeOf<AuditEntry>().toExtend<Ui.AuditEntry>();
  });
});
