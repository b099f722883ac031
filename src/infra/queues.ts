import { type Job, type JobsOptions, Queue, UnrecoverableError, Worker, createPostgresBackend } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { AppServices } from '../core/context.js';
import { throttledErrorLog, withTimeout } from './async.js';

/**
 * Jobs on BullMQ 6: the one module that knows which store holds them. With
 * REDIS_URL the Redis backend (ioredis); without it BullMQ's PostgreSQL backend
 * on the app's own database (schema `bullmq`, migrated on start). The rest of
 * the code declares jobs with defineJob, enqueues them through `Queues`, and
 * runs their processors with startWorkers; it never sees the backend.
 *
 * Settings and why (measured in a BullMQ 6.7 spike on both backends):
 * - Producers fail fast while the store is down: Redis with
 *   `enableOfflineQueue: false` (the default queues commands until Redis returns,
 *   i.e. hangs), pg with `connectionTimeoutMillis`; and every enqueue is bounded
 *   by ENQUEUE_TIMEOUT_MS whatever the store does.
 * - Start-up fails fast too: waitUntilReady plus one cheap query, under
 *   READY_TIMEOUT_MS, rejecting on the first connection error. A Redis Queue
 *   built while Redis is down hangs on its first command, and a pg-backend
 *   instance whose first connect failed never recovers, so a failed start
 *   closes what it built and throws.
 * - Workers reconnect forever (Redis `maxRetriesPerRequest: null`, a capped
 *   retryStrategy so recovery takes ~1-2 s instead of up to 20 s; pg
 *   `runRetryDelay` 2 s instead of 15 s) and log, rate-limited, meanwhile.
 * - pg connections are budgeted: every Queue and Worker owns a pool (default
 *   max 10, which each grows to under load) plus one LISTEN client per Worker.
 */

export const QUEUE_NAMES = ['provisioning', 'ledger', 'orders'] as const;
/** One queue per module for now; add a name here to add a queue. */
export type QueueName = (typeof QUEUE_NAMES)[number];

export interface JobContext {
  services: AppServices;
  /** 1 on the first run, up to maxAttempts. */
  attempt: number;
  maxAttempts: number;
  jobId: string;
}

export interface JobDefinition<P> {
  /** Unique across all jobs. */
  name: string;
  queue: QueueName;
  /** Ids only, never secrets: payloads are stored in the queue and shown by bull-board. */
  payload: z.ZodType<P>;
  /** A deterministic id where duplicates are possible; must not be all digits (prefix it: `settle-${id}`). */
  jobId?: (payload: P) => string;
  /** Runs in all (default DEFAULT_ATTEMPTS). */
  attempts?: number;
  /** First retry delay; doubles on each retry (default DEFAULT_BACKOFF_MS). */
  backoffMs?: number;
  /** Re-reads state and returns early when the work is already done: a job may run more than once. */
  process: (payload: P, ctx: JobContext) => Promise<unknown>;
  /**
   * Runs after the last attempt failed or the payload/error was unrecoverable (e.g. mark the row FAILED);
   * again if a sweeper redelivers the failed job, so it must be idempotent like the processor.
   */
  onFinalFailure?: (payload: P, error: Error, ctx: JobContext) => Promise<void>;
  /** A repeatable job (a sweeper): startWorkers schedules it every `everyMs` with this payload, once per queue store. */
  repeat?: { everyMs: number | ((config: Config) => number); payload: P };
}

export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 500;
/** Finished jobs are kept for a while (bull-board, and a re-add of a kept id is ignored), then trimmed. */
export const KEEP_COMPLETED = { age: 3600, count: 10_000 } as const; // 1 h, at most 10k per queue
export const KEEP_FAILED = { age: 7 * 24 * 3600, count: 10_000 } as const; // 7 days, at most 10k per queue
/**
 * On the PostgreSQL backend the count bound costs a `DELETE … NOT IN (the newest
 * 10k)` on every completion — about 5 ms, the largest share of a job's cost in
 * the ledger benchmark — while kept rows cost disk, not memory: age alone.
 */
