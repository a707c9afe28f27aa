// Retired action partitions: the action queues of another ACTION_QUEUE_PARTITIONS that still hold jobs, and the pass
// that moves those jobs into the partition each organization uses now, so changing the count strands no execution.
import type { Job, JobsOptions, Queue } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import type { Keys } from '../shared/keys.js';
import { attemptsBeforeMove, deadLetterMarks, withAttemptsBefore } from './job-marks.js';
import { takeLock, type HeldLock } from './lock.js';
import type { Queues } from './queues.js';
import type { RedisClient } from './redis.js';

/** Jobs read, added and removed per round trip. */
const PAGE = 200;

/**
 * Pages of one state moved per retired queue and pass, so a state that processes of the old count keep filling leaves
 * the others their turn; a pass that stops at it is followed by another at once.
 */
const PAGES_PER_STATE = 10;

/** How long the drain lock outlives its last renewal (one per page), so the lock of a worker that died soon lapses. */
const LOCK_MS = 60_000;

/** What one pass did to one retired queue. */
export interface DrainReport {
  queue: string;
  /** Jobs moved, by the state they were in (`stalled`: active, but their worker is gone). */
  moved: { waiting: number; prioritized: number; delayed: number; stalled: number };
  /** Jobs moved, by the partition they went to. */
  into: Record<string, number>;
  /** Ids listed in a state whose job hash is gone: taken out of the list, since nothing is left of them to run. */
  dropped: number;
  /**
   * Jobs left where they are: `active` ones a live worker of the old count holds (it finishes them, or they stall
   * and a later pass moves them), and `unreadable` ones (their hash cannot be parsed; their ids are logged).
   */
  left: { active: number; unreadable: number };
  /** Set when a state held more than one pass moves (`PAGES_PER_STATE` pages): the next pass goes on at once. */
  capped?: true;
}

/** A copy's attempt options: the attempts its original has left (at least one), and those it made. */
function attemptsLeft(job: Job): JobsOptions {
  return {
    attempts: Math.max(1, (job.opts.attempts ?? 1) - job.attemptsMade),
    ...withAttemptsBefore(attemptsBeforeMove(job) + job.attemptsMade),
  };
}

/**
 * Raises the stall count (`stc`, a field of BullMQ's job hash that `maxStalledCount` bounds) of a moved job's copy
 * to the original's, unless a worker has taken the copy already: then the copy's own count is live.
 * KEYS[1] the copy's job hash; ARGV[1] stalls. Returns 1 when carried, 0 when the copy was taken or is gone.
 */
const carryStallsScript = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'processedOn') == 1 then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'stc') or '0') < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'stc', ARGV[1])
end
return 1
`;

/**
 * Whether a job is active without a lock: its worker is gone (BullMQ calls it stalled). Such a job can neither finish
 * (that needs the lock) nor be locked again, so moving it races only with a stalled check of an old worker.
 * KEYS[1] the queue's active list, KEYS[2] the job's lock; ARGV[1] the job id. Returns 1 or 0.
 */
const stalledScript = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('LPOS', KEYS[1], ARGV[1]) == false then return 0 end
return 1
`;

/**
 * Takes a moved job out of its retired queue if it is still where the pass read it: in the wait list, the prioritized
 * or delayed set, or (`stalled`) in the active list without its lock. Check and removal are one step, so no worker of
 * the old count can take the job in between. Its keys go as BullMQ's removeJob deletes them for a job without parent,
 * children or deduplication id (the engine adds none); removeJob itself would search the whole wait list again.
 * KEYS[1] the state's list or sorted set, KEYS[2] the job's hash; ARGV[1] the job id, ARGV[2] `list`, `zset` or
 * `stalled`. Returns 1 when taken out; 2 when the job is still in the queue but not there (a worker took it, or it
 * went back to wait); 3 when its id was listed without a hash (the id is taken out); 0 when it is gone (another pass
 * moved it, or it was removed).
 */
const takeOutScript = `
local listed
if ARGV[2] == 'zset' then listed = redis.call('ZSCORE', KEYS[1], ARGV[1]) else listed = redis.call('LPOS', KEYS[1], ARGV[1]) end
local exists = redis.call('EXISTS', KEYS[2]) == 1
if not listed then
  if exists then return 2 end
  return 0
end
if exists and ARGV[2] == 'stalled' and redis.call('EXISTS', KEYS[2] .. ':lock') == 1 then return 2 end
if ARGV[2] == 'zset' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('LREM', KEYS[1], 1, ARGV[1]) end
if not exists then return 3 end
redis.call('DEL', KEYS[2], KEYS[2] .. ':logs', KEYS[2] .. ':dependencies', KEYS[2] .. ':processed',
  KEYS[2] .. ':failed', KEYS[2] .. ':unsuccessful')
return 1
`;

