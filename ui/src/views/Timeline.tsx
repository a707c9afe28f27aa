// The step timeline of an execution: one row per step and attempt, with a bar placing it in time; a row opens to
// show the step's output, error and full record.
import { Fragment, useState } from 'react';
import { Badge, Json, formatMs, formatTime } from '../components/common';
import { providerIdOf } from '../graph/status';
import type { Step } from '../types';

export function Timeline({
  steps,
  startedAt,
  onSelect,
}: {
  steps: Step[];
  startedAt: string;
  onSelect: (nodeId: string) => void;
}) {
  const [open, setOpen] = useState<number>();
  const start = Date.parse(startedAt);
  const span = Math.max(1, ...steps.map((step) => Date.parse(step.startedAt) + step.durationMs - start));
  return (
    <table className="table timeline" data-testid="timeline">
      <thead>
        <tr>
          <th>#</th>
          <th>Node</th>
          <th>Status</th>
          <th>Attempt</th>
          <th>At</th>
          <th>Duration</th>
          <th className="bar-col">When</th>
          <th>Result</th>
        </tr>
      </thead>
      <tbody>
        {steps.map((step, i) => {
          const offset = Date.parse(step.startedAt) - start;
          const provider = step.type === 'trigger' ? undefined : providerIdOf(step.output);
          return (
            <Fragment key={i}>
              <tr
                className={`step step-${step.status}`}
                data-testid="step"
                data-node-id={step.nodeId}
                data-status={step.status}
                onClick={() => {
                  setOpen(open === i ? undefined : i);
                  onSelect(step.nodeId);
                }}
              >
                <td>{i + 1}</td>
                <td>
                  <strong>{step.nodeId}</strong> <span className="muted small">{step.type}</span>
                </td>
                <td>
                  <Badge status={step.status} />
                </td>
                <td>{step.attempt}</td>
                <td className="small">+{formatMs(offset)}</td>
                <td>{formatMs(step.durationMs)}</td>
                <td className="bar-col">
                  <div className="bar">
                    <span
                      style={{
                        left: `${(offset / span) * 100}%`,
                        width: `${Math.max(0.5, (step.durationMs / span) * 100)}%`,
                      }}
                    />
                  </div>
                </td>
                <td className="small">
                  {step.error && (
                    <span className="err" data-testid="step-error">
                      {step.error.code}: {step.error.message}
                    </span>
                  )}
                  {step.edge !== undefined && <span>→ {step.edge} </span>}
                  {provider && <span className="mono">id {provider} </span>}
                  {step.until && <span>until {formatTime(step.until)} </span>}
                  {step.effect === 'replayed' && <span>effect already done </span>}
                  {step.note && <span className="muted"> {step.note}</span>}
                </td>
              </tr>
              {open === i && (
                <tr className="step-detail">
                  <td colSpan={8}>
                    <div className="cols">
                      <div>
                        <h4>Output</h4>
                        <Json value={step.output ?? null} />
                      </div>
                      {step.error && (
                        <div>
                          <h4>Error</h4>
                          <Json value={step.error} />
                        </div>
                      )}
                      <div>
                        <h4>Record</h4>
                        <Json value={{ ...step, output: undefined, error: undefined }} />
                      </div>
                    </div>
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}
