/**
 * The `fanout` scenario: N graphql-ws subscribers to one item's stockChanged
 * on one API process, then a burst of purchases of that item.
 *
 * For each bus backend (Redis pub/sub, then PostgreSQL LISTEN/NOTIFY) it
 * starts, on an embedded PostgreSQL cluster of its own, the API
 * (`src/server.ts --api`) and one worker process, and provisions a few buyers.
 * Then:
 *   1. idle RSS of the API (max over 3 s after a warm-up);
 *   2. BENCH_SUBSCRIBERS WebSocket connections, opened by BENCH_DRIVERS driver
 *      processes (ws-watchers.ts; raw `ws` speaking
 *      graphql-transport-ws, so the load generator stays light), each
 *      subscribing to stockChanged(itemId) and waiting for its first event
 *      (the current item);
 *   3. RSS of the API with every connection idle → RSS per connection;
 *   4. BENCH_BURST - 1 purchases of one unit at once (from this process),
 *      and as soon as they are answered the last one; the clock starts when
 *      that last purchase is sent (so the figure includes its own processing
 *      and whatever the burst left queued);
 *   5. every subscriber waits for the event carrying the final stock; its
 *      delay is the time from that send to its arrival.
 * Prints p50/p99/max delivery, subscribers that never got the final value,
 * events per subscriber (coalescing), and RSS per connection.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envPositiveNumber, machineSummary, median, readRss, sampleRss, table, tail, waitForFile } from './lib.js';
import { epochMs, startWatchers, type Watchers } from './ws-watchers.js';
import { sleep } from '../test/harness/wait.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { type Backend, benchBackends, type Cluster, createBenchItem, graphql, prepareBuyers, finishBenchRun, startBenchRun, startShop } from './system.js';

const TARGETS = { deliveryP99Ms: 500, rssPerConnectionKb: 50, subscribers: 10_000 };
const INITIAL_STOCK = 1_000_000;
const STOCK_CHANGED = 'subscription StockChanged($itemId: ID!) { stockChanged(itemId: $itemId) { id stock } }';

// ---------------------------------------------------------------------------
// The scenario

interface Settings {
  subscribers: number;
  drivers: number;
  burst: number;
  backends: Backend[];
  logLevel: string;
}

interface BackendResult {
  backend: Backend;
  subscribed: number;
  idleRssMb: number;
  connectedRssMb: number;
  rssPerConnectionKb: number;
  delivery: { p50: number; p99: number; max: number; missing: number };
  eventsPerSubscriber: { median: number; max: number };
  burstSeconds: number;
  failures: Record<string, number>;
}

export async function run(): Promise<{ machine: ReturnType<typeof machineSummary>; settings: Settings; backends: BackendResult[] }> {
  const settings = readSettings();
  const machine = machineSummary();
  log(`fanout: ${settings.subscribers} subscribers from ${settings.drivers} drivers, burst of ${settings.burst}, backends ${settings.backends.join(', ')}`);
  log(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}, load ${machine.loadavg}`);
  const { root, dist, cluster } = await startBenchRun('fanout');
  const backends: BackendResult[] = [];
  for (const backend of settings.backends) {
    backends.push(await runBackend(backend, cluster, root, settings, dist));
  }
  printResults(backends, settings, machine);
  return finishBenchRun({ machine, settings, backends }, cluster);
}

function readSettings(): Settings {
  return {
    subscribers: Math.round(envPositiveNumber('BENCH_SUBSCRIBERS', TARGETS.subscribers)),
    drivers: Math.round(envPositiveNumber('BENCH_DRIVERS', 2)),
    burst: Math.round(envPositiveNumber('BENCH_BURST', 100)),
    backends: benchBackends(),
    logLevel: process.env.BENCH_LOG_LEVEL || 'warn',
  };
}

async function runBackend(
  backend: Backend,
  cluster: Cluster,
  root: string,
  settings: Settings,
  dist: string | undefined,
): Promise<BackendResult> {
  log(`--- bus: ${backend === 'redis' ? 'Redis pub/sub' : 'PostgreSQL LISTEN/NOTIFY'} ---`);
  const profileOut = process.env.BENCH_PROFILE === '1' ? join(tmpdir(), `switchyard-bench-fanout-${Date.now()}-${backend}-api`) : undefined;
  const shop = await startShop({ cluster, root, name: `fanout_${backend}`, backend, logLevel: settings.logLevel, dist, profileOut });
  const { api, apiLog, apiUrl, graphqlUrl, db, dir } = shop;
  let watchers: Watchers | undefined;
  try {
    const buyers = await prepareBuyers(shop, Math.min(settings.burst, 100));
    const sku = `FANOUT-${randomBytes(4).toString('hex').toUpperCase()}`;
    const item = { id: await createBenchItem(graphqlUrl, { sku, name: 'Fan-out item', price: '1', stock: INITIAL_STOCK, limitPerUser: null }) };
    const purchase = (n: number) =>
      graphql<{ purchase: { id: string } }>(
        graphqlUrl,
        'mutation ($input: PurchaseInput!) { purchase(input: $input) { id } }',
        { input: { itemId: item.id, quantity: 1, accountId: buyers[n % buyers.length]!.accountId, idempotencyKey: `fanout-${sku}-${n}` } },
        buyers[n % buyers.length]!.accessToken,
      );

    // Warm-up: the purchase path and the subscription path, then idle RSS.
    for (let n = 0; n < 20; n++) await purchase(settings.burst + n);
    await sleep(2000);
    const idleRss = maxRss(api.pid, 3000);
    const idleRssMb = (await idleRss) / 1024 / 1024;
    const stockBefore = INITIAL_STOCK - 20;
    const finalStock = stockBefore - settings.burst;

    // Subscribers.
    const share = Math.ceil(settings.subscribers / settings.drivers);
    const wsUrl = `${apiUrl.replace(/^http/, 'ws')}/graphql`;
    const anonymous = (connections: number) => new Array<null>(Math.max(0, connections)).fill(null);
    watchers = startWatchers(
      dir,
      'fanout',
      Array.from({ length: settings.drivers }, (_, d) => ({
        url: wsUrl,
        query: STOCK_CHANGED,
        variables: { itemId: item.id },
        field: 'stockChanged',
        key: 'stock',
        equals: finalStock,
        authorizations: anonymous(Math.min(share, settings.subscribers - d * share)),
        timeoutMs: 60_000,
      })),
    );
    const opened = performance.now();
    const subscribed = await watchers.ready;
    log(`${subscribed} of ${settings.subscribers} subscribed in ${((performance.now() - opened) / 1000).toFixed(1)} s`);
    if (api.hasExited()) throw new Error(`the API exited while subscribers connected; its log ends:\n${tail(apiLog)}`);
    await sleep(2000);
    const connectedRssMb = (await maxRss(api.pid, 3000)) / 1024 / 1024;

    // The burst, then the last purchase alone: the clock starts when it is sent.
    if (profileOut) process.kill(api.pid, 'SIGUSR2');
    const burstStarted = performance.now();
    await Promise.all(Array.from({ length: settings.burst - 1 }, (_, n) => purchase(n)));
    const lastSent = epochMs();
    await purchase(settings.burst - 1);
    const burstSeconds = (performance.now() - burstStarted) / 1000;
    const { rows } = await db.query<{ stock: number }>(`SELECT "stock" FROM "inventory_items" WHERE "id" = $1`, [item.id]);
    if (rows[0]!.stock !== finalStock) throw new Error(`the item's stock is ${rows[0]!.stock}, expected ${finalStock}`);

    const results = await watchers.results;
    const delays: number[] = [];
    let missing = 0;
    const events: number[] = [];
    const failures: Record<string, number> = {};
    for (const result of results) {
      for (const arrival of result.arrivals) {
        if (arrival === null) missing += 1;
        else delays.push(arrival - lastSent);
      }
      events.push(...result.events);
      for (const [reason, count] of Object.entries(result.failures)) failures[reason] = (failures[reason] ?? 0) + count;
    }
    if (profileOut) {
      process.kill(api.pid, 'SIGUSR2');
      const file = `${profileOut}-1.cpuprofile`;
      await waitForFile(file, 30_000);
      process.stdout.write(`\nCPU profile of the API during the burst (${backend}), ${file}\n${formatSummary(summarizeProfile(file, 25))}\n`);
    }
    delays.sort((a, b) => a - b);
    const at = (p: number) => (delays.length ? delays[Math.min(delays.length - 1, Math.ceil(p * delays.length) - 1)]! : NaN);
    const result: BackendResult = {
      backend,
      subscribed,
      idleRssMb,
      connectedRssMb,
      rssPerConnectionKb: ((connectedRssMb - idleRssMb) * 1024) / Math.max(1, subscribed),
      delivery: { p50: at(0.5), p99: at(0.99), max: delays.at(-1) ?? NaN, missing },
      eventsPerSubscriber: { median: median(events), max: Math.max(0, ...events) },
      burstSeconds,
      failures,
    };
    log(
      `delivery p50 ${result.delivery.p50.toFixed(0)} ms, p99 ${result.delivery.p99.toFixed(0)} ms, max ${result.delivery.max.toFixed(0)} ms, ` +
        `missing ${missing}; RSS ${idleRssMb.toFixed(0)} → ${connectedRssMb.toFixed(0)} MB (${result.rssPerConnectionKb.toFixed(1)} KB/connection)`,
    );
    return result;
  } finally {
    await watchers?.stop();
    await shop.stop();
  }
}

/** The highest RSS seen over `ms`, sampled every 100 ms. */
async function maxRss(pid: number, ms: number): Promise<number> {
  const sampler = sampleRss(pid);
  await sleep(ms);
  const samples = sampler.stop();
  return Math.max(readRss(pid) ?? 0, ...samples);
}

