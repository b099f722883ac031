import { describe, expect, it } from 'vitest';
import { fulfilOrder } from '../src/modules/inventory/inventory.service.js';
import { HOUSE_USER_ID } from '../src/modules/ledger/ledger.service.js';
import { graphql } from './gql/index.js';
import { codes, type GraphQLResponse, useTestApp } from './helpers/app.js';
import { checkLedgerInvariants, waitFor } from './helpers/ledger.js';
import { type Buyer, createBuyers, newKey, newSku } from './helpers/shop.js';

/**
 * The flash sale: far more buyers than stock, all at once, against the real
 * stack (GraphQL over the in-process Fastify + Yoga, PostgreSQL, the workers
 * running inline). The claims: nothing is oversold, no buyer passes the
 * limit, every refusal is SOLD_OUT or LIMIT_EXCEEDED (never a 500), and the
 * stock of orders that cannot be paid comes back exactly once.
 */

const FlashPurchase = graphql(`
  mutation FlashPurchase($input: PurchaseInput!) { purchase(input: $input) { id status quantity } }
`);

const BUYERS = 200;
const ATTEMPTS_PER_BUYER = 5;
const STOCK = 100;
const LIMIT = 2;
const PRICE = 150n;

const purchaseAll = (t: ReturnType<typeof useTestApp>, buyers: Buyer[], itemId: string, attempts: number) =>
  Promise.all(
    buyers.flatMap((buyer) =>
      Array.from({ length: attempts }, () =>
        t
          .gql(FlashPurchase, { input: { itemId, accountId: buyer.accountId, idempotencyKey: newKey() } }, buyer.accessToken)
          .then((response) => ({ buyer, response })),
      ),
    ),
  );

const outcome = (response: GraphQLResponse<unknown>) =>
  response.status !== 200 ? `HTTP_${response.status}` : response.errors ? String(codes(response)[0]) : 'ORDER';

