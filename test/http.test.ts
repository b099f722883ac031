import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type App, buildApp } from '../src/http/app.js';
import { poolOf } from '../src/infra/db.js';
import { MIGRATIONS_DIR } from '../src/infra/migrate.js';
import { EVENTS_CHANNEL } from '../src/infra/events/transports/postgres.js';
import { appBehindRedisProxy, testConfig, useTestApp } from './helpers/app.js';
import { createTestDatabase } from './helpers/database.js';
import { waitFor } from './helpers/ledger.js';
import { memoryLogger } from './helpers/logs.js';
import { freePort } from './harness/ports.js';

const t = useTestApp();

/** Base URL of the file's app listening on a real port, for the tests where the transport matters. */
let baseUrl = '';
beforeAll(async () => {
  baseUrl = await t.app.start();
});

const GQL_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/graphql-response+json, application/json',
};

const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken user { id } }
}`;
const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }`;
const REFRESH = `mutation Refresh($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken } }`;

/** POSTs an operation to an app in process. */
async function post(app: App, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await app.fastify.inject({
    method: 'POST',
    url: '/graphql',
    headers: { ...GQL_HEADERS, ...headers },
    payload: JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, body: response.body, json: response.json() };
}

/** Registers a user on an app; returns the access token. */
async function registerOn(app: App, email: string, password: string): Promise<string> {
  const registered = await post(app, { query: REGISTER, variables: { input: { email, password, name: 'Test' } } });
  return registered.json.data.register.accessToken as string;
}

/** Sends a body of `size` bytes with chunked transfer encoding, so no Content-Length announces it. */
function postChunked(url: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...GQL_HEADERS } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const write = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end();
    };
    // The server may answer (and close) before the whole body is sent.
    req.on('response', () => {
      sent = size;
    });
    write();
  });
}

