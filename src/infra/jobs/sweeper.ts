import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { throttledErrorLog } from '../async.js';
import { type Db, poolOf } from '../db.js';
import { InvalidJobPayloadError, type JobSpec } from './definition.js';
import type { Queues } from './producer.js';

/**
 * Sweepers: the row is the truth and the queue only the delivery, so every
 * SWEEP_INTERVAL_MS each worker process looks for rows a job left open past
 * SWEEP_AFTER_MS (never enqueued, the store lost them, a failed or stuck job)
 * and delivers that job again (Queues.redeliver). They run on a timer of the
 * process, not as jobs of the queue store, so that a store restarted empty
 * cannot stop them; a PostgreSQL advisory lock per sweeper keeps it to one
 * sweep at a time across processes. A sweep pages through every open row:
 * a backlog of any size is delivered at once, and the workers settle it at
 * their own rate (docs/invariants.md, "Sweepers").
 */

/** A row a sweeper found open: its id, and where the next page starts. */
interface StaleRow {
  id: string;
  createdAt: Date;
}

/** One page of the open rows created before `olderThan`, oldest first, after `after` in (createdAt, id) order. */
export interface StalePage {
  olderThan: Date;
  after: StaleRow | undefined;
  limit: number;
}

export interface SweeperDefinition<P, S> {
  /** Unique: names the advisory lock, and the repeatable job an earlier version scheduled under this name. */
  name: string;
  /** The job delivered again for each open row. */
  job: JobSpec<P>;
  findStale(services: S, page: StalePage): Promise<StaleRow[]>;
  payload(row: StaleRow): P;
}

export function defineSweeper<P, S>(definition: SweeperDefinition<P, S>): SweeperDefinition<P, S> {
  return definition;
}

/**
 * A pruner: deletes rows past their use (expired refresh tokens, counters of
 * past days) on the sweepers' timer, under a lock of its own as a sweeper's
 * round is, a batch a statement so that none holds many row locks or runs long.
 */
export interface PrunerDefinition<S> {
  /** Unique among sweepers and pruners: names the advisory lock. */
  name: string;
  /** Deletes at most `limit` of the rows past their use; resolves how many it deleted. */
  prune(services: S, limit: number): Promise<number>;
}

export function definePruner<S>(definition: PrunerDefinition<S>): PrunerDefinition<S> {
  return definition;
}

/** What startSweepers runs on its timer. */
export type PeriodicTask<S> = SweeperDefinition<unknown, S> | PrunerDefinition<S>;

const isPruner = <S>(task: PeriodicTask<S>): task is PrunerDefinition<S> => 'prune' in task;

/** What the sweepers use of their services. */
export interface SweeperServices {
  db: Db;
  queues: Pick<Queues, 'redeliver' | 'removeJobScheduler'>;
  config: Pick<Config, 'sweepAfterMs' | 'sweepIntervalMs'>;
  log: Logger;
}

/** Told how each round ended (metrics.ts: sweeper_rounds_total, sweeper_rows_delivered_total). */
export interface SweepObserver {
  round(sweeper: string, outcome: 'swept' | 'skipped' | 'failed', delivered: number): void;
}

export interface Sweepers {
  /** The sweepers that have neither finished a round nor a page of one for 3 intervals (for a worker's /ready). */
  overdue(): string[];
  /** Stops the timers and waits for a running sweep. */
  close(): Promise<void>;
}

/** The advisory lock a sweeper's round holds (pg_try_advisory_lock(hashtext(key))): one round at a time across processes. */
export const sweeperLockKey = (sweeper: string) => `switchyard-sweeper:${sweeper}`;

const PAGE_SIZE = 500;
/** Redeliveries in flight at once: each is a few round trips to the store. */
const REDELIVER_CONCURRENCY = 20;
const OVERDUE_INTERVALS = 3;

export interface StartSweepersOptions {
  /** Told how each round ended; none when absent. */
  observer?: SweepObserver;
}

/** Sweeps (or prunes) every one of `sweepers` now, then every SWEEP_INTERVAL_MS, until close(). */
export function startSweepers<S extends SweeperServices>(
  services: S,
  sweepers: readonly PeriodicTask<S>[],
  options: StartSweepersOptions = {},
): Sweepers {
  const log = services.log.child({ component: 'sweepers' });
  const intervalMs = services.config.sweepIntervalMs;
  const lastRound = new Map<string, number>(sweepers.map((sweeper) => [sweeper.name, Date.now()]));
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  let closed = false;

  for (const sweeper of sweepers) {
    const failed = throttledErrorLog(log, `sweeper ${sweeper.name}`, 'sweep failed; trying again next interval');
    const observe = (outcome: 'swept' | 'skipped' | 'failed', delivered = 0) => {
      try {
        options.observer?.round(sweeper.name, outcome, delivered);
      } catch (error) {
        log.warn({ err: error }, 'the sweep observer failed');
      }
    };
    const round = async () => {
      try {
        // A long round over a large backlog is progress, not an overdue sweeper: each page counts.
        const progressed = () => lastRound.set(sweeper.name, Date.now());
        const delivered = isPruner(sweeper)
          ? await pruneOnce(services, sweeper, log, () => closed, progressed)
          : await sweepOnce(services, sweeper, log, () => closed, progressed);
        lastRound.set(sweeper.name, Date.now());
        observe(delivered === undefined ? 'skipped' : 'swept', delivered);
      } catch (error) {
        failed(error as Error);
        observe('failed');
      }
    };
    const next = (delayMs: number) => {
      if (closed) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        const sweep = round().finally(() => running.delete(sweep));
        running.add(sweep);
        void sweep.then(() => next(intervalMs));
      }, delayMs);
      timer.unref();
      timers.add(timer);
    };
    next(0);
  }
  void forgetOldSchedules(
    services,
    sweepers.filter((sweeper): sweeper is SweeperDefinition<unknown, S> => !isPruner(sweeper)),
    log,
  );
  log.info({ sweepers: sweepers.map((sweeper) => sweeper.name), intervalMs }, 'sweepers started');

  return {
    overdue: () =>
      [...lastRound].filter(([, at]) => Date.now() - at > OVERDUE_INTERVALS * intervalMs).map(([name]) => name),
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(running);
    },
  };
}

