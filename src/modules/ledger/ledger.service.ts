import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AppServices } from '../../core/context.js';
import { AppError, badUserInput, conflict, isUniqueViolation, notFound, retryOnWriteConflict } from '../../core/errors.js';
import type {
  LedgerAccount,
  LedgerTransaction,
  Prisma,
  TransactionKind,
} from '../../generated/prisma/client.js';
import { type Db, poolOf } from '../../infra/db.js';
import { statusChanges } from '../../infra/events/bus.js';
import type { TransactionUpdatedEvent } from './ledger.events.js';
import { type Page, type PageArgs, paginate } from '../../core/pagination.js';
import type { Viewer } from '../../core/context.js';
import { isAdmin, visibleTo } from '../../core/access.js';
import { currencySchema, idempotencyKeySchema, requestHash } from '../../core/inputs.js';
import { stalePageQuery } from '../../core/jobs.js';
import type { StalePage } from '../../infra/jobs/sweeper.js';

/**
 * The ledger: accounts, holds and double-entry transfers. Money is integer
 * minor units. A request commits a PENDING transaction — with a hold on the
 * source, so the money cannot be spent twice — and a worker settles it once:
 * COMPLETED with its entries, or FAILED with the hold released. How the
 * database keeps each of these (docs/invariants.md, "Money: the ledger").
 */

export const HOUSE_USER_ID = 'house';
const HOUSE_EMAIL = 'house@switchyard.internal';
const HOUSE_CURRENCY = 'USD';

const MAX_AMOUNT = 10n ** 15n;

const amount = z
  .bigint({ message: 'Amount must be an integer.' })
  .min(1n, 'Amount must be at least 1.')
  .max(MAX_AMOUNT, 'Amount must be at most 10^15.');
const accountId = z.string().min(1, 'Account id must not be empty.').max(100, 'Unknown account.');

export const openAccountInputSchema = z.object({ currency: currencySchema });
export const depositInputSchema = z.object({ accountId, amount, idempotencyKey: idempotencyKeySchema });
export const transferInputSchema = z.object({
  fromAccountId: accountId,
  toAccountId: accountId,
  amount,
  idempotencyKey: idempotencyKeySchema,
  memo: z.string().max(200, 'Memo must be at most 200 characters.').nullish(),
});

export type OpenAccountInput = z.infer<typeof openAccountInputSchema>;
export type DepositInput = z.infer<typeof depositInputSchema>;
export type TransferInput = z.infer<typeof transferInputSchema>;

type AccountQuery = { select?: Prisma.LedgerAccountSelect; include?: Prisma.LedgerAccountInclude };
type TransactionQuery = { select?: Prisma.LedgerTransactionSelect; include?: Prisma.LedgerTransactionInclude };

export const available = (account: Pick<LedgerAccount, 'balance' | 'held'>) => account.balance - account.held;

// ---------------------------------------------------------------- accounts

/**
 * A user has at most this many accounts, one per currency; one of them is kept
 * for the USD account provisioning opens, whenever that runs.
 */
export const MAX_ACCOUNTS_PER_USER = 10;

/**
 * Opens the viewer's account in `input.currency`. The cap is exact under
 * concurrency: the user's row is locked first, so that the count read after it
 * sees every account opened before (a unique index keeps one per currency).
 */