const KEEP_BY_AGE_ONLY = {
  completed: { age: KEEP_COMPLETED.age },
  failed: { age: KEEP_FAILED.age },
} as const;

const READY_TIMEOUT_MS = 5000;
const ENQUEUE_TIMEOUT_MS = 5000;
const PING_TIMEOUT_MS = 2000;
/**
 * pg pools: a producer's queries are short; a worker's pool serves claims,
 * completions and lock renewals, one per finishing job: a quarter of its
 * concurrency (5 at the default 20), between 2 and 10. The spike measured
 * 797 jobs/s with max 2, 917 with 10 (concurrency 50). Per process: API
 * 3 x 3 = 9; worker process 9 + 3 x (5 + 1 LISTEN) = 27; plus Prisma's 10 each.
 */
const PG_PRODUCER_POOL_MAX = 3;
const pgWorkerPoolMax = (concurrency: number) => Math.min(10, Math.max(2, Math.ceil(concurrency / 4)));
const CONNECT_TIMEOUT_MS = 3000;
/** Redis reconnect backoff: 200 ms steps up to 2 s (BullMQ's default grows to 20 s). */
const redisRetryStrategy = (times: number) => Math.min(times * 200, 2000);

export function defineJob<P>(definition: JobDefinition<P>): JobDefinition<P> {
  if (!QUEUE_NAMES.includes(definition.queue)) throw new Error(`job ${definition.name}: unknown queue ${definition.queue}`);
  return definition;
}

/**
 * A repeatable job, every SWEEP_INTERVAL_MS, that delivers `job` again for
 * every row `findStale` reports left PENDING past SWEEP_AFTER_MS: the row was
 * committed but its job was never enqueued (store down, process killed in
 * between) or failed without recording it. The job must be idempotent, as
 * every job is, so a row that was only slow is done once all the same.
 */
export function defineSweeper<P>(options: {
  name: string;
  job: JobDefinition<P>;
  findStale: (services: AppServices, olderThan: Date) => Promise<P[]>;
}): JobDefinition<Record<string, never>> {
  return defineJob({
    name: options.name,
    queue: options.job.queue,
    payload: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
    attempts: 1,
    repeat: { everyMs: (config) => config.sweepIntervalMs, payload: {} },
    process: async (_payload, { services }) => {
      const stale = await options.findStale(services, new Date(Date.now() - services.config.sweepAfterMs));
      for (const payload of stale) await services.queues.redeliver(options.job, payload);
      if (stale.length > 0) services.log.warn({ job: options.job.name, count: stale.length }, 'stale PENDING rows delivered again');
      return stale.length;
    },
  });
}

/**
 * The row is the truth and the queue only the delivery: call this once the
 * row is committed. A failed enqueue (store down or slow, the queues closed) is
 * logged with the payload's ids and left to the job's sweeper, which delivers
 * it again once the row is older than SWEEP_AFTER_MS: the caller goes on and
 * answers with its row. Never rejects.
 */
export async function enqueueOrLeaveToSweeper<P extends object>(
  services: Pick<AppServices, 'queues' | 'log'>,
  job: JobDefinition<P>,
  payload: P,
): Promise<void> {
  try {
    await services.queues.enqueue(job, payload);
  } catch (error) {
    // Payloads are ids only (see JobDefinition.payload): the fields the module logged before.
    const fields: Record<string, unknown> = { ...payload, err: error, job: job.name };
    services.log.warn(fields, `could not enqueue ${job.name}; the sweeper will`);
  }
}

export type JobCounts = { waiting: number; active: number; delayed: number; failed: number };

export interface Queues {
  /** Validates the payload (zod) first: invalid → throws InvalidJobPayloadError. Store down → rejects fast. */
  enqueue<P>(job: JobDefinition<P>, payload: P): Promise<void>;
  /**
   * For sweepers: enqueue, or, when a job with the same id was kept as failed
   * (its onFinalFailure did not get to record the failure, or it stalled out),
   * retry that job. A plain enqueue of a kept id is ignored.
   */
  redeliver<P>(job: JobDefinition<P>, payload: P): Promise<void>;
  /** Resolves when the store answers (for /ready); rejects fast otherwise. */
  ping(): Promise<void>;
  counts(): Promise<Record<QueueName, JobCounts>>;
  close(): Promise<void>;
  readonly backend: 'redis' | 'postgres';
}

