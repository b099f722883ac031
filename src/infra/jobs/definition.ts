import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../../config.js';

/**
 * How a job is declared: its delivery (JobSpec: name, queue, payload, id,
 * retries) and its work (JobDefinition: the processor and its hooks). `S` is
 * whatever the processes hand their processors (the app's services); this
 * module never looks inside it.
 */

/** What a producer needs to enqueue a job. */
export interface JobSpec<P> {
  /** Unique across all jobs. */
  name: string;
  queue: string;
  /** Ids only, never secrets: payloads are stored in the queue and shown by bull-board. */
  payload: z.ZodType<P>;
  /** A deterministic id where duplicates are possible; must not be all digits (prefix it: `settle-${id}`). */
  jobId?(payload: P): string;
  /** Runs in all (default DEFAULT_ATTEMPTS). */
  attempts?: number;
  /** First retry delay; doubles on each retry (default DEFAULT_BACKOFF_MS). */
  backoffMs?: number;
}

export interface JobContext<S> {
  services: S;
  /** 1 on the first run, up to maxAttempts. */
  attempt: number;
  maxAttempts: number;
  jobId: string;
}

// Methods rather than function-valued properties: a list of jobs of different
// payloads is then a JobDefinition<unknown, S>[] without casts.
export interface JobDefinition<P, S> extends JobSpec<P> {
  /** Re-reads state and returns early when the work is already done: a job may run more than once. */
  process(payload: P, ctx: JobContext<S>): Promise<unknown>;
  /**
   * Runs after the last attempt failed or the payload/error was unrecoverable (e.g. mark the row FAILED);
   * again if a sweeper redelivers the failed job, so it must be idempotent like the processor.
   */
  onFinalFailure?(payload: P, error: Error, ctx: JobContext<S>): Promise<void>;
  /** A repeatable job (a sweeper): startWorkers schedules it every `everyMs` with this payload, once per queue store. */
  repeat?: { everyMs: number | ((config: Config) => number); payload: P };
}

export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 500;

export class InvalidJobPayloadError extends Error {
  override name = 'InvalidJobPayloadError';
  constructor(job: string, error: z.ZodError) {
    // Paths and messages only: never the values.
    super(`invalid payload for job ${job}: ${describeIssues(error)}`);
  }
}

export function defineJob<P, S>(definition: JobDefinition<P, S>): JobDefinition<P, S> {
  if (definition.name.length === 0 || definition.queue.length === 0) throw new Error('a job needs a name and a queue');
  return definition;
}

/** What a sweeper uses of its services. */
export interface SweeperServices {
  queues: { redeliver<P>(job: JobSpec<P>, payload: P): Promise<void> };
  config: Pick<Config, 'sweepAfterMs' | 'sweepIntervalMs'>;
  log: Logger;
}

/**
 * A repeatable job, every SWEEP_INTERVAL_MS, that delivers `job` again for
 * every row `findStale` reports left PENDING past SWEEP_AFTER_MS: the row was
 * committed but its job was never enqueued (store down, process killed in
 * between) or failed without recording it. The job must be idempotent, as
 * every job is, so a row that was only slow is done once all the same.
 */
export function defineSweeper<P, S extends SweeperServices>(options: {
  name: string;
  job: JobDefinition<P, S>;
  findStale: (services: S, olderThan: Date) => Promise<P[]>;
}): JobDefinition<Record<string, never>, S> {
  return defineJob<Record<string, never>, S>({
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

/** The payload checked against the job's schema, or InvalidJobPayloadError. */
export function parsePayload<P>(job: JobSpec<P>, payload: unknown): P {
  const parsed = job.payload.safeParse(payload);
  if (!parsed.success) throw new InvalidJobPayloadError(job.name, parsed.error);
  return parsed.data;
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
