import { describe, expect, inject, it } from 'vitest';
import { FULFILMENT_FAILED } from '../src/modules/inventory/inventory.jobs.js';
import {
  abandonOrder,
  createItem,
  fulfilOrder,
  purchase,
} from '../src/modules/inventory/inventory.service.js';
import {
  ensureHouse,
  failTransaction,
  HOUSE_USER_ID,
  recordTransaction,
  settleTransaction,
  stalePendingTransactions,
  transfer,
} from '../src/modules/ledger/ledger.service.js';
import { graphql } from './gql/index.js';
import { codes, type Session, type TestApp, useTestApp } from './helpers/app.js';
import { checkLedgerInvariants, waitFor } from './helpers/ledger.js';
import { type Buyer, createBuyers, newKey, newSku } from './helpers/shop.js';

const CreateItem = graphql(`
  mutation InvCreateItem($input: CreateItemInput!) {
    createItem(input: $input) { id sku name price currency stock limitPerUser }
  }
`);
const Restock = graphql(`
  mutation InvRestock($itemId: ID!, $quantity: Int!) { restock(itemId: $itemId, quantity: $quantity) { id stock } }
`);
const Item = graphql(`
  query InvItem($id: ID!) { item(id: $id) { id sku stock price currency limitPerUser } }
`);
const Items = graphql(`
  query InvItems($first: Int, $after: String) {
    items(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id sku } } }
  }
`);
const Purchase = graphql(`
  mutation InvPurchase($input: PurchaseInput!) {
    purchase(input: $input) {
      id quantity total status failureReason createdAt updatedAt
      buyer { id }
      item { id stock }
    }
  }
`);
const OrderQuery = graphql(`
  query InvOrder($id: ID!) {
    order(id: $id) { id status quantity total failureReason createdAt updatedAt buyer { id } item { id sku } }
  }
`);
const MyOrders = graphql(`
  query InvMyOrders($first: Int, $after: String) {
    myOrders(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id buyer { id } } } }
  }
`);

const SWEEP = { SWEEP_AFTER_MS: '1000', SWEEP_INTERVAL_MS: '500' };

const itemInput = (overrides: Record<string, unknown> = {}) => ({
  sku: newSku(),
  name: 'Test item',
  price: '250',
  currency: 'USD',
  stock: 10,
  limitPerUser: null,
  ...overrides,
});

/** An item made through the service (the GraphQL path is tested on its own). */
const newItem = (t: TestApp, overrides: Partial<Parameters<typeof createItem>[1]> = {}) =>
  createItem(t.app.services, {
    sku: newSku(),
    name: 'Test item',
    price: 250n,
    currency: 'USD',
    stock: 10,
    limitPerUser: null,
    ...overrides,
  });

const stockOf = async (t: TestApp, itemId: string) =>
  (await t.app.db.inventoryItem.findUniqueOrThrow({ where: { id: itemId } })).stock;

/** The purchase through the service alone: the order is committed, its fulfilment never enqueued. */
const reserveOnly = (t: TestApp, buyer: Buyer, itemId: string, quantity = 1) =>
  purchase(t.app.services, { id: buyer.id, role: 'USER' }, {
    itemId,
    accountId: buyer.accountId,
    quantity,
    idempotencyKey: newKey(),
  });

const buy = (t: TestApp, buyer: Buyer, itemId: string, overrides: Record<string, unknown> = {}) =>
  t.gql(
    Purchase,
    { input: { itemId, accountId: buyer.accountId, idempotencyKey: newKey(), ...overrides } },
    buyer.accessToken,
  );