describe('a flash sale', () => {
  const t = useTestApp({}, { workers: true });

  const createItem = (stock: number, limitPerUser: number | null) =>
    t.app.db.inventoryItem.create({
      data: { sku: newSku(), name: 'Flash item', price: PRICE, currency: 'USD', stock, limitPerUser },
    });
  const stockOf = async (itemId: string) => (await t.app.db.inventoryItem.findUniqueOrThrow({ where: { id: itemId } })).stock;
  const openOrders = (itemId: string) =>
    t.app.db.order.count({ where: { itemId, status: { in: ['RESERVED', 'PAID'] } } });

  it(`sells exactly ${STOCK} units to ${BUYERS} buyers firing ${ATTEMPTS_PER_BUYER} purchases each, at most ${LIMIT} per buyer`, async ({ annotate }) => {
    const started = performance.now();
    const buyers = await createBuyers(t, BUYERS, PRICE * BigInt(LIMIT) * 2n);
    const item = await createItem(STOCK, LIMIT);
    const houseBefore = (
      await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { ownerId_currency: { ownerId: HOUSE_USER_ID, currency: 'USD' } } })
    ).balance;
    const prepared = performance.now();

    const results = await purchaseAll(t, buyers, item.id, ATTEMPTS_PER_BUYER);
    const sold = performance.now();

    const tally = new Map<string, number>();
    for (const { response } of results) tally.set(outcome(response), (tally.get(outcome(response)) ?? 0) + 1);
    const orders = tally.get('ORDER') ?? 0;
    const soldOut = tally.get('SOLD_OUT') ?? 0;
    const limited = tally.get('LIMIT_EXCEEDED') ?? 0;
    // Every answer is an order, SOLD_OUT or LIMIT_EXCEEDED: no other code, no HTTP error.
    expect([...tally.keys()].sort()).toEqual(['LIMIT_EXCEEDED', 'ORDER', 'SOLD_OUT']);
    expect(orders + soldOut + limited).toBe(BUYERS * ATTEMPTS_PER_BUYER);
    expect(orders).toBe(STOCK);
    expect(results.filter(({ response }) => response.data?.purchase).every(({ response }) => response.data!.purchase.status === 'RESERVED')).toBe(true);

    // The database agrees: every unit sold once, none left, nobody above the limit.
    expect(await stockOf(item.id)).toBe(0);
    const rows = await t.app.db.order.findMany({ where: { itemId: item.id }, select: { buyerId: true, quantity: true, status: true } });
    expect(rows).toHaveLength(STOCK);
    expect(rows.filter((row) => row.status !== 'CANCELLED').reduce((sum, row) => sum + row.quantity, 0)).toBe(STOCK);
    const perBuyer = new Map<string, number>();
    for (const row of rows) perBuyer.set(row.buyerId, (perBuyer.get(row.buyerId) ?? 0) + row.quantity);
    expect(Math.max(...perBuyer.values())).toBeLessThanOrEqual(LIMIT);
    // Each buyer's answers match their orders: an order for each unit they hold.
    for (const buyer of buyers) {
      const answered = results.filter((result) => result.buyer === buyer && result.response.data?.purchase).length;
      expect(answered).toBe(perBuyer.get(buyer.id) ?? 0);
    }

    // Then the workers take every payment: all FULFILLED, the house paid for exactly STOCK units.
    await waitFor(async () => (await openOrders(item.id)) === 0 || undefined, 30_000);
    const fulfilled = performance.now();
    expect(await t.app.db.order.count({ where: { itemId: item.id, status: 'FULFILLED' } })).toBe(STOCK);
    const house = await t.app.db.ledgerAccount.findUniqueOrThrow({
      where: { ownerId_currency: { ownerId: HOUSE_USER_ID, currency: 'USD' } },
    });
    expect(house.balance - houseBefore).toBe(PRICE * BigInt(STOCK));
    expect(await stockOf(item.id)).toBe(0);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);

    const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(2);
    await annotate(
      `flash sale: ${BUYERS} buyers set up in ${seconds(started, prepared)} s; ` +
        `${BUYERS * ATTEMPTS_PER_BUYER} purchases in ${seconds(prepared, sold)} s ` +
        `(${orders} orders, ${soldOut} SOLD_OUT, ${limited} LIMIT_EXCEEDED); ` +
        `${STOCK} orders fulfilled ${seconds(sold, fulfilled)} s later`,
    );
  });

  it('sells only to buyers who can pay: the rest INSUFFICIENT_FUNDS at once, the paid charged once despite racing runs', async () => {
    const broke = await createBuyers(t, 40, 0n);
    const funded = await createBuyers(t, 20, PRICE);
    const item = await createItem(60, 1);

    const results = await purchaseAll(t, [...broke, ...funded], item.id, 1);
    const brokeIds = new Set(broke.map((buyer) => buyer.id));
    for (const { buyer, response } of results) {
      expect(outcome(response)).toBe(brokeIds.has(buyer.id) ? 'INSUFFICIENT_FUNDS' : 'ORDER');
    }
    // An account that cannot pay takes no stock: only the 20 paid units left it.
    expect(await stockOf(item.id)).toBe(40);
    const ids = results.flatMap(({ response }) => (response.data?.purchase ? [response.data.purchase.id] : []));
    // Every order's fulfilment three more times, racing the worker's own run.
    await Promise.all(ids.flatMap((id) => [fulfilOrder(t.app.services, id), fulfilOrder(t.app.services, id), fulfilOrder(t.app.services, id)]));
    await waitFor(async () => (await openOrders(item.id)) === 0 || undefined, 30_000);

    const orders = await t.app.db.order.findMany({ where: { itemId: item.id } });
    expect(orders.map((order) => order.status)).toEqual(Array(20).fill('FULFILLED'));
    expect(await stockOf(item.id)).toBe(40);
    for (const buyer of funded) {
      expect(await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: buyer.accountId } })).toMatchObject({ balance: 0n, held: 0n });
    }
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });
});
