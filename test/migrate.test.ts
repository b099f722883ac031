import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, MigrationError, migrate, pendingMigrations, readMigrations } from '../src/infra/migrate.js';
import { createEmptyDatabase } from './helpers/database.js';

// The key `prisma migrate` locks; a runner that took another key could interleave with Prisma's.
const PRISMA_ADVISORY_LOCK = 72707369;

/** The project's migrations, read independently of the runner: name and SHA-256 of the file's bytes. */
const projectMigrations = readdirSync(MIGRATIONS_DIR)
  .filter((entry) => statSync(join(MIGRATIONS_DIR, entry)).isDirectory())
  .sort()
  .map((name) => {
    const bytes = readFileSync(join(MIGRATIONS_DIR, name, 'migration.sql'));
    return { name, checksum: createHash('sha256').update(bytes).digest('hex') };
  });
const projectNames = projectMigrations.map((m) => m.name);

// Every database and temporary directory a test makes is removed after it.
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function emptyDatabase(): Promise<string> {
  const db = await createEmptyDatabase();
  cleanups.push(db.drop);
  return db.url;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  cleanups.push(() => client.end());
  return client;
}

/** A throwaway migrations directory: `files` maps migration name to its SQL. */
function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-migrations-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(files)) writeMigration(dir, name, sql);
  return dir;
}

function writeMigration(dir: string, name: string, sql: string): void {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, 'migration.sql'), sql);
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

async function migrationRows(client: pg.Client): Promise<MigrationRow[]> {
  const { rows } = await client.query<MigrationRow>('SELECT * FROM "_prisma_migrations" ORDER BY migration_name');
  return rows;
}

async function tableExists(client: pg.Client, table: string): Promise<boolean> {
  const { rows } = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    `public."${table}"`,
  ]);
  return rows[0]!.present;
}

function queryRows(client: pg.Client) {
  return async <T>(sql: string): Promise<T[]> => (await client.query(sql)).rows as T[];
}

describe('migrate() on an empty database', () => {
  it('applies every migration and records each as Prisma does', async () => {
    expect(projectNames.length).toBeGreaterThan(0);
    const url = await emptyDatabase();

    const result = await migrate(url);

    expect(result.applied).toEqual(projectNames);
    const client = await connect(url);
    const rows = await migrationRows(client);
    expect(rows.map((row) => row.migration_name)).toEqual(projectNames);
    for (const row of rows) {
      const file = projectMigrations.find((m) => m.name === row.migration_name)!;
      expect(row).toMatchObject({
        checksum: file.checksum,
        applied_steps_count: 1,
        rolled_back_at: null,
        logs: null,
      });
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
    // The schema itself is there (schema-drift.test.ts checks it in full).
    expect(await tableExists(client, 'users')).toBe(true);
  });

  it('creates _prisma_migrations with the columns and types of Prisma’s own table', async () => {
    const url = await emptyDatabase();
    await migrate(url);
    const client = await connect(url);

    const { rows: columns } = await client.query(
      `SELECT column_name, data_type, character_maximum_length AS length, is_nullable, column_default
         FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = '_prisma_migrations'
        ORDER BY ordinal_position`,
    );
    // prisma-engines, postgres flavour: CREATE TABLE _prisma_migrations (...)
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'character varying', length: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', length: 64, is_nullable: 'NO', column_default: null },
      {
        column_name: 'finished_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'migration_name',
        data_type: 'character varying',
        length: 255,
        is_nullable: 'NO',
        column_default: null,
      },
      { column_name: 'logs', data_type: 'text', length: null, is_nullable: 'YES', column_default: null },
      {
        column_name: 'rolled_back_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'started_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
      {
        column_name: 'applied_steps_count',
        data_type: 'integer',
        length: null,
        is_nullable: 'NO',
        column_default: '0',
      },
    ]);
    const { rows: primaryKey } = await client.query(
      `SELECT a.attname AS column
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = '"_prisma_migrations"'::regclass AND i.indisprimary`,
    );
    expect(primaryKey).toEqual([{ column: 'id' }]);
  });

  it('applies nothing on a second run', async () => {
    const url = await emptyDatabase();
    await migrate(url);
    const client = await connect(url);
    const before = await migrationRows(client);

    const second = await migrate(url);

    expect(second.applied).toEqual([]);
    expect(await migrationRows(client)).toEqual(before);
    expect(await pendingMigrations(queryRows(client))).toEqual([]);
  });

  it('serializes concurrent runs on Prisma’s advisory lock: each migration is applied exactly once', async () => {
    const url = await emptyDatabase();
    // Hold the lock ourselves until both runs are queued on it, so they really contend.
    const holder = await connect(url);
    await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);

    const runs = Promise.all([migrate(url), migrate(url)]);
    await expect.poll(() => waitersOnPrismaLock(holder), { timeout: 5_000, interval: 20 }).toBe(2);
    expect(await tableExists(holder, '_prisma_migrations')).toBe(false); // neither started without the lock
    await holder.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]);
    const [first, second] = await runs;

    // One run applied everything, the other found nothing left to do.
    expect([...first.applied, ...second.applied].sort()).toEqual(projectNames);
    expect([first.applied.length, second.applied.length].sort()).toEqual([0, projectNames.length]);
    const { rows } = await holder.query<{ migration_name: string; count: number }>(
      `SELECT migration_name, count(*)::int AS count FROM "_prisma_migrations" GROUP BY migration_name ORDER BY 1`,
    );
    expect(rows).toEqual(projectNames.map((name) => ({ migration_name: name, count: 1 })));
  });
});

