import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KNOWN_ENV_VARIABLES } from '../src/config.js';
import { freePort } from '../src/infra/embedded-postgres.js';
import { createTestDatabase } from './helpers/database.js';

/**
 * Graceful shutdown of the real process (src/server.ts as a child, production
 * mode on a test database): SIGTERM/SIGINT stop accepting, let in-flight
 * requests finish within SHUTDOWN_TIMEOUT_MS, close the database, exit 0.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const JWT_SECRET = 'shutdown-test-secret-0123456789abcdefghij'; // 40 chars
const ADMIN_EMAIL = 'admin@shutdown.test';
const ADMIN_PASSWORD = 'shutdown-admin-password';
const LOGIN_BODY = JSON.stringify({
  query: 'mutation($input: LoginInput!) { login(input: $input) { accessToken user { email role } } }',
  variables: { input: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } },
});

interface Running {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
let databaseUrl: string;
let dropDatabase: (() => Promise<void>) | undefined;

// One server per test, started together (each start costs a couple of seconds).
let forSigterm: Running;
let forSigint: Running;
let forBoundedWait: Running;

beforeAll(async () => {
  const database = await createTestDatabase();
  databaseUrl = database.url;
  dropDatabase = database.drop;
  [forSigterm, forSigint, forBoundedWait] = await Promise.all([
    startServer(),
    startServer(),
    startServer({ SHUTDOWN_TIMEOUT_MS: '500' }),
  ]);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await dropDatabase?.();
});

/** Spawns src/server.ts with a clean environment and waits for its start banner. */
async function startServer(env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of KNOWN_ENV_VARIABLES) delete childEnv[name];
  Object.assign(childEnv, {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    JWT_SECRET,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ...env,
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': by then stdout and stderr are fully read.
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s\n${stdout}\n${stderr}`)), 30_000);
    const check = () => {
      if (/Switchyard is running[\s\S]*\n\n/.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before starting\n${stdout}\n${stderr}`));
    });
  });
  return { child, port, stdout: () => stdout, stderr: () => stderr, exited };
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

interface SlowRequest {
  /** Sends the rest of the body. */
  finish(): void;
  response: Promise<{ status: number; body: string }>;
}

/**
 * POSTs LOGIN_BODY to /graphql but sends only the first half of the body, so
 * the request is in flight (headers parsed, body pending) until finish().
 */
async function startSlowRequest(port: number, agent?: http.Agent): Promise<SlowRequest> {
  const half = Math.floor(LOGIN_BODY.length / 2);
  const request = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/graphql',
    agent: agent ?? false,
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      'content-length': Buffer.byteLength(LOGIN_BODY),
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    request.on('error', reject);
  });
  response.catch(() => {}); // observed by the tests that expect it to fail
  request.write(LOGIN_BODY.slice(0, half));
  await new Promise<void>((resolve) => request.once('socket', (socket) => socket.once('connect', () => resolve())));
  await sleep(150); // let the server parse the headers and start reading the body
  return {
    finish: () => request.end(LOGIN_BODY.slice(half)),
    response,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('graceful shutdown of the server process', () => {
  it('SIGTERM: refuses new connections, finishes the in-flight request, exits 0', async () => {
    const server = forSigterm;
    expect(await tryConnect(server.port)).toBe('connected');

    // A keep-alive client, as browsers and proxies are: the connection outlives the request.
    const agent = new http.Agent({ keepAlive: true });
    const slow = await startSlowRequest(server.port, agent);
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
    expect(await server.exited).toEqual({ code: 0, signal: null });
    // Once the in-flight request is answered, the idle keep-alive connection is closed
    // and the process exits without waiting out SHUTDOWN_TIMEOUT_MS (10 s by default).
    expect(Date.now() - responded).toBeLessThan(8_000);
    expect(server.stdout()).not.toContain('did not finish in time');
    expect(server.stderr()).toBe('');
    agent.destroy();
  });

  it('SIGINT: the same graceful path, the in-flight request is answered, exits 0', async () => {
    const server = forSigint;
    const slow = await startSlowRequest(server.port);
    server.child.kill('SIGINT');
    await sleep(300);
    expect(server.child.exitCode).toBeNull();
    slow.finish();
    const response = await slow.response;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ data: { login: { user: { email: ADMIN_EMAIL } } } });
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.stderr()).toBe('');
  });

  it('bounded wait: a request that never finishes is cut off after SHUTDOWN_TIMEOUT_MS and the process exits 0', async () => {
    const server = forBoundedWait;
    const slow = await startSlowRequest(server.port);
    const signalled = Date.now();
    server.child.kill('SIGTERM');

    const result = await server.exited;
    const elapsed = Date.now() - signalled;
    expect(result).toEqual({ code: 0, signal: null });
    // It waited for the request (about 500 ms), then closed it, well before the default 10 s.
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(8_000);
    await expect(slow.response).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(server.stdout()).toContain('in-flight requests did not finish in time');
  });
});
