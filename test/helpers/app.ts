import { randomBytes } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, print } from 'graphql';
import type { Logger } from 'pino';
import { afterAll, beforeAll, inject } from 'vitest';
import { seed } from '../../prisma/seed.js';
import { type App, type BuildAppOptions, buildApp } from '../../src/http/app.js';
import { type Config, type Env, loadConfig } from '../../src/config.js';
import { startSweepers, type Sweepers } from '../../src/infra/jobs/sweeper.js';
import { type StartWorkersOptions, startWorkers, type Workers } from '../../src/infra/jobs/worker.js';
import { ALL_JOBS, ALL_SWEEPERS } from '../../src/jobs.js';
import { createTestDatabase } from './database.js';
import { tcpProxy } from './tcp-proxy.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-0123456789';
export const ADMIN_EMAIL = 'admin@switchyard.test';
export const ADMIN_PASSWORD = 'admin-password-123';

export function testConfig(databaseUrl: string, env: Env = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    PORT: '0',
    HOST: '127.0.0.1',
    // Every test comes from one IP and most sign up many users: the rate-limit tests turn the limits on.
    RATE_LIMITS: 'off',
    ...env,
  });
}

export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

export interface TestApp {
  app: App;
  config: Config;
  databaseUrl: string;
  /** The file's key and event-channel prefix on the shared Redis (undefined without REDIS_URL). */
  namespace: string | undefined;
  /** POSTs an operation to /graphql through the real Fastify + Yoga stack (in process). */
  gql<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables> | DocumentNode | string,
    variables?: TVariables,
    token?: string,
  ): Promise<GraphQLResponse<TResult>>;
  /** A new user with a unique email; returns the session. */
  registerUser(overrides?: { email?: string; password?: string; name?: string }): Promise<Session>;
  loginAdmin(): Promise<Session>;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  user: { id: string; email: string; name: string; role: string };
}

const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken expiresIn user { id email name role } }
}`;
const LOGIN = `mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken expiresIn user { id email name role } }
}`;

export interface UseTestAppOptions {
  /** Workers and sweepers in the test process (see startTestApp). */
  workers?: boolean | StartWorkersOptions;
}

/**
 * One app on its own database per test file: created before the file's tests,
 * closed and dropped after. The admin of ADMIN_EMAIL/ADMIN_PASSWORD is seeded.
 * Its queues live in that database (PostgreSQL backend) or, when env sets
 * REDIS_URL, in the shared test Redis under a key prefix of the file's own.
 */
export function useTestApp(env: Env = {}, options: UseTestAppOptions = {}): TestApp {
  const handle = {} as TestApp;
  let drop: (() => Promise<void>) | undefined;
  let running: RunningTestApp | undefined;

  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    const config = testConfig(database.url, env);
    // Redis is shared by every test file: a key (and event channel) prefix of the file's own.
    const namespace = config.redisUrl ? `test-${randomBytes(6).toString('hex')}` : undefined;
    running = await startTestApp(config, {
      queues: { namespace },
      events: { namespace },
      rateLimits: { namespace },
      workers: options.workers,
    });
    Object.assign(handle, { app: running.app, config, databaseUrl: database.url, namespace });
  });

  afterAll(async () => {
    await running?.stop();
    await drop?.();
  });

  handle.gql = (document, variables, token) => injectGraphQL(handle.app, document, variables, token);

  handle.registerUser = async (overrides = {}) => {
    const input = {
      email: overrides.email ?? `user-${randomBytes(5).toString('hex')}@example.com`,
      password: overrides.password ?? 'correct horse battery',
      name: overrides.name ?? 'Test User',
    };
    const result = await handle.gql<{ register: Session }, unknown>(REGISTER, { input });
    if (!result.data?.register) throw new Error(`register failed: ${JSON.stringify(result.errors)}`);
    return result.data.register;
  };

  handle.loginAdmin = async () => {
    const result = await handle.gql<{ login: Session }, unknown>(LOGIN, {
      input: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    });
    if (!result.data?.login) throw new Error(`admin login failed: ${JSON.stringify(result.errors)}`);
    return result.data.login;
  };

  return handle;
}

export interface RunningTestApp {
  app: App;
  /** Running with `workers` only. */
  sweepers: Sweepers | undefined;
  /** Closes the sweepers and workers (if any), then the app. */
  stop(): Promise<void>;
}

/**
 * An app on `config`, ready, with the admin of ADMIN_EMAIL/ADMIN_PASSWORD
 * seeded. With `workers`, the processors of every job (src/jobs.ts) and the
 * sweepers run in this process, as WORKERS=inline does, reporting to the
 * app's metrics; `true` uses a short job lock (5 s, stall check every 2 s) so
 * that a job whose worker died re-runs soon.
 */
export async function startTestApp(
  config: Config,
  options: BuildAppOptions & { workers?: boolean | StartWorkersOptions } = {},
): Promise<RunningTestApp> {
  const { workers: withWorkers, ...buildOptions } = options;
  const app = buildApp(config, buildOptions);
  let workers: Workers | undefined;
  let sweepers: Sweepers | undefined;
  const stop = async () => {
    await sweepers?.close();
    await workers?.close();
    await app.stop();
  };
  try {
    await app.ready();
    await seed(app.services, { demo: false });
    if (withWorkers) {
      workers = await startWorkers(app.services, ALL_JOBS, {
        lockDurationMs: 5000,
        stalledIntervalMs: 2000,
        observer: app.metrics.jobs,
        ...(withWorkers === true ? {} : withWorkers),
      });
      sweepers = startSweepers(app.services, ALL_SWEEPERS, { observer: app.metrics.sweepers });
    }
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  return { app, sweepers, stop };
}

/**
 * An app on a database of its own that reaches the shared test Redis (queues
 * and event bus, under a namespace of its own) through `proxy`, so that a test
 * can take Redis away (proxy.cut(), .hang()) and bring it back. Not started:
 * call app.ready(). close() stops the app and drops the rest.
 */
export async function appBehindRedisProxy(options: { env?: Env; logger?: Logger } = {}) {
  const redis = new URL(inject('redisUrl'));
  const proxy = await tcpProxy(redis.hostname, Number(redis.port));
  const viaProxy = new URL(redis);
  viaProxy.port = String(proxy.port);
  const database = await createTestDatabase();
  const namespace = `test-${randomBytes(6).toString('hex')}`;
  const app = buildApp(testConfig(database.url, { ...options.env, REDIS_URL: viaProxy.toString() }), {
    logger: options.logger,
    queues: { namespace },
    events: { namespace },
    rateLimits: { namespace },
  });
  return {
    app,
    proxy,
    namespace,
    close: async () => {
      await app.stop();
      await proxy.close();
      await database.drop();
    },
  };
}

/** POSTs an operation to an app's /graphql through its real Fastify + Yoga stack (in process). */
export async function injectGraphQL<TResult, TVariables>(
  app: App,
  document: TypedDocumentNode<TResult, TVariables> | DocumentNode | string,
  variables?: TVariables,
  token?: string,
): Promise<GraphQLResponse<TResult>> {
  const query = typeof document === 'string' ? document : print(document);
  const response = await app.fastify.inject({
    method: 'POST',
    url: '/graphql',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    payload: JSON.stringify({ query, variables }),
  });
  return { status: response.statusCode, ...(JSON.parse(response.body) as object) };
}

/** The error codes of a response, in order. */
export const codes = (response: GraphQLResponse<unknown>) =>
  (response.errors ?? []).map((error) => error.extensions?.code);
