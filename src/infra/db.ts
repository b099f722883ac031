import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type Db = PrismaClient;

const pools = new WeakMap<Db, pg.Pool>();

/** One Prisma client per process, on a node-postgres pool through the driver adapter. */
export function createDb(databaseUrl: string, poolSize = 10): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  // The client owns the pool: $disconnect ends it.
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  // Minimal messages: the default format quotes the call's arguments (a password hash, say) into the error.
  const db = new PrismaClient({
    adapter,
    errorFormat: 'minimal',
    // Under a burst, interactive transactions queue for a pooled connection;
    // Prisma's default of 2 s turned that queueing into errors for clients.
    transactionOptions: { maxWait: 10_000, timeout: 15_000 },
  });
  pools.set(db, pool);
  return db;
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
