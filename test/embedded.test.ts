import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postmasterPid } from './harness/postgres.js';
import {
  type ListeningServer as Server,
  type SlowRequest,
  spawnServer,
  startSlowRequest,
  stopAll,
} from './helpers/server-process.js';
import { sleep } from './harness/wait.js';

/**
 * `npm start` as a newcomer runs it: src/server.ts as a real child process with
 * no DATABASE_URL, so it starts embedded PostgreSQL under DATA_DIR, migrates,
 * seeds, and prints the logins. Two full starts on one DATA_DIR (plus a second
 * process that must refuse to share it).
 */

const DEMO = { email: 'demo@switchyard.local', password: 'switchyard-demo' };
const ADMIN_EMAIL = 'admin@switchyard.local';
const DEMO_STRATEGIES = ['BTC momentum', 'ETH mean reversion', 'SOL breakout'];

let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchyard-embedded-'));
  // mkdtemp makes it 0700; run as root, PostgreSQL runs as the `postgres` user and must reach DATA_DIR/pg.
  chmodSync(dataDir, 0o755);
});

afterAll(async () => {
  await stopAll({ graceMs: 15_000 });
  // If a server was killed hard, its PostgreSQL is still running: stop it by its pid.
  const pid = postmasterPid(join(dataDir, 'pg'));
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGINT');
      await sleep(1_000);
    } catch {
      // not running
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});


/** Starts src/server.ts in embedded mode on DATA_DIR; with waitForBanner, resolves once it is serving. */
function startServer(options: { waitForBanner: boolean }): Promise<Server> {
  return spawnServer({
    listen: true,
    env: { DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    waitForBanner: options.waitForBanner && /Switchyard is running[\s\S]*demo user.*\n\n/,
    timeoutMs: 60_000,
  });
}

interface GraphQLResult<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function gql<T>(server: Server, query: string, variables?: object, token?: string): Promise<GraphQLResult<T>> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as GraphQLResult<T>;
}

