/**
 * The `flash-sale` scenario: 1,000 buyers at once on one API process, with a
 * worker process fulfilling the orders.
 *
 * For each queue backend (Redis, then BullMQ's PostgreSQL backend) it starts,
 * on one embedded PostgreSQL cluster of its own and, for Redis, a private
 * redis-server: the API (`src/server.ts --api`, workers off) and one worker
 * (`workers/index.ts`). Buyers are inserted straight into the database as
 * users PENDING provisioning (no argon2 work: nobody logs in; their access
 * tokens are signed with the run's JWT_SECRET) and the worker's sweeper
 * provisions them — a USD account with the welcome credit, through the ledger.
 * Then, from a separate driver process holding one keep-alive connection per
 * buyer:
 *   1. sale rounds — one warm-up round (not counted), then BENCH_ROUNDS: a
 *      fresh item with BENCH_STOCK units and limitPerUser BENCH_LIMIT; every
 *      buyer fires BENCH_ATTEMPTS purchases of one unit, one after another —
 *      1,000 requests in flight at any moment;
 *   2. sustained: an item with more stock than can sell, no limit; every buyer
 *      buys in a closed loop for BENCH_DURATION s (every attempt succeeds, so
 *      each is the full purchase path: row, decrement, order, enqueue).
 *   3. the ceiling, between the two: the same warm-up and sale rounds, driven
 *      the same way, against a bare Fastify route (flash-sale-bare.ts) that
 *      calls inventory_purchase with pg on the same database — the target is
 *      the API's median sale round ≥ 50% of the bare route's, same run.
 * After each, the invariant is checked against the database: stock never
 * below zero, units sold + stock left = stock given, no buyer above the limit,
 * answers = orders + SOLD_OUT + LIMIT_EXCEEDED, nothing else. At the end the
 * worker drains the orders and every FULFILLED order has a COMPLETED PAYMENT
 * of its total. Prints a table per backend; a missed target never fails.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import {
  benchFile,
  busyCores,
  type Child,
  envPositiveNumber,
  hostCpuTimes,
  machineSummary,
  median,
  NODE,
  readCpuSeconds,
  ROOT_DIR,
  runToCompletion,
  spawnListening,
  table,
  tail,
  TSX_IMPORT,
  waitForFile,
} from './lib.js';
import { childEnv } from '../test/harness/processes.js';
import { sleep } from '../test/harness/wait.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import {
  type Backend,
  baselineRevision,
  benchBackends,
  type Buyer,
  checkoutRevision,
  type Cluster,
  compileServer,
  createBenchItem,
  KeepAliveConnection,
  prepareBuyers,
  finishBenchRun, startBenchRun,
  startShop,
} from './system.js';

/** The API's sale attempts/s over the bare route's (flash-sale-bare.ts), both measured in this run. */
const TARGET_SHARE_OF_BARE = 0.5;
const WELCOME_CREDIT = 1_000_000n;

const PURCHASE = 'mutation Purchase($input: PurchaseInput!) { purchase(input: $input) { id status quantity } }';

// ---------------------------------------------------------------------------
// The driver (a separate process: `node --import tsx bench/flash-sale.ts --driver <job.json>`)

export interface SaleDriverJob {
  url: string;
  buyers: Buyer[];
  itemId: string;
  /** Each buyer fires this many purchases, one after another; or, with durationSeconds, buys until time is up. */
  attemptsPerBuyer?: number;
  durationSeconds?: number;
  keyPrefix: string;
}

export interface SaleDriverResult {
  attempts: number;
  wallSeconds: number;
  /** Answers by outcome: the order's status, a GraphQL error code, `HTTP_<status>` or `NETWORK`. */
  outcomes: Record<string, number>;
  samples: Record<string, string>;
  /** Units each buyer got (successful answers only), by buyer index. */
  unitsByBuyer: number[];
  latency: { p50: number; p99: number; max: number };
  driverCpuPercent: number;
}

