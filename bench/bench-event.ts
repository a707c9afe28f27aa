// The bench's event: in a module of its own, so the sender process (bench/sender.ts) loads no more of the engine than
// the ingest function does.

export interface BenchEvent {
  id: string;
  type: 'new_lead';
  lead: { id: string; email: string; firstName: string; source: string };
}

/** A distinct event and a distinct lead per index, so the default enrolment rule never refuses one. */
export function benchEvent(tag: string, i: number): BenchEvent {
  return {
    id: `${tag}-${i}`,
    type: 'new_lead',
    lead: { id: `lead-${tag}-${i}`, email: `lead${i}@bench.example`, firstName: 'Bench', source: 'bench' },
  };
}
