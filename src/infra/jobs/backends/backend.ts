import type { KeepJobs, Processor, Queue, Worker } from 'bullmq';

/**
 * What the producer and the workers need of a queue store. Each backend builds
 * BullMQ's Queue and Worker with its own connection settings; nothing outside
 * backends/ branches on which one it is.
 */
export interface QueueBackend {
  /** For logs and metrics labels only. */
  readonly kind: 'redis' | 'postgres';
  /** How long start-up waits for the store. */
  readonly readyTimeoutMs: number;
  /** A producer's Queue: fails fast while the store is down. */
  newQueue(name: string): AnyQueue;
  /** A Worker that reconnects forever. */
  newWorker(name: string, processor: Processor, options: WorkerSettings): AnyWorker;
  /** How long finished jobs are kept (bull-board, and a re-add of a kept id is ignored). */
  readonly retention: { removeOnComplete: KeepJobs; removeOnFail: KeepJobs };
}

interface WorkerSettings {
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
  /** After a failed fetch (store down) the worker sleeps this long. */
  runRetryDelay: number;
}

export interface BackendOptions {
  /** The Redis key prefix or the PostgreSQL schema; tests use their own. */
  namespace?: string;
  readyTimeoutMs: number;
}

// BullMQ's classes are generic over their backend; the two backends share these.
/* eslint-disable @typescript-eslint/no-explicit-any */
export type AnyQueue = Queue<any, any, string, any, any, string, any, any>;
export type AnyWorker = Worker<any, any, string, any, any, any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

export const CONNECT_TIMEOUT_MS = 3000;
/** Finished jobs are kept for a while (completed 1 h, failed 7 days, at most 10k of each per queue), then trimmed. */
export const RETENTION = {
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
} as const;
