import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../src/modules/auth/auth.service.js';
import {
  ensureAccount,
  MAX_ACCOUNTS_PER_USER,
  failTransaction,
  recordWelcomeCredit,
  settlePendingTransfers,
  settleTransaction,
  transfer as transferService,
} from '../src/modules/ledger/ledger.service.js';
import { createUser, provisionUser } from '../src/modules/users/users.service.js';
import { graphql } from './gql/index.js';
import { codes, type Session, type TestApp, useTestApp } from './helpers/app.js';
import { checkLedgerInvariants, waitFor } from './helpers/ledger.js';

const MyAccounts = graphql(`
  query MyAccounts { me { id provisioningStatus accounts { id currency balance available } } }
`);
const OpenAccount = graphql(`
  mutation OpenAccount($input: OpenAccountInput!) { openAccount(input: $input) { id currency balance available } }
`);
const Transfer = graphql(`
  mutation Transfer($input: TransferInput!) {
    transfer(input: $input) { id kind status amount currency memo from { id } to { id } failureReason settledAt }
  }
`);
const Deposit = graphql(`
  mutation Deposit($input: DepositInput!) { deposit(input: $input) { id kind status amount from { id } to { id } } }
`);
const Account = graphql(`
  query Account($id: ID!) {
    account(id: $id) {
      id balance available owner { id }
      transactions(first: 10) { totalCount edges { node { id kind status amount } } }
    }
  }
`);
const LedgerTransaction = graphql(`
  query LedgerTransaction($id: ID!) { ledgerTransaction(id: $id) { id status amount settledAt } }
`);
const Counterparty = graphql(`
  query Counterparty($id: ID!) { ledgerTransaction(id: $id) { id to { id balance } } }
`);

const key = () => `key-${randomBytes(8).toString('hex')}`;

/** A registered user whose provisioning finished: READY, with a USD account holding the welcome credit. */
async function readyUser(t: TestApp): Promise<Session & { accountId: string }> {
  const session = await t.registerUser();
  const me = await waitFor(async () => {
    const result = await t.gql(MyAccounts, {}, session.accessToken);
    return result.data?.me?.provisioningStatus === 'READY' ? result.data.me : undefined;
  });
  return { ...session, accountId: me.accounts[0]!.id };
}

async function settled(t: TestApp, id: string, token: string) {
  return waitFor(async () => {
    const result = await t.gql(LedgerTransaction, { id }, token);
    const transaction = result.data?.ledgerTransaction;
    return transaction && transaction.status !== 'PENDING' ? transaction : undefined;
  });
}

