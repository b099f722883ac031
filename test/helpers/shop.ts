import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import type { AppServices } from '../../src/core/context.js';
import { closeDb, createDb } from '../../src/infra/db.js';
import { createLogger } from '../../src/infra/logger.js';
import { createAppEventBus } from '../../src/events.js';
import type { Queues } from '../../src/infra/jobs/producer.js';
import { signAccessToken } from '../../src/modules/auth/auth.service.js';
import { deposit, settleTransaction } from '../../src/modules/ledger/ledger.service.js';
import type { TestApp } from './app.js';

export interface Buyer {
  id: string;
  accessToken: string;
  accountId: string;
}

export const unique = () => randomBytes(6).toString('hex');
export const newSku = () => `SKU-${unique().toUpperCase()}`;
export const newKey = () => `key-${unique()}`;

/**
 * `count` signed-in USERs, each with an account in `currency` holding `credit`
 * (a settled DEPOSIT, so the ledger's invariants hold), made straight in the
 * database: registering through GraphQL hashes a password with argon2 and
 * waits for provisioning, too slow for hundreds of buyers. Their tokens are
 * signed by the app's own signAccessToken.
 */
export function createBuyers(t: TestApp, count: number, credit = 0n, currency = 'USD'): Promise<Buyer[]> {
  return createBuyersWith(t.app.services, count, credit, currency);
}

/**
 * createBuyers on any services: the users, accounts and settled deposits go
 * to `services.db`, the tokens are signed with `services.config`'s secret.
 * The database must hold an ADMIN (the deposits' initiator): a seeded one.
 */
export async function createBuyersWith(services: AppServices, count: number, credit = 0n, currency = 'USD'): Promise<Buyer[]> {
  const { db } = services;
  const users = await db.user.createManyAndReturn({
    data: Array.from({ length: count }, () => ({
      email: `buyer-${unique()}@example.com`,
      name: 'Buyer',
      passwordHash: '!', // not an argon2 hash: nobody signs in with it
      provisioningStatus: 'READY' as const,
    })),
    select: { id: true },
  });
  const accounts = await db.ledgerAccount.createManyAndReturn({
    data: users.map((user) => ({ ownerId: user.id, currency })),
    select: { id: true, ownerId: true },
  });
  if (credit > 0n) {
    const admin = await db.user.findFirstOrThrow({ where: { role: 'ADMIN' }, select: { id: true } });
    await Promise.all(
      accounts.map(async (account) => {
        const { transaction } = await deposit(services, { id: admin.id, role: 'ADMIN' }, {
          accountId: account.id,
          amount: credit,
          idempotencyKey: `fund-${account.id}`,
        });
        await settleTransaction(services, transaction.id);
      }),
    );
  }
  return Promise.all(
    accounts.map(async (account) => ({
      id: account.ownerId,
      accountId: account.id,
      accessToken: await signAccessToken(services, { id: account.ownerId, role: 'USER' }),
    })),
  );
}

export interface DatabaseServices {
  /** A Prisma client on the database, the config of its processes; no queues, and an event bus never started. */
  services: AppServices;
  close(): Promise<void>;
}

/**
 * Services on the database of processes the test spawned (src/server.ts,
 * workers/index.ts), for createBuyersWith and for reading what the processes
 * wrote: a Prisma client of its own, and a production config with the
 * processes' JWT_SECRET, so that the tokens signed here are theirs. Nothing
 * here enqueues (queues throw if used) and nothing is published (the event bus
 * is never started: publish() declines, silently): a deposit settled here is
 * not announced, which no test of a buyer's funding needs.
 */
export function databaseServices(databaseUrl: string, jwtSecret: string): DatabaseServices {
  const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: databaseUrl, JWT_SECRET: jwtSecret, LOG_LEVEL: 'silent' });
  const log = createLogger('silent');
  const db = createDb(databaseUrl);
  const pubsub = createAppEventBus({ config, log, databaseUrl });
  const queues = new Proxy({} as Queues, {
    get: (_target, property) => {
      if (property === 'then') return undefined; // not a thenable
      throw new Error(`databaseServices: no queues here (queues.${String(property)})`);
    },
  });
  return {
    services: { db, config, log, queues, pubsub },
    close: async () => {
      await pubsub.close();
      await closeDb(db);
    },
  };
}
