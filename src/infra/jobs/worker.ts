import { type Job, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { withTimeout } from '../async.js';
import type { AnyWorker } from './backends/index.js';
import { describeIssues, type JobContext, type JobDefinition } from './definition.js';
import type { Queues } from './producer.js';
import { closeAll, readyOrFail, storeErrorLog, unreachable } from './store.js';

/**
 * The worker runtime: one BullMQ Worker per queue the given jobs use, on the
 * store of `services.queues`. Workers reconnect forever once started; after a
 * failed fetch (store down) they sleep RUN_RETRY_DELAY_MS, not BullMQ's 15 s.
 */

const RUN_RETRY_DELAY_MS = 2000;

/** Told about every job attempt a worker runs (metrics.ts: job_duration_seconds, job_failures_total). */
export interface JobObserver {
  /**
   * `job` is the job's name, or "unknown" for a name no processor was given;
   * `failed` is absent on success, else whether the failure is final (no retry follows).
   */
  attempt(job: string, seconds: number, failed?: { final: boolean }): void;
}

/** What the runtime uses of the services it hands every processor. */
export interface WorkerServices {
  queues: Pick<Queues, 'store'>;
  config: Config;
  log: Logger;
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
  /** Told about every attempt (the process's metrics); none when absent. */
  observer?: JobObserver;
}

/** Runs the processors of `jobs`. Rejects fast when the store is unreachable at start. */
export async function startWorkers<S extends WorkerServices>(
  services: S,
  jobs: readonly JobDefinition<unknown, S>[],
  options: StartWorkersOptions = {},
): Promise<Workers> {
  const { store } = services.queues;
  const wlog = services.log.child({ component: 'workers', backend: store.kind });
  const concurrency = options.concurrency ?? services.config.workerConcurrency;
  const closeTimeoutMs = options.closeTimeoutMs ?? services.config.shutdownTimeoutMs;

  const byQueue = new Map<string, Map<string, JobDefinition<unknown, S>>>();
  for (const job of jobs) {
    const named = byQueue.get(job.queue) ?? new Map<string, JobDefinition<unknown, S>>();
    if ([...byQueue.values()].some((other) => other.has(job.name))) throw new Error(`job name ${job.name} is declared twice`);
    named.set(job.name, job);
    byQueue.set(job.queue, named);
  }

  const workers: AnyWorker[] = [];
  for (const [queueName, definitions] of byQueue) {
    const runner: Runner<S> = { services, log: wlog, definitions, observer: options.observer };
    const worker = store.newWorker(queueName, (job: Job) => runJob(runner, job), {
      concurrency,
      runRetryDelay: RUN_RETRY_DELAY_MS,
      lockDuration: options.lockDurationMs ?? services.config.jobLockMs,
      stalledInterval: options.stalledIntervalMs ?? services.config.jobStalledIntervalMs,
    });
    worker.on('error', storeErrorLog(wlog, `worker ${queueName}`));
    worker.on('stalled', (jobId: string) => wlog.warn({ queue: queueName, jobId }, 'job stalled; re-queued'));
    workers.push(worker);
  }

  try {
    await Promise.all(workers.map((worker) => readyOrFail(worker, store.readyTimeoutMs)));
  } catch (error) {
    await closeAll(workers, wlog, true);
    throw unreachable(store.kind, error);
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

/** What runs the jobs of one queue. */
interface Runner<S> {
  services: S;
  log: Logger;
  definitions: Map<string, JobDefinition<unknown, S>>;
  observer: JobObserver | undefined;
}

/** Runs one attempt and tells the observer (if any) how long it took and how it ended. */
async function runJob<S>(runner: Runner<S>, job: Job): Promise<unknown> {
  const { observer, definitions, log } = runner;
  if (!observer) return runAttempt(runner, job);
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
    const result = await runAttempt(runner, job);
    observe();
    return result;
  } catch (error) {
    observe({ final: error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1) });
    throw error;
  }
}

async function runAttempt<S>({ services, log, definitions }: Runner<S>, job: Job): Promise<unknown> {
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
  const ctx: JobContext<S> = {
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

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