describe.each(['redis', 'postgres'] as const)('ledger on the %s queue backend', (backend) => {
  const t = useTestApp(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}, { workers: true });

  it('provisions a new user: READY, one USD account with the welcome credit, paid by the house', async () => {
    const user = await readyUser(t);
    const me = await t.gql(MyAccounts, {}, user.accessToken);
    expect(me.data?.me?.accounts).toEqual([
      { id: user.accountId, currency: 'USD', balance: '10000', available: '10000' },
    ]);
    const account = await t.gql(Account, { id: user.accountId }, user.accessToken);
    expect(account.data?.account?.transactions.edges.map((edge) => edge.node)).toEqual([
      expect.objectContaining({ kind: 'TRANSFER', status: 'COMPLETED', amount: '10000' }),
    ]);
  });

  it('provisioning run again for a user changes nothing, even from PENDING', async () => {
    const user = await readyUser(t);
    expect(await provisionUser(t.app.services, user.user.id)).toBe('already-ready');
    // As if a redelivered job ran after a crash that lost the READY write: every step finds its work done.
    await t.app.db.user.update({ where: { id: user.user.id }, data: { provisioningStatus: 'PENDING' } });
    expect(await provisionUser(t.app.services, user.user.id)).toBe('ready');
    const accounts = await t.app.db.ledgerAccount.findMany({ where: { ownerId: user.user.id } });
    expect(accounts.map((account) => [account.currency, account.balance])).toEqual([['USD', 10_000n]]);
    const credits = await t.app.db.ledgerTransaction.count({ where: { toAccountId: user.accountId } });
    expect(credits).toBe(1);
  });

  it('does not mark a user READY whose welcome credit failed', async () => {
    const services = t.app.services;
    const user = await createUser(services, {
      email: `credit-${randomBytes(5).toString('hex')}@example.com`,
      name: 'No Credit',
      passwordHash: await hashPassword('no credit password'),
    });
    const account = await ensureAccount(services, user.id, 'USD');
    const { transaction } = await recordWelcomeCredit(services, user.id, account.id, t.config.welcomeCredit);
    await failTransaction(services, transaction.id, 'settlement gave up');
    await expect(provisionUser(services, user.id)).rejects.toThrow(/FAILED/);
    expect((await t.app.db.user.findUniqueOrThrow({ where: { id: user.id } })).provisioningStatus).toBe('PENDING');
  });

  it('transfers: PENDING at once with a hold, then COMPLETED with two entries that sum to zero', async () => {
    const alice = await readyUser(t);
    const bob = await readyUser(t);
    const accepted = await t.gql(
      Transfer,
      { input: { fromAccountId: alice.accountId, toAccountId: bob.accountId, amount: '2500', idempotencyKey: key(), memo: 'lunch' } },
      alice.accessToken,
    );
    expect(accepted.data?.transfer).toMatchObject({ kind: 'TRANSFER', amount: '2500', currency: 'USD', memo: 'lunch' });
    const id = accepted.data!.transfer.id;
    expect((await settled(t, id, alice.accessToken)).status).toBe('COMPLETED');

    const aliceAccount = await t.gql(Account, { id: alice.accountId }, alice.accessToken);
    expect(aliceAccount.data?.account).toMatchObject({ balance: '7500', available: '7500' });
    const bobAccount = await t.gql(Account, { id: bob.accountId }, bob.accessToken);
    expect(bobAccount.data?.account).toMatchObject({ balance: '12500', available: '12500' });
    const entries = await t.app.db.ledgerEntry.findMany({ where: { transactionId: id } });
    expect(entries.map((entry) => entry.amount).sort()).toEqual([-2500n, 2500n]);
  });

  it('counts pending holds: a second transfer beyond the available balance is INSUFFICIENT_FUNDS', async () => {
    const alice = await readyUser(t);
    const bob = await readyUser(t);
    const send = (amount: string) =>
      t.gql(
        Transfer,
        { input: { fromAccountId: alice.accountId, toAccountId: bob.accountId, amount, idempotencyKey: key() } },
        alice.accessToken,
      );
    const [first, second] = await Promise.all([send('6000'), send('6000')]);
    expect([codes(first), codes(second)].sort()).toEqual([[], ['INSUFFICIENT_FUNDS']]);
    expect(codes(await send('10001'))).toEqual(['INSUFFICIENT_FUNDS']);
  });

  it('is idempotent per key: the same request returns the same transaction, a different one is CONFLICT', async () => {
    const alice = await readyUser(t);
    const bob = await readyUser(t);
    const input = { fromAccountId: alice.accountId, toAccountId: bob.accountId, amount: '100', idempotencyKey: key() };
    const results = await Promise.all(Array.from({ length: 5 }, () => t.gql(Transfer, { input }, alice.accessToken)));
    const ids = new Set(results.map((result) => result.data?.transfer.id));
    expect(ids.size).toBe(1);
    expect(codes(await t.gql(Transfer, { input: { ...input, amount: '101' } }, alice.accessToken))).toEqual(['CONFLICT']);
    await settled(t, [...ids][0]!, alice.accessToken);
    const account = await t.gql(Account, { id: alice.accountId }, alice.accessToken);
    expect(account.data?.account?.balance).toBe('9900');
  });

  it('is idempotent when the key’s first request takes the whole balance: 20 concurrent repeats all get its transaction', async () => {
    // The losers' holds no longer fit once the winner's is placed: without a second look
    // at the key they answered INSUFFICIENT_FUNDS instead of the winner's transaction.
    const alice = await readyUser(t);
    const bob = await readyUser(t);
    const input = { fromAccountId: alice.accountId, toAccountId: bob.accountId, amount: '10000', idempotencyKey: key() };
    const results = await Promise.all(Array.from({ length: 20 }, () => t.gql(Transfer, { input }, alice.accessToken)));
    expect(results.flatMap(codes)).toEqual([]);
    const ids = new Set(results.map((result) => result.data?.transfer.id));
    expect(ids.size).toBe(1);
    const [id] = ids;
    expect(id).toEqual(expect.any(String));
    expect(await t.app.db.ledgerTransaction.count({ where: { initiatorId: alice.user.id, idempotencyKey: input.idempotencyKey } })).toBe(1);
    expect(await t.app.db.ledgerTransaction.count({ where: { fromAccountId: alice.accountId } })).toBe(1);

    expect((await settled(t, id!, alice.accessToken)).status).toBe('COMPLETED');
    const [aliceAccount, bobAccount] = await Promise.all(
      [alice.accountId, bob.accountId].map((accountId) => t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: accountId } })),
    );
    expect([aliceAccount!.balance, aliceAccount!.held]).toEqual([0n, 0n]);
    expect([bobAccount!.balance, bobAccount!.held]).toEqual([20_000n, 0n]);
  });

  it('hides other users’ accounts and transactions as NOT_FOUND, and a counterparty’s balance', async () => {
    const alice = await readyUser(t);
    const bob = await readyUser(t);
    const eve = await readyUser(t);
    expect(codes(await t.gql(Account, { id: bob.accountId }, alice.accessToken))).toEqual(['NOT_FOUND']);
    const stolen = await t.gql(
      Transfer,
      { input: { fromAccountId: bob.accountId, toAccountId: alice.accountId, amount: '1', idempotencyKey: key() } },
      alice.accessToken,
    );
    expect(codes(stolen)).toEqual(['NOT_FOUND']);
    const admin = await t.loginAdmin();
    const byAdmin = await t.gql(
      Transfer,
      { input: { fromAccountId: bob.accountId, toAccountId: alice.accountId, amount: '1', idempotencyKey: key() } },
      admin.accessToken,
    );
    expect(codes(byAdmin)).toEqual(['NOT_FOUND']);

    const sent = await t.gql(
      Transfer,
      { input: { fromAccountId: alice.accountId, toAccountId: bob.accountId, amount: '5', idempotencyKey: key() } },
      alice.accessToken,
    );
    const id = sent.data!.transfer.id;
    expect((await t.gql(LedgerTransaction, { id }, bob.accessToken)).data?.ledgerTransaction?.id).toBe(id);
    expect(codes(await t.gql(LedgerTransaction, { id }, eve.accessToken))).toEqual(['NOT_FOUND']);
    const counterparty = await t.gql(Counterparty, { id }, alice.accessToken);
    expect(codes(counterparty)).toEqual(['FORBIDDEN']);
    expect((await t.gql(Account, { id: bob.accountId }, admin.accessToken)).data?.account?.owner.id).toBe(bob.user.id);
  });

  it('deposits are admin-only and settle into the account', async () => {
    const user = await readyUser(t);
    const input = { accountId: user.accountId, amount: '500', idempotencyKey: key() };
    expect(codes(await t.gql(Deposit, { input }, user.accessToken))).toEqual(['FORBIDDEN']);
    const admin = await t.loginAdmin();
    const deposit = await t.gql(Deposit, { input }, admin.accessToken);
    expect(deposit.data?.deposit).toMatchObject({ kind: 'DEPOSIT', from: null, to: { id: user.accountId } });
    expect((await settled(t, deposit.data!.deposit.id, admin.accessToken)).status).toBe('COMPLETED');
    const account = await t.gql(Account, { id: user.accountId }, user.accessToken);
    expect(account.data?.account?.balance).toBe('10500');
  });

  it.each([
    ['input.amount', 'zero', { amount: '0' }],
    ['input.amount', 'over 10^15', { amount: '1000000000000001' }],
    ['input.idempotencyKey', 'a short key', { idempotencyKey: 'short' }],
    ['input.memo', 'a 201-character memo', { memo: 'm'.repeat(201) }],
    ['input.toAccountId', 'the same account', { toAccountId: 'SAME' }],
  ])('refuses %s (%s) with BAD_USER_INPUT and no hold', async (field, _case, override) => {
    const alice = await readyUser(t);
    const bob = await readyUser(t);
    const input = {
      fromAccountId: alice.accountId,
      toAccountId: bob.accountId,
      amount: '10',
      idempotencyKey: key(),
      ...override,
    };
    if (input.toAccountId === 'SAME') input.toAccountId = alice.accountId;
    const result = await t.gql(Transfer, { input }, alice.accessToken);
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.fields).toHaveProperty([field]);
    const account = await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: alice.accountId } });
    expect(account.held).toBe(0n);
  });

  it('refuses a transfer between currencies and a second account in one currency', async () => {
    const alice = await readyUser(t);
    const euro = await t.gql(OpenAccount, { input: { currency: 'EUR' } }, alice.accessToken);
    expect(euro.data?.openAccount).toMatchObject({ currency: 'EUR', balance: '0', available: '0' });
    expect(codes(await t.gql(OpenAccount, { input: { currency: 'EUR' } }, alice.accessToken))).toEqual(['CONFLICT']);
    expect(codes(await t.gql(OpenAccount, { input: { currency: 'eur' } }, alice.accessToken))).toEqual(['BAD_USER_INPUT']);
    const mixed = await t.gql(
      Transfer,
      { input: { fromAccountId: alice.accountId, toAccountId: euro.data!.openAccount.id, amount: '1', idempotencyKey: key() } },
      alice.accessToken,
    );
    expect(codes(mixed)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses, in the database itself, a negative balance or a hold larger than the balance', async () => {
    const user = await readyUser(t);
    const write = (sql: string) => t.app.db.$executeRawUnsafe(sql, user.accountId);
    await expect(write('UPDATE "ledger_accounts" SET "balance" = -1 WHERE "id" = $1')).rejects.toThrow(/check/i);
    await expect(write('UPDATE "ledger_accounts" SET "held" = "balance" + 1 WHERE "id" = $1')).rejects.toThrow(/check/i);
    await expect(write('UPDATE "ledger_accounts" SET "held" = -1 WHERE "id" = $1')).rejects.toThrow(/check/i);
    const account = await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: user.accountId } });
    expect([account.balance, account.held]).toEqual([10_000n, 0n]);
  });

  it('keeps the ledger consistent under 600 concurrent transfers among 20 users', async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => readyUser(t)));
    const transfers = Array.from({ length: 600 }, (_, i) => {
      const from = users[Math.floor(Math.random() * users.length)]!;
      let to = users[Math.floor(Math.random() * users.length)]!;
      if (to === from) to = users[(users.indexOf(from) + 1) % users.length]!;
      // Mostly small amounts; every tenth is larger than anyone's balance can be.
      const amount = i % 10 === 0 ? 1_000_000 : 1 + Math.floor(Math.random() * 3000);
      return t.gql(
        Transfer,
        { input: { fromAccountId: from.accountId, toAccountId: to.accountId, amount: String(amount), idempotencyKey: key() } },
        from.accessToken,
      );
    });
    const results = await Promise.all(transfers);
    const outcomes = results.map((result) => (result.errors ? codes(result)[0] : 'ACCEPTED'));
    expect(outcomes.every((outcome) => outcome === 'ACCEPTED' || outcome === 'INSUFFICIENT_FUNDS')).toBe(true);
    expect(outcomes.filter((outcome) => outcome === 'INSUFFICIENT_FUNDS').length).toBeGreaterThanOrEqual(60);

    await waitFor(async () => (await t.app.db.ledgerTransaction.count({ where: { status: 'PENDING' } })) === 0 || undefined, 60_000);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });

  it('settles in batches without weakening an invariant: 500 concurrent transfers, racing batches, single settlements and failures', async () => {
    const services = t.app.services;
    const users = await Promise.all(Array.from({ length: 20 }, () => readyUser(t)));
    // Every settlement path at once, on the same rows: the workers' batches (enqueued by the transfers), four more
    // batch loops here, and for every fifth transfer its single settlement (the sweeper's job) and its failure
    // (a final failure's hook) racing each other and the batches.
    let accepting = true;
    const batchLoops = Array.from({ length: 4 }, async () => {
      let settledHere = 0;
      while (accepting) {
        settledHere += (await settlePendingTransfers(services)).settled;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return settledHere;
    });
    const raced: Promise<unknown>[] = [];
    const transfers = Array.from({ length: 500 }, async (_, i) => {
      const from = users[i % users.length]!;
      const to = users[(i * 7 + 3) % users.length] === from ? users[(i + 1) % users.length]! : users[(i * 7 + 3) % users.length]!;
      const result = await t.gql(
        Transfer,
        { input: { fromAccountId: from.accountId, toAccountId: to.accountId, amount: String(1 + (i % 40)), idempotencyKey: key() } },
        from.accessToken,
      );
      const id = result.data?.transfer.id;
      if (id && i % 5 === 0) {
        raced.push(settleTransaction(services, id), failTransaction(services, id, 'raced failure'));
      }
      return result;
    });
    const results = await Promise.all(transfers);
    await Promise.all(raced);
    accepting = false;
    const settledByLoops = (await Promise.all(batchLoops)).reduce((a, b) => a + b, 0);
    // Accepted, every one (read back after its commit: a batch may already have settled it).
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);

    await waitFor(async () => (await t.app.db.ledgerTransaction.count({ where: { status: 'PENDING' } })) === 0 || undefined, 60_000);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);

    // Exactly once: each of the 500 left PENDING once — COMPLETED with its two entries, or FAILED with none.
    const ids = results.map((result) => result.data!.transfer.id);
    const rows = await t.app.db.ledgerTransaction.findMany({ where: { id: { in: ids } }, include: { entries: true } });
    expect(rows).toHaveLength(500);
    for (const row of rows) expect(row.entries).toHaveLength(row.status === 'COMPLETED' ? 2 : 0);
    const failed = rows.filter((row) => row.status === 'FAILED');
    expect(failed.every((row) => row.failureReason === 'raced failure')).toBe(true);
    expect(failed.length).toBeLessThanOrEqual(100);
    // The loops here did settle some in batches (they raced the workers' own batches for the rest).
    expect(settledByLoops).toBeGreaterThan(0);
  });

  it('settles the rest of a batch one by one when a row of it cannot be posted, and leaves that row PENDING', async () => {
    const services = t.app.services;
    const alice = await readyUser(t);
    const bob = await readyUser(t);
    // A row only wrong code could write: PENDING without its hold, so posting it would make `held` negative.
    const poisonId = `poison-${randomBytes(6).toString('hex')}`;
    await t.app.db.ledgerTransaction.create({
      data: {
        id: poisonId,
        kind: 'TRANSFER',
        fromAccountId: alice.accountId,
        toAccountId: bob.accountId,
        amount: 9n,
        currency: 'USD',
        initiatorId: alice.user.id,
        idempotencyKey: key(),
        requestHash: 'test',
      },
    });
    const accepted = await Promise.all(
      Array.from({ length: 5 }, () =>
        transferService(services, { id: bob.user.id, role: 'USER' }, {
          fromAccountId: bob.accountId,
          toAccountId: alice.accountId,
          amount: 2n,
          idempotencyKey: key(),
        }),
      ),
    );
    // The workers' lanes may take part of them; whoever settles them, the poison row stays PENDING.
    await settlePendingTransfers(services);
    await waitFor(async () => {
      const rows = await t.app.db.ledgerTransaction.findMany({ where: { id: { in: accepted.map((a) => a.transaction.id) } } });
      return rows.every((row) => row.status === 'COMPLETED') || undefined;
    });
    expect((await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: poisonId } })).status).toBe('PENDING');
    await t.app.db.ledgerTransaction.delete({ where: { id: poisonId } });
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });

  it('leaves a PAYMENT to the one who placed it: batches settle transfers and deposits only', async () => {
    const services = t.app.services;
    const alice = await readyUser(t);
    const bob = await readyUser(t);
    const transfer = await t.gql(
      Transfer,
      { input: { fromAccountId: alice.accountId, toAccountId: bob.accountId, amount: '5', idempotencyKey: key() } },
      alice.accessToken,
    );
    await settled(t, transfer.data!.transfer.id, alice.accessToken);
    // The accept answers with the row it inserted, typed as Prisma types it (not read back).
    const { transaction: accepted } = await transferService(services, { id: alice.user.id, role: 'USER' }, {
      fromAccountId: alice.accountId,
      toAccountId: bob.accountId,
      amount: 3n,
      idempotencyKey: key(),
    });
    expect(accepted).toMatchObject({ status: 'PENDING', kind: 'TRANSFER', amount: 3n, initiatorId: alice.user.id, settledAt: null });
    expect(accepted.createdAt).toBeInstanceOf(Date);
    expect(accepted).toEqual(await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: accepted.id } }).then((row) => ({ ...row, status: 'PENDING', settledAt: null, updatedAt: accepted.updatedAt })));
    // Not enqueued (the service alone, not the command): the batch below settles it, and not the payment.
    // A PENDING payment with its hold, as fulfilment places it, written here directly.
    const paymentId = `pay-${randomBytes(6).toString('hex')}`;
    await t.app.db.$transaction([
      t.app.db.ledgerAccount.update({ where: { id: alice.accountId }, data: { held: { increment: 7n } } }),
      t.app.db.ledgerTransaction.create({
        data: {
          id: paymentId,
          kind: 'PAYMENT',
          fromAccountId: alice.accountId,
          toAccountId: bob.accountId,
          amount: 7n,
          currency: 'USD',
          initiatorId: alice.user.id,
          idempotencyKey: key(),
          requestHash: 'test',
        },
      }),
    ]);
    expect((await settlePendingTransfers(services)).settled).toBeGreaterThanOrEqual(1);
    expect((await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: accepted.id } })).status).toBe('COMPLETED');
    expect((await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: paymentId } })).status).toBe('PENDING');
    // Settled alone, a PAYMENT that no order links is failed instead of charged, its hold released.
    expect(await settleTransaction(services, paymentId)).toBe('failed');
    expect(await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: 'FAILED' });
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });
});

