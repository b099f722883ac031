import { Queue, Worker } from 'bullmq';
import { redisRetryStrategy } from '../../redis.js';
import { type AnyQueue, type AnyWorker, type BackendOptions, CONNECT_TIMEOUT_MS, type QueueBackend, RETENTION } from './backend.js';

/**
 * BullMQ's Redis backend (ioredis). Producers fail fast while Redis is down:
 * `enableOfflineQueue: false` (the default queues commands until Redis
 * returns, i.e. hangs). Workers reconnect forever (`maxRetriesPerRequest:
 * null`) with a capped backoff, so recovery takes ~1-2 s instead of up to 20 s.
 */
export function redisBackend(url: string, options: BackendOptions): QueueBackend {
  const prefix = options.namespace ? { prefix: options.namespace } : {};
  const common = { url, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: redisRetryStrategy };
  return {
    kind: 'redis',
    readyTimeoutMs: options.readyTimeoutMs,
    newQueue: (name) =>
      new Queue(name, { connection: { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 }, ...prefix }) as AnyQueue,
    newWorker: (name, processor, settings) =>
      new Worker(name, processor, { connection: { ...common, maxRetriesPerRequest: null }, ...prefix, ...settings }) as AnyWorker,
    retention: RETENTION,
  };
}