function printResults(results: BackendResult[], settings: Settings, machine: ReturnType<typeof machineSummary>): void {
  const rows = [
    ['bus', 'subscribed', 'delivery p50 ms', 'p99 ms', 'max ms', 'missing', 'events/subscriber (median, max)', 'idle RSS MB', 'connected RSS MB', 'KB/connection', 'burst s'],
    ...results.map((r) => [
      r.backend === 'redis' ? 'Redis pub/sub' : 'LISTEN/NOTIFY',
      String(r.subscribed),
      r.delivery.p50.toFixed(0),
      r.delivery.p99.toFixed(0),
      r.delivery.max.toFixed(0),
      String(r.delivery.missing),
      `${r.eventsPerSubscriber.median}, ${r.eventsPerSubscriber.max}`,
      r.idleRssMb.toFixed(0),
      r.connectedRssMb.toFixed(0),
      r.rssPerConnectionKb.toFixed(1),
      r.burstSeconds.toFixed(2),
    ]),
  ];
  const targetRows = [['target', 'measured', 'goal', '']];
  for (const r of results) {
    const bus = r.backend === 'redis' ? 'Redis' : 'LISTEN/NOTIFY';
    const all = r.subscribed >= TARGETS.subscribers && r.delivery.missing === 0;
    targetRows.push(
      [`${bus}: subscribers, all reached`, `${r.subscribed}, ${r.delivery.missing} missing`, `${TARGETS.subscribers}, 0 missing`, all ? 'PASS' : 'MISS'],
      [`${bus}: delivery p99`, `${r.delivery.p99.toFixed(0)} ms`, `< ${TARGETS.deliveryP99Ms} ms`, r.delivery.p99 < TARGETS.deliveryP99Ms ? 'PASS' : 'MISS'],
      [`${bus}: RSS per idle connection`, `${r.rssPerConnectionKb.toFixed(1)} KB`, `≤ ${TARGETS.rssPerConnectionKb} KB`, r.rssPerConnectionKb <= TARGETS.rssPerConnectionKb ? 'PASS' : 'MISS'],
    );
  }
  const failures = results.flatMap((r) => Object.entries(r.failures).map(([reason, n]) => `${r.backend}: ${reason} ×${n}`));
  process.stdout.write(
    [
      '',
      `fanout — ${settings.subscribers} subscribers, burst of ${settings.burst}; ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}`,
      table(rows),
      ...(failures.length ? ['', 'connection failures:', ...failures] : []),
      '',
      table(targetRows),
      '',
    ].join('\n'),
  );
}

function log(message: string): void {
  process.stderr.write(`[fanout] ${message}\n`);
}

