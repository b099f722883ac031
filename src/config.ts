import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/** Thrown for configuration that cannot work; its message is one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const bigintString = z
  .string()
  .regex(/^\d+$/, 'must be a non-negative integer')
  .transform((value) => BigInt(value));

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** A rate limit: at most `limit` within `duration` seconds. */
export interface RateLimit {
  limit: number;
  duration: number;
}

/** The rate limits of the contract (README, "Rate limits"); each is a variable RATE_LIMIT_<NAME> of `<limit>/<seconds>`. */
export const DEFAULT_RATE_LIMITS = {
  /** Failed logins per email and client IP; past it, that email is refused from that IP until the window ends. */
  loginFailures: { limit: 5, duration: 15 * 60 },
  login: { limit: 30, duration: 60 },
  register: { limit: 20, duration: 60 * 60 },
  refreshToken: { limit: 60, duration: 60 },
  /** Operations of anonymous clients, per IP. */
  anonymous: { limit: 600, duration: 60 },
  /** Operations of a signed-in user. */
  user: { limit: 1200, duration: 60 },
  /** Each of the expensive mutations (purchase, transfer, requestQuestion, submitAnswer, runBacktest), per user. */
  mutation: { limit: 120, duration: 60 },
} as const satisfies Record<string, RateLimit>;

export type RateLimitName = keyof typeof DEFAULT_RATE_LIMITS;

const rateLimitSpec = (fallback: RateLimit) =>
  z
    .string()
    .regex(/^\d+\/\d+$/, 'must be <limit>/<seconds>, e.g. 30/60')
    .transform((value): RateLimit => {
      const [limit, duration] = value.split('/').map(Number) as [number, number];
      return { limit, duration };
    })
    .refine((spec) => spec.limit >= 1 && spec.duration >= 1 && spec.duration <= 86_400, 'needs a limit >= 1 and 1 to 86400 seconds')
    .default(`${fallback.limit}/${fallback.duration}`);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: optionalString,
  DATABASE_URL: optionalString,
  DATA_DIR: z.string().default('.data'),
  REDIS_URL: optionalString,
  WORKERS: z.enum(['inline', 'off']).optional(),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(20),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  JOB_LOCK_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  JOB_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).max(3_600_000).default(5_000),
  SWEEP_AFTER_MS: z.coerce.number().int().min(1000).max(86_400_000).default(30_000),
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(500).max(3_600_000).default(10_000),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  DB_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  JWT_SECRET: optionalString,
  ADMIN_EMAIL: z.string().trim().toLowerCase().email().default('admin@switchyard.local'),
  ADMIN_PASSWORD: optionalString,
  WELCOME_CREDIT: bigintString.default('10000'),
  HOUSE_OPENING_BALANCE: bigintString.default('1000000000000'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ACCESS_TOKEN_TTL: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .default(7 * 86_400),
  CORS_ORIGIN: optionalString,
  BODY_LIMIT: z.coerce.number().int().min(1024).default(1_048_576),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  GRAPHIQL: z.enum(['true', 'false']).optional(),
  WS_KEEPALIVE_MS: z.coerce.number().int().min(100).max(600_000).default(12_000),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(10_000).default(20),
  WS_MAX_CONNECTIONS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(10),
  RATE_LIMITS: z.enum(['on', 'off']).default('on'),
  TRUST_PROXY: optionalString,
  RATE_LIMIT_LOGIN_FAILURES: rateLimitSpec(DEFAULT_RATE_LIMITS.loginFailures),
  RATE_LIMIT_LOGIN: rateLimitSpec(DEFAULT_RATE_LIMITS.login),
  RATE_LIMIT_REGISTER: rateLimitSpec(DEFAULT_RATE_LIMITS.register),
  RATE_LIMIT_REFRESH_TOKEN: rateLimitSpec(DEFAULT_RATE_LIMITS.refreshToken),
  RATE_LIMIT_ANONYMOUS: rateLimitSpec(DEFAULT_RATE_LIMITS.anonymous),
  RATE_LIMIT_USER: rateLimitSpec(DEFAULT_RATE_LIMITS.user),
  RATE_LIMIT_MUTATION: rateLimitSpec(DEFAULT_RATE_LIMITS.mutation),
  RATE_LIMIT_HOLD_MS: z.coerce.number().int().min(0).max(10_000).default(1000),
  MAX_SUBSCRIPTIONS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(50),
  MAX_ANONYMOUS_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).max(100_000).default(20),
  BACKTEST_DAILY_QUOTA: z.coerce.number().int().min(1).max(1_000_000).default(20),
});

