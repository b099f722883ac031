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
  /** Whether counts go to the store now (Redis connected; always for PostgreSQL), not to the insurance limiters. */
  readonly connected: boolean;
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
    get connected() {
      return redis ? redis.status === 'ready' : true;
    },
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
 *
 * Points of one key asked for while a take of that key is in flight wait, and
 * go to the store together in the next one (`consume(key, n)`): the first of
 * them, in the order they came, are admitted up to what the budget had left.
 * A burst from one client is then a few store round trips instead of one per
 * request, each holding a connection while it waits for the same row as all
 * the others (which kept every other client's points waiting too). The count
 * stays exact across processes: each consume is one atomic update of the store.
 */
export function takePoint(limiter: RateLimiterAbstract, key: string): Promise<number | null> {
  let keys = pendingTakes.get(limiter);
  if (!keys) pendingTakes.set(limiter, (keys = new Map()));
  let takes = keys.get(key);
  if (!takes) keys.set(key, (takes = { inFlight: false, waiting: [] }));
  const queued = takes;
  return new Promise<number | null>((resolve, reject) => {
    queued.waiting.push({ resolve, reject });
    if (!queued.inFlight) void consumeWaiting(limiter, keys, key, queued);
  });
}

interface WaitingTake {
  resolve: (msBeforeNext: number | null) => void;
  reject: (error: unknown) => void;
}

interface KeyTakes {
  inFlight: boolean;
  waiting: WaitingTake[];
}

const pendingTakes = new WeakMap<RateLimiterAbstract, Map<string, KeyTakes>>();

async function consumeWaiting(limiter: RateLimiterAbstract, keys: Map<string, KeyTakes>, key: string, takes: KeyTakes): Promise<void> {
  takes.inFlight = true;
  const batch = takes.waiting.splice(0);
  try {
    await limiter.consume(key, batch.length);
    for (const take of batch) take.resolve(null);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) {
      for (const take of batch) take.reject(rejection);
    } else {
      // consumedPoints counts this batch's points too; below the batch's size it is a key refused from
      // memory (a spent key, blocked until its window ends), which counted nothing.
      const before = rejection.consumedPoints - batch.length;
      const admitted = before < 0 ? 0 : Math.min(batch.length, Math.max(0, limiter.points - before));
      batch.forEach((take, index) => take.resolve(index < admitted ? null : rejection.msBeforeNext));
    }
  } finally {
    takes.inFlight = false;
    if (takes.waiting.length > 0) void consumeWaiting(limiter, keys, key, takes);
    else keys.delete(key);
  }
}