async function driverMain(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[3] ?? '', 'utf8')) as SaleDriverJob;
  const target = new URL(job.url);
  if (target.hostname !== '127.0.0.1') throw new Error(`bench traffic must target 127.0.0.1, not ${target.hostname}`);
  const connections = job.buyers.map(({ accessToken }) => new KeepAliveConnection(target, accessToken));
  const outcomes: Record<string, number> = {};
  const samples: Record<string, string> = {};
  const unitsByBuyer = job.buyers.map(() => 0);
  const latencies: number[] = [];
  const count = (outcome: string, sample: string) => {
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    samples[outcome] ??= sample.slice(0, 300);
  };

  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  const end = job.durationSeconds ? t0 + job.durationSeconds * 1000 : Infinity;
  const buyer = async (index: number) => {
    const { accountId } = job.buyers[index]!;
    const connection = connections[index]!;
    for (let n = 0; job.attemptsPerBuyer === undefined || n < job.attemptsPerBuyer; n++) {
      if (performance.now() >= end) return;
      const body = JSON.stringify({
        query: PURCHASE,
        variables: { input: { itemId: job.itemId, quantity: 1, accountId, idempotencyKey: `${job.keyPrefix}-${index}-${n}` } },
      });
      const startedAt = performance.now();
      try {
        const response = await connection.post(body);
        latencies.push(performance.now() - startedAt);
        if (response.status !== 200) {
          count(`HTTP_${response.status}`, response.text);
          continue;
        }
        const json = JSON.parse(response.text) as {
          data?: { purchase?: { status: string; quantity: number } | null } | null;
          errors?: { extensions?: { code?: string } }[];
        };
        const order = json.data?.purchase;
        if (order) {
          unitsByBuyer[index]! += order.quantity;
          count(order.status, response.text);
        } else {
          count(json.errors?.[0]?.extensions?.code ?? 'GRAPHQL_ERROR', response.text);
        }
      } catch (error) {
        count('NETWORK', String(error));
      }
    }
  };
  await Promise.all(job.buyers.map((_, index) => buyer(index)));
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  for (const connection of connections) connection.close();

  latencies.sort((a, b) => a - b);
  const at = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]! : 0);
  const result: SaleDriverResult = {
    attempts: latencies.length + (outcomes.NETWORK ?? 0),
    wallSeconds,
    outcomes,
    samples,
    unitsByBuyer,
    latency: { p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? 0 },
    driverCpuPercent: ((cpu.user + cpu.system) / 1e6 / wallSeconds) * 100,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------
// The scenario

interface Settings {
  buyers: number;
  attempts: number;
  stock: number;
  limit: number;
  rounds: number;
  durationSeconds: number;
  backends: Backend[];
  logLevel: string;
  /** BENCH_PROFILE=1: a CPU profile of the API during the last sale round. */
  profile: boolean;
  /** A sale round before the timed ones (BENCH_WARMUP=0: none). */
  warmup: boolean;
}

interface PhaseResult {
  name: string;
  stock: number;
  limit: number | null;
  driver: SaleDriverResult;
  attemptsPerSecond: number;
  cpu: { api: number; worker: number; hostBusyCores: number };
  invariant: { pass: boolean; problems: string[]; unitsSold: number; stockLeft: number };
}

/** What serves the sale: the checkout, or a baseline revision (BENCH_BASELINE) beside it. */
interface Server {
  label: string;
  /** Source run by tsx when `dist` is unset. */
  tree: string;
  dist: string | undefined;
}

interface BackendResult {
  backend: Backend;
  server: string;
  phases: PhaseResult[];
  /** The same sale rounds against the bare route calling inventory_purchase (the ceiling). */
  barePhases: PhaseResult[];
  fulfilment: { pass: boolean; problems: string[]; fulfilled: number; cancelled: number; drainSeconds: number };
}

export async function run(): Promise<{ machine: ReturnType<typeof machineSummary>; settings: Settings; backends: BackendResult[] }> {
  const settings = readSettings();
  const machine = machineSummary();
  log(
    `flash-sale: ${settings.buyers} buyers, ${settings.rounds} sale rounds (stock ${settings.stock}, limit ${settings.limit}, ` +
      `${settings.attempts} attempts each), sustained ${settings.durationSeconds} s, backends ${settings.backends.join(', ')}`,
  );
  log(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}, load ${machine.loadavg}`);
  const { root, dist, cluster } = await startBenchRun('flash');
  const servers: Server[] = [{ label: 'checkout', tree: ROOT_DIR, dist }];
  const revision = baselineRevision();
  if (revision) {
    const { tree, label } = await checkoutRevision(root, revision);
    servers.unshift({ label, tree, dist: dist && (await compileServer(root, tree, 'baseline-build')) });
  }
  const backends: BackendResult[] = [];
  for (const backend of settings.backends) {
    for (const server of servers) {
      backends.push(await runBackend(backend, cluster, root, settings, server));
      printBackend(backends.at(-1)!, settings, machine);
    }
  }
  if (servers.length > 1) printComparison(backends, servers);
  return finishBenchRun({ machine, settings, backends }, cluster);
}

function readSettings(): Settings {
  return {
    buyers: Math.round(envPositiveNumber('BENCH_BUYERS', 1000)),
    attempts: Math.round(envPositiveNumber('BENCH_ATTEMPTS', 5)),
    stock: Math.round(envPositiveNumber('BENCH_STOCK', 100)),
    limit: Math.round(envPositiveNumber('BENCH_LIMIT', 2)),
    rounds: Math.round(envPositiveNumber('BENCH_ROUNDS', 3)),
    durationSeconds: envPositiveNumber('BENCH_DURATION', 10),
    backends: benchBackends(),
    logLevel: process.env.BENCH_LOG_LEVEL || 'warn',
    profile: process.env.BENCH_PROFILE === '1',
    warmup: process.env.BENCH_WARMUP !== '0',
  };
}

async function runBackend(
  backend: Backend,
  cluster: Cluster,
  root: string,
  settings: Settings,
  server: Server,
): Promise<BackendResult> {
  log(`--- backend: ${backend}, server: ${server.label} ---`);
  const runName = `${backend}_${server.tree === ROOT_DIR ? 'checkout' : 'baseline'}`;
  const profileOut = settings.profile ? join(tmpdir(), `switchyard-bench-flash-${Date.now()}-${runName}-api`) : undefined;
  const shop = await startShop({
    cluster,
    root,
    name: `flash_${runName}`,
    backend,
    logLevel: settings.logLevel,
    extraEnv: { WELCOME_CREDIT: String(WELCOME_CREDIT) },
    dist: server.dist,
    tree: server.tree,
    profileOut,
  });
  const { api, worker, apiLog, graphqlUrl, db, dir } = shop;
  try {
    const buyers = await prepareBuyers(shop, settings.buyers);
    log(`${buyers.length} buyers READY, each with ${WELCOME_CREDIT} USD`);
    const createItem = (stock: number, limitPerUser: number | null) => {
      const sku = `BENCH-${randomBytes(4).toString('hex').toUpperCase()}`;
      return createBenchItem(graphqlUrl, { sku, name: `Bench ${sku}`, price: '100', stock, limitPerUser });
    };

    const phases: PhaseResult[] = [];
    const barePhases: PhaseResult[] = [];
    const viaApi = { url: graphqlUrl, child: api, log: apiLog, phases };
    const measure = async (
      name: string,
      stock: number,
      limit: number | null,
      job: Omit<SaleDriverJob, 'url' | 'buyers' | 'itemId'>,
      server: { url: string; child: Child; log: string; phases: PhaseResult[] } = viaApi,
    ) => {
      const itemId = await createItem(stock, limit);
      const jobFile = join(dir, `driver-${phases.length + barePhases.length}.json`);
      writeFileSync(jobFile, JSON.stringify({ url: server.url, buyers, itemId, ...job } satisfies SaleDriverJob));
      const before = { api: readCpuSeconds(server.child.pid) ?? 0, worker: readCpuSeconds(worker.pid) ?? 0, host: hostCpuTimes() };
      const out = await runToCompletion('flash-sale driver', NODE, [...TSX_IMPORT, benchFile('flash-sale.ts'), '--driver', jobFile], {
        child: server.child,
        describe: () => `its log ends:\n${tail(server.log)}`,
      });
      const driver = JSON.parse(out.trim().split('\n').pop() ?? '') as SaleDriverResult;
      const wall = driver.wallSeconds;
      const cpu = {
        api: ((readCpuSeconds(server.child.pid) ?? 0) - before.api) / wall,
        worker: ((readCpuSeconds(worker.pid) ?? 0) - before.worker) / wall,
        hostBusyCores: busyCores(before.host, hostCpuTimes()),
      };
      const invariant = await checkSale(db, itemId, stock, limit, driver);
      server.phases.push({ name, stock, limit, driver, attemptsPerSecond: driver.attempts / wall, cpu, invariant });
      log(
        `${name}: ${driver.attempts} attempts in ${wall.toFixed(2)} s = ${(driver.attempts / wall).toFixed(0)}/s, ` +
          `p50 ${driver.latency.p50.toFixed(0)} ms, p99 ${driver.latency.p99.toFixed(0)} ms, ${JSON.stringify(driver.outcomes)}, ` +
          `invariant ${invariant.pass ? 'intact' : `BROKEN: ${invariant.problems.join('; ')}`}`,
      );
    };

    const runId = randomBytes(3).toString('hex');
    // Not counted: the first round runs on cold code (JIT, connection pools).
    if (settings.warmup) {
      await measure('warm-up', settings.stock, settings.limit, { attemptsPerBuyer: settings.attempts, keyPrefix: `${runId}-w` });
    }
    for (let round = 1; round <= settings.rounds; round++) {
      const profiled = profileOut !== undefined && round === settings.rounds;
      if (profiled) process.kill(api.pid, 'SIGUSR2');
      await measure(`sale round ${round}`, settings.stock, settings.limit, { attemptsPerBuyer: settings.attempts, keyPrefix: `${runId}-r${round}` });
      if (profiled) {
        process.kill(api.pid, 'SIGUSR2');
        const file = `${profileOut}-1.cpuprofile`;
        await waitForFile(file, 30_000);
        process.stdout.write(`\nCPU profile of the API during sale round ${round} (${backend}), ${file}\n${formatSummary(summarizeProfile(file, 25))}\n`);
      }
    }

    // The ceiling: the same rounds, driven the same way, against a bare route calling inventory_purchase on this
    // database. After the API's rounds, so that the sweeper's fulfilment of its orders (no job is enqueued for
    // them) lands in the sustained phase, which is busy with fulfilment anyway, rather than in a measured round.
    const bare = await startBare(shop.databaseUrl, buyers, dir);
    try {
      const viaBare = { url: `http://127.0.0.1:${bare.port}/graphql`, child: bare.child, log: bare.log, phases: barePhases };
      const bareRounds = [...(settings.warmup ? ['bare: warm-up'] : []), ...Array.from({ length: settings.rounds }, (_, i) => `bare: sale round ${i + 1}`)];
      for (const [index, name] of bareRounds.entries()) {
        await measure(name, settings.stock, settings.limit, { attemptsPerBuyer: settings.attempts, keyPrefix: `${runId}-b${index}` }, viaBare);
      }
    } finally {
      await bare.child.stop();
    }

    await measure('sustained', 1_000_000, null, { durationSeconds: settings.durationSeconds, keyPrefix: `${runId}-s` });

    const fulfilment = await drainFulfilment(db, worker);
    log(`fulfilment: ${fulfilment.fulfilled} FULFILLED, ${fulfilment.cancelled} CANCELLED, drained in ${fulfilment.drainSeconds.toFixed(1)} s`);
    return { backend, server: server.label, phases, barePhases, fulfilment };
  } finally {
    await shop.stop();
  }
}

