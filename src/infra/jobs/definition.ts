import { z } from 'zod';

/**
 * How a job is declared: its delivery (JobSpec: name, queue, payload, id,
 * retries) and its work (JobDefinition: the processor and its hooks). `S` is
 * whatever the processes hand their processors (the app's services); this
 * module never looks inside it. Sweepers, which deliver a job again for rows
 * it left open, are declared in sweeper.ts.
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
  /**
   * For a job that does whatever is pending rather than one row's work: enqueues
   * of one coalescing id share a job. While one waits, another enqueue is that
   * job; while one runs, the latest enqueue is kept and runs once it finished
   * (so work committed while it ran is not missed); so at most one runs and one
   * waits per id (BullMQ's deduplication with keepLastIfActive). Instead of jobId.
   */
  coalesceId?(payload: P): string;
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
