import type { Config } from '../../../config.js';
import type { BackendOptions, QueueBackend } from './backend.js';
import { postgresBackend } from './postgres.js';
import { redisBackend } from './redis.js';

export type { AnyQueue, AnyWorker, QueueBackend } from './backend.js';

/** The one place that picks the queue store: Redis with REDIS_URL, else BullMQ's PostgreSQL backend on the app's database. */
export function queueBackend(config: Pick<Config, 'redisUrl'>, databaseUrl: string, options: BackendOptions): QueueBackend {
  return config.redisUrl ? redisBackend(config.redisUrl, options) : postgresBackend(databaseUrl, options);
}
