import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Logger } from 'pino';
import { PrismaClient } from '../generated/prisma/client.js';

/**
 * Columns no query reads unless it names them (`omit: { passwordHash: false }`):
 * only a password check needs the hash, so no page, join or RETURNING carries it.
 */
const SECRET_COLUMNS = { user: { passwordHash: true } } as const;

export type Db = PrismaClient<never, typeof SECRET_COLUMNS>;

const pools = new WeakMap<Db, pg.Pool>();

/** Bounds on the pool's connections (Config's dbConnectTimeoutMs, dbIdleTimeoutMs, dbStatementTimeoutMs). */
export interface PoolTimeouts {
  /** Getting a connection (a new one, or a free one of a full pool) fails after this. */
  connectTimeoutMs?: number;
  /** An idle connection is closed after this. */
  idleTimeoutMs?: number;
  /** The sessions' statement_timeout: PostgreSQL cancels a statement running longer. Unset: none. */
  statementTimeoutMs?: number;
}

/**
 * One Prisma client per process, on a node-postgres pool through the driver
 * adapter. The pool is ours (see poolOf): closeDb ends it. With `timeouts`, no
 * request waits for a connection, or holds one with a statement, without bound.
 */
export function createDb(databaseUrl: string, poolSize = 10, log?: Logger, timeouts: PoolTimeouts = {}): Db {
  const pool = createPool(databaseUrl, poolSize, log, timeouts);
  // Minimal messages: the default format quotes the call's arguments (a password hash, say) into the error.
  const db = new PrismaClient({
    adapter: new PrismaPg(pool),
    errorFormat: 'minimal',
    omit: SECRET_COLUMNS,
    // Under a burst, interactive transactions queue for a pooled connection;
    // Prisma's default of 2 s turned that queueing into errors for clients.
    transactionOptions: { maxWait: 10_000, timeout: 15_000 },
  });
  pools.set(db, pool);
  return db;
}

/**
 * A node-postgres pool with `timeouts`, whose idle connections' failures are
 * logged instead of ending the process. `asynchronousCommit`: its sessions do
 * not wait for their commits to reach the disk (synchronous_commit = off), for
 * data a crash may lose the last moments of (rate-limit counters).
 */
export function createPool(
  databaseUrl: string,
  poolSize: number,
  log?: Logger,
  timeouts: PoolTimeouts = {},
  { asynchronousCommit = false } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    ...(timeouts.connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: timeouts.connectTimeoutMs }),
    ...(timeouts.idleTimeoutMs === undefined ? {} : { idleTimeoutMillis: timeouts.idleTimeoutMs }),
    // Sent with each new connection's start-up: every session of the pool has it, Prisma's and ours.
    ...(timeouts.statementTimeoutMs === undefined ? {} : { statement_timeout: timeouts.statementTimeoutMs }),
    ...(asynchronousCommit ? { options: '-c synchronous_commit=off' } : {}),
  });
  // An idle connection the server closed (a restart, pg_terminate_backend) is
  // dropped by the pool; without a listener its error would end the process.
  // The adapter adds one only once Prisma first connects, and purchases may
  // use the pool before that. Only the code and message are logged: pg hangs
  // the client, with its connection settings, on the error.
  const poolLog = log?.child({ component: 'database' });
  pool.on('error', (error) =>
    poolLog?.warn(
      { code: (error as { code?: unknown }).code, reason: error.message },
      'an idle database connection failed; the pool dropped it',
    ),
  );
  return pool;
}

/**
 * The pool under a client made by createDb: the same connections, without
 * Prisma's query pipeline. Only for a statement on a hot path where that
 * pipeline costs more than the statement (a flash sale's purchase); everything
 * else goes through Prisma.
 */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('poolOf: this client was not made by createDb');
  return pool;
}

/**
 * Named (prepared) statements for hand-written reads on the pool: each pooled
 * connection parses and plans a text once. A module's texts are few, one per
 * shape of filter and selection; past a bound (a client walking through every
 * combination of fields) they run unnamed.
 */
export function preparedStatements(prefix: string, maxShapes = 500) {
  const names = new Map<string, string>();
  return (text: string, values: unknown[]): pg.QueryConfig => {
    let name = names.get(text);
    if (name === undefined && names.size < maxShapes) {
      name = `${prefix}:${names.size}`;
      names.set(text, name);
    }
    return { name, text, values };
  };
}

/**
 * Disconnects Prisma, then ends the pool. Prisma alone would not: it leaves a
 * pool it did not create open, and does nothing at all if it never connected
 * (a process that only ever used poolOf).
 */
export async function closeDb(db: Db): Promise<void> {
  await db.$disconnect();
  const pool = poolOf(db);
  if (!pool.ended) await pool.end();
}