describe('request bodies (real listening server)', () => {
  it('answers a body over 1 MB with 413', async () => {
    const query = `{ __typename }${' '.repeat(1_100_000)}`;
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: GQL_HEADERS,
      body: JSON.stringify({ query }),
    });
    expect(response.status).toBe(413);
  });

  it('answers a chunked body that grows past 1 MB with 413', async () => {
    expect(await postChunked(`${baseUrl}/graphql`, 1_200_000)).toBe(413);
  });

  it('accepts a body just under 1 MB', async () => {
    const query = `{ __typename }${' '.repeat(1_000_000)}`;
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: GQL_HEADERS,
      body: JSON.stringify({ query }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it.each(['application/graphql-response+json', 'application/json'])(
    'answers malformed JSON with 400 and a GraphQL error body (accept %s)',
    async (accept) => {
      const response = await fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: '{"query": "{ __typename }"',
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { data?: unknown; errors: Array<{ message: string }> };
      expect(body.data).toBeUndefined();
      expect(body.errors.length).toBeGreaterThan(0);
    },
  );
});

describe('the API\'s database sessions', () => {
  it('carry DB_STATEMENT_TIMEOUT_MS as their statement_timeout (15 s by default)', async () => {
    const { rows } = await poolOf(t.app.db).query<{ statement_timeout: string }>('SHOW statement_timeout');
    expect(rows[0]!.statement_timeout).toBe('15s');
    expect(t.config.dbStatementTimeoutMs).toBe(15_000);
  });
});

describe('request ids', () => {
  it('echoes a valid x-request-id', async () => {
    const response = await t.app.fastify.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'client-abc.123:x' },
    });
    expect(response.headers['x-request-id']).toBe('client-abc.123:x');
  });

  it('generates one when absent, different per request', async () => {
    const first = await t.app.fastify.inject({ method: 'GET', url: '/health' });
    const second = await t.app.fastify.inject({ method: 'GET', url: '/health' });
    expect(first.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
  });

  it('replaces an invalid one (bad characters, too long) with a generated one', async () => {
    for (const given of ['has spaces and <html>', 'x'.repeat(129)]) {
      const response = await t.app.fastify.inject({
        method: 'GET',
        url: '/health',
        headers: { 'x-request-id': given },
      });
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('is sent on GraphQL responses too', async () => {
    const response = await post(t.app, { query: '{ __typename }' }, { 'x-request-id': 'gql-request-1' });
    expect(response.headers['x-request-id']).toBe('gql-request-1');
  });
});

describe('health and readiness', () => {
  it('GET /health is 200', async () => {
    const response = await t.app.fastify.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('GET /ready is 200 naming database, migrations, queues and events ok', async () => {
    const response = await t.app.fastify.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({
      status: 'ready',
      checks: { database: 'ok', migrations: 'ok', queues: 'ok', events: 'ok' },
    });
  });

  it('GET /ready reads the migration files once: an edit made while the process runs is not re-read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ready-migrations-'));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    const migrationsOf = async (app: App) =>
      ((await app.fastify.inject({ method: 'GET', url: '/ready' })).json() as { checks: { migrations: string } }).checks.migrations;
    const running = buildApp(t.config, { databaseUrl: t.databaseUrl, migrationsDir: dir });
    const fresh = buildApp(t.config, { databaseUrl: t.databaseUrl, migrationsDir: dir });
    try {
      expect(await migrationsOf(running)).toBe('ok');
      const first = readdirSync(dir).filter((entry) => entry !== 'migration_lock.toml').sort()[0]!;
      appendFileSync(join(dir, first, 'migration.sql'), '\n-- edited while the process runs\n');
      // The running process compares what it read at its first /ready; one reading the files now sees the edit.
      expect(await migrationsOf(running)).toBe('ok');
      expect(await migrationsOf(fresh)).toBe(
        `Migration ${first} was edited after it was applied (checksum differs); add a new migration instead of editing an applied one`,
      );
    } finally {
      await running.stop();
      await fresh.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('GET /ready is 503 naming the database when it is unreachable', async () => {
    // Nothing listens on a port freePort() just released; buildApp does not connect eagerly.
    const closedPort = await freePort();
    const app = buildApp(testConfig(`postgresql://postgres:postgres@127.0.0.1:${closedPort}/nowhere`));
    try {
      const response = await app.fastify.inject({ method: 'GET', url: '/ready' });
      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.json()).toEqual({
        status: 'unavailable',
        // The queue store and the event bus (PostgreSQL here) are the same unreachable database.
        checks: { database: 'unreachable', migrations: 'unknown', queues: 'unreachable', events: 'unreachable' },
      });
      // The process itself is still up.
      expect((await app.fastify.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await app.stop();
    }
  });
});

describe('readiness of the event bus', () => {
  const ready = async (app: App) => {
    const response = await app.fastify.inject({ method: 'GET', url: '/ready' });
    return { status: response.statusCode, body: response.json() as { status: string; checks: Record<string, string> } };
  };
  const allOk = { status: 'ready', checks: { database: 'ok', migrations: 'ok', queues: 'ok', events: 'ok' } };

  it('GET /ready is 503 naming events (and queues) while Redis is unreachable, 200 once it is back', async () => {
    const { app, proxy, close } = await appBehindRedisProxy();
    try {
      await app.ready();
      expect(await ready(app)).toEqual({ status: 200, body: allOk });

      await proxy.cut();
      expect(await ready(app)).toEqual({
        status: 503,
        body: { status: 'unavailable', checks: { database: 'ok', migrations: 'ok', queues: 'unreachable', events: 'unreachable' } },
      });

      await proxy.restore();
      await waitFor(async () => (await ready(app)).status === 200);
      expect(await ready(app)).toEqual({ status: 200, body: allOk });
    } finally {
      await close();
    }
  });

  it('GET /ready is 503 naming events while the LISTEN connection (PostgreSQL bus) is down, 200 once it is back', async () => {
    const database = await createTestDatabase();
    const name = new URL(database.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
    await admin.connect();
    const app = buildApp(testConfig(database.url));
    try {
      await app.ready();
      // Also opens the database and queue-store connections the checks below reuse.
      expect(await ready(app)).toEqual({ status: 200, body: allOk });

      // New connections are refused (open ones carry on), so the listener cannot come back.
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      const terminated = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query = $2',
        [name, `LISTEN ${EVENTS_CHANNEL}`],
      );
      expect(terminated.rowCount).toBe(1);
      await waitFor(async () => (await ready(app)).body.checks.events !== 'ok', 5000, 20);
      expect(await ready(app)).toEqual({
        status: 503,
        // NOTIFY still goes out (the pool's connection is open); this process hears nothing.
        body: { status: 'unavailable', checks: { database: 'ok', migrations: 'ok', queues: 'ok', events: 'not listening' } },
      });

      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await waitFor(async () => (await ready(app)).status === 200);
      expect(await ready(app)).toEqual({ status: 200, body: allOk });
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => {});
      await admin.end();
      await app.stop();
      await database.drop();
    }
  });
});

/** The value of one sample of a metrics text, 0 when absent. */
async function sample(app: App, series: string): Promise<number> {
  const text = (await app.fastify.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('metrics', () => {
  it('GET /metrics is Prometheus text with durations by operation, errors by code and event-loop lag', async () => {
    const probe = 'graphql_request_duration_seconds_count{operation="HttpMetricsProbe",type="query"}';
    const unauthenticated = 'graphql_errors_total{code="UNAUTHENTICATED"}';
    const badInput = 'graphql_errors_total{code="BAD_USER_INPUT"}';
    const before = { probe: await sample(t.app, probe), badInput: await sample(t.app, badInput) };
    const unauthenticatedBefore = await sample(t.app, unauthenticated);

    // A named operation sent without the operationName parameter (as many clients do)…
    expect((await post(t.app, { query: 'query HttpMetricsProbe { __typename }' })).json).toEqual({
      data: { __typename: 'Query' },
    });
    // …and one of two operations in a document, picked by operationName.
    const picked = await post(t.app, {
      query: 'query Other { __typename } query HttpMetricsProbe { __typename }',
      operationName: 'HttpMetricsProbe',
    });
    expect(picked.json).toEqual({ data: { __typename: 'Query' } });
    // A failing login: an UNAUTHENTICATED error from a resolver.
    const failed = await post(t.app, {
      query: LOGIN,
      variables: { input: { email: 'nobody@example.com', password: 'wrong password' } },
    });
    expect(failed.json.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    // Validation and parse failures never reach execution; they count too (the second
    // identical one is answered from Yoga's validation cache).
    for (const query of ['{ noSuchField }', '{ noSuchField }', '{ unclosed']) {
      expect((await post(t.app, { query })).json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }

    const response = await t.app.fastify.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.body;
    expect(text).toContain('# TYPE graphql_request_duration_seconds histogram');
    expect(text).toMatch(
      /^graphql_request_duration_seconds_bucket\{le="0\.001",operation="HttpMetricsProbe",type="query"\} \d/m,
    );
    expect(text).toMatch(/^graphql_request_duration_seconds_count\{operation="Login",type="mutation"\} [1-9]/m);
    expect(await sample(t.app, probe)).toBe(before.probe + 2);
    expect(text).toContain('# TYPE graphql_errors_total counter');
    expect(await sample(t.app, unauthenticated)).toBe(unauthenticatedBefore + 1);
    expect(await sample(t.app, badInput)).toBe(before.badInput + 3);
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it('counts a masked unexpected error as INTERNAL_SERVER_ERROR', async () => {
    const own = await appOnOwnDatabase();
    try {
      const token = await registerOn(own.app, 'metrics-masked@example.com', 'metrics password');
      await own.drop();
      const response = await post(own.app, { query: '{ me { id } }' }, { authorization: `Bearer ${token}` });
      expect(response.json.errors[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
      expect(await sample(own.app, 'graphql_errors_total{code="INTERNAL_SERVER_ERROR"}')).toBe(1);
    } finally {
      await own.app.stop();
    }
  });
});

describe('CSRF prevention', () => {
  const url = `/graphql?query=${encodeURIComponent('{ __typename }')}`;

  it('rejects a GET query without a CSRF header', async () => {
    const response = await t.app.fastify.inject({ method: 'GET', url, headers: { accept: 'application/json' } });
    expect(response.statusCode).toBe(403);
    expect(response.body).not.toContain('"__typename"');
  });

  it.each(['x-graphql-yoga-csrf', 'apollo-require-preflight'])('accepts a GET query with %s', async (header) => {
    const response = await t.app.fastify.inject({
      method: 'GET',
      url,
      headers: { accept: 'application/json', [header]: '1' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('rejects a simple (non-preflighted) POST form', async () => {
    const response = await t.app.fastify.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      payload: 'query=%7B__typename%7D',
    });
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.body).not.toContain('"__typename"');
  });
});

describe('GraphiQL', () => {
  it('GET /graphql from a browser (Accept: text/html) is the GraphiQL page', async () => {
    const response = await t.app.fastify.inject({
      method: 'GET',
      url: '/graphql',
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('<title>Switchyard</title>');
    expect(response.body.toLowerCase()).toContain('graphiql');
  });
});

describe('CORS', () => {
  let corsApp: App;
  beforeAll(async () => {
    corsApp = buildApp(testConfig(t.databaseUrl, { CORS_ORIGIN: 'https://app.example' }));
    await corsApp.ready();
  });
  afterAll(async () => {
    await corsApp?.stop();
  });

  const preflight = (app: App, origin: string) =>
    app.fastify.inject({
      method: 'OPTIONS',
      url: '/graphql',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });

  it('allows a preflight from the configured origin', async () => {
    const response = await preflight(corsApp, 'https://app.example');
    expect(response.statusCode).toBeLessThan(300);
    expect(response.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(String(response.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(response.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    expect(response.headers['access-control-allow-credentials']).toBe('true');
  });

  it('does not allow a preflight from another origin', async () => {
    const response = await preflight(corsApp, 'https://evil.example');
    // With one configured origin Yoga names that origin whatever the request's is;
    // a browser then refuses the response, as it differs from its own origin.
    expect(response.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(response.headers['access-control-allow-origin']).not.toBe('https://evil.example');
  });

  it('with several origins, names the caller when listed and "null" otherwise', async () => {
    const app = buildApp(testConfig(t.databaseUrl, { CORS_ORIGIN: 'https://app.example, https://admin.example' }));
    try {
      const admin = await preflight(app, 'https://admin.example');
      expect(admin.headers['access-control-allow-origin']).toBe('https://admin.example');
      expect(String(admin.headers.vary)).toContain('Origin');
      const evil = await preflight(app, 'https://evil.example');
      expect(evil.headers['access-control-allow-origin']).toBe('null');
    } finally {
      await app.stop();
    }
  });

  it('sends the allow-origin header on the actual request too', async () => {
    const ok = await post(corsApp, { query: '{ __typename }' }, { origin: 'https://app.example' });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
  });

  it('sends no CORS headers when CORS_ORIGIN is unset', async () => {
    const response = await preflight(t.app, 'https://app.example');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});

/** An app on a database of its own, which a test may drop to cause real unexpected errors. */
async function appOnOwnDatabase(logger?: Logger) {
  const database = await createTestDatabase();
  const app = buildApp(testConfig(database.url), logger ? { logger } : {});
  // As a real server does: queues open (register enqueues provisioning).
  await app.ready();
  return {
    app,
    databaseName: new URL(database.url).pathname.slice(1),
    drop: database.drop,
    close: async () => {
      await app.stop();
      await database.drop();
    },
  };
}

describe('unexpected errors', () => {
  it('are masked: INTERNAL_SERVER_ERROR, "Unexpected error.", no stack, no SQL, no database details', async () => {
    const own = await appOnOwnDatabase();
    try {
      const token = await registerOn(own.app, 'masked@example.com', 'masked password');
      await own.drop();

      for (const [body, headers] of [
        [{ query: '{ me { id email } }' }, { authorization: `Bearer ${token}` }],
        [{ query: LOGIN, variables: { input: { email: 'masked@example.com', password: 'masked password' } } }, {}],
      ] as const) {
        const response = await post(own.app, body, headers);
        expect(response.json.errors).toHaveLength(1);
        const [error] = response.json.errors;
        expect(error.message).toBe('Unexpected error.');
        expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
        expect(response.body).not.toMatch(/stack|at \w+ \(|\.ts:\d|SELECT|FROM|"public"|prisma|postgres/i);
        expect(response.body).not.toContain(own.databaseName);
      }
    } finally {
      await own.app.stop();
    }
  });
});

describe('logs', () => {
  it('never contain passwords, tokens or the Authorization header; every request line has a reqId', async () => {
    // The logger the server uses (redaction, serializers), at its most verbose, writing to memory.
    const { logger, text: written } = memoryLogger('trace');
    const own = await appOnOwnDatabase(logger);
    const password = 'Log-Secret-Password-9f3a';
    const secrets: string[] = [password];
    try {
      const registered = await post(own.app, {
        query: REGISTER,
        variables: { input: { email: 'logs@example.com', password, name: 'Logs' } },
      });
      const session = registered.json.data.register as { accessToken: string; refreshToken: string };
      secrets.push(session.accessToken, session.refreshToken);

      const login = await post(own.app, {
        query: LOGIN,
        variables: { input: { email: 'logs@example.com', password } },
      });
      secrets.push(login.json.data.login.accessToken, login.json.data.login.refreshToken);

      const refreshed = await post(own.app, { query: REFRESH, variables: { token: session.refreshToken } });
      secrets.push(refreshed.json.data.refreshToken.accessToken, refreshed.json.data.refreshToken.refreshToken);

      const me = await post(own.app, { query: '{ me { id } }' }, { authorization: `Bearer ${session.accessToken}` });
      expect(me.json.data.me.id).toBe(registered.json.data.register.user.id);

      // A reused refresh token is logged (family revoked) and must not log the token.
      const reused = await post(own.app, { query: REFRESH, variables: { token: session.refreshToken } });
      expect(reused.json.errors[0].extensions.code).toBe('UNAUTHENTICATED');

      const wrongPassword = 'Wrong-Secret-Password-77c1';
      secrets.push(wrongPassword);
      const failed = await post(own.app, {
        query: LOGIN,
        variables: { input: { email: 'logs@example.com', password: wrongPassword } },
      });
      expect(failed.json.errors[0].extensions.code).toBe('UNAUTHENTICATED');

      // A malformed Authorization header is rejected; its value must not be logged either.
      const badHeader = 'Token Bad-Header-Secret-41d0';
      secrets.push('Bad-Header-Secret-41d0');
      await post(own.app, { query: '{ me { id } }' }, { authorization: badHeader });

      // A careless client putting a secret in a GET URL (mutations are refused on GET,
      // but the URL is logged before that): the query string must not reach the log.
      const urlSecret = 'Url-Secret-Password-5be2';
      secrets.push(urlSecret);
      const viaGet = await own.app.fastify.inject({
        method: 'GET',
        url: `/graphql?query=${encodeURIComponent(`mutation { login(input: { email: "a@b.co", password: "${urlSecret}" }) { accessToken } }`)}`,
        headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' },
      });
      expect(viaGet.statusCode).toBe(405);

      await own.drop();
      const unexpected = await post(
        own.app,
        { query: LOGIN, variables: { input: { email: 'logs@example.com', password } } },
        { 'x-request-id': 'unexpected-error-request' },
      );
      expect(unexpected.json.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await own.app.stop();
    }

    const text = written();
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/Bearer /i);

    // The details of the unexpected error are in the log, tied to its request.
    const errorLine = lines.find((line) => line.msg === 'unexpected error in a GraphQL operation');
    expect(errorLine).toBeDefined();
    expect(errorLine?.reqId).toBe('unexpected-error-request');
    expect(JSON.stringify(errorLine?.err)).toContain(own.databaseName);

    // Every line carries the id of the request it was logged for, but for those of
    // background components (the queue store's connections), which no request owns.
    const requestLines = lines.filter((line) => line.component === undefined);
    expect(requestLines.filter((line) => typeof line.reqId !== 'string')).toEqual([]);
    expect(new Set(requestLines.map((line) => line.msg))).toEqual(
      new Set([
        'request completed',
        'refresh token reused; family revoked',
        'unexpected error in a GraphQL operation',
      ]),
    );
    // One line per request, when it completes, with its status and duration.
    const completed = requestLines.filter((line) => line.msg === 'request completed');
    expect(new Set(completed.map((line) => line.reqId)).size).toBe(completed.length);
    for (const line of completed) {
      expect(line).toMatchObject({ statusCode: expect.any(Number), responseTime: expect.any(Number) });
    }
    // The URL of the GET is logged without its query string.
    expect(lines.map((line) => (line.req as { url?: string } | undefined)?.url)).toContain('/graphql?[redacted]');
  });
  it('redacts credentials wherever a log call puts them', () => {
    const { logger, text: written } = memoryLogger('trace');
    logger.info({
      password: 'p1-secret',
      input: { password: 'p2-secret', email: 'kept@example.com' },
      accessToken: 'a1-secret',
      session: { refreshToken: 'r1-secret', token: 't1-secret' },
      headers: { authorization: 'Bearer h1-secret' },
      req: { headers: { authorization: 'Bearer h2-secret', cookie: 'c1-secret' } },
      variables: { anything: 'v1-secret' },
    });
    logger.child({ reqId: 'r' }).warn({ user: { passwordHash: '$argon2id$h3-secret' } }, 'child');
    const text = written();
    expect(text).not.toMatch(/-secret/);
    expect(text).toContain('kept@example.com');
    expect(text).toContain('[redacted]');
  });
});