/** The bare route (flash-sale-bare.ts) on the shop's database; resolves once it listens. */
async function startBare(databaseUrl: string, buyers: Buyer[], dir: string): Promise<{ child: Child; port: number; log: string }> {
  const buyersFile = join(dir, 'bare-buyers.json');
  writeFileSync(buyersFile, JSON.stringify(buyers.map(({ id, accessToken }) => ({ id, accessToken }))));
  const logFile = join(dir, 'bare.log');
  const { child, port } = await spawnListening('bare purchase route', [...TSX_IMPORT, benchFile('flash-sale-bare.ts'), buyersFile], {
    env: childEnv({ DATABASE_URL: databaseUrl, PORT: '0' }),
    logFile,
  });
  return { child, port, log: logFile };
}

/** The sale's invariant, from the database and the driver's answers. */
async function checkSale(
  db: pg.Client,
  itemId: string,
  stockGiven: number,
  limit: number | null,
  driver: SaleDriverResult,
): Promise<PhaseResult['invariant']> {
  const problems: string[] = [];
  const { rows: items } = await db.query<{ stock: number }>(`SELECT "stock" FROM "inventory_items" WHERE "id" = $1`, [itemId]);
  const stockLeft = items[0]!.stock;
  // Orders still RESERVED or already paid; cancelled ones gave their units back.
  const { rows: perBuyer } = await db.query<{ buyer_id: string; units: string }>(
    `SELECT "buyer_id", sum("quantity") AS units FROM "orders" WHERE "item_id" = $1 AND "status" <> 'CANCELLED' GROUP BY "buyer_id"`,
    [itemId],
  );
  const { rows: all } = await db.query<{ orders: string; units: string | null }>(
    `SELECT count(*) AS orders, sum("quantity") AS units FROM "orders" WHERE "item_id" = $1`,
    [itemId],
  );
  const unitsSold = perBuyer.reduce((sum, row) => sum + Number(row.units), 0);
  if (stockLeft < 0) problems.push(`stock below zero: ${stockLeft}`);
  if (unitsSold + stockLeft !== stockGiven) problems.push(`units sold ${unitsSold} + stock left ${stockLeft} ≠ ${stockGiven}`);
  if (limit !== null) {
    const over = perBuyer.filter((row) => Number(row.units) > limit).length;
    if (over > 0) problems.push(`${over} buyers above the limit of ${limit}`);
  }
  const answered = Object.values(driver.outcomes).reduce((a, b) => a + b, 0);
  const orders = Number(all[0]!.orders);
  const accepted = (driver.outcomes.RESERVED ?? 0) + (driver.outcomes.PAID ?? 0) + (driver.outcomes.FULFILLED ?? 0) + (driver.outcomes.CANCELLED ?? 0);
  if (accepted !== orders) problems.push(`${accepted} purchases answered with an order, ${orders} orders in the database`);
  const refused = (driver.outcomes.SOLD_OUT ?? 0) + (driver.outcomes.LIMIT_EXCEEDED ?? 0);
  if (accepted + refused !== answered) {
    const other = Object.entries(driver.outcomes).filter(([k]) => !['RESERVED', 'PAID', 'FULFILLED', 'CANCELLED', 'SOLD_OUT', 'LIMIT_EXCEEDED'].includes(k));
    problems.push(`other answers: ${other.map(([k, v]) => `${k} ×${v} (${driver.samples[k]})`).join(', ')}`);
  }
  return { pass: problems.length === 0, problems, unitsSold, stockLeft };
}

