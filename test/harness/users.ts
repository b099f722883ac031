/**
 * Users made straight in the database, with access tokens signed as the API
 * signs them: registering through GraphQL hashes a password with argon2 and
 * waits for provisioning, too slow for hundreds of buyers.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../src/config.js';
import type { AppServices } from '../../src/core/context.js';
import type { Db } from '../../src/infra/db.js';
import { signAccessToken } from '../../src/modules/auth/auth.service.js';
import { deposit, settleTransaction } from '../../src/modules/ledger/ledger.service.js';
import type { Child } from './processes.js';

export interface Buyer {
  id: string;
  accessToken: string;
  accountId: string;
}

/**
 * `count` USERs in `provisioningStatus`, with a password hash nobody can sign
 * in with; their ids in order.
 */
export async function insertUsers(
  db: Db,
  count: number,
  provisioningStatus: 'READY' | 'PENDING',
  createdAt?: Date,
): Promise<string[]> {
  const users = await db.user.createManyAndReturn({
    data: Array.from({ length: count }, () => ({
      email: `buyer-${randomBytes(6).toString('hex')}@example.com`,
      name: 'Buyer',
      passwordHash: '!', // not an argon2 hash
      provisioningStatus,
      ...(createdAt ? { createdAt } : {}),
    })),
    select: { id: true },
  });
  return users.map((user) => user.id);
}

/** Access tokens of USERs, signed with `config`'s secret and lifetime. */
export function signUserTokens(config: Config, ids: string[]): Promise<string[]> {
  // signAccessToken reads the config only.
  const services = { config } as AppServices;
  return Promise.all(ids.map((id) => signAccessToken(services, { id, role: 'USER' })));
}

/**
 * `count` READY users, each with an account in `currency` holding `credit`
 * (a settled DEPOSIT, so the ledger's invariants hold): the rows go to
 * `services.db`, the tokens are signed with `services.config`'s secret. The
 * database must hold an ADMIN (the deposits' initiator): a seeded one.
 */
export async function createBuyers(services: AppServices, count: number, credit = 0n, currency = 'USD'): Promise<Buyer[]> {
  const { db } = services;
  const ids = await insertUsers(db, count, 'READY');
  const accounts = await db.ledgerAccount.createManyAndReturn({
    data: ids.map((ownerId) => ({ ownerId, currency })),
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
  const tokens = await signUserTokens(services.config, accounts.map((account) => account.ownerId));
  return accounts.map((account, i) => ({ id: account.ownerId, accountId: account.id, accessToken: tokens[i]! }));
}

/**
 * `count` users PENDING provisioning, backdated so that the sweeper of
 * `worker` (run it with a short SWEEP_INTERVAL_MS) provisions them at its
 * next tick — a USD account with the welcome credit, through the ledger — and
 * waits for READY. Their tokens are signed with `config`'s secret.
 */
export async function buyersProvisionedBy(
  worker: Child,
  db: Db,
  config: Config,
  count: number,
  timeoutMs = 180_000,
): Promise<Buyer[]> {
  const ids = await insertUsers(db, count, 'PENDING', new Date(Date.now() - 3_600_000));
  const logEnd = () => worker.output().trimEnd().split('\n').slice(-20).join('\n');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await db.user.count({ where: { id: { in: ids }, provisioningStatus: 'READY' } });
    if (ready === count) break;
    if (worker.hasExited()) throw new Error(`the worker exited while buyers were provisioned; its log ends:\n${logEnd()}`);
    if (Date.now() > deadline) {
      throw new Error(`buyers were not provisioned within ${timeoutMs / 1000} s (${ready} READY); the worker log ends:\n${logEnd()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const accounts = await db.ledgerAccount.findMany({
    where: { ownerId: { in: ids }, currency: 'USD' },
    select: { id: true, ownerId: true },
  });
  const accountOf = new Map(accounts.map((account) => [account.ownerId, account.id]));
  const tokens = await signUserTokens(config, ids);
  return ids.map((id, i) => ({ id, accessToken: tokens[i]!, accountId: accountOf.get(id)! }));
}
