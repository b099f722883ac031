import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { FULFILMENT_FAILED } from '../src/modules/inventory/inventory.jobs.js';
import { abandonOrder, createItem, purchase, restock } from '../src/modules/inventory/inventory.service.js';
import { STOCK_FEED_INTERVAL_MS } from '../src/modules/inventory/stock-feed.js';
import { graphql } from './gql/index.js';
import { useTestApp } from './helpers/app.js';
import { eventually, killListeningConnection, type LiveResult, metric, sseSubscribe, subscriptionsRunning, wsClient } from './helpers/live.js';
import { type Buyer, createBuyers, newKey, newSku } from './helpers/shop.js';
import { sleep } from './harness/wait.js';

/**
 * orderUpdated and stockChanged against a real listening server, with
 * graphql-ws's own client and an SSE stream, on both event buses; the
 * fulfilment worker runs in the test process.
 */

const Purchase = graphql(`
  mutation LivePurchase($input: PurchaseInput!) { purchase(input: $input) { id status } }
`);
const OrderUpdated = graphql(`
  subscription LiveOrderUpdated($orderId: ID) {
    orderUpdated(orderId: $orderId) { id status failureReason quantity total item { id } buyer { id } }
  }
`);
const StockChanged = graphql(`
  subscription LiveStockChanged($itemId: ID!) { stockChanged(itemId: $itemId) { id sku stock price limitPerUser } }
`);

type OrderUpdate = { orderUpdated: { id: string; status: string; failureReason: string | null; buyer: { id: string } } };
type StockUpdate = { stockChanged: { id: string; stock: number } };

const bearer = (buyer: Buyer) => `Bearer ${buyer.accessToken}`;
const codesOf = (error: unknown) => (error as Array<{ extensions?: { code?: string } }>).map((e) => e.extensions?.code);
const statusesOf = (results: Array<LiveResult<OrderUpdate>>, orderId: string) =>
  results.filter((r) => r.data?.orderUpdated.id === orderId).map((r) => r.data!.orderUpdated.status);
const stocksOf = (results: Array<LiveResult<StockUpdate>>) => results.map((r) => r.data?.stockChanged.stock);

