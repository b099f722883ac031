import http from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createItem } from '../src/modules/inventory/inventory.service.js';
import { HOUSE_USER_ID } from '../src/modules/ledger/ledger.service.js';
import { type Buyer, createBuyers } from './harness/users.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { checkLedgerInvariants, waitFor } from './helpers/ledger.js';
import { eventually, type LiveResult, wsClient } from './helpers/live.js';
import { type ListeningServer, spawnServer, stopAll } from './helpers/server-process.js';
import { type DatabaseServices, databaseServices, newKey, newSku } from './helpers/shop.js';

/**
 * The flash sale across processes, as production runs it: two API processes
 * (src/server.ts, WORKERS=off) on one database, a worker process
 * (workers/index.ts) taking the payments, and the purchases coming over real
 * HTTP, each buyer's attempts alternating between the two APIs. The claims of
 * test/flash-sale.test.ts must hold when the racing requests are served by
 * different processes: nothing oversold (the stock never below 0), no buyer
 * above the limit, every refusal SOLD_OUT or LIMIT_EXCEEDED (never another
 * code, never an HTTP error), and every order paid and FULFILLED.
 *
 * On both backends. Redis is the shared test server, but a Redis database of
 * this file's own, so that no other file's worker process (same default queue
 * prefix) takes this file's jobs.
 */

const JWT_SECRET = 'flash-sale-processes-secret-0123456789abcdef';
const REDIS_DATABASE = 12;

const BUYERS = 200;
const ATTEMPTS_PER_BUYER = 5;
const STOCK = 100;
const LIMIT = 2;
const PRICE = 150n;
/** Connections per API process: a load balancer's worth; the other requests wait for one, client side. */
const SOCKETS_PER_API = 250;

const PURCHASE = `mutation FlashProcessesPurchase($input: PurchaseInput!) { purchase(input: $input) { id status quantity } }`;
const STOCK_CHANGED = `subscription FlashProcessesStock($itemId: ID!) { stockChanged(itemId: $itemId) { id stock } }`;

interface Answer {
  status: number;
  body: { data?: { purchase: { id: string; status: string; quantity: number } } | null; errors?: Array<{ extensions?: { code?: string } }> };
}

/** POSTs a GraphQL request over `agent` (keep-alive) to 127.0.0.1:port/graphql. */
function postGraphQL(agent: http.Agent, port: number, payload: unknown, token: string): Promise<Answer> {
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/graphql',
        agent,
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: `Bearer ${token}`,
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          try {
            resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] });
          } catch {
            resolve({ status: response.statusCode ?? 0, body: { errors: [{ extensions: { code: `UNPARSABLE: ${text.slice(0, 200)}` } }] } });
          }
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const outcome = ({ status, body }: Answer) =>
  status !== 200 ? `HTTP_${status}` : body.errors ? String(body.errors[0]?.extensions?.code) : body.data?.purchase ? 'ORDER' : 'NO_DATA';

