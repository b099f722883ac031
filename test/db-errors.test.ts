import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuerySqlState, retryOnWriteConflict } from '../src/errors.js';
import { createDb, type Db, poolOf } from '../src/infra/db.js';
import { createEmptyDatabase, type TestDatabase } from './helpers/database.js';

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
  await db?.$disconnect();
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