export type Env = Record<string, string | undefined>;

export interface Config {
  /** `embedded` when DATABASE_URL is unset: PostgreSQL is started from DATA_DIR. */
  mode: 'embedded' | 'production';
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  redisUrl: string | undefined;
  workers: 'inline' | 'off';
  /** Jobs in flight per queue in each worker process (or inline worker set). */
  workerConcurrency: number;
  /** Where a separate worker process serves /metrics and /health; undefined: it serves nothing. */
  workerMetricsPort: number | undefined;
  /** A running job's lock: a worker that dies holding one has the job re-run after lock + stall check. */
  jobLockMs: number;
  jobStalledIntervalMs: number;
  /** Rows left PENDING longer than this are re-delivered by the sweeper, which runs every sweepIntervalMs. */
  sweepAfterMs: number;
  sweepIntervalMs: number;
  /** The API's database sessions cancel a statement running longer than this (PostgreSQL's statement_timeout). */
  dbStatementTimeoutMs: number;
  /** How long getting a pooled database connection may take before the request is UNAVAILABLE. */
  dbConnectTimeoutMs: number;
  /** An idle pooled connection is closed after this. */
  dbIdleTimeoutMs: number;
  jwtSecret: string;
  adminEmail: string;
  adminPassword: string | undefined;
  welcomeCredit: bigint;
  houseOpeningBalance: bigint;
  logLevel: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Allowed CORS origins; empty means CORS headers are not sent. */
  corsOrigins: string[];
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  graphiql: boolean;
  /**
   * graphql-ws keep-alive: the server pings every connection this often and
   * terminates one that has not answered the previous ping by the next.
   */
  wsKeepAliveMs: number;
  /** Operations running at once on one WebSocket connection; past it, RATE_LIMITED. */
  wsMaxSubscriptionsPerConnection: number;
  /** Signed-in WebSocket connections per user, per API process; past it, closed with 4429. */
  wsMaxConnectionsPerUser: number;
  /** RATE_LIMITS=off turns every limit of `rateLimits` off (load tests on one machine). */
  rateLimitsEnabled: boolean;
  rateLimits: Record<RateLimitName, RateLimit>;
  /** Fastify's trustProxy: whose X-Forwarded-For names the client (false: the peer is the client). */
  trustProxy: boolean | string;
  /** How late an anonymous HTTP refusal is sent once its client was refused 10 times in the window (0: never held). */
  rateLimitHoldMs: number;
  /** Subscriptions at once per user, WebSocket and SSE together. */
  maxSubscriptionsPerUser: number;
  /** Anonymous WebSocket and SSE connections at once per client IP. */
  maxAnonymousConnectionsPerIp: number;
  /** Backtests each user may start per UTC day. */
  backtestDailyQuota: number;
}

export interface LoadConfigOptions {
  /** The default for WORKERS when unset: `inline` for `npm start`, `off` for `start:api`. */
  defaultWorkers?: 'inline' | 'off';
  /** False for tools that never sign tokens (db:migrate), so they need no JWT_SECRET. */
  requireJwtSecret?: boolean;
}

const MIN_SECRET_BYTES = 32;