export interface CreateQueuesOptions {
  /** Namespace in the store: the Redis key prefix (default `bull`) or the PostgreSQL schema (default `bullmq`). Tests use their own. */
  namespace?: string;
  /** How long start-up waits for the store (default 5 s). */
  readyTimeoutMs?: number;
}

export class InvalidJobPayloadError extends Error {
  override name = 'InvalidJobPayloadError';
  constructor(job: string, error: z.ZodError) {
    // Paths and messages only: never the values.
    super(`invalid payload for job ${job}: ${describeIssues(error)}`);
  }
}

export class QueuesNotStartedError extends Error {
  override name = 'QueuesNotStartedError';
  constructor() {
    super('the queues are not started (app.ready() or app.start() starts them)');
  }
}

/** Which backend a configuration uses. */
export function queueBackend(config: Config): 'redis' | 'postgres' {
  return config.redisUrl ? 'redis' : 'postgres';
}

/** How to reach the store; carried by a Queues so that workers use the same one. */
interface Store {
  backend: 'redis' | 'postgres';
  redisUrl?: string;
  databaseUrl: string;
  namespace: string | undefined;
  readyTimeoutMs: number;
}

const STORE = Symbol('switchyard.queues.store');
/** The producer Queue objects of a started Queues; only bullQueues() reads them. */
const BULL = Symbol('switchyard.queues.bull');
type WithStore = { [STORE]: Store; [BULL]: ReadonlyMap<QueueName, AnyQueue> };

// BullMQ's classes are generic over their backend; this module mixes both.
/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyQueue = Queue<any, any, string, any, any, string, any, any>;
type AnyWorker = Worker<any, any, string, any, any, any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

function producerOptions(store: Store) {
  if (store.backend === 'redis') {
    return {
      connection: {
        url: store.redisUrl,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: CONNECT_TIMEOUT_MS,
        retryStrategy: redisRetryStrategy,
      },
      ...(store.namespace ? { prefix: store.namespace } : {}),
    };
  }
  return { connection: pgConnection(store, PG_PRODUCER_POOL_MAX) };
}

function workerConnection(store: Store, concurrency: number) {
  if (store.backend === 'redis') {
    return {
      connection: {
        url: store.redisUrl,
        maxRetriesPerRequest: null,
        connectTimeout: CONNECT_TIMEOUT_MS,
        retryStrategy: redisRetryStrategy,
      },
      ...(store.namespace ? { prefix: store.namespace } : {}),
    };
  }
  return { connection: pgConnection(store, pgWorkerPoolMax(concurrency)) };
}

function pgConnection(store: Store, max: number) {
  return {
    connectionString: store.databaseUrl,
    schema: store.namespace ?? 'bullmq',
    migrate: true,
    max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // So that a silently dropped LISTEN connection is noticed and rebuilt.
    keepAlive: true,
  };
}

function newQueue(store: Store, name: QueueName): AnyQueue {
  const options = producerOptions(store);
  // The two constructor forms differ only in the backend factory (Redis is the default).
  return (
    store.backend === 'redis'
      ? new Queue(name, options as never)
      : new Queue(name, options as never, createPostgresBackend as never)
  ) as AnyQueue;
}

/**
 * Opens one producer Queue per QueueName and checks the store answers. Rejects
 * fast (READY_TIMEOUT_MS at most, at once on a refused connection) when it
 * does not, having closed what it opened.
 */