describe('accounts per user', () => {
  // No workers: provisioning (the USD account) runs when the test says so.
  const t = useTestApp();

  it(`opens at most ${MAX_ACCOUNTS_PER_USER} accounts under 40 concurrent requests, keeping one for USD`, async () => {
    const user = await t.registerUser();
    const currencies = Array.from({ length: 40 }, (_, i) => `X${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(65 + Math.floor(i / 26))}`);
    const answers = await Promise.all(
      currencies.map((currency) => t.gql(OpenAccount, { input: { currency } }, user.accessToken)),
    );
    const opened = answers.filter((answer) => answer.data?.openAccount);
    expect(opened).toHaveLength(MAX_ACCOUNTS_PER_USER - 1);
    const refused = answers.filter((answer) => !answer.data?.openAccount);
    expect(refused.map(codes).flat()).toEqual(Array(40 - (MAX_ACCOUNTS_PER_USER - 1)).fill('LIMIT_EXCEEDED'));
    // Provisioning still opens the user's USD account: the tenth.
    await ensureAccount(t.app.services, user.user.id, 'USD');
    expect(await t.app.db.ledgerAccount.count({ where: { ownerId: user.user.id } })).toBe(MAX_ACCOUNTS_PER_USER);
    const me = await t.gql(MyAccounts, {}, user.accessToken);
    expect(me.data?.me?.accounts).toHaveLength(MAX_ACCOUNTS_PER_USER);
    const again = await t.gql(OpenAccount, { input: { currency: 'USD' } }, user.accessToken);
    expect(codes(again)).toEqual(['CONFLICT']);
  });
});