/**
 * The one place that reads the environment. Embedded mode generates a JWT
 * secret into DATA_DIR on first use; production refuses to start without one.
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config {
  // A variable set to an empty string (`PORT=` in an env file, `${PORT}` in compose)
  // counts as unset: before, PORT= meant a random port and DATA_DIR= the working directory.
  const given = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = issue?.path.join('.') ?? 'environment';
    throw new ConfigError(`Invalid ${variable}: ${issue?.message ?? 'invalid value'}`);
  }
  const e = parsed.data;
  const mode = e.DATABASE_URL ? 'production' : 'embedded';
  const dataDir = resolve(e.DATA_DIR);

  let jwtSecret = e.JWT_SECRET;
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < MIN_SECRET_BYTES) {
    throw new ConfigError(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  if (jwtSecret === undefined) {
    if (mode === 'embedded') {
      jwtSecret = readOrCreateSecret(dataDir, 'jwt-secret');
    } else if (options.requireJwtSecret === false) {
      jwtSecret = ''; // this process never signs or verifies tokens
    } else {
      throw new ConfigError(`JWT_SECRET is required when DATABASE_URL is set (at least ${MIN_SECRET_BYTES} bytes)`);
    }
  }

  return {
    mode,
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST ?? (mode === 'embedded' ? '127.0.0.1' : '0.0.0.0'),
    databaseUrl: e.DATABASE_URL,
    dataDir,
    redisUrl: e.REDIS_URL,
    workers: e.WORKERS ?? options.defaultWorkers ?? 'off',
    workerConcurrency: e.WORKER_CONCURRENCY,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    jobLockMs: e.JOB_LOCK_MS,
    jobStalledIntervalMs: e.JOB_STALLED_INTERVAL_MS,
    sweepAfterMs: e.SWEEP_AFTER_MS,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    dbConnectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    dbIdleTimeoutMs: e.DB_IDLE_TIMEOUT_MS,
    jwtSecret,
    adminEmail: e.ADMIN_EMAIL,
    adminPassword: e.ADMIN_PASSWORD,
    welcomeCredit: e.WELCOME_CREDIT,
    houseOpeningBalance: e.HOUSE_OPENING_BALANCE,
    logLevel: e.LOG_LEVEL,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL,
    refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL,
    corsOrigins: e.CORS_ORIGIN ? e.CORS_ORIGIN.split(',').map((origin) => origin.trim()) : [],
    bodyLimitBytes: e.BODY_LIMIT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    graphiql: e.GRAPHIQL ? e.GRAPHIQL === 'true' : e.NODE_ENV !== 'production',
    wsKeepAliveMs: e.WS_KEEPALIVE_MS,
    wsMaxSubscriptionsPerConnection: e.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
    wsMaxConnectionsPerUser: e.WS_MAX_CONNECTIONS_PER_USER,
    rateLimitsEnabled: e.RATE_LIMITS === 'on',
    rateLimits: {
      loginFailures: e.RATE_LIMIT_LOGIN_FAILURES,
      login: e.RATE_LIMIT_LOGIN,
      register: e.RATE_LIMIT_REGISTER,
      refreshToken: e.RATE_LIMIT_REFRESH_TOKEN,
      anonymous: e.RATE_LIMIT_ANONYMOUS,
      user: e.RATE_LIMIT_USER,
      mutation: e.RATE_LIMIT_MUTATION,
    },
    trustProxy: e.TRUST_PROXY === undefined || e.TRUST_PROXY === 'false' ? false : e.TRUST_PROXY === 'true' ? true : e.TRUST_PROXY,
    rateLimitHoldMs: e.RATE_LIMIT_HOLD_MS,
    maxSubscriptionsPerUser: e.MAX_SUBSCRIPTIONS_PER_USER,
    maxAnonymousConnectionsPerIp: e.MAX_ANONYMOUS_CONNECTIONS_PER_IP,
    backtestDailyQuota: e.BACKTEST_DAILY_QUOTA,
  };
}

/** The variables loadConfig understands; the compose-file test checks against it. */
export const KNOWN_ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

function readOrCreateSecret(dataDir: string, name: string): string {
  const path = join(dataDir, name);
  try {
    return storedSecret(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  // Written aside and linked into place, so a concurrent reader never sees a half-written file.
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${secret}\n`, { mode: 0o600 });
  try {
    linkSync(temporary, path);
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return storedSecret(path);
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
  return secret;
}

/** A stored secret is held to the same minimum as JWT_SECRET: an empty or truncated file is refused, never used. */
function storedSecret(path: string): string {
  const secret = readFileSync(path, 'utf8').trim();
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `${path} holds a secret shorter than ${MIN_SECRET_BYTES} bytes; delete the file to generate a new one`,
    );
  }
  return secret;
}
