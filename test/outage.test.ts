import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { seed } from '../prisma/seed.js';
import type { AppServices } from '../src/core/context.js';
import { type App, buildApp } from '../src/http/app.js';
import { closeDb, createDb, poolOf } from '../src/infra/db.js';
import { createQueues } from '../src/infra/jobs/producer.js';
import { startWorkers, type Workers } from '../src/infra/jobs/worker.js';
import { createLogger } from '../src/infra/logger.js';
import { isOutage } from '../src/infra/outage.js';
import { ALL_JOBS, QUEUE_NAMES } from '../src/jobs.js';
import { createItem } from '../src/modules/inventory/inventory.service.js';
import { submitPurchase } from '../src/modules/inventory/inventory.commands.js';
import { provisionUserJob } from '../src/modules/users/users.jobs.js';
import { createBuyers, type Buyer } from './harness/users.js';
import { sleep } from './harness/wait.js';
import { testConfig } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { checkLedgerInvariants } from './helpers/ledger.js';
import { eventually, type LiveResult, metric, sseSubscribe, subscriptionsRunning, wsClient } from './helpers/live.js';
import { memoryLogger } from './helpers/logs.js';
import { newKey, newSku } from './helpers/shop.js';
import { tcpProxy } from './helpers/tcp-proxy.js';

/**
 * A real PostgreSQL outage under a running app: the app reaches its database
 * through a TCP proxy, and the test cuts it (every open connection dropped,
 * new ones refused) and restores it. Queues and the event bus are on Redis,
 * reached directly, and the workers — like another replica — reach the
 * database directly: so work goes on during the outage, and its events reach
 * the app's subscribers while the app cannot read the rows they name.
 */

