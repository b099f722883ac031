import { expect } from 'vitest';
import type { Session, TestApp } from './app.js';
import type { Db } from '../../src/infra/db.js';
import { HOUSE_USER_ID } from '../../src/modules/ledger/ledger.service.js';

/** Polls `probe` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

const PROVISIONED = `query Provisioned { me { provisioningStatus accounts { id } } }`;

/** A registered user whose provisioning finished (READY: a USD account holding the welcome credit); needs workers. */
export async function readyUser(t: TestApp): Promise<Session & { accountId: string }> {
  const session = await t.registerUser();
  const me = await waitFor(async () => {
    const result = await t.gql<{ me: { provisioningStatus: string; accounts: Array<{ id: string }> } | null }, unknown>(
      PROVISIONED,
      {},
      session.accessToken,
    );
    return result.data?.me?.provisioningStatus === 'READY' ? result.data.me : undefined;
  });
  return { ...session, accountId: me.accounts[0]!.id };
}

/**
 * The ledger's invariants, checked against the database after the queue is
 * drained: every transaction settled one way or the other (or, with
 * `pendingAllowed`, each account holding exactly what its PENDING ones draw);
 * no negative balance or available amount and no hold left; each account's balance is its opening
 * plus its entries; a completed transfer has two entries summing to zero (a
 * deposit one, a failed transaction none); and, per currency, all balances
 * together equal the house's opening balance plus completed deposits.
 */
export async function checkLedgerInvariants(
  db: Db,
  houseOpeningBalance: bigint,
  options: { pendingAllowed?: boolean } = {},
): Promise<void> {
  const pendingRows = await db.ledgerTransaction.findMany({ where: { status: 'PENDING' } });
  // With PENDING transactions allowed (nothing settles them yet), each account holds exactly what they draw.
  if (!options.pendingAllowed) expect(pendingRows).toHaveLength(0);
  const drawn = new Map<string, bigint>();
  for (const row of pendingRows) {
    if (row.fromAccountId) drawn.set(row.fromAccountId, (drawn.get(row.fromAccountId) ?? 0n) + row.amount);
  }

  const accounts = await db.ledgerAccount.findMany({ include: { entries: true } });
  for (const account of accounts) {
    expect(account.balance >= 0n, `balance of ${account.id}`).toBe(true);
    expect(account.held, `held of ${account.id}`).toBe(drawn.get(account.id) ?? 0n);
    const opening = account.ownerId === HOUSE_USER_ID && account.currency === 'USD' ? houseOpeningBalance : 0n;
    const posted = account.entries.reduce((sum, entry) => sum + entry.amount, 0n);
    expect(account.balance, `balance of ${account.id} vs its entries`).toBe(opening + posted);
  }

  const transactions = await db.ledgerTransaction.findMany({ include: { entries: true } });
  const deposits = new Map<string, bigint>();
  for (const transaction of transactions) {
    const sum = transaction.entries.reduce((total, entry) => total + entry.amount, 0n);
    if (transaction.status !== 'COMPLETED') {
      expect(transaction.entries, `entries of ${transaction.status} ${transaction.id}`).toHaveLength(0);
    } else if (transaction.kind === 'DEPOSIT') {
      expect(transaction.entries).toHaveLength(1);
      expect(sum).toBe(transaction.amount);
      deposits.set(transaction.currency, (deposits.get(transaction.currency) ?? 0n) + transaction.amount);
    } else {
      expect(transaction.entries, `entries of ${transaction.id}`).toHaveLength(2);
      expect(sum, `entries of ${transaction.id} sum`).toBe(0n);
    }
  }

  for (const currency of new Set(accounts.map((account) => account.currency))) {
    const total = accounts.filter((a) => a.currency === currency).reduce((sum, a) => sum + a.balance, 0n);
    const opening = currency === 'USD' ? houseOpeningBalance : 0n;
    expect(total, `money in ${currency}`).toBe(opening + (deposits.get(currency) ?? 0n));
  }
}