export async function createQueues(
  services: { config: Config; log: Logger; databaseUrl: string },
  options: CreateQueuesOptions = {},
): Promise<Queues> {
  const { config, log } = services;
  const store: Store = {
    backend: queueBackend(config),
    redisUrl: config.redisUrl,
    databaseUrl: services.databaseUrl,
    namespace: options.namespace,
    readyTimeoutMs: options.readyTimeoutMs ?? READY_TIMEOUT_MS,
  };
  const qlog = log.child({ component: 'queues', backend: store.backend });
  const queues = new Map<QueueName, AnyQueue>();
  for (const name of QUEUE_NAMES) {
    const queue = newQueue(store, name);
    queue.on('error', storeErrorLog(qlog, `queue ${name}`));
    queues.set(name, queue);
  }
  try {
    await Promise.all(
      [...queues.values()].map((queue) =>
        readyOrFail(queue, store.readyTimeoutMs, async () => {
          await queue.getJobCounts('waiting');
        }),
      ),
    );
  } catch (error) {
    await closeAll([...queues.values()], qlog);
    throw new Error(`queue store (${store.backend}) unreachable: ${(error as Error).message}`, { cause: error });
  }
  qlog.debug('queues ready');

  const queueOf = (job: JobDefinition<unknown>) => {
    const queue = queues.get(job.queue);
    if (!queue) throw new Error(`job ${job.name}: unknown queue ${job.queue}`);
    return queue;
  };
  let closed: Promise<void> | undefined;

  const add = async <P>(job: JobDefinition<P>, payload: P) => {
    if (closed) throw new Error('the queues are closed');
    const parsed = job.payload.safeParse(payload);
    if (!parsed.success) throw new InvalidJobPayloadError(job.name, parsed.error);
    const jobId = job.jobId?.(parsed.data);
    if (jobId !== undefined) checkJobId(job.name, jobId);
    const queue = queueOf(job as JobDefinition<unknown>);
    await withTimeout(queue.add(job.name, parsed.data, jobOptions(store, job, jobId)), ENQUEUE_TIMEOUT_MS, 'enqueue');
    return { queue, jobId };
  };

  const result: Queues & WithStore = {
    backend: store.backend,
    [STORE]: store,
    [BULL]: queues,
    async enqueue(job, payload) {
      await add(job, payload);
    },
    async redeliver(job, payload) {
      const { queue, jobId } = await add(job, payload);
      if (jobId === undefined) return;
      const existing = await withTimeout(queue.getJob(jobId), ENQUEUE_TIMEOUT_MS, 'redeliver');
      if (existing && (await existing.getState()) === 'failed') {
        await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        qlog.info({ job: job.name, jobId }, 'failed job redelivered');
      }
    },
    async ping() {
      await withTimeout(queues.get(QUEUE_NAMES[0])!.getJobCounts('waiting'), PING_TIMEOUT_MS, 'ping');
    },
    async counts() {
      const entries = await Promise.all(
        [...queues].map(async ([name, queue]) => {
          const counts = await withTimeout(
            queue.getJobCounts('waiting', 'active', 'delayed', 'failed'),
            PING_TIMEOUT_MS,
            'counts',
          );
          return [
            name,
            {
              waiting: counts.waiting ?? 0,
              active: counts.active ?? 0,
              delayed: counts.delayed ?? 0,
              failed: counts.failed ?? 0,
            },
          ] as const;
        }),
      );
      return Object.fromEntries(entries) as Record<QueueName, JobCounts>;
    },
    close() {
      closed ??= closeAll([...queues.values()], qlog);
      return closed;
    },
  };
  return result;
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

export function deferredQueues(
  services: { config: Config; log: Logger; databaseUrl: string },
  options: CreateQueuesOptions = {},
): DeferredQueues {
  let current: Queues | undefined;
  let starting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const live = () => {
    if (!current) throw new QueuesNotStartedError();
    return current;
  };
  const handle = {
    backend: queueBackend(services.config),
    get started() {
      return current !== undefined;
    },
    get [STORE]() {
      return (live() as Queues & WithStore)[STORE];
    },
    get [BULL]() {
      return (live() as Queues & WithStore)[BULL];
    },
    start() {
      if (closing) return Promise.reject(new Error('the queues are closed'));
      starting ??= createQueues(services, options).then(
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
    enqueue: async (job, payload) => live().enqueue(job, payload),
    redeliver: async (job, payload) => live().redeliver(job, payload),
    ping: async () => live().ping(),
    counts: async () => live().counts(),
    close() {
      closing ??= (async () => {
        await starting?.catch(() => {});
        await current?.close();
      })();
      return closing;
    },
  } satisfies DeferredQueues & WithStore;
  return handle;
}

/**
 * The BullMQ Queue objects behind a started Queues (one per QueueName), for
 * bull-board (src/infra/admin-queues.ts) only: everything else goes through
 * the backend-agnostic Queues. Throws QueuesNotStartedError before start().
 */
export function bullQueues(queues: Queues): Queue[] {
  const bull = (queues as Queues & Partial<WithStore>)[BULL];
  if (!bull) throw new Error('bullQueues needs the Queues made by createQueues or deferredQueues');
  return [...bull.values()] as unknown as Queue[];
}

/** Told about every job attempt a worker runs (metrics.ts: job_duration_seconds, job_failures_total). */
export interface JobObserver {
  /**
   * `job` is the job's name, or "unknown" for a name no processor was given;
   * `failed` is absent on success, else whether the failure is final (no retry follows).
   */
  attempt(job: string, seconds: number, failed?: { final: boolean }): void;
}

const observers = new WeakMap<Queues, JobObserver>();

/**
 * Makes `observer` the default of every startWorkers on `queues` (buildApp
 * points its Queues at the app's metrics, so inline workers report to its
 * /metrics without their callers passing anything).
 */
export function observeJobs(queues: Queues, observer: JobObserver): void {
  observers.set(queues, observer);
}

export interface Workers {
  /** Stops taking jobs, lets running ones finish (bounded by SHUTDOWN_TIMEOUT_MS), then closes. */
  close(): Promise<void>;
}

export interface StartWorkersOptions {
  /** Jobs in flight per queue in this process (default WORKER_CONCURRENCY). */
  concurrency?: number;
  /** How long running jobs may take to finish on close (default SHUTDOWN_TIMEOUT_MS). */
  closeTimeoutMs?: number;
  /**
   * A job's lock; a worker that dies holding one has its job re-run once the
   * lock expired and the next stall check ran (default JOB_LOCK_MS /
   * JOB_STALLED_INTERVAL_MS, 30 s each: a SIGKILLed worker's job re-runs after
   * 60-90 s; tests use 5 s / 2 s).
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Told about every attempt (default: the observer observeJobs gave services.queues, if any). */
  observer?: JobObserver;
}

/**
 * Runs the processors of `jobs`: one BullMQ Worker per queue they use, on the
 * store `services.queues` enqueues to. Rejects fast when the store is
 * unreachable at start; once started, workers reconnect forever.
 */
export async function startWorkers(
  services: AppServices,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  jobs: JobDefinition<any>[],
  options: StartWorkersOptions = {},
): Promise<Workers> {
  const store = (services.queues as Queues & Partial<WithStore>)[STORE];
  if (!store) throw new Error('startWorkers needs the Queues made by createQueues');
  const wlog = services.log.child({ component: 'workers', backend: store.backend });
  const concurrency = options.concurrency ?? services.config.workerConcurrency;
  const closeTimeoutMs = options.closeTimeoutMs ?? services.config.shutdownTimeoutMs;
  const observer = options.observer ?? observers.get(services.queues);

  const byQueue = new Map<QueueName, Map<string, JobDefinition<unknown>>>();
  for (const job of jobs) {
    const named = byQueue.get(job.queue) ?? new Map<string, JobDefinition<unknown>>();
    if (named.has(job.name) || [...byQueue.values()].some((other) => other.has(job.name))) {
      throw new Error(`job name ${job.name} is declared twice`);
    }
    named.set(job.name, job);
    byQueue.set(job.queue, named);
  }

  const workers: AnyWorker[] = [];
  for (const [queueName, definitions] of byQueue) {
    const processor = (job: Job) => runJob(services, wlog, definitions, job, observer);
    const workerOptions = {
      ...workerConnection(store, concurrency),
      concurrency,
      // After a failed fetch (store down) the worker sleeps this long; BullMQ's default is 15 s.
      runRetryDelay: 2000,
      lockDuration: options.lockDurationMs ?? services.config.jobLockMs,
      stalledInterval: options.stalledIntervalMs ?? services.config.jobStalledIntervalMs,
    };
    const worker = (
      store.backend === 'redis'
        ? new Worker(queueName, processor, workerOptions as never)
        : new Worker(queueName, processor, workerOptions as never, createPostgresBackend as never)
    ) as AnyWorker;
    worker.on('error', storeErrorLog(wlog, `worker ${queueName}`));
    worker.on('stalled', (jobId: string) => wlog.warn({ queue: queueName, jobId }, 'job stalled; re-queued'));
    workers.push(worker);
  }

  try {
    await Promise.all(workers.map((worker) => readyOrFail(worker, store.readyTimeoutMs)));
    await scheduleRepeats(store, services.config, jobs, wlog);
  } catch (error) {
    await closeAll(workers, wlog, true);
    throw new Error(`queue store (${store.backend}) unreachable: ${(error as Error).message}`, { cause: error });
  }
  wlog.info({ queues: [...byQueue.keys()], jobs: jobs.map((job) => job.name), concurrency }, 'workers started');

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        // pause() stops fetching and waits for the running jobs; past the bound,
        // close without waiting: their locks expire and another worker re-runs them.
        const drained = await withTimeout(
          Promise.all(workers.map((worker) => worker.pause())).then(() => true),
          closeTimeoutMs,
          'drain',
        ).catch(() => false);
        if (!drained) wlog.warn({ closeTimeoutMs }, 'running jobs did not finish in time; closing anyway');
        await closeAll(workers, wlog, !drained);
        wlog.info('workers closed');
      })();
      return closing;
    },
  };
}