/**
 * One round of one sweeper, under its advisory lock: the rows delivered
 * again, or undefined when another process held the lock (that process
 * sweeps, so the round counts as done). Throws when the database or the
 * queue store fails, so that the round is not counted.
 */
function sweepOnce<S extends SweeperServices>(
  services: S,
  sweeper: SweeperDefinition<unknown, S>,
  log: Logger,
  isClosed: () => boolean,
  progressed: () => void,
): Promise<number | undefined> {
  return underLock(services, sweeper.name, async () => {
    const olderThan = new Date(Date.now() - services.config.sweepAfterMs);
    let after: StaleRow | undefined;
    let delivered = 0;
    for (;;) {
      const page = await sweeper.findStale(services, { olderThan, after, limit: PAGE_SIZE });
      for (let start = 0; start < page.length && !isClosed(); start += REDELIVER_CONCURRENCY) {
        const chunk = page.slice(start, start + REDELIVER_CONCURRENCY);
        await Promise.all(chunk.map((row) => redeliver(services, sweeper, row, log)));
      }
      delivered += page.length;
      progressed();
      if (page.length < PAGE_SIZE || isClosed()) break;
      after = page.at(-1);
    }
    if (delivered > 0) log.warn({ sweeper: sweeper.name, job: sweeper.job.name, count: delivered }, 'open rows delivered again');
    return delivered;
  });
}

/**
 * One round of one pruner, under its advisory lock: batches until one comes
 * back short. Resolves 0 (its rows are deleted, not delivered), or undefined
 * when another process held the lock.
 */
async function pruneOnce<S extends SweeperServices>(
  services: S,
  pruner: PrunerDefinition<S>,
  log: Logger,
  isClosed: () => boolean,
  progressed: () => void,
): Promise<number | undefined> {
  return underLock(services, pruner.name, async () => {
    let deleted = 0;
    for (;;) {
      const batch = await pruner.prune(services, PAGE_SIZE);
      deleted += batch;
      progressed();
      if (batch < PAGE_SIZE || isClosed()) break;
    }
    if (deleted > 0) log.info({ pruner: pruner.name, count: deleted }, 'rows past their use deleted');
    return 0;
  });
}

/**
 * `work` while holding the advisory lock of `name` on a connection of its own:
 * undefined, without running it, when another process holds the lock.
 */
async function underLock<S extends SweeperServices>(
  services: S,
  name: string,
  work: () => Promise<number>,
): Promise<number | undefined> {
  const client = await poolOf(services.db).connect();
  // A connection lost while checked out emits 'error' on the client itself (the pool's listener covers idle
  // ones only): without a listener it would end the process. The query in flight fails as well; the round
  // throws, and the broken connection is destroyed instead of going back to the pool.
  let lost: Error | undefined;
  const onLost = (error: Error) => {
    lost = error;
  };
  client.on('error', onLost);
  try {
    const lockKey = sweeperLockKey(name);
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [lockKey]);
    if (!rows[0]?.locked) return undefined;
    try {
      return await work();
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]);
    }
  } finally {
    client.off('error', onLost);
    client.release(lost ?? false);
  }
}

/** A row whose id makes no valid payload is logged and passed over: it must not stop the sweep of the others. */
async function redeliver<S extends SweeperServices>(
  services: S,
  sweeper: SweeperDefinition<unknown, S>,
  row: StaleRow,
  log: Logger,
): Promise<void> {
  try {
    await services.queues.redeliver(sweeper.job, sweeper.payload(row));
  } catch (error) {
    if (!(error instanceof InvalidJobPayloadError)) throw error;
    log.error({ sweeper: sweeper.name, id: row.id, reason: error.message }, 'an open row cannot be delivered again');
  }
}

/**
 * Earlier versions ran each sweeper as a repeatable job of the same name; its
 * schedule lives on in the queue store and would keep adding jobs nothing
 * processes. Removing an absent schedule changes nothing.
 */
async function forgetOldSchedules<S extends SweeperServices>(
  services: S,
  sweepers: readonly SweeperDefinition<unknown, S>[],
  log: Logger,
): Promise<void> {
  for (const sweeper of sweepers) {
    try {
      await services.queues.removeJobScheduler(sweeper.job.queue, sweeper.name);
    } catch (error) {
      log.warn({ sweeper: sweeper.name, reason: (error as Error).message }, 'could not remove an old sweeper schedule');
    }
  }
}
