import { createPostgresBackend, Queue, Worker } from 'bullmq';
import { type AnyQueue, type AnyWorker, type BackendOptions, CONNECT_TIMEOUT_MS, type QueueBackend, RETENTION } from './backend.js';

/**
 * BullMQ's PostgreSQL backend on the app's own database (schema `bullmq`,
 * migrated on start). Every Queue and Worker owns a pool plus, for a Worker,
 * one LISTEN client, so connections are budgeted: a producer's queries are
 * short; a worker's pool serves claims, completions and lock renewals, one per
 * finishing job: a quarter of its concurrency, between 2 and 10 (bench/README.md,
 * "Queue settings"). A pg-backend instance whose first connect failed never recovers:
 * callers throw it away.
 */
const PRODUCER_POOL_MAX = 3;
const workerPoolMax = (concurrency: number) => Math.min(10, Math.max(2, Math.ceil(concurrency / 4)));

/**
 * The count bound of RETENTION costs a `DELETE … NOT IN (the newest 10k)` on
 * every completion here — the largest share of a job's cost in the ledger
 * benchmark — while kept rows cost disk, not memory: age alone.
 */
const BY_AGE_ONLY = {
  removeOnComplete: { age: RETENTION.removeOnComplete.age },
  removeOnFail: { age: RETENTION.removeOnFail.age },
};

export function postgresBackend(databaseUrl: string, options: BackendOptions): QueueBackend {
  const connection = (max: number) => ({
    connectionString: databaseUrl,
    schema: options.namespace ?? 'bullmq',
    migrate: true,
    max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // So that a silently dropped LISTEN connection is noticed and rebuilt.
    keepAlive: true,
  });
  return {
    kind: 'postgres',
    readyTimeoutMs: options.readyTimeoutMs,
    newQueue: (name) => new Queue(name, { connection: connection(PRODUCER_POOL_MAX) }, createPostgresBackend) as AnyQueue,
    newWorker: (name, processor, settings) =>
      new Worker(
        name,
        processor,
        { connection: connection(workerPoolMax(settings.concurrency)), ...settings },
        createPostgresBackend,
      ) as AnyWorker,
    retention: BY_AGE_ONLY,
  };
}
