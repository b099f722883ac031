import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuerySqlState, retryOnWriteConflict } from '../src/core/errors.js';
import { closeDb, createDb, type Db, poolOf } from '../src/infra/db.js';
import { isOutage } from '../src/infra/outage.js';
import { createEmptyDatabase, type TestDatabase } from './helpers/database.js';
import { memoryLogger } from './helpers/logs.js';

/**
 * Raw statements reach PostgreSQL two ways — through Prisma ($queryRaw) and,
 * on the purchase's hot path, through the pool under it — and a failure must
 * read the same either way. The failures here are PostgreSQL's own, raised by
 * the server with the SQLSTATE a deadlock victim gets.
 */
const RAISE_DEADLOCK = `DO $$ BEGIN RAISE EXCEPTION 'chosen as deadlock victim' USING ERRCODE = '40P01'; END $$`;

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createEmptyDatabase();
  db = createDb(database.url, 2);
});

afterAll(async () => {
  if (db) await closeDb(db);
  await database?.drop();
});

describe('the SQLSTATE of a failed raw statement', () => {
  it('is read from Prisma and from the pool under it alike', async () => {
    const throughPrisma = await db.$executeRawUnsafe(RAISE_DEADLOCK).catch((error: unknown) => error);
    const throughPool = await poolOf(db).query(RAISE_DEADLOCK).catch((error: unknown) => error);
    expect(rawQuerySqlState(throughPrisma)).toBe('40P01');
    expect(rawQuerySqlState(throughPool)).toBe('40P01');
    expect(rawQuerySqlState(new Error('not a database error'))).toBeUndefined();
  });

  it('makes retryOnWriteConflict run the work again, and give up after its attempts', async () => {
    let calls = 0;
    const result = await retryOnWriteConflict(async () => {
      calls += 1;
      if (calls === 1) await poolOf(db).query(RAISE_DEADLOCK);
      return (await poolOf(db).query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one;
    });
    expect({ result, calls }).toEqual({ result: 1, calls: 2 });

    let attempts = 0;
    const failure = await retryOnWriteConflict(async () => {
      attempts += 1;
      await poolOf(db).query(RAISE_DEADLOCK);
    }).catch((error: unknown) => error);
    expect(rawQuerySqlState(failure)).toBe('40P01');
    expect(attempts).toBe(3);
  });

  it('a client not made by createDb has no pool to lend', () => {
    expect(() => poolOf({} as Db)).toThrow(/not made by createDb/);
  });
});

describe('the pool under a client', () => {
  it('survives the server closing an idle connection before Prisma ever connected, and says so', async () => {
    const { logger, text: written } = memoryLogger('warn');
    const lines = () => written().split('\n').filter((line) => line !== '');
    const fresh = createDb(database.url, 2, logger);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const { rows } = await poolOf(fresh).query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await expect.poll(() => lines().length).toBe(1);
      expect(JSON.parse(lines()[0]!)).toMatchObject({
        component: 'database',
        code: '57P01',
        msg: 'an idle database connection failed; the pool dropped it',
      });
      // Not the client pg hangs on the error, with its connection settings.
      expect(lines()[0]).not.toContain(new URL(database.url).pathname.slice(1));
      expect((await poolOf(fresh).query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await admin.end();
      await closeDb(fresh);
    }
  });

  it('is ended by closeDb, also when only the pool was used', async () => {
    const fresh = createDb(database.url, 2);
    await poolOf(fresh).query('SELECT 1');
    await closeDb(fresh);
    expect(poolOf(fresh).ended).toBe(true);
    expect(poolOf(fresh).totalCount).toBe(0);
  });

  it('stays usable when Prisma disconnects and connects again', async () => {
    const fresh = createDb(database.url, 2);
    try {
      await fresh.$executeRawUnsafe('SELECT 1');
      await fresh.$disconnect();
      await fresh.$executeRawUnsafe('SELECT 1');
      expect((await poolOf(fresh).query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await closeDb(fresh);
    }
  });
});

describe('the bounds on a pooled connection', () => {
  it('statement_timeout: every session of the pool cancels a statement running longer, through Prisma and the pool', async () => {
    const bounded = createDb(database.url, 2, undefined, { statementTimeoutMs: 300 });
    try {
      const shown = await poolOf(bounded).query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(shown.rows[0]!.statement_timeout).toBe('300ms');
      const viaPrisma = await bounded.$queryRawUnsafe('SELECT pg_sleep(2)').catch((error: unknown) => error);
      const viaPool = await poolOf(bounded).query('SELECT pg_sleep(2)').catch((error: unknown) => error);
      // 57014 query_canceled: PostgreSQL's own cancellation, not a client-side timer.
      expect(rawQuerySqlState(viaPrisma)).toBe('57014');
      expect(rawQuerySqlState(viaPool)).toBe('57014');
      // Shorter statements are untouched.
      expect((await poolOf(bounded).query('SELECT pg_sleep(0.05), 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await closeDb(bounded);
    }
  });

  it('a database that accepts connections and never answers: getting one fails after connectTimeoutMs, as an outage', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const stuck = createDb(`postgresql://nobody:nothing@127.0.0.1:${port}/none`, 1, undefined, { connectTimeoutMs: 300 });
    try {
      const started = Date.now();
      const error = await poolOf(stuck).query('SELECT 1').catch((caught: unknown) => caught);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(isOutage(error)).toBe(true);
    } finally {
      await closeDb(stuck).catch(() => {});
      silent.close();
    }
  });
});
