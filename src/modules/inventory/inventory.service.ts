import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AppServices } from '../../core/context.js';
import {
  AppError,
  badUserInput,
  conflict,
  isUniqueViolation,
  notFound,
  retryOnWriteConflict,
} from '../../core/errors.js';
import type { InventoryItem, LedgerAccount, Order, Prisma } from '../../generated/prisma/client.js';
import { type Db, poolOf } from '../../infra/db.js';
import { statusChanges } from '../../infra/events/bus.js';
import type { OrderUpdatedEvent } from './inventory.events.js';
import { type Page, type PageArgs, paginate } from '../../core/pagination.js';
import type { Viewer } from '../../core/context.js';
import {
  ensureAccount,
  ensureHouse,
  failTransaction,
  HOUSE_USER_ID,
  recordTransaction,
  settleTransaction,
} from '../ledger/ledger.service.js';
import { announceStockChanged } from './stock-feed.js';
import { visibleTo } from '../../core/access.js';
import { currencySchema, idempotencyKeySchema, requestHash } from '../../core/inputs.js';
import { stalePageQuery } from '../../core/jobs.js';
import type { StalePage } from '../../infra/jobs/sweeper.js';

/**
 * The inventory: items with a stock, and orders that reserve units of them. A
 * purchase (one call of the SQL function inventory_purchase) commits the order
 * RESERVED with the stock taken; a worker then takes the payment through the
 * ledger (PAID → FULFILLED) or cancels the order, the stock back exactly once.
 * Never oversold, the per-buyer limit kept, a cancelled order not charged — how,
 * and the one corner case (docs/invariants.md, "Stock: the inventory").
 */

export const MAX_STOCK = 1_000_000;
export const MAX_QUANTITY = 100;
const MAX_LIMIT_PER_USER = 1000;
const MAX_PRICE = 10n ** 15n;

const PAYMENT_DECLINED = 'Payment failed: not enough available balance.';
const ORDER_CANCELLED = 'The order was cancelled before its payment was taken.';

const id = (what: string) => z.string().min(1, `${what} id must not be empty.`).max(100, `Unknown ${what.toLowerCase()}.`);

export const createItemInputSchema = z.object({
  sku: z
    .string()
    .trim()
    .regex(/^[A-Z0-9-]{3,40}$/, 'SKU must be 3 to 40 upper-case letters, digits or dashes.'),
  name: z.string().trim().min(1, 'Name must not be empty.').max(200, 'Name must be at most 200 characters.'),
  price: z
    .bigint({ message: 'Price must be an integer.' })
    .min(0n, 'Price must not be negative.')
    .max(MAX_PRICE, 'Price must be at most 10^15.'),
  currency: currencySchema,
  stock: z
    .number()
    .int('Stock must be a whole number.')
    .min(0, 'Stock must not be negative.')
    .max(MAX_STOCK, `Stock must be at most ${MAX_STOCK}.`),
  limitPerUser: z
    .number()
    .int('The limit must be a whole number.')
    .min(1, `The limit per user must be 1 to ${MAX_LIMIT_PER_USER}, or null for none.`)
    .max(MAX_LIMIT_PER_USER, `The limit per user must be 1 to ${MAX_LIMIT_PER_USER}, or null for none.`)
    .nullish(),
});

export const restockQuantitySchema = z
  .number()
  .int('Quantity must be a whole number.')
  .min(1, `Quantity must be 1 to ${MAX_STOCK}.`)
  .max(MAX_STOCK, `Quantity must be 1 to ${MAX_STOCK}.`);

export const purchaseInputSchema = z.object({
  itemId: id('Item'),
  // null, like an absent quantity, is one unit.
  quantity: z
    .number()
    .int('Quantity must be a whole number.')
    .min(1, `Quantity must be 1 to ${MAX_QUANTITY}.`)
    .max(MAX_QUANTITY, `Quantity must be 1 to ${MAX_QUANTITY}.`)
    .nullish()
    .transform((quantity) => quantity ?? 1),
  accountId: id('Account'),
  idempotencyKey: idempotencyKeySchema,
});

export type CreateItemInput = z.infer<typeof createItemInputSchema>;
export type PurchaseInput = z.infer<typeof purchaseInputSchema>;

type ItemQuery = { select?: Prisma.InventoryItemSelect; include?: Prisma.InventoryItemInclude };
type OrderQuery = { select?: Prisma.OrderSelect; include?: Prisma.OrderInclude };


// ------------------------------------------------------------------- items

