import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import type { AppServices } from '../../src/core/context.js';
import { closeDb, createDb } from '../../src/infra/db.js';
import { createLogger } from '../../src/infra/logger.js';
import { createAppEventBus } from '../../src/events.js';
import type { Queues } from '../../src/infra/jobs/producer.js';
import * as users from '../harness/users.js';
import type { TestApp } from './app.js';

export type Buyer = users.Buyer;

const unique = () => randomBytes(6).toString('hex');
export const newSku = () => `SKU-${unique().toUpperCase()}`;
export const newKey = () => `key-${unique()}`;

/**
 * `count` signed-in USERs, each with an account in `currency` holding `credit`
 * (a settled DEPOSIT, so the ledger's invariants hold), made straight in the
 * database (test/harness/users.ts), with tokens signed by the app's secret.
 * By default enough for any purchase of the tests: a purchase holds its total.
 */
const PLENTY = 1_000_000_000n;

export function createBuyers(t: TestApp, count: number, credit = PLENTY, currency = 'USD'): Promise<Buyer[]> {
  return users.createBuyers(t.app.services, count, credit, currency);
}

export interface DatabaseServices {
  /** A Prisma client on the database, the config of its processes; no queues, and an event bus never started. */
  services: AppServices;
  close(): Promise<void>;
}

/**
 * Services on the database of processes the test spawned (src/server.ts,
 * workers/index.ts), for createBuyers and for reading what the processes
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
