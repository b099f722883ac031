import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import {
  type ListeningServer,
  type SlowRequest,
  spawnServer,
  startSlowRequest,
  stopAll,
} from './helpers/server-process.js';
import { sleep } from './harness/wait.js';

/**
 * Graceful shutdown of the real process (src/server.ts as a child, production
 * mode on a test database): SIGTERM/SIGINT stop accepting, let in-flight
 * requests finish within SHUTDOWN_TIMEOUT_MS, close the database, exit 0.
 */

const JWT_SECRET = 'shutdown-test-secret-0123456789abcdefghij'; // 40 chars
const ADMIN_EMAIL = 'admin@shutdown.test';
const ADMIN_PASSWORD = 'shutdown-admin-password';
const LOGIN_BODY = JSON.stringify({
  query: 'mutation($input: LoginInput!) { login(input: $input) { accessToken user { email role } } }',
  variables: { input: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } },
});

let databaseUrl: string;
let dropDatabase: (() => Promise<void>) | undefined;

// One server per test, started together (each start costs a couple of seconds).
let forSigterm: ListeningServer;
let forSigint: ListeningServer;
let forBoundedWait: ListeningServer;

beforeAll(async () => {
  const database = await createTestDatabase();
  databaseUrl = database.url;
  dropDatabase = database.drop;
  [forSigterm, forSigint, forBoundedWait] = await Promise.all([
    startServer(),
    startServer(),
    startServer({ SHUTDOWN_TIMEOUT_MS: '500' }),
  ]);
}, 90_000);

afterAll(async () => {
  await stopAll({ graceMs: 0 });
  await dropDatabase?.();
});

/** Starts src/server.ts in production mode on the test database and waits for its start banner. */
function startServer(env: Record<string, string> = {}): Promise<ListeningServer> {
  return spawnServer({
    listen: true,
    env: {
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      JWT_SECRET,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      ...env,
    },
    waitForBanner: true,
    // Three start at once, each compiling the tree with tsx: on two busy cores that takes more than 30 s.
    timeoutMs: 60_000,
  });
}

/** Resolves to the connect error code (ECONNREFUSED) or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/**
 * POSTs LOGIN_BODY to /graphql but sends only the first half of the body, so
 * the request is in flight (headers parsed, body pending) until finish().
 */
function startSlowLogin(port: number, agent?: http.Agent): Promise<SlowRequest> {
  return startSlowRequest(port, LOGIN_BODY, { agent, headers: { accept: 'application/graphql-response+json' } });
}


describe('graceful shutdown of the server process', () => {
  it('SIGTERM: refuses new connections, finishes the in-flight request, exits 0', async () => {
    const server = forSigterm;
    expect(await tryConnect(server.port)).toBe('connected');

    // A keep-alive client, as browsers and proxies are: the connection outlives the request.
    const agent = new http.Agent({ keepAlive: true });
    const slow = await startSlowLogin(server.port, agent);
    server.child.kill('SIGTERM');
    await sleep(300);

    // The listener is closed while the in-flight request is still open.
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
    expect(server.child.exitCode).toBeNull();

    slow.finish();
    const response = await slow.response;
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body) as { data?: { login?: { accessToken: string; user: unknown } } };
    // The login reads the database: Prisma was still open for the in-flight request.
    expect(body.data?.login?.user).toEqual({ email: ADMIN_EMAIL, role: 'ADMIN' });
    expect(body.data?.login?.accessToken).toMatch(/^ey/);

    const responded = Date.now();
    expect(await server.closed).toEqual({ code: 0, signal: null });
    // Once the in-flight request is answered, the idle keep-alive connection is closed
    // and the process exits without waiting out SHUTDOWN_TIMEOUT_MS (10 s by default).
    expect(Date.now() - responded).toBeLessThan(8_000);
    expect(server.stdout()).not.toContain('did not finish in time');
    expect(server.stderr()).toBe('');
    agent.destroy();
  });

  it('SIGINT: the same graceful path, the in-flight request is answered, exits 0', async () => {
    const server = forSigint;
    const slow = await startSlowLogin(server.port);
    server.child.kill('SIGINT');
    await sleep(300);
    expect(server.child.exitCode).toBeNull();
    slow.finish();
    const response = await slow.response;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ data: { login: { user: { email: ADMIN_EMAIL } } } });
    expect(await server.closed).toEqual({ code: 0, signal: null });
    expect(server.stderr()).toBe('');
  });

  it('bounded wait: a request that never finishes is cut off after SHUTDOWN_TIMEOUT_MS and the process exits 0', async () => {
    const server = forBoundedWait;
    const slow = await startSlowLogin(server.port);
    const signalled = Date.now();
    server.child.kill('SIGTERM');

    const result = await server.closed;
    const elapsed = Date.now() - signalled;
    expect(result).toEqual({ code: 0, signal: null });
    // It waited for the request (about 500 ms), then closed it, well before the default 10 s.
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(8_000);
    await expect(slow.response).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(server.stdout()).toContain('in-flight requests did not finish in time');
  });
});