/** Sessions of this database waiting for (not holding) the lock `prisma migrate` uses. */
async function waitersOnPrismaLock(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ waiting: number }>(
    `SELECT count(*)::int AS waiting FROM pg_locks
      WHERE locktype = 'advisory' AND NOT granted AND classid = 0 AND objid = $1
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [PRISMA_ADVISORY_LOCK],
  );
  return rows[0]!.waiting;
}

describe('migrate() with a history that disagrees with the files', () => {
  it('refuses a migration that was edited after it was applied, and applies nothing after it', async () => {
    const url = await emptyDatabase();
    const dir = migrationsDir({ '001_widgets': 'CREATE TABLE widgets (id int PRIMARY KEY);' });
    await migrate(url, dir);
    writeMigration(dir, '001_widgets', 'CREATE TABLE widgets (id int PRIMARY KEY, name text);');
    writeMigration(dir, '002_gadgets', 'CREATE TABLE gadgets (id int PRIMARY KEY);');

    const error = await migrate(url, dir).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/001_widgets/);
    expect((error as Error).message).toMatch(/edited/);
    const client = await connect(url);
    expect(await tableExists(client, 'gadgets')).toBe(false);
    expect((await migrationRows(client)).map((row) => row.migration_name)).toEqual(['001_widgets']);
    // /ready asks pendingMigrations(): it refuses the same history.
    await expect(pendingMigrations(queryRows(client), readMigrations(dir))).rejects.toThrow(MigrationError);
  });

  it('rolls a failing migration back entirely and records nothing for it', async () => {
    const url = await emptyDatabase();
    const dir = migrationsDir({
      '001_ok': 'CREATE TABLE first_table (id int PRIMARY KEY);',
      '002_broken': [
        'CREATE TABLE half_done (id int PRIMARY KEY);',
        'INSERT INTO first_table (id) VALUES (1);',
        'INSERT INTO no_such_table (id) VALUES (1);',
      ].join('\n'),
    });

    const error = await migrate(url, dir).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/002_broken/);
    expect((error as Error).message).toMatch(/no_such_table/);
    const client = await connect(url);
    expect(await tableExists(client, 'first_table')).toBe(true);
    expect(await tableExists(client, 'half_done')).toBe(false);
    expect((await client.query('SELECT * FROM first_table')).rows).toEqual([]);
    const rows = await migrationRows(client);
    expect(rows.map((row) => row.migration_name)).toEqual(['001_ok']);
    expect(await pendingMigrations(queryRows(client), readMigrations(dir))).toEqual(['002_broken']);

    // Once fixed, the same migration applies: the failure left no trace behind.
    writeMigration(dir, '002_broken', 'CREATE TABLE half_done (id int PRIMARY KEY);');
    expect((await migrate(url, dir)).applied).toEqual(['002_broken']);
    expect(await tableExists(client, 'half_done')).toBe(true);
  });
});

describe('pendingMigrations()', () => {
  it('lists every migration for a database that was never migrated', async () => {
    const client = await connect(await emptyDatabase());
    expect(await pendingMigrations(queryRows(client))).toEqual(projectNames);
  });

  it('lists only the migrations added since the last run, in order', async () => {
    const url = await emptyDatabase();
    const dir = migrationsDir({ '001_a': 'CREATE TABLE a (id int);' });
    await migrate(url, dir);
    writeMigration(dir, '003_c', 'CREATE TABLE c (id int);');
    writeMigration(dir, '002_b', 'CREATE TABLE b (id int);');
    const client = await connect(url);

    expect(await pendingMigrations(queryRows(client), readMigrations(dir))).toEqual(['002_b', '003_c']);
    expect((await migrate(url, dir)).applied).toEqual(['002_b', '003_c']);
    expect(await pendingMigrations(queryRows(client), readMigrations(dir))).toEqual([]);
  });
});