describe.each(['redis', 'postgres'] as const)('a flash sale served by two API processes, queues and events on %s', (backend) => {
  let database: TestDatabase;
  let apiA: ListeningServer;
  let apiB: ListeningServer;
  let shop: DatabaseServices;
  /** A connection of the test's own, for watching the stock during the sale. */
  let monitor: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    const redis = new URL(inject('redisUrl'));
    redis.pathname = `/${REDIS_DATABASE}`;
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      ...(backend === 'redis' ? { REDIS_URL: redis.toString() } : {}),
      JWT_SECRET,
      HOST: '127.0.0.1',
      WORKERS: 'off',
      LOG_LEVEL: 'warn',
    };
    // The API processes seed the database (admin, house account) before their banner; the worker needs no seed.
    [apiA, apiB] = await Promise.all([
      spawnServer({ listen: true, env, waitForBanner: true, timeoutMs: 45_000 }),
      spawnServer({ listen: true, env, waitForBanner: true, timeoutMs: 45_000 }),
      spawnServer({ entry: 'workers/index.ts', env: { ...env, LOG_LEVEL: 'info' }, waitForBanner: /"msg":"worker process ready"/, timeoutMs: 45_000 }),
    ]);
    shop = databaseServices(database.url, JWT_SECRET);
    monitor = new pg.Client({ connectionString: database.url });
    await monitor.connect();
  }, 90_000);

  afterAll(async () => {
    await stopAll({ graceMs: 5000 });
    await monitor?.end();
    await shop?.close();
    await database?.drop();
  });

  it(`sells exactly ${STOCK} units to ${BUYERS} buyers firing ${ATTEMPTS_PER_BUYER} purchases each at two API processes, at most ${LIMIT} per buyer`, async ({ annotate }) => {
    const { db, config } = shop.services;
    const started = performance.now();
    const buyers = await createBuyers(shop.services, BUYERS, PRICE * BigInt(LIMIT) * 2n);
    const item = await createItem(shop.services, {
      sku: newSku(),
      name: 'Flash item',
      price: PRICE,
      currency: 'USD',
      stock: STOCK,
      limitPerUser: LIMIT,
    });
    const houseAccount = () =>
      db.ledgerAccount.findUniqueOrThrow({ where: { ownerId_currency: { ownerId: HOUSE_USER_ID, currency: 'USD' } } });
    const houseBefore = (await houseAccount()).balance;
    // A free item that every buyer buys once before the sale, half through each process: both
    // processes have their connection pools open and their code warm when the sale starts, so
    // that the sale is a race between them rather than won by whichever process woke first.
    const warmUp = await createItem(shop.services, { sku: newSku(), name: 'Warm-up', price: 0n, currency: 'USD', stock: BUYERS, limitPerUser: 1 });

    // Anyone watches the stock on B, through the sale.
    const watcher = wsClient(apiB.url);
    const agents = [apiA, apiB].map(() => new http.Agent({ keepAlive: true, maxSockets: SOCKETS_PER_API }));
    try {
      const stockFeed = watcher.subscribe<{ stockChanged: { id: string; stock: number } }, { itemId: string }>(STOCK_CHANGED, {
        itemId: item.id,
      });
      expect((await stockFeed.waitForResults(1))[0]!.data?.stockChanged.stock).toBe(STOCK);

      // The stock as the database has it, polled on a connection of the test's own while the sale runs.
      const observed: number[] = [];
      let selling = true;
      const polling = (async () => {
        while (selling) {
          const { rows } = await monitor.query<{ stock: number }>('SELECT stock FROM inventory_items WHERE id = $1', [item.id]);
          observed.push(rows[0]!.stock);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();

      const servers = [apiA, apiB];
      const warmed = await Promise.all(
        buyers.map((buyer, b) =>
          postGraphQL(
            agents[b % 2]!,
            servers[b % 2]!.port,
            { query: PURCHASE, variables: { input: { itemId: warmUp.id, accountId: buyer.accountId, idempotencyKey: newKey() } } },
            buyer.accessToken,
          ),
        ),
      );
      expect(warmed.map(outcome)).toEqual(Array(BUYERS).fill('ORDER'));

      const prepared = performance.now();
      // Every attempt at once; a buyer's attempts alternate between A and B (and so do the buyers' first attempts).
      const results = await Promise.all(
        buyers.flatMap((buyer: Buyer, b) =>
          Array.from({ length: ATTEMPTS_PER_BUYER }, (_, attempt) => {
            const via = (b + attempt) % 2;
            return postGraphQL(
              agents[via]!,
              servers[via]!.port,
              { query: PURCHASE, variables: { input: { itemId: item.id, accountId: buyer.accountId, idempotencyKey: newKey() } } },
              buyer.accessToken,
            ).then((answer) => ({ buyer, via, answer }));
          }),
        ),
      );
      const sold = performance.now();
      selling = false;
      await polling;

      const tally = (of: typeof results) => {
        const counts = new Map<string, number>();
        for (const { answer } of of) counts.set(outcome(answer), (counts.get(outcome(answer)) ?? 0) + 1);
        return counts;
      };
      const all = tally(results);
      const orders = all.get('ORDER') ?? 0;
      const soldOut = all.get('SOLD_OUT') ?? 0;
      const limited = all.get('LIMIT_EXCEEDED') ?? 0;
      // Half of the attempts went to each process; every answer is 200 with an order, SOLD_OUT or LIMIT_EXCEEDED.
      expect(results.filter(({ via }) => via === 0)).toHaveLength((BUYERS * ATTEMPTS_PER_BUYER) / 2);
      expect(results.map(({ answer }) => answer.status).filter((status) => status !== 200)).toEqual([]);
      expect([...all.keys()].filter((key) => !['ORDER', 'SOLD_OUT', 'LIMIT_EXCEEDED'].includes(key))).toEqual([]);
      expect(orders + soldOut + limited).toBe(BUYERS * ATTEMPTS_PER_BUYER);
      expect(orders).toBe(STOCK);
      const placed = results.flatMap(({ buyer, answer }) => (answer.body.data?.purchase ? [{ buyer, order: answer.body.data.purchase }] : []));
      expect(placed.every(({ order }) => order.status === 'RESERVED' && order.quantity === 1)).toBe(true);

      // The database agrees: every unit sold once, none left, never below 0, nobody above the limit.
      expect(observed.length).toBeGreaterThan(0);
      expect(Math.min(...observed)).toBeGreaterThanOrEqual(0);
      expect((await db.inventoryItem.findUniqueOrThrow({ where: { id: item.id } })).stock).toBe(0);
      const rows = await db.order.findMany({ where: { itemId: item.id }, select: { id: true, buyerId: true, quantity: true, status: true } });
      expect(new Set(rows.map((row) => row.id))).toEqual(new Set(placed.map(({ order }) => order.id)));
      expect(rows.filter((row) => row.status !== 'CANCELLED').reduce((sum, row) => sum + row.quantity, 0)).toBe(STOCK);
      const perBuyer = new Map<string, number>();
      for (const row of rows) perBuyer.set(row.buyerId, (perBuyer.get(row.buyerId) ?? 0) + row.quantity);
      expect(Math.max(...perBuyer.values())).toBeLessThanOrEqual(LIMIT);
      for (const buyer of buyers) {
        expect(placed.filter((entry) => entry.buyer === buyer).length, `orders answered to ${buyer.id}`).toBe(perBuyer.get(buyer.id) ?? 0);
      }

      // The worker process takes every payment: all FULFILLED, the house paid for exactly STOCK units.
      await waitFor(async () => (await db.order.count({ where: { itemId: item.id, status: { in: ['RESERVED', 'PAID'] } } })) === 0 || undefined, 30_000);
      const fulfilled = performance.now();
      expect(await db.order.count({ where: { itemId: item.id, status: 'FULFILLED' } })).toBe(STOCK);
      expect((await houseAccount()).balance - houseBefore).toBe(PRICE * BigInt(STOCK));
      expect((await db.inventoryItem.findUniqueOrThrow({ where: { id: item.id } })).stock).toBe(0);
      await checkLedgerInvariants(db, config.houseOpeningBalance);

      // The watcher on B saw the sale end at 0, never below it.
      await eventually(() => stockFeed.results.at(-1)?.data?.stockChanged.stock === 0, 'the final stock (0) on B');
      const stocks = (stockFeed.results as Array<LiveResult<{ stockChanged: { stock: number } }>>).map((r) => r.data!.stockChanged.stock);
      expect(stocks.every((value) => value >= 0 && value <= STOCK)).toBe(true);

      // No request failed inside the API processes either (an unexpected error is logged before it is masked).
      const errorLines = [apiA, apiB].flatMap((api) => `${api.stdout()}${api.stderr()}`.split('\n').filter((line) => /"level":(50|60)/.test(line)));
      expect(errorLines.filter((line) => /unexpected error in a GraphQL operation|request errored/.test(line))).toEqual([]);

      const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(2);
      const viaOf = new Map(results.flatMap(({ via, answer }) => (answer.body.data?.purchase ? [[answer.body.data.purchase.id, via]] : [])));
      const viasPerBuyer = new Map<string, Set<number | undefined>>();
      for (const row of rows) viasPerBuyer.set(row.buyerId, (viasPerBuyer.get(row.buyerId) ?? new Set()).add(viaOf.get(row.id)));
      const byBoth = [...viasPerBuyer.values()].filter((vias) => vias.size === 2).length;
      const perProcess = [0, 1]
        .map((via) => `${via === 0 ? 'A' : 'B'} ${JSON.stringify(Object.fromEntries(tally(results.filter((r) => r.via === via))))}`)
        .join(', ');
      await annotate(
        `flash sale on two API processes (${backend}): ${BUYERS} buyers set up in ${seconds(started, prepared)} s; ` +
          `${BUYERS * ATTEMPTS_PER_BUYER} purchases in ${seconds(prepared, sold)} s (${perProcess}); ` +
          `${byBoth} buyers got their units through both processes; ` +
          `${STOCK} orders fulfilled by the worker process ${seconds(sold, fulfilled)} s later; ` +
          `${stocks.length} stockChanged events on B; ${errorLines.length} error lines in the API processes' logs` +
          (errorLines.length > 0 ? ` (${[...new Set(errorLines.map((line) => /"msg":"([^"]*)"/.exec(line)?.[1]))].join('; ')})` : ''),
      );
    } finally {
      for (const agent of agents) agent.destroy();
      await watcher.dispose();
    }
  }, 60_000);
});