/** Creates an item; the house account of its currency is opened first (a purchase's payment goes there). */
export async function createItem(services: AppServices, input: CreateItemInput, query: ItemQuery = {}) {
  await houseAccount(services, input.currency);
  try {
    return await services.db.inventoryItem.create({
      ...query,
      data: { ...input, limitPerUser: input.limitPerUser ?? null },
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw conflict(`An item with SKU ${input.sku} exists.`, { 'input.sku': 'Already taken.' });
    }
    throw error;
  }
}

/** Anyone may see any item. */
export async function getItem(services: AppServices, itemId: string, query: ItemQuery = {}) {
  const item = await services.db.inventoryItem.findUnique({ ...query, where: { id: itemId } });
  if (!item) throw notFound('Item');
  return item;
}

/** Every item, newest first. */
export function listItems(services: AppServices, args: PageArgs, query: ItemQuery = {}): Promise<Page<InventoryItem>> {
  return paginate(args, {
    count: () => services.db.inventoryItem.count(),
    fetch: (page) => services.db.inventoryItem.findMany({ ...query, ...page }) as Promise<InventoryItem[]>,
  });
}

/**
 * Adds units to the stock in one conditional UPDATE (purchases may be taking
 * units at the same moment), up to MAX_STOCK.
 */
export async function restock(services: AppServices, itemId: string, quantity: number, query: ItemQuery = {}) {
  const { count } = await services.db.inventoryItem.updateMany({
    where: { id: itemId, stock: { lte: MAX_STOCK - quantity } },
    data: { stock: { increment: quantity } },
  });
  if (count === 0) {
    await getItem(services, itemId, { select: { id: true } });
    throw badUserInput({ quantity: `The stock would exceed ${MAX_STOCK}.` });
  }
  announceStockChanged(services, itemId);
  return services.db.inventoryItem.findUniqueOrThrow({ ...query, where: { id: itemId } });
}

// ------------------------------------------------------------------ orders

/** The buyer or an admin; anyone else gets NOT_FOUND. */
export async function getOrder(services: AppServices, viewer: Viewer, orderId: string, query: OrderQuery = {}) {
  const order = await services.db.order.findFirst({
    ...query,
    where: { id: orderId, ...visibleTo(viewer, 'buyerId') },
  });
  if (!order) throw notFound('Order');
  return order;
}

/** The viewer's own orders, newest first. */
export function listMyOrders(
  services: AppServices,
  viewer: Viewer,
  args: PageArgs,
  query: OrderQuery = {},
): Promise<Page<Order>> {
  const where: Prisma.OrderWhereInput = { buyerId: viewer.id };
  return paginate(args, {
    count: () => services.db.order.count({ where }),
    fetch: (page) =>
      services.db.order.findMany({ ...query, ...page, where: { AND: [where, page.where] } }) as Promise<Order[]>,
  });
}

/** What makes two purchases "the same" for idempotency. */
const purchaseHash = (input: PurchaseInput) => requestHash([input.itemId, input.quantity, input.accountId]);

/**
 * Reserves `quantity` units for the viewer: the order RESERVED, the stock
 * taken, in one transaction (docs/invariants.md, "Never oversold"); SOLD_OUT
 * or LIMIT_EXCEEDED otherwise, with nothing written. The item must exist and
 * the paying account be the viewer's own (else NOT_FOUND) in the item's currency.
 * The same idempotency key with the same input returns the first order; with
 * another input it is CONFLICT. One database round trip, whatever the outcome.
 */
export async function purchase(services: AppServices, viewer: Viewer, input: PurchaseInput): Promise<Order> {
  const { db } = services;
  const hash = purchaseHash(input);
  const orderId = randomUUID();
  const paymentId = randomUUID();
  const result = await retryOnWriteConflict(() => reserve(db, orderId, paymentId, viewer.id, input, hash));
  switch (result.outcome) {
    case 'reserved': {
      // What the function wrote, without reading it back.
      const total = BigInt(result.total!);
      const order: Order = {
        id: orderId,
        buyerId: viewer.id,
        itemId: input.itemId,
        accountId: input.accountId,
        quantity: input.quantity,
        total,
        status: 'RESERVED',
        failureReason: null,
        paymentTransactionId: total > 0n ? paymentId : null,
        idempotencyKey: input.idempotencyKey,
        requestHash: hash,
        createdAt: result.createdAt!,
        updatedAt: result.createdAt!,
      };
      announceStockChanged(services, order.itemId);
      await Promise.all([
        publishOrderUpdated(services, order),
        // The payment, PENDING with its hold: the buyer's transactionUpdated sees it as a transfer's.
        total > 0n &&
          services.pubsub.publish('transactionUpdated', {
            id: paymentId,
            status: 'PENDING',
            fromAccountId: input.accountId,
            toAccountId: result.houseAccountId!,
            fromOwnerId: viewer.id,
            toOwnerId: HOUSE_USER_ID,
          }),
      ]);
      return order;
    }
    case 'duplicate':
      if (result.requestHash !== hash) {
        throw conflict('This idempotency key was used for a different request.', {
          'input.idempotencyKey': 'Already used for a different request.',
        });
      }
      return db.order.findUniqueOrThrow({ where: { id: result.orderId! } });
    case 'no-such-item':
      throw notFound('Item');
    case 'no-such-account':
      // Admins too pay only from their own accounts.
      throw notFound('Account');
    case 'currency-mismatch':
      throw badUserInput({
        'input.accountId': `The item is priced in ${result.itemCurrency}; this account holds ${result.accountCurrency}.`,
      });
    case 'limit-exceeded':
      throw new AppError('LIMIT_EXCEEDED', `At most ${result.limitPerUser} per buyer: this purchase would pass the limit.`);
    case 'sold-out':
      throw new AppError('SOLD_OUT', 'Not enough stock.');
    case 'insufficient-funds':
      throw new AppError('INSUFFICIENT_FUNDS', `Not enough available balance for the order's total.`);
  }
}

interface Reservation {
  outcome:
    | 'reserved'
    | 'duplicate'
    | 'no-such-item'
    | 'no-such-account'
    | 'currency-mismatch'
    | 'limit-exceeded'
    | 'sold-out'
    | 'insufficient-funds';
  orderId: string | null;
  requestHash: string | null;
  /** BIGINT, as node-postgres gives it: a decimal string. */
  total: string | null;
  createdAt: Date | null;
  itemCurrency: string | null;
  accountCurrency: string | null;
  limitPerUser: number | null;
  /** Where the payment goes (set when the order has a total). */
  houseAccountId: string | null;
}

const RESERVE_SQL = `SELECT "r_outcome" AS "outcome", "r_order_id" AS "orderId", "r_request_hash" AS "requestHash",
      "r_total" AS "total", "r_created_at" AS "createdAt", "r_item_currency" AS "itemCurrency",
      "r_account_currency" AS "accountCurrency", "r_limit_per_user" AS "limitPerUser",
      "r_house_account_id" AS "houseAccountId"
    FROM "inventory_purchase"($1, $2, $3, $4, $5::integer, $6, $7, $8)`;

/**
 * One call of inventory_purchase: everything or nothing, refusals as
 * outcomes (docs/invariants.md, "Stock: the inventory"). On the pool under
 * Prisma rather than through it: in a flash sale this is the one statement of
 * nearly every request, and Prisma's pipeline for a raw query cost the API
 * more CPU than pg itself.
 */
async function reserve(
  db: Db,
  orderId: string,
  paymentId: string,
  buyerId: string,
  input: PurchaseInput,
  hash: string,
): Promise<Reservation> {
  const { rows } = await poolOf(db).query<Reservation>({
    text: RESERVE_SQL,
    values: [orderId, buyerId, input.itemId, input.accountId, input.quantity, input.idempotencyKey, hash, paymentId],
  });
  const row = rows[0];
  if (!row) throw new Error('inventory_purchase returned nothing');
  return row;
}

// ------------------------------------------------------------- fulfilment

export type FulfilOutcome = 'fulfilled' | 'cancelled' | 'already-done' | 'no-such-order';

/**
 * The ledger idempotency key of an order's payment: a re-run finds the same
 * transaction. The house initiates payments, so the key lives in a namespace
 * no user can write to (a buyer's own transfer with this key cannot pre-empt it).
 */
const paymentKey = (orderId: string) => `order-${orderId}`;
const PAYMENT_INITIATOR = HOUSE_USER_ID;

/**
 * Takes the payment of a RESERVED order and fulfils it: a PAYMENT from the
 * order's account to the house account of its currency, recorded and settled
 * by the ledger (its one code path for money), linked to the order; then
 * PAID → FULFILLED. Not enough available balance → CANCELLED with the stock
 * back. Every step finds what an earlier or concurrent run did (the payment by
 * its idempotency key, the settlement by its status, the order by its status),
 * so a re-run changes nothing more.
 */
export async function fulfilOrder(services: AppServices, orderId: string): Promise<FulfilOutcome> {
  const order = await services.db.order.findUnique({ where: { id: orderId }, include: { item: { select: { currency: true } } } });
  if (!order) return 'no-such-order';
  if (order.status === 'CANCELLED' || order.status === 'FULFILLED') return 'already-done';
  if (order.status === 'RESERVED') {
    const outcome = await takePayment(services, order, order.item.currency);
    if (outcome !== 'paid') return outcome;
  }
  await markFulfilled(services, order);
  return 'fulfilled';
}

async function takePayment(
  services: AppServices,
  order: Order,
  currency: string,
): Promise<'paid' | 'cancelled' | 'already-done'> {
  const { db } = services;
  // Placed with the purchase, its hold included (inventory_purchase): what is left is to settle it.
  let paymentId: string | null = order.paymentTransactionId;
  if (order.total > 0n && paymentId === null) {
    // An order placed before purchases held the money: its payment is placed now, then linked.
    const payment = await recordPayment(services, order, currency);
    if (!payment) {
      // Only while no payment is linked: a concurrent run may have placed one since.
      return (await cancelOrder(services, order.id, PAYMENT_DECLINED)) ? 'cancelled' : 'already-done';
    }
    paymentId = payment.id;
    if (!(await linkPayment(db, order.id, payment.id))) {
      // Cancelled meanwhile (by a concurrent run): nothing may be charged.
      await failTransaction(services, payment.id, ORDER_CANCELLED);
      return 'cancelled';
    }
  }
  if (paymentId !== null && (await settleTransaction(services, paymentId)) !== 'completed') {
    const settled = await db.ledgerTransaction.findUniqueOrThrow({
      where: { id: paymentId },
      select: { status: true, failureReason: true },
    });
    if (settled.status === 'FAILED') {
      const reason = `Payment failed: ${settled.failureReason ?? 'the ledger refused it.'}`;
      return (await cancelOrder(services, order.id, reason, paymentId)) ? 'cancelled' : 'already-done';
    }
  }
  await markPaid(services, order, paymentId);
  return 'paid';
}

/**
 * The order's PAYMENT, PENDING with a hold on the buyer's account (or as an
 * earlier run left it); null when the available balance does not cover it.
 */
async function recordPayment(services: AppServices, order: Order, currency: string) {
  const house = await houseAccount(services, currency);
  try {
    const { transaction } = await recordTransaction(
      services,
      {
        kind: 'PAYMENT',
        fromAccountId: order.accountId,
        toAccountId: house.id,
        amount: order.total,
        memo: `Order ${order.id}`,
        initiatorId: PAYMENT_INITIATOR,
        idempotencyKey: paymentKey(order.id),
      },
      (from) => from.ownerId === order.buyerId,
    );
    return transaction;
  } catch (error) {
    // A concurrent run's payment under the same key is not this: the ledger returns that one.
    if (error instanceof AppError && error.code === 'INSUFFICIENT_FUNDS') return null;
    throw error;
  }
}

const findPayment = (db: Db, orderId: string) =>
  db.ledgerTransaction.findUnique({
    where: { initiatorId_idempotencyKey: { initiatorId: PAYMENT_INITIATOR, idempotencyKey: paymentKey(orderId) } },
  });

/** The house account that receives payments in `currency` (the USD one holds the opening balance). */
async function houseAccount(services: AppServices, currency: string): Promise<LedgerAccount> {
  // One read for every payment once the account exists; creating it (two inserts) only the first time.
  const existing = await services.db.ledgerAccount.findUnique({
    where: { ownerId_currency: { ownerId: HOUSE_USER_ID, currency } },
  });
  if (existing) return existing;
  const house = await ensureHouse(services);
  return house.currency === currency ? house : ensureAccount(services, HOUSE_USER_ID, currency);
}

/** Records the payment on the order while it is RESERVED; false when the order was cancelled first. */
async function linkPayment(db: Db, orderId: string, paymentId: string): Promise<boolean> {
  const { count } = await db.order.updateMany({
    where: { id: orderId, status: 'RESERVED', paymentTransactionId: null },
    data: { paymentTransactionId: paymentId },
  });
  if (count === 1) return true;
  const order = await db.order.findUniqueOrThrow({ where: { id: orderId }, select: { status: true, paymentTransactionId: true } });
  return order.status !== 'CANCELLED' && order.paymentTransactionId === paymentId;
}

/** RESERVED → PAID once the payment (if any: a free item has none) is COMPLETED. */
async function markPaid(services: AppServices, order: OrderRef, paymentId: string | null): Promise<boolean> {
  const { count } = await services.db.order.updateMany({
    where: { id: order.id, status: 'RESERVED', paymentTransactionId: paymentId },
    data: { status: 'PAID' },
  });
  if (count === 1) await publishOrderUpdated(services, { ...order, status: 'PAID' });
  return count === 1;
}

/** PAID → FULFILLED (the goods are digital: handing them over is the status). */
async function markFulfilled(services: AppServices, order: OrderRef): Promise<boolean> {
  const { count } = await services.db.order.updateMany({
    where: { id: order.id, status: 'PAID' },
    data: { status: 'FULFILLED' },
  });
  if (count === 1) await publishOrderUpdated(services, { ...order, status: 'FULFILLED' });
  return count === 1;
}

/**
 * RESERVED → CANCELLED with `reason`, and the order's units back into the
 * item's stock, in one statement: the stock comes back only from the row this
 * statement changed, so exactly once. Refused (false) when the order is no
 * longer RESERVED or carries a payment other than `failedPaymentId` (a payment
 * in progress must finish or fail first).
 */
async function cancelOrder(
  services: AppServices,
  orderId: string,
  reason: string,
  failedPaymentId: string | null = null,
): Promise<boolean> {
  const [cancelled] = await services.db.$queryRaw<Array<{ itemId: string; buyerId: string }>>`
    WITH "cancelled" AS (
      UPDATE "orders" SET "status" = 'CANCELLED', "failure_reason" = ${reason.slice(0, 500)}, "updated_at" = now()
      WHERE "id" = ${orderId} AND "status" = 'RESERVED'
        AND ("payment_transaction_id" IS NULL OR "payment_transaction_id" = ${failedPaymentId})
      RETURNING "item_id", "buyer_id", "quantity"
    )
    UPDATE "inventory_items" AS "item"
    SET "stock" = "item"."stock" + "cancelled"."quantity", "updated_at" = now()
    FROM "cancelled"
    WHERE "item"."id" = "cancelled"."item_id"
    RETURNING "item"."id" AS "itemId", "cancelled"."buyer_id" AS "buyerId"`;
  if (!cancelled) return false;
  announceStockChanged(services, cancelled.itemId);
  await publishOrderUpdated(services, { id: orderId, buyerId: cancelled.buyerId, status: 'CANCELLED' });
  return true;
}

/**
 * After the fulfilment job's last attempt: a RESERVED order is cancelled with
 * `reason` and its stock returned — unless its payment completed after all, in
 * which case it stays for the sweeper to finish. A payment still PENDING is
 * failed first (its hold released), so nothing is charged for a cancelled order.
 */
export async function abandonOrder(services: AppServices, orderId: string, reason: string): Promise<boolean> {
  const { db } = services;
  const order = await db.order.findUnique({ where: { id: orderId }, select: { status: true } });
  if (order?.status !== 'RESERVED') return false;
  const payment = await findPayment(db, orderId);
  if (payment) {
    await failTransaction(services, payment.id, reason);
    const { status } = await db.ledgerTransaction.findUniqueOrThrow({ where: { id: payment.id }, select: { status: true } });
    if (status === 'COMPLETED') return false;
  }
  return cancelOrder(services, orderId, reason, payment?.id ?? null);
}

/** Orders left RESERVED or PAID since before `olderThan` (the sweeper delivers their fulfilment again). */
export function staleOrders(services: AppServices, page: StalePage) {
  return services.db.order.findMany(stalePageQuery({ status: { in: ['RESERVED' as const, 'PAID' as const] } }, page));
}

// ------------------------------------------------------------ live updates

type OrderRef = Pick<Order, 'id' | 'buyerId'>;

/** Tells orderUpdated subscribers (every API process) of the order's new status; after the commit. Never throws. */
async function publishOrderUpdated(services: AppServices, order: OrderRef & Pick<Order, 'status'>): Promise<void> {
  await services.pubsub.publish('orderUpdated', { id: order.id, buyerId: order.buyerId, status: order.status });
}


/**
 * The orderUpdated feed of `viewer`: every status change of their orders —
 * or, with `orderId`, of that order only (theirs, or any for an admin;
 * otherwise NOT_FOUND, at once). Each delivered event is one read of the
 * order, with the subscriber's selection (`query`).
 */
export async function orderUpdates(
  services: AppServices,
  viewer: Viewer,
  orderId: string | null,
  query: OrderQuery = {},
): Promise<AsyncIterable<Order>> {
  let concerns: (event: OrderUpdatedEvent) => boolean;
  if (orderId === null) {
    concerns = (event) => event.buyerId === viewer.id;
  } else {
    const { id } = await getOrder(services, viewer, orderId, { select: { id: true } });
    concerns = (event) => event.id === id;
  }
  // The status is compared with the event's whatever the subscriber selected.
  const read = query.select ? { select: { ...query.select, status: true } } : query;
  return statusChanges(services.pubsub.subscribe('orderUpdated', concerns), (event) =>
    services.db.order.findUnique({ ...read, where: { id: event.id } }) as Promise<Order | null>,
  );
}