describe('inventory: items, purchases and who sees what', () => {
  // No workers: orders stay as the purchase left them.
  const t = useTestApp();
  let admin: Session | undefined;
  const signedInAdmin = async () => (admin ??= await t.loginAdmin());

  it('lets admins create and restock items; a USER is FORBIDDEN, anonymous UNAUTHENTICATED', async () => {
    const [buyer] = await createBuyers(t, 1);
    const { accessToken } = await signedInAdmin();
    const input = itemInput({ limitPerUser: 3 });
    expect(codes(await t.gql(CreateItem, { input }, buyer!.accessToken))).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql(CreateItem, { input }))).toEqual(['UNAUTHENTICATED']);

    const created = await t.gql(CreateItem, { input }, accessToken);
    expect(created.data?.createItem).toEqual({ ...input, id: expect.any(String) });
    const itemId = created.data!.createItem.id;

    expect(codes(await t.gql(Restock, { itemId, quantity: 5 }, buyer!.accessToken))).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql(Restock, { itemId, quantity: 5 }))).toEqual(['UNAUTHENTICATED']);
    expect(await stockOf(t, itemId)).toBe(10);
    const restocked = await t.gql(Restock, { itemId, quantity: 5 }, accessToken);
    expect(restocked.data?.restock).toEqual({ id: itemId, stock: 15 });
    expect(codes(await t.gql(Restock, { itemId: 'no-such-item', quantity: 5 }, accessToken))).toEqual(['NOT_FOUND']);
  });

  it.each([
    ['input.sku', 'a lower-case sku', { sku: 'abc-1' }],
    ['input.sku', 'a two-character sku', { sku: 'AB' }],
    ['input.name', 'an empty name', { name: ' ' }],
    ['input.name', 'a 201-character name', { name: 'n'.repeat(201) }],
    ['input.price', 'a negative price', { price: '-1' }],
    ['input.currency', 'a lower-case currency', { currency: 'usd' }],
    ['input.currency', 'a four-letter currency', { currency: 'USDT' }],
    ['input.stock', 'a negative stock', { stock: -1 }],
    ['input.stock', 'a stock over 1,000,000', { stock: 1_000_001 }],
    ['input.limitPerUser', 'a limit of 0', { limitPerUser: 0 }],
    ['input.limitPerUser', 'a limit over 1000', { limitPerUser: 1001 }],
  ])('refuses createItem with %s (%s): BAD_USER_INPUT, nothing created', async (field, _case, override) => {
    const { accessToken } = await signedInAdmin();
    const input = itemInput(override);
    const result = await t.gql(CreateItem, { input }, accessToken);
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.fields).toHaveProperty([field]);
    expect(await t.app.db.inventoryItem.count({ where: { name: input.name as string, sku: input.sku as string } })).toBe(0);
  });

  it('refuses a duplicate SKU with CONFLICT naming the field', async () => {
    const { accessToken } = await signedInAdmin();
    const input = itemInput();
    expect(codes(await t.gql(CreateItem, { input }, accessToken))).toEqual([]);
    const again = await t.gql(CreateItem, { input: { ...input, name: 'Another' } }, accessToken);
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(again.errors?.[0]?.extensions?.fields).toHaveProperty(['input.sku']);
    expect(await t.app.db.inventoryItem.count({ where: { sku: input.sku } })).toBe(1);
  });

  it('refuses restock quantities out of 1..1,000,000 and a stock past 1,000,000', async () => {
    const { accessToken } = await signedInAdmin();
    const item = await newItem(t, { stock: 999_990 });
    for (const quantity of [0, -5, 1_000_001, 11]) {
      const result = await t.gql(Restock, { itemId: item.id, quantity }, accessToken);
      expect(codes(result), `quantity ${quantity}`).toEqual(['BAD_USER_INPUT']);
      expect(result.errors?.[0]?.extensions?.fields).toHaveProperty(['quantity']);
    }
    expect(await stockOf(t, item.id)).toBe(999_990);
    expect((await t.gql(Restock, { itemId: item.id, quantity: 10 }, accessToken)).data?.restock.stock).toBe(1_000_000);
  });

  it('answers variables that do not fit their types with BAD_USER_INPUT (missing, or the wrong shape)', async () => {
    const missing = await t.gql(Item, {} as never);
    const wrongShape = await t.gql(Item, { id: { not: 'an id' } } as never);
    expect([codes(missing), codes(wrongShape)]).toEqual([['BAD_USER_INPUT'], ['BAD_USER_INPUT']]);
  });

  it('shows items to anyone, newest first, page by page; an unknown item is NOT_FOUND', async () => {
    const made = [];
    for (let i = 0; i < 3; i += 1) made.push(await newItem(t));
    const item = await t.gql(Item, { id: made[0]!.id });
    expect(item.data?.item).toEqual({
      id: made[0]!.id,
      sku: made[0]!.sku,
      stock: 10,
      price: '250',
      currency: 'USD',
      limitPerUser: null,
    });
    expect(codes(await t.gql(Item, { id: 'no-such-item' }))).toEqual(['NOT_FOUND']);

    const total = await t.app.db.inventoryItem.count();
    const seen: string[] = [];
    let after: string | null | undefined;
    for (;;) {
      const page = await t.gql(Items, { first: 2, after });
      expect(page.data?.items.totalCount).toBe(total);
      seen.push(...page.data!.items.edges.map((edge) => edge.node.id));
      if (!page.data!.items.pageInfo.hasNextPage) break;
      after = page.data!.items.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    // The three just made are the newest.
    expect(seen.slice(0, 3)).toEqual(made.map((m) => m.id).reverse());
  });

  it('purchases: RESERVED at once with total = price × quantity and the stock taken; quantity defaults to 1', async () => {
    const [buyer] = await createBuyers(t, 1);
    const item = await newItem(t, { price: 250n, stock: 10 });
    const result = await buy(t, buyer!, item.id, { quantity: 3 });
    expect(result.data?.purchase).toMatchObject({
      quantity: 3,
      total: '750',
      status: 'RESERVED',
      failureReason: null,
      buyer: { id: buyer!.id },
      item: { id: item.id, stock: 7 },
    });
    const single = await buy(t, buyer!, item.id);
    expect(single.data?.purchase).toMatchObject({ quantity: 1, total: '250', status: 'RESERVED' });
    expect(await stockOf(t, item.id)).toBe(6);
  });

  it.each([
    ['input.quantity', 'quantity 0', { quantity: 0 }],
    ['input.quantity', 'quantity 101', { quantity: 101 }],
    ['input.idempotencyKey', 'a short key', { idempotencyKey: 'short' }],
  ])('refuses a purchase with %s (%s): BAD_USER_INPUT, no stock taken', async (field, _case, override) => {
    const [buyer] = await createBuyers(t, 1);
    const item = await newItem(t);
    const result = await buy(t, buyer!, item.id, override);
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.fields).toHaveProperty([field]);
    expect(await stockOf(t, item.id)).toBe(10);
    expect(await t.app.db.order.count({ where: { itemId: item.id } })).toBe(0);
  });

  it('refuses an unknown item, someone else’s account (NOT_FOUND) and another currency (BAD_USER_INPUT)', async () => {
    const [buyer, other] = await createBuyers(t, 2);
    const [euroBuyer] = await createBuyers(t, 1, 0n, 'EUR');
    const item = await newItem(t);
    expect(codes(await buy(t, buyer!, 'no-such-item'))).toEqual(['NOT_FOUND']);
    expect(codes(await buy(t, buyer!, item.id, { accountId: other!.accountId }))).toEqual(['NOT_FOUND']);
    // An admin, too, pays only from their own accounts.
    const { accessToken } = await signedInAdmin();
    const byAdmin = await t.gql(
      Purchase,
      { input: { itemId: item.id, accountId: buyer!.accountId, idempotencyKey: newKey() } },
      accessToken,
    );
    expect(codes(byAdmin)).toEqual(['NOT_FOUND']);
    const mismatch = await buy(t, euroBuyer!, item.id);
    expect(codes(mismatch)).toEqual(['BAD_USER_INPUT']);
    expect(mismatch.errors?.[0]?.extensions?.fields).toHaveProperty(['input.accountId']);
    expect(codes(await t.gql(Purchase, { input: { itemId: item.id, accountId: buyer!.accountId, idempotencyKey: newKey() } }))).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect(await stockOf(t, item.id)).toBe(10);
    expect(await t.app.db.order.count({ where: { itemId: item.id } })).toBe(0);
  });

  it('SOLD_OUT when the stock is short, LIMIT_EXCEEDED past the per-user limit; the limit is checked first', async () => {
    const [alice, bob] = await createBuyers(t, 2);
    const item = await newItem(t, { stock: 5, limitPerUser: 3 });
    expect(codes(await buy(t, alice!, item.id, { quantity: 3 }))).toEqual([]);
    expect(codes(await buy(t, alice!, item.id))).toEqual(['LIMIT_EXCEEDED']);
    const short = await buy(t, bob!, item.id, { quantity: 3 });
    expect(codes(short)).toEqual(['SOLD_OUT']);
    expect(short.errors?.[0]?.message).toBe('Not enough stock.');
    expect(codes(await buy(t, bob!, item.id, { quantity: 2 }))).toEqual([]);
    expect(await stockOf(t, item.id)).toBe(0);
    // Both apply: over the limit and sold out → LIMIT_EXCEEDED; within the limit → SOLD_OUT.
    expect(codes(await buy(t, alice!, item.id))).toEqual(['LIMIT_EXCEEDED']);
    expect(codes(await buy(t, bob!, item.id))).toEqual(['SOLD_OUT']);
    // More than the limit in one purchase.
    expect(codes(await buy(t, bob!, item.id, { quantity: 4 }))).toEqual(['LIMIT_EXCEEDED']);
    const orders = await t.app.db.order.findMany({ where: { itemId: item.id } });
    expect(orders.map((order) => order.quantity).sort()).toEqual([2, 3]);
  });

  it('holds the per-user limit against 50 concurrent purchases by one buyer', async () => {
    const [buyer] = await createBuyers(t, 1);
    const item = await newItem(t, { stock: 100, limitPerUser: 3 });
    const results = await Promise.all(Array.from({ length: 50 }, () => buy(t, buyer!, item.id)));
    const answers = results.map((result) => (result.errors ? codes(result)[0] : 'ORDER'));
    expect(answers.filter((answer) => answer === 'ORDER')).toHaveLength(3);
    expect(answers.filter((answer) => answer === 'LIMIT_EXCEEDED')).toHaveLength(47);
    expect(await stockOf(t, item.id)).toBe(97);
    expect(await t.app.db.order.count({ where: { itemId: item.id } })).toBe(3);
  });

  it('is idempotent per key: same input → same order and one decrement; different input → CONFLICT', async () => {
    const [buyer] = await createBuyers(t, 1);
    const item = await newItem(t, { stock: 10 });
    const input = { itemId: item.id, accountId: buyer!.accountId, quantity: 2, idempotencyKey: newKey() };
    const first = await t.gql(Purchase, { input }, buyer!.accessToken);
    const again = await t.gql(Purchase, { input }, buyer!.accessToken);
    expect(again.data?.purchase.id).toBe(first.data?.purchase.id);
    expect(await stockOf(t, item.id)).toBe(8);
    const different = await t.gql(Purchase, { input: { ...input, quantity: 3 } }, buyer!.accessToken);
    expect(codes(different)).toEqual(['CONFLICT']);
    expect(different.errors?.[0]?.extensions?.fields).toHaveProperty(['input.idempotencyKey']);
    expect(await stockOf(t, item.id)).toBe(8);
    // The key is the buyer's own: another buyer may use the same one.
    const [other] = await createBuyers(t, 1);
    const theirs = await t.gql(Purchase, { input: { ...input, accountId: other!.accountId } }, other!.accessToken);
    expect(theirs.data?.purchase.id).not.toBe(first.data?.purchase.id);
    expect(await stockOf(t, item.id)).toBe(6);
  });

  it('answers 20 concurrent requests with the same key with one order and one decrement', async () => {
    const [buyer] = await createBuyers(t, 1);
    const item = await newItem(t, { stock: 10, limitPerUser: 1 });
    const input = { itemId: item.id, accountId: buyer!.accountId, idempotencyKey: newKey() };
    const results = await Promise.all(Array.from({ length: 20 }, () => t.gql(Purchase, { input }, buyer!.accessToken)));
    expect(results.flatMap(codes)).toEqual([]);
    expect(new Set(results.map((result) => result.data?.purchase.id)).size).toBe(1);
    expect(await t.app.db.order.count({ where: { itemId: item.id } })).toBe(1);
    expect(await stockOf(t, item.id)).toBe(9);
  });

  it('shows an order to its buyer and admins only; myOrders lists only the viewer’s own', async () => {
    const [alice, bob] = await createBuyers(t, 2);
    const item = await newItem(t, { stock: 20 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await buy(t, alice!, item.id)).data!.purchase.id);
    await buy(t, bob!, item.id);

    const byAlice = await t.gql(OrderQuery, { id: ids[0]! }, alice!.accessToken);
    expect(byAlice.data?.order).toMatchObject({ id: ids[0], status: 'RESERVED', buyer: { id: alice!.id }, item: { id: item.id } });
    expect(codes(await t.gql(OrderQuery, { id: ids[0]! }, bob!.accessToken))).toEqual(['NOT_FOUND']);
    expect(codes(await t.gql(OrderQuery, { id: ids[0]! }))).toEqual(['UNAUTHENTICATED']);
    const { accessToken } = await signedInAdmin();
    expect((await t.gql(OrderQuery, { id: ids[0]! }, accessToken)).data?.order?.buyer.id).toBe(alice!.id);

    const first = await t.gql(MyOrders, { first: 2 }, alice!.accessToken);
    expect(first.data?.myOrders.totalCount).toBe(3);
    expect(first.data?.myOrders.pageInfo.hasNextPage).toBe(true);
    const second = await t.gql(MyOrders, { first: 2, after: first.data!.myOrders.pageInfo.endCursor }, alice!.accessToken);
    expect(second.data?.myOrders.pageInfo.hasNextPage).toBe(false);
    const listed = [...first.data!.myOrders.edges, ...second.data!.myOrders.edges].map((edge) => edge.node);
    expect(listed.map((order) => order.id)).toEqual([...ids].reverse());
    expect(listed.every((order) => order.buyer.id === alice!.id)).toBe(true);
    expect((await t.gql(MyOrders, {}, bob!.accessToken)).data?.myOrders.totalCount).toBe(1);
    expect(codes(await t.gql(MyOrders, {}))).toEqual(['UNAUTHENTICATED']);
  });

  it('gives up on an order whose payment is still PENDING: the payment FAILED, its hold released, the stock back', async () => {
    const [buyer] = await createBuyers(t, 1, 1000n);
    const item = await newItem(t, { price: 300n, stock: 3 });
    // As every fulfilment attempt leaves it when none got to settle: the purchase's own PENDING payment.
    const order = await reserveOnly(t, buyer!, item.id);
    expect(order.paymentTransactionId).not.toBeNull();
    const account = () => t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: buyer!.accountId } });
    expect((await account()).held).toBe(300n);

    expect(await abandonOrder(t.app.services, order.id, FULFILMENT_FAILED)).toBe(true);
    expect(await t.app.db.order.findUniqueOrThrow({ where: { id: order.id } })).toMatchObject({ status: 'CANCELLED' });
    const payment = await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: order.paymentTransactionId! } });
    expect(payment).toMatchObject({ status: 'FAILED', kind: 'PAYMENT' });
    expect(await account()).toMatchObject({ balance: 1000n, held: 0n });
    expect(await stockOf(t, item.id)).toBe(3);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance, { pendingAllowed: true });
  });

  it('holds the total at purchase: INSUFFICIENT_FUNDS at once when it does not fit, with nothing written', async () => {
    const [buyer] = await createBuyers(t, 1, 1000n);
    const item = await newItem(t, { price: 400n, stock: 10 });
    const account = () => t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: buyer!.accountId } });
    const first = await buy(t, buyer!, item.id, { quantity: 2 });
    expect(first.data?.purchase).toMatchObject({ status: 'RESERVED', total: '800' });
    expect(await account()).toMatchObject({ balance: 1000n, held: 800n });
    const pending = await t.app.db.ledgerTransaction.findMany({ where: { fromAccountId: buyer!.accountId, kind: 'PAYMENT' } });
    expect(pending.map((payment) => [payment.status, payment.amount])).toEqual([['PENDING', 800n]]);
    // 200 left available: one more unit does not fit.
    const refused = await buy(t, buyer!, item.id);
    expect(codes(refused)).toEqual(['INSUFFICIENT_FUNDS']);
    expect(await account()).toMatchObject({ balance: 1000n, held: 800n });
    expect(await stockOf(t, item.id)).toBe(8);
    expect(await t.app.db.order.count({ where: { buyerId: buyer!.id } })).toBe(1);
    expect(await t.app.db.ledgerTransaction.count({ where: { fromAccountId: buyer!.accountId, kind: 'PAYMENT' } })).toBe(1);
    // An empty account cannot lock real buyers out of an unlimited item.
    const [empty] = await createBuyers(t, 1, 0n);
    const unlimited = await newItem(t, { price: 1n, stock: 100 });
    expect(codes(await buy(t, empty!, unlimited.id, { quantity: 100 }))).toEqual(['INSUFFICIENT_FUNDS']);
    expect(await stockOf(t, unlimited.id)).toBe(100);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance, { pendingAllowed: true });
  });

  it('holds exactly what the account covers under 200 concurrent purchases of one buyer', async () => {
    const [buyer] = await createBuyers(t, 1, 1000n);
    const item = await newItem(t, { price: 100n, stock: 500 });
    const answers = await Promise.all(Array.from({ length: 200 }, () => buy(t, buyer!, item.id)));
    const outcomes = answers.map((answer) => (answer.errors ? String(codes(answer)[0]) : 'ORDER'));
    expect(outcomes.filter((outcome) => outcome === 'ORDER')).toHaveLength(10);
    expect(outcomes.filter((outcome) => outcome === 'INSUFFICIENT_FUNDS')).toHaveLength(190);
    expect(await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: buyer!.accountId } })).toMatchObject({
      balance: 1000n,
      held: 1000n,
    });
    expect(await stockOf(t, item.id)).toBe(490);
    expect(await t.app.db.order.count({ where: { itemId: item.id } })).toBe(10);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance, { pendingAllowed: true });
  });

  it('refuses, with SOLD_OUT rather than INSUFFICIENT_FUNDS, a purchase that neither the stock nor the money covers', async () => {
    const [buyer] = await createBuyers(t, 1, 10n);
    const item = await newItem(t, { price: 500n, stock: 1 });
    expect(codes(await buy(t, buyer!, item.id, { quantity: 2 }))).toEqual(['SOLD_OUT']);
    expect(await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: buyer!.accountId } })).toMatchObject({ held: 0n });
  });

  it('never settles a PAYMENT no order links: the sweeper fails it and releases its hold', async () => {
    // The state a fulfilment run of an order placed before purchases held the money could leave when it died
    // between its hold and its link, after a concurrent run had cancelled the order: an unlinked PENDING payment.
    const [buyer] = await createBuyers(t, 1, 1000n);
    const item = await newItem(t, { price: 300n, stock: 3 });
    const order = await reserveOnly(t, buyer!, item.id);
    expect(await abandonOrder(t.app.services, order.id, FULFILMENT_FAILED)).toBe(true);
    const house = await ensureHouse(t.app.services);
    const { transaction: orphan } = await recordTransaction(
      t.app.services,
      {
        kind: 'PAYMENT',
        fromAccountId: buyer!.accountId,
        toAccountId: house.id,
        amount: 300n,
        initiatorId: HOUSE_USER_ID,
        idempotencyKey: `order-${order.id}-lost-run`,
      },
      () => true,
    );
    expect((await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: buyer!.accountId } })).held).toBe(300n);
    // What the ledger's sweeper delivers for it: the settlement job (ledger_settle).
    const stale = await stalePendingTransactions(t.app.services, { olderThan: new Date(Date.now() + 60_000), after: undefined, limit: 500 });
    expect(stale.map((row) => row.id)).toContain(orphan.id);
    expect(await settleTransaction(t.app.services, orphan.id)).toBe('failed');
    expect(await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: orphan.id } })).toMatchObject({ status: 'FAILED' });
    expect(await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: buyer!.accountId } })).toMatchObject({
      balance: 1000n,
      held: 0n,
    });
    expect(await t.app.db.order.findUniqueOrThrow({ where: { id: order.id } })).toMatchObject({ status: 'CANCELLED' });
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance, { pendingAllowed: true });
  });

  it('refuses, in the database itself, a stock below zero', async () => {
    const item = await newItem(t, { stock: 1 });
    await expect(
      t.app.db.$executeRawUnsafe('UPDATE "inventory_items" SET "stock" = "stock" - 2 WHERE "id" = $1', item.id),
    ).rejects.toThrow(/check/i);
    expect(await stockOf(t, item.id)).toBe(1);
  });
});

