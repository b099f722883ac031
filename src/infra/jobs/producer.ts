import type { JobsOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { errorThrottle, withTimeout } from '../async.js';
import { type AnyQueue, queueBackend, type QueueBackend } from './backends/index.js';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, type JobSpec, parsePayload } from './definition.js';
import { closeAll, readyOrFail, storeErrorLog, unreachable } from './store.js';

/**
 * The producer: one BullMQ Queue per queue name, on the store queueBackend
 * picks. Every enqueue is bounded by ENQUEUE_TIMEOUT_MS whatever the store
 * does, and start-up fails fast too: waitUntilReady plus one cheap query,
 * under the ready timeout, rejecting on the first connection error (a Redis
 * Queue built while Redis is down hangs on its first command), having closed
 * what it built.
 */

const READY_TIMEOUT_MS = 5000;
const ENQUEUE_TIMEOUT_MS = 5000;
const PING_TIMEOUT_MS = 2000;

export type JobCounts = { waiting: number; active: number; delayed: number; failed: number };

export interface Queues {
  /**
   * Validates the payload (zod) first: invalid → throws InvalidJobPayloadError. Store down → rejects fast.
   * With `delayMs`, the job runs no sooner than that (a deadline's job: its row still gets a sweeper).
   */
  enqueue<P>(job: JobSpec<P>, payload: P, options?: EnqueueOptions): Promise<void>;
  /**
   * For sweepers, whose row is still open: enqueue, or run again a job with
   * the same id that was kept as failed (its onFinalFailure did not get to
   * record the failure, or it stalled out) or as completed (it finished
   * without closing the row). A plain enqueue of a kept id is ignored. A job
   * still waiting or active is left alone: a stuck active one (its worker
   * died) is handed back by the workers' stall check.
   */
  redeliver<P>(job: JobSpec<P>, payload: P): Promise<void>;
  /** Removes a repeatable job's schedule, if there is one. */
  removeJobScheduler(queue: string, scheduler: string): Promise<void>;
  /** Resolves when the store answers (for /ready); rejects fast otherwise. */
  ping(): Promise<void>;
  counts(): Promise<Record<string, JobCounts>>;
  close(): Promise<void>;
  /** Which store, for logs. */
  readonly backend: QueueBackend['kind'];
  /** The store these queues are on: startWorkers runs its workers there. */
  readonly store: QueueBackend;
  /** The producer Queue objects, for bull-board (board.ts) only. */
  bullQueues(): readonly AnyQueue[];
}

export interface EnqueueOptions {
  delayMs?: number;
}

export interface CreateQueuesOptions {
  /** Every queue a job may name (src/jobs.ts lists them). */
  queueNames: readonly string[];
  /** Namespace in the store: the Redis key prefix (default `bull`) or the PostgreSQL schema (default `bullmq`). Tests use their own. */
  namespace?: string;
  /** How long start-up waits for the store (default 5 s). */
  readyTimeoutMs?: number;
}

export interface QueueDeps {
  config: Pick<Config, 'redisUrl'>;
  log: Logger;
  databaseUrl: string;
}

export class QueuesNotStartedError extends Error {
  override name = 'QueuesNotStartedError';
  constructor() {
    super('the queues are not started (app.ready() or app.start() starts them)');
  }
}

/**
 * Opens one producer Queue per name and checks the store answers. Rejects
 * fast when it does not, having closed what it opened.
 */
export function createQueues(deps: QueueDeps, options: CreateQueuesOptions): Promise<Queues> {
  return openQueues(storeOf(deps, options), deps.log, options.queueNames);
}

const storeOf = (deps: QueueDeps, options: CreateQueuesOptions) =>
  queueBackend(deps.config, deps.databaseUrl, {
    namespace: options.namespace,
    readyTimeoutMs: options.readyTimeoutMs ?? READY_TIMEOUT_MS,
  });