interface Scripts {
  atlasCarryStalls(jobKey: string, stalls: number): Promise<number>;
  atlasIsStalled(activeKey: string, lockKey: string, jobId: string): Promise<number>;
  atlasTakeOut(
    stateKey: string,
    jobKey: string,
    jobId: string,
    mode: 'list' | 'zset' | 'stalled',
  ): Promise<number>;
}

/** Where a job of each kind was read: its state's key and how the take-out script finds it there. */
const readFrom = {
  waiting: ['wait', 'list'],
  prioritized: ['prioritized', 'zset'],
  delayed: ['delayed', 'zset'],
  stalled: ['active', 'stalled'],
} as const;

/** The states a pass reads jobs from. */
type ReadState = (typeof readFrom)[keyof typeof readFrom][0];

/** A job read from a retired queue, with where and how it goes. */
interface Move {
  job: Job;
  kind: keyof DrainReport['moved'];
  target: Queue;
  options: JobsOptions;
  stalls: number;
}

export interface PartitionDrainDeps {
  queues: Queues;
  /** The connection the queues use (BullMQ's job hashes and lock keys are read and written through it). */
  redis: RedisClient;
  keys: Pick<Keys, 'partitionDrain' | 'actionPartitions'>;
  logger: Logger;
}

/**
 * Moves the jobs of retired action queues into the current partitions. Each job is added to its organization's
 * partition under the same id (BullMQ ignores an id it holds) with its name, data, priority, remaining delay and the
 * attempts it has left, its stall count is carried over, and only then is it taken out of the retired queue, by a
 * script that does so only if the job is still in the state it was read in. So a pass after one that crashed midway,
 * or two passes at once, move each job once, and a producer retried later still finds the id taken. A job a worker
 * of the old count took between the read and the script runs there, and its copy is withdrawn unless a current
 * worker has taken the copy too: then both run, and the execution's job keys let only one of them commit (the effect
 * ledger only one send). One worker passes at a time (a lock with a TTL): that spares the others the work and keeps
 * the counts it logs true; the moves are safe without it.
 *
 * Only processes whose partition count is that of the workers started last pass at all (`start` records it): while
 * two counts run at once (a rolling deploy or a rollback), each would take the other's partitions for retired ones
 * and move their jobs back and forth. The older count keeps consuming its own partitions and leaves the moving to
 * the newer, whose passes move what the older still adds.
 */
