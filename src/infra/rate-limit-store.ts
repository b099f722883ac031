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
import { randomUUID } from 'node:crypto';
import { throttledErrorLog } from './async.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
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
  /** A limit on how many of something each key holds at once, across every process on the store (see SharedConcurrencyLimit). */
  concurrencyLimit(name: string, max: number): SharedConcurrencyLimit;
  close(): Promise<void>;
}

/**
 * At most `max` places per key across every process on the store. A place is
 * a lease the taking process renews every third of LEASE_TTL_MS while it holds
 * it, so the places of a process that died free themselves within LEASE_TTL_MS.
 * While the store cannot be reached, the process counts its own places only
 * (as the rate limits' insurance does) rather than refusing.
 */
export interface SharedConcurrencyLimit {
  readonly max: number;
  /** A place for `key`: the function that gives it back (idempotent), or null when `max` are held. */
  tryTake(key: string): Promise<(() => void) | null>;
}

const LEASE_TTL_MS = 30_000;

/** Takes a place (KEYS[1]: the key's sorted set of leases by expiry, in the server's clock; ARGV: max, lease, ttl ms). */
const TAKE_PLACE_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** Renews leases still held (KEYS[1]: the key's set; ARGV: ttl ms, then the leases). */
const RENEW_PLACES_LUA = `
local time = redis.call('TIME')
local expiry = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

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
  /** How long a place outlives its process (tests shorten it). */
  leaseTtlMs?: number;
}): RateLimitStore {
  const { redisUrl, pool, log } = options;
  const leaseTtlMs = options.leaseTtlMs ?? LEASE_TTL_MS;
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

  // The places this process holds, by limit name and key: renewed together, every third of a lease's life.
  const held = new Map<string, Map<string, Set<string>>>();
  const processId = randomUUID();
  let leases = 0;
  // Every give-back in flight, for close() to let finish before the connections go.
  const inFlight = new Set<Promise<unknown>>();
  const placeErrors = throttledErrorLog(log, 'concurrency places', 'the shared count of places failed; counting this process only');
  const setKey = (name: string, key: string) => `${namespace}places:${name}:${key}`;

  const renew = async () => {
    // A process that limits nothing at once (RATE_LIMITS=off) has nothing to renew or tidy.
    if (held.size === 0) return;
    for (const [name, keys] of held) {
      for (const [key, ids] of keys) {
        try {
          if (redis) await redis.eval(RENEW_PLACES_LUA, 1, setKey(name, key), leaseTtlMs, ...ids);
          else {
            await pool.query(
              "UPDATE concurrency_leases SET expires_at = clock_timestamp() + $2 * interval '1 millisecond' WHERE lease = ANY($1)",
              [[...ids], leaseTtlMs],
            );
          }
        } catch (error) {
          placeErrors(error as Error);
        }
      }
    }
    // Leases of processes that died, on keys no one takes again.
    if (!redis) {
      await pool.query('DELETE FROM concurrency_leases WHERE expires_at < clock_timestamp()').catch((error: Error) => placeErrors(error));
    }
  };
  let renewal: NodeJS.Timeout | undefined;

  const concurrencyLimit = (name: string, max: number): SharedConcurrencyLimit => {
    const insurance = new ConcurrencyLimit(max);
    let keys = held.get(name);
    if (!keys) held.set(name, (keys = new Map()));
    const ofName = keys;
    // Places this process is giving back, by key: a take of the same key waits for them, so that a client
    // ending one thing and starting the next is not refused for the place it has just left.
    const givingBack = new Map<string, Promise<unknown>>();
    return {
      max,
      async tryTake(key) {
        await givingBack.get(key);
        const lease = `${processId}:${++leases}`;
        let taken: boolean;
        try {
          taken = redis
            ? (await redis.eval(TAKE_PLACE_LUA, 1, setKey(name, key), max, lease, leaseTtlMs)) === 1
            : (
                await pool.query<{ taken: boolean }>('SELECT concurrency_take($1, $2, $3, $4, $5) AS taken', [
                  name,
                  key,
                  lease,
                  max,
                  leaseTtlMs,
                ])
              ).rows[0]!.taken;
        } catch (error) {
          placeErrors(error as Error);
          if (!insurance.tryTake(key)) return null;
          let given = false;
          return () => {
            if (!given) insurance.giveBack(key);
            given = true;
          };
        }
        if (!taken) return null;
        let ids = ofName.get(key);
        if (!ids) ofName.set(key, (ids = new Set()));
        ids.add(lease);
        const own = ids;
        return () => {
          if (!own.delete(lease)) return;
          if (own.size === 0) ofName.delete(key);
          const gone = Promise.all([
            givingBack.get(key),
            redis ? redis.zrem(setKey(name, key), lease) : pool.query('DELETE FROM concurrency_leases WHERE lease = $1', [lease]),
          ])
            // Not given back now (the store is away): the lease expires, unrenewed.
            .catch((error: Error) => placeErrors(error))
            .finally(() => {
              if (givingBack.get(key) === gone) givingBack.delete(key);
            });
          givingBack.set(key, gone);
          inFlight.add(gone);
          void gone.finally(() => inFlight.delete(gone));
        };
      },
    };
  };

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
    concurrencyLimit,
    start: () => {
      renewal ??= setInterval(() => void renew(), Math.max(100, Math.floor(leaseTtlMs / 3)));
      renewal.unref();
      // Failures are logged by the error handler above; ioredis keeps reconnecting on its own.
      redis?.connect().catch(() => undefined);
    },
    close: async () => {
      clearInterval(renewal);
      await Promise.allSettled(inFlight);
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
