// Engine events out: execution started, completed, failed, exited, cancelled and step dead-lettered, published to an
// EventBridge bus so other CRM services can react with their own rules. Off unless ENGINE_EVENTS_BUS is set.
// Publishing is buffered and never blocks or fails the engine's own work: entries go out in PutEvents batches of at
// most 10, entries EventBridge reports as failed (and whole failed calls) are retried with backoff, and an entry that
// still fails after the last attempt is logged at error level with its detail.
import {
  EventBridgeClient,
  PutEventsCommand,
  type EventBridgeClientConfig,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { Config } from '../config/config.js';
import type { Logger } from './logger.js';

export const engineEventTypes = [
  'Execution Started',
  'Execution Completed',
  'Execution Failed',
  'Execution Exited',
  'Execution Cancelled',
  'Step Dead-Lettered',
] as const;
export type EngineEventType = (typeof engineEventTypes)[number];

/** What the engine calls where executions start and end and where jobs are dead-lettered. Never throws. */
export type PublishEngineEvent = (detailType: EngineEventType, detail: Record<string, unknown>) => void;

/** PutEvents takes at most 10 entries per call. */
export const MAX_ENTRIES_PER_CALL = 10;

export interface EngineEventsOptions {
  config: Pick<Config, 'ENGINE_EVENTS_BUS' | 'ENGINE_EVENTS_SOURCE' | 'EVENTBRIDGE_ENDPOINT' | 'AWS_REGION'>;
  logger: Logger;
  /** Extra client settings (tests pass static credentials). */
  client?: EventBridgeClientConfig;
  /** How long an entry may wait for others to share its call. @defaultValue 50 */
  lingerMs?: number;
  /** Attempts per entry before it is given up and logged. @defaultValue 5 */
  maxAttempts?: number;
  /** First retry delay, doubled on each further attempt. @defaultValue 200 */
  backoffMs?: number;
}

export interface EngineEvents {
  publish: PublishEngineEvent;
  /** Sends everything buffered, retries included; resolves when the buffer is empty. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Pending {
  entry: PutEventsRequestEntry;
  attempts: number;
}

export function createEngineEvents(options: EngineEventsOptions): EngineEvents | undefined {
  const { config, logger } = options;
  const bus = config.ENGINE_EVENTS_BUS;
  if (!bus) return undefined;
  const client = new EventBridgeClient({
    ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
    ...(config.EVENTBRIDGE_ENDPOINT ? { endpoint: config.EVENTBRIDGE_ENDPOINT } : {}),
    ...options.client,
  });
  const lingerMs = options.lingerMs ?? 50;
  const maxAttempts = options.maxAttempts ?? 5;
  const backoffMs = options.backoffMs ?? 200;

  let buffer: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const giveUp = (pending: Pending, reason: string) =>
    logger.error(
      {
        detailType: pending.entry.DetailType,
        detail: pending.entry.Detail,
        attempts: pending.attempts,
        reason,
      },
      'engine event not published',
    );

  /** Sends one call of up to 10 entries; returns the entries to try again. */
  async function send(batch: Pending[]): Promise<Pending[]> {
    const retry: Pending[] = [];
    const requeue = (pending: Pending, reason: string) => {
      const next = { ...pending, attempts: pending.attempts + 1 };
      if (next.attempts >= maxAttempts) giveUp(next, reason);
      else retry.push(next);
    };
    try {
      const result = await client.send(
        new PutEventsCommand({ Entries: batch.map((pending) => pending.entry) }),
      );
      if ((result.FailedEntryCount ?? 0) === 0) return retry;
      batch.forEach((pending, i) => {
        const outcome = result.Entries?.[i];
        if (outcome?.ErrorCode) requeue(pending, `${outcome.ErrorCode}: ${outcome.ErrorMessage ?? ''}`);
      });
    } catch (error) {
      for (const pending of batch) requeue(pending, (error as Error).message);
    }
    return retry;
  }

  async function drain(): Promise<void> {
    while (buffer.length > 0) {
      const taken = buffer;
      buffer = [];
      const retry: Pending[] = [];
      for (let i = 0; i < taken.length; i += MAX_ENTRIES_PER_CALL)
        retry.push(...(await send(taken.slice(i, i + MAX_ENTRIES_PER_CALL))));
      if (retry.length > 0) {
        const attempts = Math.max(...retry.map((pending) => pending.attempts));
        await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempts - 1)));
        buffer = [...retry, ...buffer];
      }
    }
  }

  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    running ??= drain().finally(() => {
      running = undefined;
    });
    return running.then(() => (buffer.length > 0 ? flush() : undefined));
  }

  const publish: PublishEngineEvent = (detailType, detail) => {
    buffer.push({
      attempts: 0,
      entry: {
        EventBusName: bus,
        Source: config.ENGINE_EVENTS_SOURCE,
        DetailType: detailType,
        Detail: JSON.stringify(detail),
        Time: new Date(),
      },
    });
    if (buffer.length >= MAX_ENTRIES_PER_CALL) void flush();
    else timer ??= setTimeout(() => void flush(), lingerMs);
  };

  return {
    publish,
    flush,
    async close() {
      await flush();
      client.destroy();
    },
  };
}