export function createPartitionDrain(deps: PartitionDrainDeps) {
  const { queues, redis, logger } = deps;
  for (const [name, numberOfKeys, lua] of [
    ['atlasCarryStalls', 1, carryStallsScript],
    ['atlasIsStalled', 2, stalledScript],
    ['atlasTakeOut', 2, takeOutScript],
  ] as const) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  }
  const scripts = redis as unknown as Scripts;
  const lockKey = deps.keys.partitionDrain;
  const countKey = deps.keys.actionPartitions;
  /** This process's ACTION_QUEUE_PARTITIONS (one partition keeps the plain name `actions`). */
  const count = String(queues.actions.length);
  let stopping = false;
  /** The count of the workers started last, when it is not this process's (logged once per change). */
  let deferringTo: string | undefined;

  /** Whether this process's count is the newest recorded one, or none is (no worker process recorded one yet). */
  async function newest(): Promise<boolean> {
    const recorded = await redis.get(countKey);
    const other = recorded !== null && recorded !== count ? recorded : undefined;
    if (other !== undefined && other !== deferringTo)
      logger.info(
        { partitions: Number(count), newest: Number(other) },
        'not moving jobs of retired action partitions: the workers started last use another ACTION_QUEUE_PARTITIONS',
      );
    deferringTo = other;
    return other === undefined;
  }

  const targetOf = (job: Job): Queue => {
    const orgId = (job.data as { orgId?: unknown } | undefined)?.orgId;
    // A job without an organization is no valid node job; it goes to a partition all the same, to fail in sight.
    return queues.actionsFor(typeof orgId === 'string' ? orgId : '');
  };

  /** The lock one pass holds; `live` turns false when the pass should stop (engine closing, lock lost). */
  interface Lease {
    lock: HeldLock;
    live: boolean;
  }
  const going = (lease: Lease) => lease.live && !stopping;
  const renew = async (lease: Lease) => {
    if (!(await lease.lock.renew())) lease.live = false;
  };

  /** Moves one page of jobs; returns how many left the retired queue. */
  async function movePage(from: Queue, moves: Move[], report: DrainReport): Promise<number> {
    // In order per partition (addBulk is one transaction), so waiting jobs keep their order.
    const byTarget = new Map<Queue, Move[]>();
    for (const move of moves) byTarget.set(move.target, [...(byTarget.get(move.target) ?? []), move]);
    await Promise.all(
      [...byTarget].map(([target, batch]) =>
        target.addBulk(
          batch.map(({ job, options }) => ({
            name: job.name,
            data: job.data,
            opts: { ...options, ...attemptsLeft(job), ...deadLetterMarks(job) },
          })),
        ),
      ),
    );
    await Promise.all(
      moves
        .filter(({ stalls }) => stalls > 0)
        .map(({ job, target, stalls }) => scripts.atlasCarryStalls(target.toKey(job.id!), stalls)),
    );
    const taken = await Promise.all(
      moves.map(({ job, kind }) =>
        scripts.atlasTakeOut(from.toKey(readFrom[kind][0]), from.toKey(job.id!), job.id!, readFrom[kind][1]),
      ),
    );
    let gone = 0;
    await Promise.all(
      moves.map(async (move, i) => {
        if (taken[i] === 2) {
          // A worker of the old count took the job meanwhile (or it went back to wait: a later pass moves it). The
          // copy goes, unless a current worker holds it already (BullMQ removes no locked job): then both run.
          await move.target.remove(move.job.id!);
          return;
        }
        // 0: another pass took the job out and counts it (or it was removed); the copy stays.
        if (taken[i] !== 1) return;
        gone += 1;
        report.moved[move.kind] += 1;
        report.into[move.target.name] = (report.into[move.target.name] ?? 0) + 1;
      }),
    );
    return gone;
  }

  /** One page of a state: the jobs read, ids listed without a job hash, ids whose job could not be read. */
  async function readPage(from: Queue, state: ReadState, start: number, end: number, asc: boolean) {
    const ids = await from.getRanges([state], start, end, asc);
    const read = await Promise.all(
      ids.map((id) =>
        from.getJob(id).then(
          (job) => ({ id, job }),
          () => ({ id, job: null }),
        ),
      ),
    );
    return {
      listed: ids.length,
      jobs: read.flatMap(({ job }) => (job ? [job] : [])),
      missing: read.flatMap(({ id, job }) => (job === undefined ? [id] : [])),
      unreadable: read.flatMap(({ id, job }) => (job === null ? [id] : [])),
    };
  }

  /** Takes ids listed without a job hash out of their state: nothing is left of them to run. Returns how many. */
  async function dropMissing(from: Queue, kind: Move['kind'], ids: string[], report: DrainReport) {
    const [state, mode] = readFrom[kind];
    const taken = await Promise.all(
      ids.map((id) => scripts.atlasTakeOut(from.toKey(state), from.toKey(id), id, mode)),
    );
    const dropped = taken.filter((outcome) => outcome === 3).length;
    report.dropped += dropped;
    return dropped;
  }

  /**
   * Moves the jobs of one state, page by page, until none is left, a page gets nowhere (its jobs went elsewhere
   * meanwhile), or `PAGES_PER_STATE` pages are done (`capped`: the next pass goes on). Jobs that cannot be read stay
   * where they are (`unreadable`), and reading goes on past them.
   */
  async function moveState(
    from: Queue,
    state: 'wait' | 'prioritized' | 'delayed',
    report: DrainReport,
    lease: Lease,
    unreadable: Set<string>,
  ): Promise<void> {
    const kind = state === 'wait' ? 'waiting' : state;
    const skipped = new Set<string>();
    for (let page = 0; going(lease); page += 1) {
      if (page === PAGES_PER_STATE) {
        report.capped = true;
        return;
      }
      // Waiting jobs are read from the end that runs last and pushed to the head of the new partition (LIFO), so
      // they keep their order and run before work that arrived after them; sorted sets are read by score.
      const read = await readPage(from, state, skipped.size, skipped.size + PAGE - 1, state !== 'wait');
      if (read.listed === 0) return;
      const fresh = read.unreadable.filter((id) => !skipped.has(id));
      for (const id of fresh) {
        skipped.add(id);
        unreadable.add(id);
      }
      const { jobs } = read;
      // A delayed job's score is its run time in milliseconds times 0x1000 (BullMQ keeps an order in the rest).
      const scores =
        state === 'delayed'
          ? await Promise.all(jobs.map((job) => redis.zscore(from.toKey('delayed'), job.id!)))
          : [];
      const now = Date.now();
      const moves = jobs.map((job, i): Move => {
        const options: JobsOptions = { jobId: job.id! };
        if (job.priority > 0) options.priority = job.priority;
        else if (state === 'wait') options.lifo = true;
        const score = scores[i];
        if (score !== undefined && score !== null)
          options.delay = Math.max(0, Math.floor(Number(score) / 0x1000) - now);
        return { job, kind, target: targetOf(job), options, stalls: job.stalledCounter ?? 0 };
      });
      const [dropped, moved] = await Promise.all([
        dropMissing(from, kind, read.missing, report),
        moves.length > 0 ? movePage(from, moves, report) : 0,
      ]);
      if (dropped + moved + fresh.length === 0) return;
      await renew(lease);
    }
  }

  /** Active jobs whose worker is gone are moved like waiting ones, their stall counted; locked ones are left. */
  async function moveStalled(
    from: Queue,
    report: DrainReport,
    lease: Lease,
    unreadable: Set<string>,
  ): Promise<void> {
    const read = await readPage(from, 'active', 0, PAGES_PER_STATE * PAGE - 1, false);
    if (read.listed === PAGES_PER_STATE * PAGE) report.capped = true;
    for (const id of read.unreadable) unreadable.add(id);
    await dropMissing(from, 'stalled', read.missing, report);
    const flags = await Promise.all(
      read.jobs.map((job) =>
        scripts.atlasIsStalled(from.toKey('active'), `${from.toKey(job.id!)}:lock`, job.id!),
      ),
    );
    const stalled = read.jobs.filter((_, i) => flags[i] === 1);
    for (let i = 0; i < stalled.length && going(lease); i += PAGE) {
      const moves = stalled.slice(i, i + PAGE).map((job): Move => ({
        job,
        kind: 'stalled',
        target: targetOf(job),
        options: { jobId: job.id!, ...(job.priority > 0 ? { priority: job.priority } : { lifo: true }) },
        stalls: (job.stalledCounter ?? 0) + 1,
      }));
      await movePage(from, moves, report);
      await renew(lease);
    }
  }

  async function drainQueue(from: Queue, lease: Lease): Promise<DrainReport> {
    const report: DrainReport = {
      queue: from.name,
      moved: { waiting: 0, prioritized: 0, delayed: 0, stalled: 0 },
      into: {},
      dropped: 0,
      left: { active: 0, unreadable: 0 },
    };
    const unreadable = new Set<string>();
    for (const state of ['wait', 'prioritized', 'delayed'] as const)
      await moveState(from, state, report, lease, unreadable);
    await moveStalled(from, report, lease, unreadable);
    report.left = { active: (await from.getJobCounts('active')).active ?? 0, unreadable: unreadable.size };
    if (unreadable.size > 0)
      logger.warn(
        { queue: from.name, jobIds: [...unreadable].slice(0, 20) },
        'could not read jobs of a retired action partition; they stay there',
      );
    return report;
  }

  /**
   * One pass over the retired action queues; logs and returns what it did in each one holding jobs. Returns nothing
   * when none holds jobs, while another worker passes over them, or when the workers started last use another count.
   */
  async function pass(): Promise<DrainReport[]> {
    if (!(await newest())) return [];
    const holding = await queues.retiredHolding();
    if (holding.length === 0 || stopping) return [];
    const lock = await takeLock(redis, lockKey, LOCK_MS);
    if (!lock) return [];
    const lease: Lease = { lock, live: true };
    const reports: DrainReport[] = [];
    try {
      for (const queue of holding) {
        // A deploy starting meanwhile stops the pass before the next queue.
        if (!going(lease) || !(await newest())) break;
        const report = await drainQueue(queue, lease);
        reports.push(report);
        logger.info(
          {
            queue: report.queue,
            moved: report.moved,
            into: report.into,
            dropped: report.dropped,
            left: report.left,
            ...(report.capped ? { capped: true } : {}),
          },
          'moved the jobs of a retired action partition',
        );
      }
    } finally {
      await lock.release();
    }
    return reports;
  }

  return {
    pass,

    /**
     * Records this process's partition count as the newest (the workers of a deploy start after those they replace,
     * so the last writer is the newest deployment), then runs a pass now and then every `intervalMs`, one at a time:
     * besides what was there at start, a retired queue gets jobs while processes with the old count still run (a
     * rolling deploy), and its active jobs come back when their worker retries them or dies. A pass that stops at its
     * page cap is followed by another at once. `stop` ends the pass in progress at its next page and waits for it.
     */
    async start(intervalMs: number): Promise<{ stop(): Promise<void> }> {
      await redis.set(countKey, count);
      let running: Promise<void> | undefined;
      let again: NodeJS.Timeout | undefined;
      const tick = () => {
        running ??= pass()
          .then(
            (reports) => reports.some((report) => report.capped),
            (error: unknown) => {
              logger.warn({ err: error }, 'could not move the jobs of retired action partitions');
              return false;
            },
          )
          .then((capped) => {
            running = undefined;
            // A pass that stopped at its page cap is followed by another at once, not an interval later.
            if (capped && !stopping) again = setTimeout(tick, 0).unref();
          });
      };
      tick();
      const timer = setInterval(tick, intervalMs);
      timer.unref();
      return {
        async stop() {
          clearInterval(timer);
          clearTimeout(again);
          stopping = true;
          await running;
        },
      };
    },
  };
}
export type PartitionDrain = ReturnType<typeof createPartitionDrain>;