async function openQueues(store: QueueBackend, log: Logger, queueNames: readonly string[]): Promise<Queues> {
  const qlog = log.child({ component: 'queues', backend: store.kind });
  const queues = new Map<string, AnyQueue>();
  for (const name of queueNames) {
    const queue = store.newQueue(name);
    queue.on('error', storeErrorLog(qlog, `queue ${name}`));
    queues.set(name, queue);
  }
  try {
    if (queues.size === 0) throw new Error('no queue names given');
    await Promise.all(
      [...queues.values()].map((queue) =>
        readyOrFail(queue, store.readyTimeoutMs, async () => {
          await queue.getJobCounts('waiting');
        }),
      ),
    );
  } catch (error) {
    await closeAll([...queues.values()], qlog);
    throw unreachable(store.kind, error);
  }
  qlog.debug('queues ready');

  let closed: Promise<void> | undefined;
  /**
   * Enqueues of one coalescing id share adds: at most one add per id is in
   * flight, and the enqueues made meanwhile share the next one, which starts
   * once it finished (or, with none in flight, on the next turn of the event
   * loop) — in either case after every enqueue that joined it was asked for,
   * and so after the commit each caller made before asking. What a coalesced
   * job does is whatever is pending when it runs, so one add started after
   * those commits delivers them all; this is about round trips (each add is a
   * store transaction, on PostgreSQL with an fsync under a lock on the id, so
   * concurrent adds of one id queue on each other anyway), never about
   * correctness, which the store's deduplication keeps. Each caller still sees
   * its add's failure.
   */
  const coalescing = new Map<string, { running?: Promise<unknown>; next?: Promise<unknown> }>();
  const coalescedAdd = (key: string, start: () => Promise<unknown>) => {
    let id = coalescing.get(key);
    if (!id) coalescing.set(key, (id = {}));
    const lane = id;
    if (lane.next) return lane.next;
    const after = lane.running ?? new Promise<void>((resolve) => setImmediate(resolve));
    const next = after
      .catch(() => {})
      .then(() => {
        lane.next = undefined;
        const running = start();
        lane.running = running;
        const done = () => {
          if (lane.running === running) lane.running = undefined;
        };
        running.then(done, done);
        return running;
      });
    lane.next = next;
    return next;
  };
  const add = async <P>(job: JobSpec<P>, payload: P, { delayMs }: EnqueueOptions = {}) => {
    if (closed) throw new Error('the queues are closed');
    const data = parsePayload(job, payload);
    const jobId = job.jobId?.(data);
    if (jobId !== undefined) checkJobId(job.name, jobId);
    const coalesceId = job.coalesceId?.(data);
    if (jobId !== undefined && coalesceId !== undefined) throw new Error(`job ${job.name}: a jobId or a coalesceId, not both`);
    const queue = queues.get(job.queue);
    if (!queue) throw new Error(`job ${job.name}: unknown queue ${job.queue}`);
    const options = jobOptions(store, job, jobId, coalesceId);
    if (delayMs !== undefined && delayMs > 0) options.delay = Math.ceil(delayMs);
    const start = () => queue.add(job.name, data, options);
    const added = coalesceId === undefined ? start() : coalescedAdd(`${job.queue}\u0000${coalesceId}`, start);
    await withTimeout(added, ENQUEUE_TIMEOUT_MS, 'enqueue');
    return { queue, jobId };
  };

  return {
    backend: store.kind,
    store,
    bullQueues: () => [...queues.values()],
    async enqueue(job, payload, options) {
      await add(job, payload, options);
    },
    async redeliver(job, payload) {
      const { queue, jobId } = await add(job, payload);
      if (jobId === undefined) return;
      const existing = await withTimeout(queue.getJob(jobId), ENQUEUE_TIMEOUT_MS, 'redeliver');
      const state = existing ? await existing.getState() : undefined;
      if (state === 'failed') {
        await existing!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        qlog.info({ job: job.name, jobId }, 'failed job redelivered');
      } else if (state === 'completed') {
        // Its row is still open (the sweeper found it): the job runs again; it re-reads the row, so the effect stays one.
        await existing!.remove();
        await add(job, payload);
        qlog.info({ job: job.name, jobId }, 'completed job of an open row redelivered');
      }
    },
    async removeJobScheduler(queueName, scheduler) {
      const queue = queues.get(queueName);
      if (!queue) throw new Error(`unknown queue ${queueName}`);
      await withTimeout(queue.removeJobScheduler(scheduler), ENQUEUE_TIMEOUT_MS, 'remove schedule');
    },
    async ping() {
      await withTimeout([...queues.values()][0]!.getJobCounts('waiting'), PING_TIMEOUT_MS, 'ping');
    },
    async counts() {
      const entries = await Promise.all(
        [...queues].map(async ([name, queue]) => {
          const counts = await withTimeout(
            queue.getJobCounts('waiting', 'active', 'delayed', 'failed'),
            PING_TIMEOUT_MS,
            'counts',
          );
          const { waiting = 0, active = 0, delayed = 0, failed = 0 } = counts;
          return [name, { waiting, active, delayed, failed }] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
    close() {
      closed ??= closeAll([...queues.values()], qlog);
      return closed;
    },
  };
}

/**
 * A Queues to hand out before the store is opened, so that building the app
 * stays synchronous: every call fails with QueuesNotStartedError until start()
 * has succeeded. A failed start() may be tried again (a pg-backend instance
 * whose first connect failed is thrown away, never reused).
 */
export interface DeferredQueues extends Queues {
  start(): Promise<void>;
  readonly started: boolean;
}

export function deferredQueues(deps: QueueDeps, options: CreateQueuesOptions): DeferredQueues {
  let current: Queues | undefined;
  let starting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const store = storeOf(deps, options);
  const live = () => {
    if (!current) throw new QueuesNotStartedError();
    return current;
  };
  return {
    backend: store.kind,
    get started() {
      return current !== undefined;
    },
    get store() {
      return live().store;
    },
    bullQueues: () => live().bullQueues(),
    start() {
      if (closing) return Promise.reject(new Error('the queues are closed'));
      starting ??= openQueues(store, deps.log, options.queueNames).then(
        (queues) => {
          current = queues;
        },
        (error: unknown) => {
          starting = undefined;
          throw error;
        },
      );
      return starting;
    },
    enqueue: async (job, payload, enqueueOptions) => live().enqueue(job, payload, enqueueOptions),
    redeliver: async (job, payload) => live().redeliver(job, payload),
    removeJobScheduler: async (queue, scheduler) => live().removeJobScheduler(queue, scheduler),
    ping: async () => live().ping(),
    counts: async () => live().counts(),
    close() {
      closing ??= (async () => {
        await starting?.catch(() => {});
        await current?.close();
      })();
      return closing;
    },
  };
}

/**
 * The row is the truth and the queue only the delivery: call this once the
 * row is committed. A failed enqueue (store down or slow, the queues closed) is
 * logged with the payload's ids and left to the job's sweeper, which delivers
 * it again once the row is older than SWEEP_AFTER_MS: the caller goes on and
 * answers with its row. Never rejects.
 */
export async function enqueueOrLeaveToSweeper<P extends object>(
  services: { queues: Pick<Queues, 'enqueue'>; log: Logger },
  job: JobSpec<P>,
  payload: P,
  options?: EnqueueOptions,
): Promise<void> {
  try {
    await services.queues.enqueue(job, payload, options);
  } catch (error) {
    let shouldLog = enqueueFailures.get(services.queues);
    if (!shouldLog) enqueueFailures.set(services.queues, (shouldLog = errorThrottle()));
    const suppressed = shouldLog(error as Error, job.name);
    if (suppressed === undefined) return;
    // Payloads are ids only (see JobSpec.payload): the fields the module logged before.
    const fields: Record<string, unknown> = { ...payload, err: error, job: job.name, suppressed };
    services.log.warn(fields, `could not enqueue ${job.name}; the sweeper will`);
  }
}

/**
 * While the store is down every request that enqueues fails the same way (a
 * Redis outage wrote 5.8 MB in 11 s, a stack per call): one line per job and
 * kind of failure every 10 s, per app (its queues; services.log is the
 * request's logger, whose line then carries that request's id).
 */
const enqueueFailures = new WeakMap<object, ReturnType<typeof errorThrottle>>();

function jobOptions<P>(store: QueueBackend, job: JobSpec<P>, jobId: string | undefined, coalesceId: string | undefined): JobsOptions {
  return {
    ...(jobId === undefined ? {} : { jobId }),
    ...(coalesceId === undefined ? {} : { deduplication: { id: coalesceId, keepLastIfActive: true } }),
    attempts: job.attempts ?? DEFAULT_ATTEMPTS,
    backoff: { type: 'exponential', delay: job.backoffMs ?? DEFAULT_BACKOFF_MS },
    ...store.retention,
  };
}

function checkJobId(name: string, jobId: string): void {
  // BullMQ refuses ids of digits only ("Custom Id cannot be integers").
  if (/^\d+$/.test(jobId) || jobId.length === 0 || jobId.length > 200) {
    throw new Error(`job ${name}: a job id must be 1-200 characters and not all digits (prefix it)`);
  }
}
