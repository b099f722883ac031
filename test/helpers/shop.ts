import { randomBytes } from 'node:crypto';
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
export async function createBuyers(t: TestApp, count: number, credit = 0n, currency = 'USD'): Promise<Buyer[]> {
  const { db, services } = t.app;
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
