// Queue depths as CloudWatch embedded-metric-format (EMF) log lines: a worker writes one per interval to stdout, the
// awslogs driver ships it, and CloudWatch turns it into metrics (no SDK, no extra permission). The backlog metric
// drives worker autoscaling; the dead-letter depth drives the alarm.
import type { Queues } from '../queue/queues.js';
import { queueHealth, type QueueHealth } from './queues.js';

export interface QueueMetrics {
  /** Jobs waiting to run now (waiting + prioritized) on the trigger and action queues. */
  Backlog: number;
  /** Jobs parked in the dead-letter queue. */
  DeadLetterDepth: number;
  /** Delayed jobs (waits, retries with backoff). */
  Delayed: number;
  Active: number;
}

export function queueMetrics(health: readonly QueueHealth[]): QueueMetrics {
  const work = health.filter((queue) => queue.name === 'triggers' || queue.name.startsWith('actions'));
  const sum = (queues: readonly QueueHealth[], pick: (queue: QueueHealth) => number) =>
    queues.reduce((total, queue) => total + pick(queue), 0);
  return {
    Backlog: sum(work, (queue) => queue.waiting + queue.prioritized),
    DeadLetterDepth: sum(
      health.filter((queue) => queue.name === 'dead-letter'),
      (queue) => queue.waiting,
    ),
    Delayed: sum(health, (queue) => queue.delayed),
    Active: sum(health, (queue) => queue.active),
  };
}

/** One EMF record: the `_aws` metadata names the metrics, the same object carries their values and the dimension. */
export function emfRecord(metrics: QueueMetrics, namespace: string, stage: string, now = Date.now()) {
  return {
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [['Stage']],
          Metrics: Object.keys(metrics).map((name) => ({ Name: name, Unit: 'Count' })),
        },
      ],
    },
    Stage: stage,
    ...metrics,
  };
}

export function startQueueMetrics(options: {
  queues: Queues;
  intervalMs: number;
  namespace: string;
  stage: string;
  write?: (line: string) => void;
  onError?: (error: unknown) => void;
}): { stop(): void } {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const tick = () =>
    queueHealth(options.queues).then(
      (health) => write(JSON.stringify(emfRecord(queueMetrics(health), options.namespace, options.stage))),
      (error: unknown) => options.onError?.(error),
    );
  void tick();
  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