async function login(server: Server, email: string, password: string) {
  const result = await gql<{ login: { accessToken: string; user: { email: string; role: string } } }>(
    server,
    'mutation($input: LoginInput!) { login(input: $input) { accessToken user { email role } } }',
    { input: { email, password } },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.login;
}

async function strategyNames(server: Server, token: string): Promise<string[]> {
  const result = await gql<{ strategies: { edges: Array<{ node: { name: string } }> } }>(
    server,
    '{ strategies(first: 100) { edges { node { name } } } }',
    undefined,
    token,
  );
  expect(result.errors).toBeUndefined();
  return result.data!.strategies.edges.map((edge) => edge.node.name).sort();
}

/**
 * POSTs a login to /graphql but holds back the second half of the body until
 * finish(), so the request is in flight across a signal.
 */
function startSlowLogin(port: number, email: string, password: string): Promise<SlowRequest> {
  const body = JSON.stringify({
    query: 'mutation($input: LoginInput!) { login(input: $input) { user { email } } }',
    variables: { input: { email, password } },
  });
  return startSlowRequest(port, body);
}

describe('embedded mode (no DATABASE_URL)', { timeout: 90_000 }, () => {
  let first: Server;
  let adminPassword: string;
  const registered = { email: 'newcomer@example.com', password: 'newcomer password', name: 'Newcomer' };

  it('first start: creates the cluster, seeds, prints the GraphiQL URL and the logins with a generated admin password', async () => {
    first = await startServer({ waitForBanner: true });
    const banner = first.stdout();
    expect(banner).toContain(`GraphiQL   ${first.url}/graphql`);
    expect(banner).toContain(`demo user  ${DEMO.email} / ${DEMO.password}`);
    const admin = banner.match(/admin {6}(\S+) \/ (\S+) {3}\(generated: shown only this once\)/);
    expect(admin?.[1]).toBe(ADMIN_EMAIL);
    adminPassword = admin![2]!;
    expect(adminPassword.length).toBeGreaterThanOrEqual(12);
    // The cluster and the generated JWT secret live under DATA_DIR.
    expect(existsSync(join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'jwt-secret'))).toBe(true);
    expect(first.stderr()).toBe('');
  });

  it('serves GraphiQL, the demo user with its strategies, and the admin with the printed password', async () => {
    const graphiql = await fetch(`${first.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(graphiql.status).toBe(200);
    expect(await graphiql.text()).toContain('Switchyard');

    const demo = await login(first, DEMO.email, DEMO.password);
    expect(demo.user).toEqual({ email: DEMO.email, role: 'USER' });
    expect(await strategyNames(first, demo.accessToken)).toEqual(DEMO_STRATEGIES);

    const admin = await login(first, ADMIN_EMAIL, adminPassword);
    expect(admin.user).toEqual({ email: ADMIN_EMAIL, role: 'ADMIN' });

    const register = await gql<{ register: { user: { email: string } } }>(
      first,
      'mutation($input: RegisterInput!) { register(input: $input) { user { email } } }',
      { input: registered },
    );
    expect(register.errors).toBeUndefined();
    expect(register.data?.register.user.email).toBe(registered.email);
  });

  it('a second server on the same DATA_DIR exits non-zero with a clear message; the first keeps serving', async () => {
    const second = await startServer({ waitForBanner: false });
    const { code } = await second.closed;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = second.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1); // one line, no stack trace
    expect(lines[0]).toContain('DATA_DIR');
    expect(lines[0]).toContain(dataDir);
    expect(lines[0]).toContain('in use');
    expect(second.stdout()).not.toContain('Switchyard is running');

    // The first server and its PostgreSQL are undisturbed.
    const ready = await fetch(`${first.url}/ready`);
    expect(ready.status).toBe(200);
    const demo = await login(first, DEMO.email, DEMO.password);
    expect(await strategyNames(first, demo.accessToken)).toEqual(DEMO_STRATEGIES);
  });

  it('SIGTERM lets an in-flight request use the database, then stops the server and its PostgreSQL, exit 0', async () => {
    const slow = await startSlowLogin(first.port, DEMO.email, DEMO.password);
    first.child.kill('SIGTERM');
    await sleep(300);
    slow.finish();
    const response = await slow.response;
    expect(response.status).toBe(200);
    // PostgreSQL was still up: the login read the user and wrote a refresh token.
    expect(JSON.parse(response.body)).toMatchObject({ data: { login: { user: { email: DEMO.email } } } });

    expect(await first.closed).toEqual({ code: 0, signal: null });
    expect(first.stderr()).toBe('');
    // PostgreSQL removes its pid file on a clean shutdown.
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it('a restart on the same DATA_DIR keeps the data and does not print a password again', async () => {
    const again = await startServer({ waitForBanner: true });
    const banner = again.stdout();
    expect(banner).toMatch(new RegExp(`admin {6}${ADMIN_EMAIL.replace(/\./g, '\\.')}\\n`));
    expect(banner).not.toContain(adminPassword);
    expect(banner).not.toContain('generated');

    const demo = await login(again, DEMO.email, DEMO.password);
    // Seeding did not run twice: still exactly the three demo strategies.
    expect(await strategyNames(again, demo.accessToken)).toEqual(DEMO_STRATEGIES);
    expect((await login(again, registered.email, registered.password)).user.email).toBe(registered.email);
    expect((await login(again, ADMIN_EMAIL, adminPassword)).user.role).toBe('ADMIN');

    again.child.kill('SIGINT');
    expect(await again.closed).toEqual({ code: 0, signal: null });
    expect(again.stderr()).toBe('');
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });
});

describe('a DATA_DIR the postgres user cannot reach', () => {
  it.runIf(process.getuid?.() === 0)('is refused before PostgreSQL starts, with one line saying what to change', async () => {
    const privateParent = mkdtempSync(join(tmpdir(), 'switchyard-private-')); // mode 0700
    try {
      const server = await spawnServer({ listen: true, env: { DATA_DIR: join(privateParent, 'data'), LOG_LEVEL: 'warn' } });
      const { code } = await server.closed;
      expect(code).toBe(1);
      const lines = server.stderr().trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`chmod o+x ${privateParent}`);
    } finally {
      rmSync(privateParent, { recursive: true, force: true });
    }
  });
});