const ME = `query Me { me { id email } }`;
const PURCHASE = `mutation Buy($input: PurchaseInput!) { purchase(input: $input) { id status } }`;
const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { accessToken } }`;
const ORDER_UPDATED = `subscription Orders { orderUpdated { id status } }`;
const TRANSACTION_UPDATED = `subscription Transactions($accountId: ID!) { transactionUpdated(accountId: $accountId) { id kind status } }`;
const STOCK_CHANGED = `subscription Stock($itemId: ID!) { stockChanged(itemId: $itemId) { id stock } }`;

const OUTAGE_LOG = 'the database or the queue store is unreachable: answering UNAVAILABLE';

type Errors = Array<{ message: string; extensions?: Record<string, unknown> }>;

/** The one error of a response, which must be UNAVAILABLE with a whole retryAfter ≥ 1. */
function expectUnavailable(errors: Errors | undefined) {
  expect(errors, JSON.stringify(errors)).toHaveLength(1);
  const { extensions } = errors![0]!;
  expect(extensions).toMatchObject({ code: 'UNAVAILABLE', retryAfter: expect.any(Number) });
  expect(Number.isInteger(extensions!.retryAfter) && (extensions!.retryAfter as number) >= 1).toBe(true);
}

let database: TestDatabase;
let proxy: Awaited<ReturnType<typeof tcpProxy>>;
let app: App;
let baseUrl: string;
let direct: AppServices;
let workers: Workers;
const logged = memoryLogger('warn');
const logLines = () =>
  logged
    .text()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  database = await createTestDatabase();
  const target = new URL(database.url);
  proxy = await tcpProxy(target.hostname, Number(target.port));
  const viaProxy = new URL(target);
  viaProxy.port = String(proxy.port);
  const namespace = `test-${randomBytes(6).toString('hex')}`;
  const config = testConfig(viaProxy.toString(), { REDIS_URL: inject('redisUrl') });
  app = buildApp(config, { logger: logged.logger, queues: { namespace }, events: { namespace } });
  await app.ready();
  await seed(app.services, { demo: false });
  baseUrl = await app.start();
  direct = { ...app.services, db: createDb(database.url) };
  workers = await startWorkers(direct, ALL_JOBS, { lockDurationMs: 5000, stalledIntervalMs: 2000 });
});

afterAll(async () => {
  await workers?.close();
  await app?.stop();
  if (direct) await closeDb(direct.db);
  await proxy?.close();
  await database?.drop();
});

/** Takes PostgreSQL away from the app (open connections dropped, new ones refused), and brings it back. */
let down = false;
async function cutDatabase() {
  await proxy.cut();
  down = true;
}
async function restoreDatabase() {
  await proxy.restore();
  down = false;
}
// A test that failed during its outage must not leave the next ones without a database.
afterEach(async () => {
  if (down) await restoreDatabase();
});

async function post(query: string, variables: Record<string, unknown> = {}, token?: string, base = baseUrl) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as { data?: Record<string, unknown> | null; errors?: Errors }) };
}

/** One operation over graphql-ws: its first result, or the errors it ended with. */
async function overWs(query: string, variables: Record<string, unknown>, token: string) {
  const client = wsClient(baseUrl, `Bearer ${token}`);
  try {
    await client.connected;
    const operation = client.subscribe(query, variables);
    const outcome = await Promise.race([operation.waitForResults(1).then((results) => results[0]!), operation.ended]);
    return 'error' in outcome ? ({ errors: outcome.error } as LiveResult) : (outcome as LiveResult);
  } finally {
    await client.dispose();
  }
}

const newItem = (stock: number) =>
  createItem(direct, { sku: newSku(), name: 'Outage item', price: 100n, currency: 'USD', stock, limitPerUser: null });

describe('what the outage errors are', () => {
  it('the errors PostgreSQL, pg and Prisma give for a lost connection are outages; a fault of ours is not', async () => {
    const db = createDb(database.url, 2);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      // A session ended by the server (as a shutdown does): 57P01 admin_shutdown, from pg and through Prisma.
      const terminated = async (run: () => Promise<unknown>) => {
        const failure = run().catch((error: unknown) => error);
        await eventually(
          async () => (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'`)).rowCount === 1,
          'the sleeping query',
        );
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'`);
        return failure;
      };
      const viaPool = await terminated(() => poolOf(db).query('SELECT pg_sleep(30)'));
      expect(viaPool).toBeInstanceOf(pg.DatabaseError);
      expect((viaPool as pg.DatabaseError).code).toBe('57P01');
      expect(isOutage(viaPool)).toBe(true);
      const viaPrisma = await terminated(() => db.$queryRawUnsafe('SELECT pg_sleep(30)'));
      expect(viaPrisma).toMatchObject({ code: 'P2010', meta: { driverAdapterError: { cause: { originalCode: '57P01' } } } });
      expect(isOutage(viaPrisma)).toBe(true);

      // Nothing listening: ECONNREFUSED from pg, P1001 (DriverAdapterError DatabaseNotReachable) from Prisma.
      const cut = await tcpProxy(new URL(database.url).hostname, Number(new URL(database.url).port));
      const nowhere = new URL(database.url);
      nowhere.port = String(cut.port);
      await cut.close();
      const refusedDb = createDb(nowhere.toString(), 1);
      try {
        const refused = await poolOf(refusedDb).query('SELECT 1').catch((error: unknown) => error);
        expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
        expect(isOutage(refused)).toBe(true);
        const unreachable = await refusedDb.user.findFirst().catch((error: unknown) => error);
        expect(unreachable).toMatchObject({ code: 'P1001', meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } } });
        expect(isOutage(unreachable)).toBe(true);
      } finally {
        await closeDb(refusedDb);
      }

      // Failures that are ours or the request's stay unexpected (masked) or expected (their own code).
      const deadlock = await db
        .$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'victim' USING ERRCODE = '40P01'; END $$`)
        .catch((error: unknown) => error);
      const missing = await db.$queryRawUnsafe('SELECT * FROM no_such_table').catch((error: unknown) => error);
      expect(isOutage(deadlock)).toBe(false);
      expect(isOutage(missing)).toBe(false);
      expect(isOutage(new TypeError('x is undefined'))).toBe(false);
    } finally {
      await admin.end();
      await closeDb(db);
    }
  });

  it.each(['redis', 'postgres'] as const)(
    'an enqueue to an unreachable %s queue store fails with an outage, for a resolver that would wait on it',
    async (backend) => {
      const target = new URL(backend === 'redis' ? inject('redisUrl') : database.url);
      const storeProxy = await tcpProxy(target.hostname, Number(target.port));
      const viaProxy = new URL(target);
      viaProxy.port = String(storeProxy.port);
      const config = testConfig(database.url, backend === 'redis' ? { REDIS_URL: viaProxy.toString() } : {});
      const queues = await createQueues(
        { config, log: createLogger('silent'), databaseUrl: backend === 'redis' ? database.url : viaProxy.toString() },
        { namespace: backend === 'redis' ? `test-${randomBytes(6).toString('hex')}` : 'bullmq_outage', queueNames: QUEUE_NAMES },
      );
      try {
        await storeProxy.cut();
        // The first attempt meets the dropped connection, the later ones the refusal (or ioredis's closed stream).
        for (let attempt = 0; attempt < 3; attempt += 1) {
          const failure = await queues.enqueue(provisionUserJob, { userId: 'nobody' }).catch((error: unknown) => error);
          expect(failure).toBeInstanceOf(Error);
          expect(isOutage(failure), String(failure)).toBe(true);
        }
        expect(isOutage(await queues.ping().catch((error: unknown) => error))).toBe(true);
      } finally {
        // Closed once reconnected: a Queue closed while its client reconnects leaves that client retrying.
        await storeProxy.restore();
        await eventually(() => queues.ping().then(() => true, () => false), 'the store back');
        await queues.close();
        await storeProxy.close();
      }
    },
  );
});

describe('a PostgreSQL outage under a running app', () => {
  let buyer: Buyer;
  beforeAll(async () => {
    buyer = (await createBuyers(direct, 1, 10_000n))[0]!;
  });

  it('is answered UNAVAILABLE with retryAfter over HTTP and graphql-ws, logged once, and the same app answers after it', async () => {
    const item = await newItem(10);
    const purchase = () => ({ input: { itemId: item.id, accountId: buyer.accountId, idempotencyKey: newKey() } });
    expect((await post(ME, {}, buyer.accessToken)).data).toEqual({ me: { id: buyer.id, email: expect.any(String) } });
    const internalBefore = await metric(baseUrl, 'graphql_errors_total{code="INTERNAL_SERVER_ERROR"}');
    const unavailableBefore = await metric(baseUrl, 'graphql_errors_total{code="UNAVAILABLE"}');
    const linesBefore = logLines().length;

    await cutDatabase();
    // The first requests meet the pool's dropped connections, the later ones refused connects: all UNAVAILABLE.
    for (let round = 0; round < 3; round += 1) {
      const query = await post(ME, {}, buyer.accessToken);
      expect(query.status).toBe(200);
      expectUnavailable(query.errors);
      expect(query.data).toEqual({ me: null });
      expectUnavailable((await post(PURCHASE, purchase(), buyer.accessToken)).errors);
      const input = { email: `outage-${randomBytes(4).toString('hex')}@example.com`, password: 'correct horse battery', name: 'O' };
      expectUnavailable((await post(REGISTER, { input })).errors);
    }
    expectUnavailable((await overWs(ME, {}, buyer.accessToken)).errors as Errors);
    expectUnavailable((await overWs(PURCHASE, purchase(), buyer.accessToken)).errors as Errors);
    // A subscription that cannot even start (its subscribe-time read fails) is UNAVAILABLE too.
    expectUnavailable((await overWs(STOCK_CHANGED, { itemId: item.id }, buyer.accessToken)).errors as Errors);
    const ready = await fetch(`${baseUrl}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.database).toBe('unreachable');

    expect(await metric(baseUrl, 'graphql_errors_total{code="INTERNAL_SERVER_ERROR"}')).toBe(internalBefore);
    // The 9 HTTP and 2 graphql-ws operations (a subscription refused before its stream starts is not counted).
    expect((await metric(baseUrl, 'graphql_errors_total{code="UNAVAILABLE"}')) - unavailableBefore).toBe(11);
    // Logged once for all of those requests (one line per interval), without a stack; nothing as unexpected.
    const during = logLines().slice(linesBefore);
    const outageLines = during.filter((line) => line.msg === OUTAGE_LOG);
    expect(outageLines).toHaveLength(1);
    expect(outageLines[0]).not.toHaveProperty('err');
    expect(outageLines[0]).toMatchObject({ source: 'graphql', reason: expect.any(String) });
    expect(JSON.stringify(during)).not.toContain('"stack"');
    expect(during.filter((line) => line.msg === 'unexpected error in a GraphQL operation')).toEqual([]);

    await restoreDatabase();
    // The same app, not restarted: its pool connects again on the next request.
    const after = await post(ME, {}, buyer.accessToken);
    expect(after.errors).toBeUndefined();
    expect(after.data).toEqual({ me: { id: buyer.id, email: expect.any(String) } });
    const bought = await post(PURCHASE, purchase(), buyer.accessToken);
    expect(bought.errors).toBeUndefined();
    expect(bought.data).toEqual({ purchase: { id: expect.any(String), status: 'RESERVED' } });
    expect((await overWs(ME, {}, buyer.accessToken)).data).toEqual({ me: { id: buyer.id, email: expect.any(String) } });
    await eventually(async () => (await fetch(`${baseUrl}/ready`)).status === 200, 'the app ready again');
  });

  it('subscriptions open across it deliver the events whose reads failed once the database is back, then the next ones', async () => {
    // A buyer of its own: the previous test's last order may still be in fulfilment, with events of its own.
    const buyer = (await createBuyers(direct, 1, 10_000n))[0]!;
    const item = await newItem(10);
    const ws = wsClient(baseUrl, `Bearer ${buyer.accessToken}`);
    const before = await metric(baseUrl, 'switchyard_subscriptions{transport="ws"}');
    const beforeSse = await metric(baseUrl, 'switchyard_subscriptions{transport="sse"}');
    try {
      const orders = ws.subscribe<{ orderUpdated: { id: string; status: string } }, unknown>(ORDER_UPDATED);
      const payments = ws.subscribe<{ transactionUpdated: { id: string; kind: string; status: string } }, unknown>(
        TRANSACTION_UPDATED,
        { accountId: buyer.accountId },
      );
      const stock = ws.subscribe<{ stockChanged: { id: string; stock: number } }, unknown>(STOCK_CHANGED, { itemId: item.id });
      const ordersSse = await sseSubscribe<{ orderUpdated: { id: string; status: string } }, unknown>(
        baseUrl,
        ORDER_UPDATED,
        {},
        `Bearer ${buyer.accessToken}`,
      );
      expect((await stock.waitForResults(1))[0], JSON.stringify(stock.results)).toMatchObject({ data: { stockChanged: { id: item.id, stock: 10 } } });
      await subscriptionsRunning(baseUrl, 'ws', before + 3);
      await subscriptionsRunning(baseUrl, 'sse', beforeSse + 1);
      const published = () => metric(baseUrl, 'switchyard_events_published_total{topic="orderUpdated",outcome="sent"}');
      const publishedBefore = await published();

      await cutDatabase();
      expectUnavailable((await post(ME, {}, buyer.accessToken)).errors);
      // Another replica (and the workers) still reach the database: a purchase is made and fulfilled
      // there, and its events reach this app, which cannot read the rows they name.
      const order = await submitPurchase(direct, { id: buyer.id, role: 'USER' }, {
        itemId: item.id,
        accountId: buyer.accountId,
        quantity: 2,
        idempotencyKey: newKey(),
      });
      await eventually(
        async () => (await direct.db.order.findUniqueOrThrow({ where: { id: order.id } })).status === 'FULFILLED',
        'the order fulfilled by the workers',
        20_000,
      );
      expect(await published()).toBeGreaterThan(publishedBefore);
      // Reads are retried every second: let a few fail. Nothing delivered, nothing ended.
      await sleep(2500);
      // Still down for this app (a read could only have failed).
      expectUnavailable((await post(ME, {}, buyer.accessToken)).errors);
      for (const subscription of [orders, payments, ordersSse]) {
        expect(subscription.results, JSON.stringify(subscription.results)).toEqual([]);
      }
      expect(stock.results).toHaveLength(1);
      const ended = Symbol('still open');
      for (const subscription of [orders, payments, stock, ordersSse]) {
        expect(await Promise.race([subscription.ended, sleep(10).then(() => ended)])).toBe(ended);
      }

      await restoreDatabase();
      // The order's newest status (earlier ones superseded by the time they could be read), the settled
      // payment, and the stock after the purchase: all delivered, never an error.
      const fulfilled = (results: Array<LiveResult<{ orderUpdated: { id: string; status: string } }>>) =>
        results.some((result) => result.data?.orderUpdated.status === 'FULFILLED');
      await eventually(() => fulfilled(orders.results) && fulfilled(ordersSse.results), 'FULFILLED after recovery', 15_000);
      await eventually(
        () => payments.results.some((result) => result.data?.transactionUpdated.status === 'COMPLETED'),
        'the payment COMPLETED after recovery',
        15_000,
      );
      await eventually(() => stock.results.at(-1)?.data?.stockChanged.stock === 8, 'stock 8 after recovery', 15_000);
      for (const subscription of [orders, payments, stock, ordersSse]) {
        expect(subscription.results.flatMap((result) => result.errors ?? [])).toEqual([]);
      }
      expect(orders.results.map((result) => result.data!.orderUpdated)).toEqual([{ id: order.id, status: 'FULFILLED' }]);
      expect(payments.results.map((result) => result.data!.transactionUpdated)).toEqual([
        { id: expect.any(String), kind: 'PAYMENT', status: 'COMPLETED' },
      ]);

      // And they go on: the next purchase, made through this app, arrives as usual.
      await eventually(async () => (await fetch(`${baseUrl}/ready`)).status === 200, 'the app ready again');
      const next = await post(
        PURCHASE,
        { input: { itemId: item.id, accountId: buyer.accountId, idempotencyKey: newKey() } },
        buyer.accessToken,
      );
      const nextId = (next.data as { purchase: { id: string } }).purchase.id;
      await eventually(
        () => orders.results.some((result) => result.data?.orderUpdated.id === nextId && result.data.orderUpdated.status === 'FULFILLED'),
        'the next order FULFILLED',
        15_000,
      );
      await eventually(() => stock.results.at(-1)?.data?.stockChanged.stock === 7, 'stock 7', 15_000);
      for (const subscription of [orders, payments, stock, ordersSse]) {
        expect(subscription.results.flatMap((result) => result.errors ?? [])).toEqual([]);
      }
      ordersSse.stop();
    } finally {
      await ws.dispose();
    }
  });

  it('leaves the ledger and the stock consistent', async () => {
    await eventually(
      async () => (await direct.db.order.count({ where: { status: { in: ['RESERVED', 'PAID'] } } })) === 0,
      'every order settled',
      20_000,
    );
    await checkLedgerInvariants(direct.db, app.services.config.houseOpeningBalance);
    // Each item's stock is what it started with less the units of its orders that were not cancelled.
    const items = await direct.db.inventoryItem.findMany({ include: { orders: { where: { status: { not: 'CANCELLED' } } } } });
    for (const item of items) {
      const sold = item.orders.reduce((units, order) => units + order.quantity, 0);
      expect(item.stock + sold, item.sku).toBe(10);
    }
  });
});