describe('salesReport', () => {
  const t = useTestApp();
  const Report = `query Report($from: DateTime, $to: DateTime, $first: Int) {
    salesReport(from: $from, to: $to, first: $first) { item { id sku } orders units revenue }
  }`;
  type Rows = { salesReport: Array<{ item: { id: string }; orders: number; units: number; revenue: string }> };

  it('admins only: the FULFILLED orders placed in the window, grouped by item, most revenue first', async () => {
    const admin = await t.loginAdmin();
    const [ada, bob] = await createBuyers(t, 2);
    // The database's clock: orders are stamped by it.
    const start = (await t.app.db.$queryRaw<{ now: Date }[]>`SELECT now()`)[0]!.now;
    const cheap = await newItem(t, { price: 100n, stock: 100 });
    const dear = await newItem(t, { price: 1000n, stock: 100 });
    const unsold = await newItem(t, { price: 5n, stock: 100 });
    const fulfilled = [
      await reserveOnly(t, ada!, cheap.id, 3),
      await reserveOnly(t, bob!, cheap.id, 2),
      await reserveOnly(t, ada!, dear.id, 1),
    ];
    const cancelled = await reserveOnly(t, bob!, dear.id, 1);
    await reserveOnly(t, ada!, unsold.id, 1); // left RESERVED
    for (const order of fulfilled) await fulfilOrder(t.app.services, order.id);
    expect(await abandonOrder(t.app.services, cancelled.id, FULFILMENT_FAILED)).toBe(true);
    expect(await t.app.db.order.count({ where: { id: { in: fulfilled.map((order) => order.id) }, status: 'FULFILLED' } })).toBe(3);

    const report = async (variables: Record<string, unknown>, token = admin.accessToken) =>
      t.gql<Rows, unknown>(Report, variables, token);
    const rows = (await report({ from: start.toISOString() })).data!.salesReport;
    expect(rows.map(({ item, orders, units, revenue }) => [item.id, orders, units, revenue])).toEqual([
      [dear.id, 1, 1, '1000'],
      [cheap.id, 2, 5, '500'],
    ]);
    expect((await report({ from: start.toISOString(), first: 1 })).data!.salesReport.map((row) => row.item.id)).toEqual([dear.id]);
    // `to` is exclusive: nothing placed before the window's start is these.
    const before = (await report({ to: start.toISOString() })).data!.salesReport.map((row) => row.item.id);
    expect(before).not.toContain(dear.id);
    expect(before).not.toContain(cheap.id);

    expect(codes(await report({ first: 0 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await report({ first: 101 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await report({ from: start.toISOString(), to: start.toISOString() }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await report({}, ada!.accessToken))).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql(Report, {}))).toEqual(['UNAUTHENTICATED']);
  });
});

describe.each(['redis', 'postgres'] as const)('order fulfilment on the %s queue backend', (backend) => {
  const t = useTestApp({ ...SWEEP, ...(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}) }, { workers: true });

  const settledOrder = (orderId: string) =>
    waitFor(async () => {
      const order = await t.app.db.order.findUniqueOrThrow({ where: { id: orderId } });
      return order.status === 'FULFILLED' || order.status === 'CANCELLED' ? order : undefined;
    });
  const houseBalance = async () =>
    (await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { ownerId_currency: { ownerId: HOUSE_USER_ID, currency: 'USD' } } }))
      .balance;
  const balanceOf = async (accountId: string) =>
    (await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: accountId } })).balance;

  it('takes the payment: RESERVED at once, then PAID → FULFILLED with a COMPLETED PAYMENT to the house', async () => {
    const [buyer] = await createBuyers(t, 1, 10_000n);
    const item = await newItem(t, { price: 1200n, stock: 5 });
    const houseBefore = await houseBalance();
    const result = await buy(t, buyer!, item.id, { quantity: 2 });
    expect(result.data?.purchase).toMatchObject({ status: 'RESERVED', total: '2400' });

    const order = await settledOrder(result.data!.purchase.id);
    expect(order.status).toBe('FULFILLED');
    expect(order.failureReason).toBeNull();
    expect(order.updatedAt.getTime()).toBeGreaterThan(order.createdAt.getTime());
    const payment = await t.app.db.ledgerTransaction.findUniqueOrThrow({
      where: { id: order.paymentTransactionId! },
      include: { entries: true },
    });
    expect(payment).toMatchObject({ kind: 'PAYMENT', status: 'COMPLETED', amount: 2400n, fromAccountId: buyer!.accountId, initiatorId: HOUSE_USER_ID });
    expect(payment.entries.map((entry) => entry.amount).sort()).toEqual([-2400n, 2400n]);
    expect(await balanceOf(buyer!.accountId)).toBe(7600n);
    expect(await houseBalance()).toBe(houseBefore + 2400n);
    expect(await stockOf(t, item.id)).toBe(3);
    const seen = await t.gql(OrderQuery, { id: order.id }, buyer!.accessToken);
    expect(seen.data?.order?.status).toBe('FULFILLED');

    // Delivered again, twice at once: nothing more is charged or changed.
    const again = await Promise.all([fulfilOrder(t.app.services, order.id), fulfilOrder(t.app.services, order.id)]);
    expect(again).toEqual(['already-done', 'already-done']);
    expect(await t.app.db.order.findUniqueOrThrow({ where: { id: order.id } })).toEqual(order);
    expect(await balanceOf(buyer!.accountId)).toBe(7600n);
    expect(await t.app.db.ledgerTransaction.count({ where: { kind: 'PAYMENT', fromAccountId: buyer!.accountId } })).toBe(1);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });

  it('pays items in another currency to the house account of that currency', async () => {
    const [buyer] = await createBuyers(t, 1, 5000n, 'EUR');
    const item = await newItem(t, { price: 700n, currency: 'EUR', stock: 5 });
    const result = await buy(t, buyer!, item.id);
    const order = await settledOrder(result.data!.purchase.id);
    expect(order.status).toBe('FULFILLED');
    const house = await t.app.db.ledgerAccount.findUniqueOrThrow({
      where: { ownerId_currency: { ownerId: HOUSE_USER_ID, currency: 'EUR' } },
    });
    const payment = await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: order.paymentTransactionId! } });
    expect(payment).toMatchObject({ toAccountId: house.id, currency: 'EUR', amount: 700n, status: 'COMPLETED' });
    expect(await balanceOf(buyer!.accountId)).toBe(4300n);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });

  it('fulfils a free item without a payment', async () => {
    const [buyer] = await createBuyers(t, 1);
    const item = await newItem(t, { price: 0n, stock: 2 });
    const order = await settledOrder((await buy(t, buyer!, item.id)).data!.purchase.id);
    expect(order).toMatchObject({ status: 'FULFILLED', total: 0n, paymentTransactionId: null });
    expect(await t.app.db.ledgerTransaction.count({ where: { fromAccountId: buyer!.accountId } })).toBe(0);
    expect(await stockOf(t, item.id)).toBe(1);
  });

  it('cancels an order whose payment failed, with a reason, and returns the stock exactly once', async () => {
    const [buyer] = await createBuyers(t, 1, 1000n);
    const item = await newItem(t, { price: 500n, stock: 4 });
    const order = await reserveOnly(t, buyer!, item.id, 2);
    // The ledger gave up on the payment (its settlement job's last attempt): FAILED, the hold released.
    expect(await failTransaction(t.app.services, order.paymentTransactionId!, 'the ledger gave up')).toBe(true);
    expect(await fulfilOrder(t.app.services, order.id)).toBe('cancelled');
    const cancelled = await settledOrder(order.id);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', failureReason: 'Payment failed: the ledger gave up' });
    expect(await stockOf(t, item.id)).toBe(4);

    // Run again, several times at once: nothing changes.
    const outcomes = await Promise.all([
      ...Array.from({ length: 4 }, () => fulfilOrder(t.app.services, order.id)),
      abandonOrder(t.app.services, order.id, FULFILMENT_FAILED),
    ]);
    expect(outcomes).toEqual(['already-done', 'already-done', 'already-done', 'already-done', false]);
    expect(await stockOf(t, item.id)).toBe(4);
    expect(await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: buyer!.accountId } })).toMatchObject({
      balance: 1000n,
      held: 0n,
    });
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });

  it('runs concurrently with itself and with giving up, and charges once or returns the stock once', async () => {
    const buyers = await createBuyers(t, 8, 1000n);
    const item = await newItem(t, { price: 600n, stock: 10 });
    // Not enqueued: the runs below race each other, the last attempt's giving up, and the sweepers.
    const orders = await Promise.all(buyers.map((buyer) => reserveOnly(t, buyer, item.id, 1)));
    expect(await stockOf(t, item.id)).toBe(2);
    await Promise.all(
      orders.flatMap((order) => [
        ...Array.from({ length: 4 }, () => fulfilOrder(t.app.services, order.id)),
        abandonOrder(t.app.services, order.id, FULFILMENT_FAILED),
      ]),
    );
    const settled = await Promise.all(orders.map((order) => settledOrder(order.id)));
    let fulfilled = 0;
    for (const [index, order] of settled.entries()) {
      const payment = await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: order.paymentTransactionId! } });
      const balance = await balanceOf(buyers[index]!.accountId);
      // Charged exactly when fulfilled; a cancelled order's payment FAILED and its money is the buyer's.
      if (order.status === 'FULFILLED') {
        fulfilled += 1;
        expect([payment.status, balance]).toEqual(['COMPLETED', 400n]);
      } else {
        expect([order.status, payment.status, balance]).toEqual(['CANCELLED', 'FAILED', 1000n]);
      }
    }
    expect(await stockOf(t, item.id)).toBe(2 + (orders.length - fulfilled));
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });

  it('gives up after the last attempt: CANCELLED once, stock back, the limit freed; a finished order is left alone', async () => {
    const [buyer] = await createBuyers(t, 1, 1000n);
    const item = await newItem(t, { price: 300n, stock: 3, limitPerUser: 2 });
    // Not enqueued: as if every attempt had failed before the payment was taken.
    const order = await reserveOnly(t, buyer!, item.id);
    const [first, second] = await Promise.all([
      abandonOrder(t.app.services, order.id, FULFILMENT_FAILED),
      abandonOrder(t.app.services, order.id, FULFILMENT_FAILED),
    ]);
    expect([first, second].sort()).toEqual([false, true]);
    expect(await t.app.db.order.findUniqueOrThrow({ where: { id: order.id } })).toMatchObject({
      status: 'CANCELLED',
      failureReason: FULFILMENT_FAILED,
    });
    expect(await stockOf(t, item.id)).toBe(3);
    expect(await fulfilOrder(t.app.services, order.id)).toBe('already-done');
    expect(await balanceOf(buyer!.accountId)).toBe(1000n);

    const done = await settledOrder((await buy(t, buyer!, item.id)).data!.purchase.id);
    expect(done.status).toBe('FULFILLED');
    expect(await abandonOrder(t.app.services, done.id, FULFILMENT_FAILED)).toBe(false);
    expect((await t.app.db.order.findUniqueOrThrow({ where: { id: done.id } })).status).toBe('FULFILLED');
    expect(await stockOf(t, item.id)).toBe(2);
    // The cancelled unit no longer counts against the limit of 2: one more may be bought, not two.
    const last = await buy(t, buyer!, item.id);
    expect(codes(await buy(t, buyer!, item.id))).toEqual(['LIMIT_EXCEEDED']);
    expect((await settledOrder(last.data!.purchase.id)).status).toBe('FULFILLED');
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });

  it('takes the payment even when the buyer used its ledger key first (payment keys are the house’s)', async () => {
    const [buyer, friend] = await createBuyers(t, 2, 1000n);
    const item = await newItem(t, { price: 100n, stock: 3 });
    const order = await reserveOnly(t, buyer!, item.id);
    // The buyer's own transfer under the key the payment uses.
    await transfer(t.app.services, { id: buyer!.id, role: 'USER' }, {
      fromAccountId: buyer!.accountId,
      toAccountId: friend!.accountId,
      amount: 10n,
      idempotencyKey: `order-${order.id}`,
    });
    expect(await fulfilOrder(t.app.services, order.id)).toBe('fulfilled');
    const paid = await t.app.db.order.findUniqueOrThrow({ where: { id: order.id }, include: { payment: true } });
    expect(paid.status).toBe('FULFILLED');
    expect(paid.payment).toMatchObject({ kind: 'PAYMENT', amount: 100n, initiatorId: HOUSE_USER_ID });
  });

  it('fulfils, through the sweeper, an order that was committed but never enqueued', async () => {
    const [buyer] = await createBuyers(t, 1, 1000n);
    const item = await newItem(t, { price: 100n, stock: 3 });
    const order = await reserveOnly(t, buyer!, item.id);
    expect(order.status).toBe('RESERVED');
    expect((await settledOrder(order.id)).status).toBe('FULFILLED');
    expect(await balanceOf(buyer!.accountId)).toBe(900n);
  });
});