/** Runs one attempt and tells the observer (if any) how long it took and how it ended. */
async function runJob(
  services: AppServices,
  log: Logger,
  definitions: Map<string, JobDefinition<unknown>>,
  job: Job,
  observer: JobObserver | undefined,
): Promise<unknown> {
  if (!observer) return runAttempt(services, log, definitions, job);
  const started = performance.now();
  // Job names come from the store (bull-board can add any): label only the declared ones.
  const label = definitions.has(job.name) ? job.name : 'unknown';
  const observe = (failed?: { final: boolean }) => {
    try {
      observer.attempt(label, (performance.now() - started) / 1000, failed);
    } catch (error) {
      log.warn({ err: error }, 'the job observer failed');
    }
  };
  try {
    const result = await runAttempt(services, log, definitions, job);
    observe();
    return result;
  } catch (error) {
    observe({ final: error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1) });
    throw error;
  }
}

async function runAttempt(
  services: AppServices,
  log: Logger,
  definitions: Map<string, JobDefinition<unknown>>,
  job: Job,
): Promise<unknown> {
  const started = performance.now();
  const fields = { job: job.name, jobId: job.id, attempt: job.attemptsMade + 1 };
  const definition = definitions.get(job.name);
  if (!definition) {
    log.error(fields, 'no processor for this job name; failed without retries');
    throw new UnrecoverableError(`no processor for job ${job.name}`);
  }
  const parsed = definition.payload.safeParse(job.data);
  if (!parsed.success) {
    const message = `invalid payload: ${describeIssues(parsed.error)}`;
    log.error({ ...fields, reason: message }, 'job failed without retries');
    throw new UnrecoverableError(message);
  }
  const ctx: JobContext = {
    services,
    attempt: job.attemptsMade + 1,
    maxAttempts: job.opts.attempts ?? 1,
    jobId: String(job.id),
  };
  try {
    const result = await definition.process(parsed.data, ctx);
    log.debug({ ...fields, durationMs: elapsed(started) }, 'job completed');
    return result;
  } catch (caught) {
    const error = caught instanceof Error ? caught : new Error(String(caught));
    const final = error instanceof UnrecoverableError || ctx.attempt >= ctx.maxAttempts;
    const logged = { ...fields, maxAttempts: ctx.maxAttempts, durationMs: elapsed(started), err: error };
    if (!final) {
      log.warn(logged, 'job attempt failed; will retry');
      throw error;
    }
    log.error(logged, 'job failed after its last attempt');
    if (definition.onFinalFailure) {
      try {
        await definition.onFinalFailure(parsed.data, error, ctx);
      } catch (hookError) {
        log.error({ ...fields, err: hookError }, 'onFinalFailure failed; the job stays failed (redeliver retries it)');
      }
    }
    throw error;
  }
}