export async function openAccount(services: AppServices, viewer: Viewer, input: OpenAccountInput, query: AccountQuery = {}) {
  try {
    return await services.db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1 FROM users WHERE id = ${viewer.id} FOR UPDATE`;
      const held = await tx.ledgerAccount.findMany({ where: { ownerId: viewer.id }, select: { currency: true } });
      const currencies = new Set(held.map((account) => account.currency));
      if (currencies.has(input.currency)) throw accountExists(input.currency);
      const reserved = currencies.has(HOUSE_CURRENCY) || input.currency === HOUSE_CURRENCY ? 0 : 1;
      if (currencies.size + reserved >= MAX_ACCOUNTS_PER_USER) {
        throw new AppError('LIMIT_EXCEEDED', `A user has at most ${MAX_ACCOUNTS_PER_USER} accounts.`);
      }
      return tx.ledgerAccount.create({ ...query, data: { ownerId: viewer.id, currency: input.currency } });
    });
  } catch (error) {
    // Provisioning may have opened the USD account between the read and the insert.
    if (isUniqueViolation(error)) throw accountExists(input.currency);
    throw error;
  }
}

const accountExists = (currency: string) =>
  conflict(`You already have a ${currency} account.`, { 'input.currency': 'Account exists.' });

/** Owner or admin; anyone else gets NOT_FOUND. */
export async function getAccount(services: AppServices, viewer: Viewer, id: string, query: AccountQuery = {}) {
  const account = await services.db.ledgerAccount.findFirst({
    ...query,
    where: { id, ...visibleTo(viewer) },
  });
  if (!account) throw notFound('Account');
  return account;
}

/** Opens `currency` for the user unless it exists (provisioning may run more than once). */
export async function ensureAccount(services: AppServices, ownerId: string, currencyCode: string): Promise<LedgerAccount> {
  return services.db.ledgerAccount.upsert({
    where: { ownerId_currency: { ownerId, currency: currencyCode } },
    create: { ownerId, currency: currencyCode },
    update: {},
  });
}

/**
 * The house: a system user (it cannot sign in) owning the USD account that
 * starts with HOUSE_OPENING_BALANCE and pays welcome credits. Created once;
 * later starts find it.
 */
export async function ensureHouse(services: AppServices): Promise<LedgerAccount> {
  const { db, config } = services;
  // INSERT … ON CONFLICT DO NOTHING: several processes may start at once.
  await db.user.createMany({
    data: {
      id: HOUSE_USER_ID,
      email: HOUSE_EMAIL,
      name: 'Switchyard House',
      passwordHash: '!', // not an argon2 hash: no password verifies against it
      provisioningStatus: 'READY',
    },
    skipDuplicates: true,
  });
  await db.ledgerAccount.createMany({
    data: { ownerId: HOUSE_USER_ID, currency: HOUSE_CURRENCY, balance: config.houseOpeningBalance },
    skipDuplicates: true,
  });
  return db.ledgerAccount.findUniqueOrThrow({
    where: { ownerId_currency: { ownerId: HOUSE_USER_ID, currency: HOUSE_CURRENCY } },
  });
}

/**
 * A new user's USD account and the welcome credit, a TRANSFER from the house,
 * settled. Every step finds what an earlier run already did (the account by
 * owner and currency, the credit by its idempotency key, the settlement by the
 * transaction's status), so running it twice changes nothing. Throws when the
 * credit FAILED (the ledger's own retries gave up): the user must not be READY
 * without it.
 */
export async function openStartingAccount(services: AppServices, userId: string): Promise<void> {
  const account = await ensureAccount(services, userId, HOUSE_CURRENCY);
  const credit = services.config.welcomeCredit;
  if (credit <= 0n) return;
  const { transaction } = await recordWelcomeCredit(services, userId, account.id, credit);
  await settleTransaction(services, transaction.id);
  const { status } = await services.db.ledgerTransaction.findUniqueOrThrow({
    where: { id: transaction.id },
    select: { status: true },
  });
  if (status !== 'COMPLETED') throw new Error(`welcome credit ${transaction.id} is ${status}`);
}

/** The house's TRANSFER of the welcome credit; its idempotency key makes it one per user. */
export async function recordWelcomeCredit(services: AppServices, userId: string, accountId: string, amount: bigint) {
  const house = await ensureHouse(services);
  return recordTransaction(
    services,
    {
      kind: 'TRANSFER',
      fromAccountId: house.id,
      toAccountId: accountId,
      amount,
      memo: 'Welcome credit',
      initiatorId: HOUSE_USER_ID,
      idempotencyKey: `welcome-${userId}`,
    },
    (from) => from.ownerId === HOUSE_USER_ID,
  );
}

// ------------------------------------------------------------ transactions

/** A party's owner or an admin; anyone else gets NOT_FOUND. */
export async function getTransaction(services: AppServices, viewer: Viewer, id: string, query: TransactionQuery = {}) {
  const transaction = await services.db.ledgerTransaction.findFirst({
    ...query,
    where: { id, ...(isAdmin(viewer) ? {} : partyOf(viewer.id)) },
  });
  if (!transaction) throw notFound('Transaction');
  return transaction;
}

const partyOf = (userId: string): Prisma.LedgerTransactionWhereInput => ({
  OR: [{ from: { ownerId: userId } }, { to: { ownerId: userId } }],
});

/** An account's transactions, either side, newest first. The caller has checked access to the account. */
export function listAccountTransactions(
  services: AppServices,
  accountIdValue: string,
  args: PageArgs,
  query: TransactionQuery = {},
): Promise<Page<LedgerTransaction>> {
  const where: Prisma.LedgerTransactionWhereInput = {
    OR: [{ fromAccountId: accountIdValue }, { toAccountId: accountIdValue }],
  };
  return paginate(args, {
    count: () => services.db.ledgerTransaction.count({ where }),
    fetch: (page) =>
      services.db.ledgerTransaction.findMany({ ...query, ...page, where: { AND: [where, page.where] } }) as Promise<
        LedgerTransaction[]
      >,
  });
}

interface NewTransaction {
  kind: TransactionKind;
  fromAccountId: string | null;
  toAccountId: string;
  amount: bigint;
  memo?: string | null;
  initiatorId: string;
  idempotencyKey: string;
}

/** What makes two requests "the same" for idempotency. */
const transactionHash = ({ kind, fromAccountId, toAccountId, amount: value, memo }: NewTransaction) =>
  requestHash([kind, fromAccountId, toAccountId, value, memo ?? null]);

export interface Accepted {
  transaction: LedgerTransaction;
  /** False when an earlier request with the same key was found: nothing new to settle. */
  created: boolean;
}

/**
 * Checks and records a money movement: both accounts exist and share a
 * currency and the initiator may draw on the source (read first: an account's
 * owner and currency never change); then the hold — the source's available
 * balance must cover the amount — and the PENDING row are one statement, so
 * concurrent requests cannot overdraw it and nothing is half-written.
 * The same idempotency key with the same request returns the first
 * transaction — also to a concurrent repeat whose own hold no longer fits
 * once the first one's is placed; with a different request it is CONFLICT.
 */
export async function recordTransaction(
  services: AppServices,
  request: NewTransaction,
  canDrawFrom: (account: LedgerAccount) => boolean,
): Promise<Accepted> {
  const hash = transactionHash(request);
  const existing = await findByKey(services.db, request, hash);
  if (existing) return { transaction: existing, created: false };
  try {
    const { transaction, parties } = await retryOnWriteConflict(() => insertWithHold(services.db, request, hash, canDrawFrom));
    // After the commit, before the caller enqueues its settlement: PENDING is published first. The parties are
    // the accounts the checks read, so nothing is read again for the event.
    await services.pubsub.publish('transactionUpdated', { ...parties, status: 'PENDING' });
    return { transaction, created: true };
  } catch (error) {
    // A concurrent request with the same key may have won: either the unique
    // index, or — its hold taken first — the balance, so that this hold no
    // longer fits. Its row has committed by now (this hold waited for its lock).
    if (!isUniqueViolation(error) && !(error instanceof AppError && error.code === 'INSUFFICIENT_FUNDS')) throw error;
    const winner = await findByKey(services.db, request, hash);
    if (!winner) throw error;
    return { transaction: winner, created: false };
  }
}

/**
 * The accept's statements run on the pool under Prisma rather than through it,
 * as the purchase does: they are the statements of every transfer request, and
 * Prisma's pipeline for each cost the API more CPU than pg itself (a fifth of
 * the API's busy time in the ledger benchmark's profile). pg answers BIGINT as
 * a string; these map rows to Prisma's types.
 */
const TRANSACTION_COLUMNS = `"id", "kind"::text AS "kind", "from_account_id" AS "fromAccountId",
  "to_account_id" AS "toAccountId", "amount"::text AS "amount", "currency", "status"::text AS "status",
  "failure_reason" AS "failureReason", "memo", "initiator_id" AS "initiatorId", "idempotency_key" AS "idempotencyKey",
  "request_hash" AS "requestHash", "created_at" AS "createdAt", "updated_at" AS "updatedAt", "settled_at" AS "settledAt"`;

type RawTransaction = Omit<LedgerTransaction, 'amount'> & { amount: string };
const toTransaction = (row: RawTransaction): LedgerTransaction => ({ ...row, amount: BigInt(row.amount) });

type RawAccount = Omit<LedgerAccount, 'balance' | 'held'> & { balance: string; held: string };
const toAccount = (row: RawAccount): LedgerAccount => ({ ...row, balance: BigInt(row.balance), held: BigInt(row.held) });

async function findByKey(db: Db, request: NewTransaction, hash: string) {
  const { rows } = await poolOf(db).query<RawTransaction>({
    text: `SELECT ${TRANSACTION_COLUMNS} FROM "ledger_transactions" WHERE "initiator_id" = $1 AND "idempotency_key" = $2`,
    values: [request.initiatorId, request.idempotencyKey],
  });
  const existing = rows[0] ? toTransaction(rows[0]) : null;
  if (existing && existing.requestHash !== hash) {
    throw conflict('This idempotency key was used for a different request.', {
      'input.idempotencyKey': 'Already used for a different request.',
    });
  }
  return existing;
}

type Parties = Omit<TransactionUpdatedEvent, 'status'>;

const partiesOf = (id: string, from: LedgerAccount | undefined, to: LedgerAccount): Parties => ({
  id,
  fromAccountId: from?.id ?? null,
  toAccountId: to.id,
  fromOwnerId: from?.ownerId ?? null,
  toOwnerId: to.ownerId,
});

/**
 * The checks read the accounts (their owner and currency never change); the
 * hold and the insert are then one statement, so the source account's row
 * lock is held for that statement alone — the accounts are hot rows under
 * load, and every round trip spent holding one makes every other request
 * on it wait. The row answered is the one inserted (RETURNING), not read
 * again: a batch may settle it the moment it commits, and the client is told
 * what it committed, PENDING.
 */
async function insertWithHold(
  db: Db,
  request: NewTransaction,
  hash: string,
  canDrawFrom: (account: LedgerAccount) => boolean,
): Promise<{ transaction: LedgerTransaction; parties: Parties }> {
  const ids = request.fromAccountId === null ? [request.toAccountId] : [request.toAccountId, request.fromAccountId];
  const pool = poolOf(db);
  const { rows: accountRows } = await pool.query<RawAccount>({
    text: `SELECT "id", "owner_id" AS "ownerId", "currency", "balance"::text AS "balance", "held"::text AS "held",
      "created_at" AS "createdAt", "updated_at" AS "updatedAt" FROM "ledger_accounts" WHERE "id" = ANY ($1::text[])`,
    values: [ids],
  });
  const accounts = accountRows.map(toAccount);
  const to = accounts.find((account) => account.id === request.toAccountId);
  if (!to) throw notFound('Destination account');
  if (request.fromAccountId === null) {
    const transaction = await db.ledgerTransaction.create({ data: newRow(request, hash, to.currency) });
    return { transaction, parties: partiesOf(transaction.id, undefined, to) };
  }
  const from = accounts.find((account) => account.id === request.fromAccountId);
  if (!from || !canDrawFrom(from)) throw notFound('Source account');
  if (from.id === to.id) throw badUserInput({ 'input.toAccountId': 'Source and destination must differ.' });
  if (from.currency !== to.currency) {
    throw badUserInput({ 'input.toAccountId': `Currencies differ (${from.currency} → ${to.currency}).` });
  }
  const row = newRow(request, hash, from.currency);
  const { rows: insertedRows } = await pool.query<RawTransaction>({
    text: `WITH "hold" AS (
      UPDATE "ledger_accounts" SET "held" = "held" + $1::bigint, "updated_at" = now()
      WHERE "id" = $2 AND "balance" - "held" >= $1::bigint
      RETURNING "id"
    )
    INSERT INTO "ledger_transactions" ("id", "kind", "from_account_id", "to_account_id", "amount", "currency",
      "memo", "initiator_id", "idempotency_key", "request_hash", "updated_at")
    SELECT $3, $4::"TransactionKind", "hold"."id", $5, $1::bigint, $6, $7, $8, $9, $10, now()
    FROM "hold"
    RETURNING ${TRANSACTION_COLUMNS}`,
    values: [
      row.amount.toString(),
      from.id,
      row.id,
      row.kind,
      row.toAccountId,
      row.currency,
      row.memo,
      row.initiatorId,
      row.idempotencyKey,
      row.requestHash,
    ],
  });
  const inserted = insertedRows[0];
  if (!inserted) throw new AppError('INSUFFICIENT_FUNDS', 'Not enough available balance.');
  return { transaction: toTransaction(inserted), parties: partiesOf(inserted.id, from, to) };
}

function newRow(request: NewTransaction, hash: string, currencyCode: string) {
  return {
    id: randomUUID(),
    kind: request.kind,
    fromAccountId: request.fromAccountId,
    toAccountId: request.toAccountId,
    amount: request.amount,
    currency: currencyCode,
    memo: request.memo ?? null,
    initiatorId: request.initiatorId,
    idempotencyKey: request.idempotencyKey,
    requestHash: hash,
  };
}

export function transfer(services: AppServices, viewer: Viewer, input: TransferInput): Promise<Accepted> {
  return recordTransaction(
    services,
    { kind: 'TRANSFER', ...input, initiatorId: viewer.id },
    // Admins too may only draw on accounts they own.
    (account) => account.ownerId === viewer.id,
  );
}

export function deposit(services: AppServices, viewer: Viewer, input: DepositInput): Promise<Accepted> {
  return recordTransaction(
    services,
    { kind: 'DEPOSIT', fromAccountId: null, toAccountId: input.accountId, amount: input.amount, initiatorId: viewer.id, idempotencyKey: input.idempotencyKey },
    () => false,
  );
}

// -------------------------------------------------------------- settlement

/** `failed`: a PAYMENT that no order links, failed instead of charged (its hold released). */
export type SettleOutcome = 'completed' | 'already-settled' | 'failed';

/**
 * Posts a PENDING transaction: one call of ledger_settle
 * (prisma/migrations/…_ledger_settle_function), which locks it, then both
 * accounts in id order, writes the entries, moves the balances, releases the
 * hold and marks it COMPLETED; one no longer PENDING is left alone, so the
 * effect is exactly once (docs/invariants.md, "Settled exactly once" and
 * "Lock order").
 */
export async function settleTransaction(services: AppServices, transactionId: string): Promise<SettleOutcome> {
  const [result] = await services.db.$queryRaw<Array<{ outcome: SettleOutcome }>>`
    SELECT "ledger_settle"(${transactionId}) AS "outcome"`;
  if (!result) throw new Error(`ledger_settle returned nothing for ${transactionId}`);
  if (result.outcome === 'completed') await publishTransactionUpdated(services, transactionId, 'COMPLETED');
  if (result.outcome === 'failed') await publishTransactionUpdated(services, transactionId, 'FAILED');
  return result.outcome;
}

/**
 * The most transactions one batch settles: under 63, PostgreSQL's cache of
 * subtransaction ids per backend less the batch's own (should a batch fail,
 * ledger_settle_batch posts each row in a subtransaction of its own), and
 * small enough that the accounts it locks are held for a few milliseconds.
 */
const SETTLE_BATCH_SIZE = 50;

/**
 * Settles the oldest PENDING transfers and deposits, up to `limit`, in one
 * call of ledger_settle_batch (prisma/migrations/…_ledger_settle_batch): it
 * claims them with FOR NO KEY UPDATE SKIP LOCKED — so concurrent batches take
 * disjoint rows and never wait on a row another settlement or failure holds —
 * locks all their accounts in id order before writing, and posts them in one
 * statement with the effect of ledger_settle on each, oldest first. So the
 * double entry, the balances and "settled exactly once" are kept as for one
 * transaction (docs/invariants.md, "Batched settlement"). PAYMENTs are left to
 * the fulfilment that placed them. Publishes COMPLETED for each one settled;
 * `full` says the batch was full, so more may be waiting.
 */
async function settleBatch(services: AppServices, limit: number): Promise<{ settled: number; full: boolean }> {
  const rows = await services.db.$queryRaw<Array<Omit<TransactionUpdatedEvent, 'status'>>>`
    SELECT "id", "from_account_id" AS "fromAccountId", "to_account_id" AS "toAccountId",
      "from_owner_id" AS "fromOwnerId", "to_owner_id" AS "toOwnerId"
    FROM "ledger_settle_batch"(${limit}::integer)`;
  await Promise.all(rows.map((parties) => services.pubsub.publish('transactionUpdated', { ...parties, status: 'COMPLETED' })));
  // A row the batch could not post is not returned: the batch reads as not full, and the next one looks again.
  return { settled: rows.length, full: rows.length >= limit };
}

/** Batches per settlement job at most: then the job hands over to its next run rather than hold its slot. */
const SETTLE_ROUNDS = 10;

/**
 * The settlement job's work: batches (settleBatch) until one is not full, at
 * most SETTLE_ROUNDS of them. `more` says the last one was still full: the
 * caller delivers the job again.
 */
export async function settlePendingTransfers(services: AppServices): Promise<{ settled: number; more: boolean }> {
  let settled = 0;
  for (let round = 0; round < SETTLE_ROUNDS; round++) {
    const batch = await settleBatch(services, SETTLE_BATCH_SIZE);
    settled += batch.settled;
    if (!batch.full) return { settled, more: false };
  }
  return { settled, more: true };
}

/** Gives up on a PENDING transaction: FAILED with the reason, hold released. Settled ones are left alone. */
export async function failTransaction(services: AppServices, transactionId: string, reason: string): Promise<boolean> {
  const failed = await services.db.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<Array<{ status: string; fromAccountId: string | null; amount: bigint }>>`
      SELECT "status", "from_account_id" AS "fromAccountId", "amount"
      FROM "ledger_transactions" WHERE "id" = ${transactionId} FOR NO KEY UPDATE`;
    if (!row || row.status !== 'PENDING') return false;
    if (row.fromAccountId !== null) {
      await tx.ledgerAccount.update({ where: { id: row.fromAccountId }, data: { held: { decrement: BigInt(row.amount) } } });
    }
    await tx.ledgerTransaction.update({
      where: { id: transactionId },
      data: { status: 'FAILED', failureReason: reason.slice(0, 500), settledAt: new Date() },
    });
    return true;
  });
  if (failed) await publishTransactionUpdated(services, transactionId, 'FAILED');
  return failed;
}

/** Transactions left PENDING since before `olderThan` (the sweeper re-enqueues them). */
export function stalePendingTransactions(services: AppServices, page: StalePage) {
  // An order's PAYMENT is its fulfilment's to settle (the inventory's sweeper delivers that); one no order links
  // is delivered here, and its settlement fails it (ledger_settle).
  const open = { status: 'PENDING' as const, OR: [{ kind: { not: 'PAYMENT' as const } }, { order: null }] };
  return services.db.ledgerTransaction.findMany(stalePageQuery(open, page));
}

// ------------------------------------------------------------ live updates

/**
 * Tells transactionUpdated subscribers (on every API process) that the
 * transaction reached `status`: a compact event of ids — the parties' owners
 * included, so subscribers filter without a database read. Call it after the
 * change committed. Never throws: a bus that is down is logged (by the bus)
 * and the mutation or job goes on.
 */
async function publishTransactionUpdated(
  services: AppServices,
  transactionId: string,
  status: TransactionUpdatedEvent['status'],
): Promise<void> {
  let parties: Omit<TransactionUpdatedEvent, 'status'> | undefined;
  try {
    [parties] = await services.db.$queryRaw<Array<Omit<TransactionUpdatedEvent, 'status'>>>`
      SELECT t."id", t."from_account_id" AS "fromAccountId", t."to_account_id" AS "toAccountId",
        f."owner_id" AS "fromOwnerId", o."owner_id" AS "toOwnerId"
      FROM "ledger_transactions" t
      JOIN "ledger_accounts" o ON o."id" = t."to_account_id"
      LEFT JOIN "ledger_accounts" f ON f."id" = t."from_account_id"
      WHERE t."id" = ${transactionId}`;
  } catch (error) {
    services.log.warn({ err: error, transactionId }, 'transactionUpdated not published: reading its parties failed');
    return;
  }
  if (parties) await services.pubsub.publish('transactionUpdated', { ...parties, status });
}

/**
 * The transactionUpdated feed of `viewer`: every status change of a
 * transaction one of their accounts is a party to — or, with `accountId`, of
 * that account only (theirs, or any for an admin; otherwise NOT_FOUND, at
 * once). Events are matched on their ids first; only a match is read, with
 * the subscriber's selection (`query`). An event whose status was already
 * superseded when it is read is skipped: the next one shows the newer status.
 */
export async function transactionUpdates(
  services: AppServices,
  viewer: Viewer,
  accountIdArg: string | null,
  query: TransactionQuery = {},
): Promise<AsyncIterable<LedgerTransaction>> {
  let concerns: (event: TransactionUpdatedEvent) => boolean;
  if (accountIdArg === null) {
    concerns = (event) => event.fromOwnerId === viewer.id || event.toOwnerId === viewer.id;
  } else {
    const { id } = await getAccount(services, viewer, accountIdArg, { select: { id: true } });
    concerns = (event) => event.fromAccountId === id || event.toAccountId === id;
  }
  // The status is compared with the event's whatever the subscriber selected.
  const read = query.select ? { select: { ...query.select, status: true } } : query;
  return statusChanges(services.pubsub.subscribe('transactionUpdated', concerns), (event) =>
    services.db.ledgerTransaction.findUnique({ ...read, where: { id: event.id } }) as Promise<LedgerTransaction | null>,
  );
}