describe('without Redis, where the queues and the event bus are in the database too', () => {
  let own: { database: TestDatabase; proxy: Awaited<ReturnType<typeof tcpProxy>>; app: App; url: string; workers: Workers };
  beforeAll(async () => {
    const ownDatabase = await createTestDatabase();
    const target = new URL(ownDatabase.url);
    const ownProxy = await tcpProxy(target.hostname, Number(target.port));
    const viaProxy = new URL(target);
    viaProxy.port = String(ownProxy.port);
    const ownApp = buildApp(testConfig(viaProxy.toString()));
    await ownApp.ready();
    await seed(ownApp.services, { demo: false });
    const url = await ownApp.start();
    // Inline workers, behind the same proxy: everything this process does meets the outage.
    const ownWorkers = await startWorkers(ownApp.services, ALL_JOBS, { lockDurationMs: 5000, stalledIntervalMs: 2000 });
    own = { database: ownDatabase, proxy: ownProxy, app: ownApp, url, workers: ownWorkers };
  });
  afterAll(async () => {
    await own?.workers.close();
    await own?.app.stop();
    await own?.proxy.close();
    await own?.database.drop();
  });

  it('subscriptions stay open across the outage and deliver the next events once the bus listens again', async () => {
    const { app: ownApp, url } = own;
    const buyer = (await createBuyers(ownApp.services, 1, 10_000n))[0]!;
    const item = await createItem(ownApp.services, {
      sku: newSku(),
      name: 'Outage item',
      price: 100n,
      currency: 'USD',
      stock: 10,
      limitPerUser: null,
    });
    const ws = wsClient(url, `Bearer ${buyer.accessToken}`);
    try {
      const orders = ws.subscribe<{ orderUpdated: { id: string; status: string } }, unknown>(ORDER_UPDATED);
      const stock = ws.subscribe<{ stockChanged: { id: string; stock: number } }, unknown>(STOCK_CHANGED, { itemId: item.id });
      expect((await stock.waitForResults(1))[0]).toMatchObject({ data: { stockChanged: { id: item.id, stock: 10 } } });
      await subscriptionsRunning(url, 'ws', 2);

      await own.proxy.cut();
      try {
        expectUnavailable((await post(ME, {}, buyer.accessToken, url)).errors);
        const purchase = { input: { itemId: item.id, accountId: buyer.accountId, idempotencyKey: newKey() } };
        expectUnavailable((await post(PURCHASE, purchase, buyer.accessToken, url)).errors);
        await eventually(async () => (await fetch(`${url}/ready`)).status === 503, '/ready to see the outage');
        await sleep(2000);
        const ended = Symbol('still open');
        for (const subscription of [orders, stock]) {
          expect(await Promise.race([subscription.ended, sleep(10).then(() => ended)])).toBe(ended);
        }
      } finally {
        await own.proxy.restore();
      }
      // Database, queues and the bus's listening connection back, in the same process.
      await eventually(async () => (await fetch(`${url}/ready`)).status === 200, 'the app ready again', 20_000);

      const bought = await post(
        PURCHASE,
        { input: { itemId: item.id, accountId: buyer.accountId, idempotencyKey: newKey() } },
        buyer.accessToken,
        url,
      );
      expect(bought.errors).toBeUndefined();
      const orderId = (bought.data as { purchase: { id: string } }).purchase.id;
      await eventually(
        () => orders.results.some((result) => result.data?.orderUpdated.id === orderId && result.data.orderUpdated.status === 'FULFILLED'),
        'the order FULFILLED after the outage',
        20_000,
      );
      await eventually(() => stock.results.at(-1)?.data?.stockChanged.stock === 9, 'stock 9 after the outage', 20_000);
      for (const subscription of [orders, stock]) {
        expect(subscription.results.flatMap((result) => result.errors ?? [])).toEqual([]);
      }
      // Only the order made after the outage: the refused one never existed.
      expect(new Set(orders.results.map((result) => result.data!.orderUpdated.id))).toEqual(new Set([orderId]));
      await checkLedgerInvariants(ownApp.db, ownApp.services.config.houseOpeningBalance);
    } finally {
      await ws.dispose();
    }
  });
});