describe.each(['redis', 'postgres'] as const)('orderUpdated and stockChanged on the %s event bus', (backend) => {
  const t = useTestApp({ ...(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}) }, { workers: true });
  let baseUrl = '';
  beforeAll(async () => {
    baseUrl = await t.app.start();
  });

  const newItem = (stock: number, price = 100n) =>
    createItem(t.app.services, { sku: newSku(), name: 'Live item', price, currency: 'USD', stock, limitPerUser: null });
  const buy = (buyer: Buyer, itemId: string) =>
    t.gql(Purchase, { input: { itemId, accountId: buyer.accountId, idempotencyKey: newKey() } }, buyer.accessToken);

  it('an order reaches its buyer through every status, and no one else', async () => {
    const [buyer, outsider] = await createBuyers(t, 2, 10_000n);
    const item = await newItem(5);
    const clients = [wsClient(baseUrl, bearer(buyer!)), wsClient(baseUrl, bearer(outsider!))];
    try {
      const before = await metric(baseUrl, 'switchyard_subscriptions{transport="ws"}');
      const [mine, theirs] = clients.map((client) => client.subscribe(OrderUpdated, {}));
      await subscriptionsRunning(baseUrl, 'ws', before + 2);

      const order = (await buy(buyer!, item.id)).data!.purchase;
      await eventually(() => statusesOf(mine!.results as Array<LiveResult<OrderUpdate>>, order.id).includes('FULFILLED'), 'FULFILLED', 20_000);
      const statuses = statusesOf(mine!.results as Array<LiveResult<OrderUpdate>>, order.id);
      // In order, never twice; an event is skipped only when its status was superseded before delivery.
      const lifecycle = ['RESERVED', 'PAID', 'FULFILLED'];
      expect(statuses.at(-1)).toBe('FULFILLED');
      expect(statuses).toEqual(lifecycle.filter((status) => statuses.includes(status)));
      expect(mine!.results.at(-1)!.data!.orderUpdated.buyer.id).toBe(buyer!.id);

      await sleep(300);
      expect(statusesOf(theirs!.results as Array<LiveResult<OrderUpdate>>, order.id)).toEqual([]);
      expect(theirs!.results).toEqual([]);
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });

  it('a cancelled order arrives CANCELLED with its reason, and the stock comes back on stockChanged', async () => {
    const [buyer] = await createBuyers(t, 1, 1000n);
    const item = await newItem(3, 500n);
    const client = wsClient(baseUrl, bearer(buyer!));
    try {
      const stock = client.subscribe(StockChanged, { itemId: item.id });
      expect(stocksOf((await stock.waitForResults(1)) as Array<LiveResult<StockUpdate>>)).toEqual([3]);
      // Reserved without a fulfilment job, then given up on as after the job's last attempt.
      const order = await purchase(t.app.services, { id: buyer!.id, role: 'USER' }, {
        itemId: item.id,
        accountId: buyer!.accountId,
        quantity: 1,
        idempotencyKey: newKey(),
      });
      const feed = client.subscribe(OrderUpdated, { orderId: order.id });
      await subscriptionsRunning(baseUrl, 'ws', 2);
      expect(await abandonOrder(t.app.services, order.id, FULFILMENT_FAILED)).toBe(true);
      await eventually(
        () => statusesOf(feed.results as Array<LiveResult<OrderUpdate>>, order.id).includes('CANCELLED'),
        'CANCELLED',
        20_000,
      );
      const cancelled = (feed.results as Array<LiveResult<OrderUpdate>>).at(-1)!.data!.orderUpdated;
      expect(cancelled.failureReason).toBe(FULFILMENT_FAILED);
      // 3 → 2 (reserved) → 3 (cancelled); the 2 may be coalesced away, never the final 3.
      await eventually(() => stock.results.length >= 2 && stocksOf(stock.results as Array<LiveResult<StockUpdate>>).at(-1) === 3, 'stock back to 3');
      expect(stocksOf(stock.results as Array<LiveResult<StockUpdate>>).slice(1).every((s) => s === 2 || s === 3)).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it('a subscriber that reads nothing queues only the events it accepts, so its own is never crowded out', async () => {
    const { pubsub } = t.app.services;
    const mine = pubsub.subscribe('orderUpdated', (event) => event.buyerId === 'me');
    const first = mine.next(); // starts listening
    await sleep(50);
    // More events for others than a subscriber's backlog may hold (1,024), then one of its own.
    for (let n = 0; n < 1100; n += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => pubsub.publish('orderUpdated', { id: `other-${n + i}`, buyerId: 'someone', status: 'PAID' })),
      );
    }
    expect(await pubsub.publish('orderUpdated', { id: 'mine', buyerId: 'me', status: 'PAID' })).toBe(true);
    expect((await first).value).toEqual({ id: 'mine', buyerId: 'me', status: 'PAID' });
    await mine.return();
  });

  it('orderUpdated: anonymous is UNAUTHENTICATED; someone else’s orderId is NOT_FOUND', async () => {
    const [buyer, other] = await createBuyers(t, 2, 1000n);
    const item = await newItem(2);
    const order = (await buy(buyer!, item.id)).data!.purchase;
    const anonymous = wsClient(baseUrl);
    const stranger = wsClient(baseUrl, bearer(other!));
    try {
      const refused = anonymous.subscribe(OrderUpdated, {});
      const hidden = stranger.subscribe(OrderUpdated, { orderId: order.id });
      // One result with the error, then complete: the stream never started.
      expect(await Promise.all([refused.ended, hidden.ended])).toEqual([{ completed: true }, { completed: true }]);
      expect(refused.results.map((result) => codesOf(result.errors))).toEqual([['UNAUTHENTICATED']]);
      expect(hidden.results.map((result) => codesOf(result.errors))).toEqual([['NOT_FOUND']]);
      expect(hidden.results[0]!.data ?? null).toBeNull();
    } finally {
      await Promise.all([anonymous.dispose(), stranger.dispose()]);
    }
  });

  it('stockChanged: first the current item (to anyone), then changes; a burst is coalesced and ends on the final value', async () => {
    const item = await newItem(100);
    const buyers = await createBuyers(t, 40, 10_000n);
    const watchers = [wsClient(baseUrl), wsClient(baseUrl)];
    try {
      const feeds = watchers.map((watcher) => watcher.subscribe(StockChanged, { itemId: item.id }));
      for (const feed of feeds) {
        const [first] = await feed.waitForResults(1);
        expect(first!.data).toEqual({ stockChanged: { id: item.id, sku: item.sku, stock: 100, price: '100', limitPerUser: null } });
      }
      const answers = await Promise.all(buyers.map((buyer) => buy(buyer, item.id)));
      expect(answers.every((answer) => answer.data?.purchase.status === 'RESERVED')).toBe(true);

      for (const feed of feeds) {
        await eventually(() => stocksOf(feed.results as Array<LiveResult<StockUpdate>>).at(-1) === 60, 'the final stock of 60');
      }
      // Nothing more after the final value (a quiet period longer than the coalescing window).
      await sleep(STOCK_FEED_INTERVAL_MS * 4);
      for (const feed of feeds) {
        const stocks = stocksOf(feed.results as Array<LiveResult<StockUpdate>>);
        expect(stocks.at(-1)).toBe(60);
        // 40 purchases, far fewer events: coalesced; and never going back up.
        expect(stocks.length - 1).toBeLessThan(20);
        for (let i = 1; i < stocks.length; i++) expect(stocks[i]!).toBeLessThanOrEqual(stocks[i - 1]!);
      }

      // A restock is a change too.
      await restock(t.app.services, item.id, 15);
      for (const feed of feeds) {
        await eventually(() => stocksOf(feed.results as Array<LiveResult<StockUpdate>>).at(-1) === 75, 'the restocked 75');
      }
    } finally {
      await Promise.all(watchers.map((watcher) => watcher.dispose()));
    }
  });

  it('variables that do not fit are BAD_USER_INPUT on both transports', async () => {
    const stream = await sseSubscribe(baseUrl, StockChanged, { itemId: { not: 'an id' } } as never);
    const watcher = wsClient(baseUrl);
    try {
      expect(await stream.ended).toEqual({ completed: true });
      expect(stream.results.map((result) => codesOf(result.errors))).toEqual([['BAD_USER_INPUT']]);
      const missing = watcher.subscribe(StockChanged, {} as never);
      expect(await missing.ended).toEqual({ completed: true });
      expect(missing.results.map((result) => codesOf(result.errors))).toEqual([['BAD_USER_INPUT']]);
    } finally {
      stream.stop();
      await watcher.dispose();
    }
  });

  it('stockChanged reads its items again when the bus listens again: a change whose event was lost still arrives', async () => {
    const item = await newItem(9);
    const watcher = wsClient(baseUrl);
    try {
      const feed = watcher.subscribe(StockChanged, { itemId: item.id });
      expect(stocksOf((await feed.waitForResults(1)) as Array<LiveResult<StockUpdate>>)).toEqual([9]);
      const resumed = new Promise<void>((resolve) => {
        const off = t.app.services.pubsub.onResumed(() => {
          off();
          resolve();
        });
      });
      // A change no event announces, as if its event had been lost while the bus was down.
      await t.app.db.inventoryItem.update({ where: { id: item.id }, data: { stock: 4 } });
      await killListeningConnection(t, inject('redisUrl'));
      await resumed;
      await eventually(() => stocksOf(feed.results as Array<LiveResult<StockUpdate>>).at(-1) === 4, 'the stock read after the bus came back');
    } finally {
      await watcher.dispose();
    }
  });

  it('stockChanged over SSE starts with the current item; an unknown item is NOT_FOUND', async () => {
    const item = await newItem(7);
    const [buyer] = await createBuyers(t, 1, 1000n);
    const stream = await sseSubscribe(baseUrl, StockChanged, { itemId: item.id });
    try {
      expect(stream.status).toBe(200);
      expect(stocksOf((await stream.waitForResults(1)) as Array<LiveResult<StockUpdate>>)).toEqual([7]);
      await buy(buyer!, item.id);
      await eventually(() => stocksOf(stream.results as Array<LiveResult<StockUpdate>>).at(-1) === 6, 'stock 6 over SSE');
    } finally {
      stream.stop();
    }
    const watcher = wsClient(baseUrl);
    try {
      const unknown = watcher.subscribe(StockChanged, { itemId: `no-such-item-${randomBytes(4).toString('hex')}` });
      expect(await unknown.ended).toEqual({ completed: true });
      expect(unknown.results.map((result) => codesOf(result.errors))).toEqual([['NOT_FOUND']]);
    } finally {
      await watcher.dispose();
    }
  });
});