/** Waits until no order is RESERVED or PAID; then every FULFILLED order must have a COMPLETED payment of its total. */
async function drainFulfilment(db: pg.Client, worker: Child): Promise<BackendResult['fulfilment']> {
  const started = performance.now();
  const deadline = Date.now() + 600_000;
  const problems: string[] = [];
  for (;;) {
    const { rows } = await db.query<{ open: string }>(`SELECT count(*) AS open FROM "orders" WHERE "status" IN ('RESERVED', 'PAID')`);
    if (Number(rows[0]!.open) === 0) break;
    if (worker.hasExited()) throw new Error('the worker exited while orders were open');
    if (Date.now() > deadline) {
      problems.push(`${rows[0]!.open} orders still open after 600 s`);
      break;
    }
    await sleep(250);
  }
  const drainSeconds = (performance.now() - started) / 1000;
  const { rows: statuses } = await db.query<{ status: string; n: string }>(`SELECT "status", count(*) AS n FROM "orders" GROUP BY "status"`);
  const by = Object.fromEntries(statuses.map((row) => [row.status, Number(row.n)]));
  const { rows: unpaid } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM "orders" o
     LEFT JOIN "ledger_transactions" t ON t."id" = o."payment_transaction_id"
     WHERE o."status" = 'FULFILLED' AND (t."id" IS NULL OR t."status" <> 'COMPLETED' OR t."kind" <> 'PAYMENT' OR t."amount" <> o."total")`,
  );
  if (Number(unpaid[0]!.n) > 0) problems.push(`${unpaid[0]!.n} FULFILLED orders without a COMPLETED payment of their total`);
  return { pass: problems.length === 0, problems, fulfilled: by.FULFILLED ?? 0, cancelled: by.CANCELLED ?? 0, drainSeconds };
}

function printBackend(result: BackendResult, settings: Settings, machine: ReturnType<typeof machineSummary>): void {
  const rows = [
    ['phase', 'stock', 'limit', 'attempts', 'attempts/s', 'p50 ms', 'p99 ms', 'max ms', 'orders', 'SOLD_OUT', 'LIMIT_EXCEEDED', 'other', 'API cpu', 'worker cpu', 'driver cpu', 'host cores', 'invariant'],
    ...[...result.phases, ...result.barePhases].map((phase) => {
      const o = phase.driver.outcomes;
      const orders = (o.RESERVED ?? 0) + (o.PAID ?? 0) + (o.FULFILLED ?? 0) + (o.CANCELLED ?? 0);
      const other = phase.driver.attempts - orders - (o.SOLD_OUT ?? 0) - (o.LIMIT_EXCEEDED ?? 0);
      return [
        phase.name,
        String(phase.stock),
        phase.limit === null ? '-' : String(phase.limit),
        String(phase.driver.attempts),
        phase.attemptsPerSecond.toFixed(0),
        phase.driver.latency.p50.toFixed(0),
        phase.driver.latency.p99.toFixed(0),
        phase.driver.latency.max.toFixed(0),
        String(orders),
        String(o.SOLD_OUT ?? 0),
        String(o.LIMIT_EXCEEDED ?? 0),
        String(other),
        `${(phase.cpu.api * 100).toFixed(0)}%`,
        `${(phase.cpu.worker * 100).toFixed(0)}%`,
        `${phase.driver.driverCpuPercent.toFixed(0)}%`,
        phase.cpu.hostBusyCores.toFixed(2),
        phase.invariant.pass ? 'intact' : 'BROKEN',
      ];
    }),
  ];
  const rate = saleRate(result.phases);
  const bareRate = saleRate(result.barePhases);
  const share = bareRate > 0 ? rate / bareRate : 0;
  const intact = [...result.phases, ...result.barePhases].every((p) => p.invariant.pass) && result.fulfilment.pass;
  process.stdout.write(
    [
      '',
      `flash-sale (${result.backend} queues, ${result.server}) — ${settings.buyers} buyers, ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}`,
      table(rows),
      '',
      `fulfilment: ${result.fulfilment.fulfilled} FULFILLED, ${result.fulfilment.cancelled} CANCELLED, drained in ${result.fulfilment.drainSeconds.toFixed(1)} s` +
        (result.fulfilment.pass ? '' : ` — ${result.fulfilment.problems.join('; ')}`),
      ...[...result.phases, ...result.barePhases].filter((p) => !p.invariant.pass).map((p) => `${p.name}: ${p.invariant.problems.join('; ')}`),
      'bare: = the same rounds against flash-sale-bare.ts (inventory_purchase from a bare Fastify route; its CPU in the API column)',
      '',
      table([
        ['target', 'measured', 'goal', ''],
        [
          'sale attempts/s (median round) / bare route\'s',
          `${rate.toFixed(0)} / ${bareRate.toFixed(0)} = ${(share * 100).toFixed(0)}%`,
          `≥ ${TARGET_SHARE_OF_BARE * 100}%`,
          share >= TARGET_SHARE_OF_BARE ? 'PASS' : 'MISS',
        ],
        ['invariant (every phase + fulfilment)', intact ? 'intact' : 'BROKEN', 'intact', intact ? 'PASS' : 'MISS'],
      ]),
      '',
    ].join('\n'),
  );
}

/** The sale rounds' median attempts/s (of the API's phases, or the bare route's). */
function saleRate(phases: PhaseResult[]): number {
  const rates = phases.filter((phase) => /^(bare: )?sale/.test(phase.name)).map((phase) => phase.attemptsPerSecond);
  return rates.length ? median(rates) : 0;
}

/** BENCH_BASELINE: the baseline and the checkout side by side, per backend, from this one run. */
function printComparison(results: BackendResult[], servers: Server[]): void {
  const [baseline, checkout] = servers as [Server, Server];
  const rows = [['backend', `${baseline.label} attempts/s`, 'checkout attempts/s', 'change']];
  for (const backend of new Set(results.map((result) => result.backend))) {
    const rate = (server: Server) => saleRate(results.find((r) => r.backend === backend && r.server === server.label)!.phases);
    const before = rate(baseline);
    const after = rate(checkout);
    rows.push([backend, before.toFixed(0), after.toFixed(0), `${after >= before ? '+' : ''}${(((after - before) / before) * 100).toFixed(0)}%`]);
  }
  process.stdout.write(`\nsale attempts/s, median of the sale rounds, side by side (one run)\n${table(rows)}\n`);
}

function log(message: string): void {
  process.stderr.write(`[flash-sale] ${message}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === '--driver') {
  driverMain().catch((error: unknown) => {
    process.stderr.write(`flash-sale driver: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
