import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';

/**
 * Applies prisma/migrations/<name>/migration.sql files the way `prisma migrate
 * deploy` does, without Prisma's schema engine: under Prisma's advisory lock,
 * one transaction per file, each recorded in `_prisma_migrations` with the
 * SHA-256 checksum Prisma computes, so Prisma's own CLI agrees on the state.
 */

/** prisma/migrations at the project root: two levels up under tsx (src/infra), three when compiled (dist/src/infra). */
export const MIGRATIONS_DIR =
  [
    resolve(import.meta.dirname, '../../prisma/migrations'),
    resolve(import.meta.dirname, '../../../prisma/migrations'),
  ].find((dir) => existsSync(dir)) ?? resolve(import.meta.dirname, '../../prisma/migrations');

// The lock key `prisma migrate` takes, so our runner and Prisma's never interleave.
const PRISMA_ADVISORY_LOCK = 72707369;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

/** Every migration of `dir`, in order, each with the checksum Prisma records: read from disk and hashed now. */
export function readMigrations(dir = MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir)
    .filter((entry) => statSync(join(dir, entry)).isDirectory())
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Runs one SQL statement and returns its rows: a pg client and Prisma both fit. */
export type QueryRows = <T>(sql: string) => Promise<T[]>;

async function appliedMigrations(query: QueryRows): Promise<Map<string, AppliedRow>> {
  const [exists] = await query<{ present: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`,
  );
  if (!exists?.present) return new Map();
  const rows = await query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
  );
  return new Map(rows.map((row) => [row.migration_name, row]));
}

/** Refuses a database whose history disagrees with the files: edited or failed migrations. */
function checkHistory(files: MigrationFile[], applied: Map<string, AppliedRow>): MigrationFile[] {
  const pending: MigrationFile[] = [];
  for (const file of files) {
    const row = applied.get(file.name);
    if (!row) {
      pending.push(file);
      continue;
    }
    if (!row.finished_at) {
      throw new MigrationError(
        `Migration ${file.name} failed or is unfinished in this database; resolve it before migrating`,
      );
    }
    if (row.checksum !== file.checksum) {
      throw new MigrationError(
        `Migration ${file.name} was edited after it was applied (checksum differs); add a new migration instead of editing an applied one`,
      );
    }
  }
  return pending;
}

export interface MigrateResult {
  applied: string[];
}

export async function migrate(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<MigrateResult> {
  const files = readMigrations(dir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const pending = checkHistory(files, await appliedMigrations(async (sql) => (await client.query(sql)).rows));
    for (const file of pending) {
      await client.query('BEGIN');
      try {
        await client.query(file.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ($1, $2, $3, now(), now(), 1)`,
          [randomUUID(), file.checksum, file.name],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new MigrationError(`Migration ${file.name} failed: ${(error as Error).message}`);
      }
    }
    return { applied: pending.map((file) => file.name) };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]).catch(() => {});
    await client.end();
  }
}

/**
 * Names of `files` not yet applied (for /ready); throws MigrationError on a bad history. A running
 * process passes the files it read once (readMigrations): they cannot change under it.
 */
export async function pendingMigrations(query: QueryRows, files: MigrationFile[] = readMigrations()): Promise<string[]> {
  return checkHistory(files, await appliedMigrations(query)).map((file) => file.name);
}
