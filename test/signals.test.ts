import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './harness/ports.js';
import { postmasterPid } from './harness/postgres.js';
import { type Child, childEnv, spawnChild, waitForOutput } from './harness/processes.js';
import { sleep, waitUntil } from './harness/wait.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startSlowRequest } from './helpers/server-process.js';

/**
 * Signals as terminals and supervisors send them: to a whole process group,
 * which reaches npm and the node process each, and npm forwards its copy.
 * onShutdownSignal (src/infra/shutdown.ts) takes a repeat within a second for
 * the same signal; a later one, or a third, exits 1 at once.
 */

const LOGIN_BODY = JSON.stringify({
  query: 'mutation($input: LoginInput!) { login(input: $input) { user { email } } }',
  variables: { input: { email: 'demo@switchyard.local', password: 'switchyard-demo' } },
});

const children: Child[] = [];
afterAll(() => {
  for (const child of children) child.kill();
});

function spawn(name: string, command: string, args: string[], env: Record<string, string>): Child {
  // detached: the child leads a process group of its own, which the test signals as a whole.
  const child = spawnChild(name, command, args, { env: childEnv(env), capture: true, detached: true, killAfterMs: 90_000 });
  children.push(child);
  return child;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of the direct children of `pid`. */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

describe('the repeated-signal rule (onShutdownSignal with a 3 s stop)', () => {
  const start = async () => {
    const child = spawn('slow-stop', process.execPath, ['--import', 'tsx', 'test/fixtures/slow-stop.ts', '3000'], {});
    await waitForOutput(child, /^ready$/m, 20_000);
    return child;
  };

  it('two signals within a second are one: the drain completes and the process exits 0', async () => {
    const child = await start();
    child.proc.kill('SIGTERM');
    await sleep(200);
    child.proc.kill('SIGTERM');
    expect(await child.closed).toEqual({ code: 0, signal: null });
    expect(child.output().match(/repeated signal ignored/g)).toHaveLength(1);
    expect(child.output()).toMatch(/"msg":"stopped"/);
  });

  it('a signal more than a second after the first exits 1 at once, mid-drain', async () => {
    const child = await start();
    child.proc.kill('SIGINT');
    await sleep(1500);
    child.proc.kill('SIGINT');
    expect(await child.closed).toEqual({ code: 1, signal: null });
    expect(child.output()).toMatch(/"msg":"signal during shutdown: exiting now"/);
    expect(child.output()).not.toMatch(/"msg":"stopped"/);
  });

  it('a third signal exits 1 at once, even within the second', async () => {
    const child = await start();
    for (let i = 0; i < 3; i++) {
      child.proc.kill('SIGTERM');
      await sleep(100);
    }
    expect(await child.closed).toEqual({ code: 1, signal: null });
    expect(child.output()).toMatch(/"count":3,"msg":"signal during shutdown: exiting now"/);
    expect(child.output()).not.toMatch(/"msg":"stopped"/);
  });
});

describe('SIGTERM to the whole process group', () => {
  let dataDir: string | undefined;
  let database: TestDatabase | undefined;
  afterAll(async () => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  });

  // SIGTERM, as supervisors send: the postmaster, in the group too, then only refuses new connections. A
  // group SIGINT (Ctrl-C) makes it shut down fast by itself, cutting the sessions in-flight requests use.
  it('`npm start` (embedded): an in-flight request is answered, npm and the server exit 0, PostgreSQL is stopped', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-signals-'));
    // As root, PostgreSQL runs as the `postgres` user, which must reach DATA_DIR/pg.
    chmodSync(dataDir, 0o755);
    const port = await freePort();
    const npm = spawn('npm start', 'npm', ['start'], { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' });
    await waitForOutput(npm, /Switchyard is running[\s\S]*demo user.*\n\n/, 60_000, npm.stdout);

    // The script execs node: the server is npm's own child, so npm's exit code is the server's
    // (npm exits 0 only when its child did), and nothing else (no shell) stands between them.
    const [server, ...others] = childrenOf(npm.pid);
    expect(others).toEqual([]);
    expect(readFileSync(`/proc/${server}/cmdline`, 'utf8')).toContain('src/server.ts');
    const postmaster = postmasterPid(join(dataDir, 'pg'));
    expect(postmaster).toBeDefined();

    // A request in flight across the signal (headers sent, body pending) is still answered, from the database.
    const slow = await startSlowRequest(port, LOGIN_BODY, { headers: { accept: 'application/graphql-response+json' } });
    process.kill(-npm.pid, 'SIGTERM');
    await sleep(300);
    slow.finish();
    const response = await slow.response;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ data: { login: { user: { email: 'demo@switchyard.local' } } } });
    expect(await npm.closed).toEqual({ code: 0, signal: null });
    await waitUntil(() => !isAlive(server!), 5_000, 'the server process to be gone');
    const out = npm.output();
    expect(out).toMatch(new RegExp(`"pid":${server},"msg":"stopped"`));
    expect(out).not.toMatch(/exiting now|did not finish in time|shutdown failed/);
    expect(out).not.toMatch(/npm error/);
    await waitUntil(() => !isAlive(postmaster!), 5_000, 'the postmaster to be gone');
    expect(postmasterPid(join(dataDir, 'pg'))).toBeUndefined();
  }, 90_000);

  it('`npm run start:worker` (production): drains and exits 0', async () => {
    database = await createTestDatabase();
    const npm = spawn('npm run start:worker', 'npm', ['run', 'start:worker'], {
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      JWT_SECRET: 'signals-test-secret-0123456789abcdefghij',
      LOG_LEVEL: 'info',
    });
    await waitForOutput(npm, /"msg":"worker process ready"/, 30_000);
    const [worker, ...others] = childrenOf(npm.pid);
    expect(others).toEqual([]);
    expect(readFileSync(`/proc/${worker}/cmdline`, 'utf8')).toContain('workers/index.ts');

    process.kill(-npm.pid, 'SIGTERM');
    expect(await npm.closed).toEqual({ code: 0, signal: null });
    const out = npm.output();
    expect(out).toMatch(/"msg":"workers closed"/);
    expect(out).toMatch(new RegExp(`"pid":${worker},"role":"worker","msg":"stopped"`));
    expect(out).not.toMatch(/exiting now|did not finish in time|shutdown failed/);
    expect(out).not.toMatch(/"level":(50|60)/); // no error or fatal lines
  }, 60_000);
});