async function scheduleRepeats(
  store: Store,
  config: Config,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  jobs: JobDefinition<any>[],
  log: Logger,
): Promise<void> {
  const repeating = jobs.filter((job) => job.repeat);
  if (repeating.length === 0) return;
  // Schedulers live in the store; upserting the same id again changes nothing.
  const scheduler = new Map<QueueName, AnyQueue>();
  try {
    for (const job of repeating) {
      const parsed = job.payload.safeParse(job.repeat!.payload);
      if (!parsed.success) throw new InvalidJobPayloadError(job.name, parsed.error);
      let queue = scheduler.get(job.queue);
      if (!queue) {
        queue = newQueue(store, job.queue);
        queue.on('error', storeErrorLog(log, `scheduler ${job.queue}`));
        scheduler.set(job.queue, queue);
      }
      await withTimeout(
        queue.upsertJobScheduler(
          job.name,
          { every: typeof job.repeat!.everyMs === 'function' ? job.repeat!.everyMs(config) : job.repeat!.everyMs },
          { name: job.name, data: parsed.data, opts: jobOptions(store, job, undefined) },
        ),
        store.readyTimeoutMs,
        'schedule',
      );
    }
  } finally {
    await closeAll([...scheduler.values()], log);
  }
}

function jobOptions<P>(store: Store, job: JobDefinition<P>, jobId: string | undefined): JobsOptions {
  return {
    ...(jobId === undefined ? {} : { jobId }),
    attempts: job.attempts ?? DEFAULT_ATTEMPTS,
    backoff: { type: 'exponential', delay: job.backoffMs ?? DEFAULT_BACKOFF_MS },
    removeOnComplete: store.backend === 'postgres' ? KEEP_BY_AGE_ONLY.completed : KEEP_COMPLETED,
    removeOnFail: store.backend === 'postgres' ? KEEP_BY_AGE_ONLY.failed : KEEP_FAILED,
  };
}

