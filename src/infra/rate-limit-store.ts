import { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  type IRateLimiterOptions,
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { throttledErrorLog } from './async.js';
import { quitRedis, redisRetryStrategy } from './redis.js';

/**
 * Where every API process keeps its rate-limit counters: Redis when REDIS_URL
 * is set, else the `rate_limits` table of PostgreSQL (one upsert per counted
 * request). Each limiter has an in-memory insurance limiter of the same
 * limits: while the store cannot be reached, each process limits on its own
 * instead of failing the request. Once a key has used its whole budget, the
 * process refuses it from memory until the window ends, so a flood past its
 * budget costs the store nothing.
 */
export interface RateLimitStore {
  readonly backend: 'redis' | 'postgres';
  /** A limiter of `points` per `duration` seconds, keys under `keyPrefix`. */
  limiter(options: LimiterOptions): RateLimiterAbstract;
  /** The limiter class the rate-limit directive constructs (it passes points, duration and keyPrefix). */
  readonly limiterClass: new (options: LimiterOptions) => RateLimiterAbstract;
  /** Connects to Redis (nothing to do for PostgreSQL); until then, and while it is down, the insurance answers. */
  start(): void;
  close(): Promise<void>;
}

type LimiterOptions = Required<Pick<IRateLimiterOptions, 'points' | 'duration' | 'keyPrefix'>>;

/**
 * The table of migration 20261201040000_rate_limits, in the shape rate-limiter-flexible reads and writes; each
 * limiter deletes the counters that expired an hour ago, every five minutes.
 */
const TABLE = 'rate_limits';

export function createRateLimitStore(options: {
  redisUrl: string | undefined;
  pool: pg.Pool;
  log: Logger;
  /** Prepended to every key (tests give each app its own on the shared Redis). */
  namespace?: string;
}): RateLimitStore {
  const { redisUrl, pool, log } = options;
  const namespace = options.namespace ? `${options.namespace}:` : '';
  const redis = redisUrl
    ? // Fails at once while Redis is down (the insurance limiter answers) instead of queueing in memory.
      new Redis(redisUrl, {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        retryStrategy: redisRetryStrategy,
        connectionName: `${namespace}rate-limits`,
      })
    : undefined;
  redis?.on('error', throttledErrorLog(log, 'redis rate limits', 'rate-limit store error'));

  const storeOptions = (limits: LimiterOptions) => ({
    ...limits,
    keyPrefix: `${namespace}${limits.keyPrefix}`,
    insuranceLimiter: new RateLimiterMemory(limits),
    inMemoryBlockOnConsumed: limits.points,
  });
  const limiter = (limits: LimiterOptions): RateLimiterAbstract =>
    redis
      ? new RateLimiterRedis({ ...storeOptions(limits), storeClient: redis, rejectIfRedisNotReady: true })
      : new RateLimiterPostgres({
          ...storeOptions(limits),
          storeClient: pool,
          storeType: 'pool',
          tableName: TABLE,
          tableCreated: true,
        });

  // A class in name only: `new` returns the store's own limiter, which the directive then uses.
  const limiterClass = function StoreLimiter(this: unknown, limits: LimiterOptions) {
    return limiter(limits);
  } as unknown as new (options: LimiterOptions) => RateLimiterAbstract;

  return {
    backend: redis ? 'redis' : 'postgres',
    limiter,
    limiterClass,
    start: () => {
      // Failures are logged by the error handler above; ioredis keeps reconnecting on its own.
      redis?.connect().catch(() => undefined);
    },
    close: async () => {
      if (redis) await quitRedis(redis);
    },
  };
}

/**
 * Takes a point of `key`'s budget: null when it was there, else the ms until
 * the window ends. rate-limiter-flexible refuses by rejecting with its
 * RateLimiterRes; any other rejection (a store failure past the insurance) is thrown.
 */
export async function takePoint(limiter: RateLimiterAbstract, key: string): Promise<number | null> {
  try {
    await limiter.consume(key);
    return null;
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    return rejection.msBeforeNext;
  }
}
