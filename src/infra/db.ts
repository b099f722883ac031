import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type Db = PrismaClient;

/** One Prisma client per process, on node-postgres through the driver adapter. */
export function createDb(databaseUrl: string, poolSize = 10): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  // Minimal messages: the default format quotes the call's arguments (a password hash, say) into the error.
  return new PrismaClient({
    adapter,
    errorFormat: 'minimal',
    // Under a burst, interactive transactions queue for a pooled connection;
    // Prisma's default of 2 s turned that queueing into errors for clients.
    transactionOptions: { maxWait: 10_000, timeout: 15_000 },
  });
}