function checkJobId(name: string, jobId: string): void {
  // BullMQ refuses ids of digits only ("Custom Id cannot be integers").
  if (/^\d+$/.test(jobId) || jobId.length === 0 || jobId.length > 200) {
    throw new Error(`job ${name}: a job id must be 1-200 characters and not all digits (prefix it)`);
  }
}

/** Waits for a Queue/Worker to reach its store, failing on its first error or after timeoutMs. */
async function readyOrFail(
  instance: AnyQueue | AnyWorker,
  timeoutMs: number,
  probe: () => Promise<void> = async () => {},
): Promise<void> {
  let onError: ((error: Error) => void) | undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    onError = (error: Error) => reject(error);
    (instance as AnyQueue).once('error', onError);
  });
  try {
    await withTimeout(
      Promise.race([
        (async () => {
          await instance.waitUntilReady();
          await probe();
        })(),
        failed,
      ]),
      timeoutMs,
      'connect',
    );
  } finally {
    (instance as AnyQueue).off('error', onError!);
    failed.catch(() => {});
  }
}

async function closeAll(instances: Array<AnyQueue | AnyWorker>, log: Logger, force = false): Promise<void> {
  await Promise.all(
    instances.map((instance) =>
      withTimeout(
        instance instanceof Worker ? instance.close(force) : instance.close(),
        READY_TIMEOUT_MS,
        'close',
      ).catch((error: unknown) => log.warn({ err: error }, 'closing a queue connection failed')),
    ),
  );
}

/**
 * BullMQ emits an 'error' per failed call while a store is down: one line per
 * source every 10 s (see throttledErrorLog). Its listeners get the error alone.
 */
function storeErrorLog(log: Logger, source: string): (error: Error) => void {
  const logError = throttledErrorLog(log, source, 'queue store error');
  return (error) => logError(error);
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
