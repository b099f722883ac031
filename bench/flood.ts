/**
 * The `flood` scenario: one client IP floods `items(first: 5)` as fast as it
 * can while 10 other IPs send a steady, legitimate rate, through one API
 * process with the rate limits on (RATE_LIMITS=on, TRUST_PROXY=loopback, so
 * that X-Forwarded-For names each client), with the Redis store and with the
 * PostgreSQL store, each as configured by default (refusals of a client that
 * ignores Retry-After held, src/http/refusal-hold.ts) and with
 * RATE_LIMIT_HOLD_MS=0 (every refusal at once: what one costs). Then the
 * same-run ceiling: flood-bare.ts, a bare Fastify route with an in-memory
 * window per IP, under the same traffic.
 *
 * Phase 1, BENCH_DURATION s (20): the flood (autocannon, BENCH_CONNECTIONS
 * connections, bench/driver.ts) and the 10 steady clients (this file with
 * `--legit <job>`, one keep-alive connection each, BENCH_LEGIT_RATE requests
 * per second per IP) at once. Phase 2, 5 s: the flood alone, its budget long
 * spent, to read the server's CPU per throttled request (its CPU time over the
 * requests answered). Admitted and throttled are told apart by body: every
 * admitted answer is the same page of items (autocannon's expectBody), a
 * throttled one is RATE_LIMITED.
 */
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_RATE_LIMITS } from '../src/config.js';
import type { DriverJob, DriverResult } from './driver.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { childEnv } from '../test/harness/processes.js';
import {
  benchFile,
  envPositiveNumber,
  NODE,
  readCpuSeconds,
  runToCompletion,
  spawnListening,
  table,
  TSX_IMPORT,
  waitForFile,
} from './lib.js';
import { type Backend, benchBackends, createBenchItem, finishBenchRun, startBenchRun, startShop } from './system.js';

/** BENCH_PROFILE=1: a CPU profile of the API during the throttled phase, per store. */
const profileOf = (backend: Backend) =>
  process.env.BENCH_PROFILE ? join(tmpdir(), `switchyard-bench-flood-${backend}-${process.pid}-api`) : undefined;

const QUERY = '{ items(first: 5) { edges { node { sku name price stock } } } }';
const BODY = JSON.stringify({ query: QUERY });
const FLOOD_IP = '203.0.113.1';
const LEGIT_IPS = Array.from({ length: 10 }, (_, i) => `198.51.100.${i + 1}`);

interface LegitJob {
  url: string;
  ips: string[];
  ratePerSecond: number;
  durationSeconds: number;
}

interface LegitResult {
  sent: number;
  admitted: number;
  throttled: number;
  otherErrors: number;
  latenciesMs: number[];
}

// ---------------------------------------------------------------------------
// The steady clients (a separate process)

async function legitMain(): Promise<void> {
  const job = JSON.parse(process.argv[3] ?? '') as LegitJob;
  const url = new URL(job.url);
  if (url.hostname !== '127.0.0.1') throw new Error(`bench traffic must target 127.0.0.1, not ${url.hostname}`);
  const result: LegitResult = { sent: 0, admitted: 0, throttled: 0, otherErrors: 0, latenciesMs: [] };
  const until = Date.now() + job.durationSeconds * 1000;
  const intervalMs = 1000 / job.ratePerSecond;
  await Promise.all(
    job.ips.map(async (ip, index) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      // Spread the clients over one interval, so that they do not all send at the same instant.
      let next = Date.now() + (intervalMs * index) / job.ips.length;
      while (next < until) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
        next += intervalMs;
        const started = process.hrtime.bigint();
        const text = await post(agent, url, ip);
        result.latenciesMs.push(Number(process.hrtime.bigint() - started) / 1e6);
        result.sent += 1;
        if (text.includes('"RATE_LIMITED"')) result.throttled += 1;
        else if (text.includes('"errors"')) result.otherErrors += 1;
        else result.admitted += 1;
      }
      agent.destroy();
    }),
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function post(agent: http.Agent, url: URL, ip: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, 'content-length': Buffer.byteLength(BODY) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve(text));
      },
    );
    request.on('error', reject);
    request.end(BODY);
  });
}

// ---------------------------------------------------------------------------
// The scenario

/** Who answered: the API on one of the stores, with its refusals held (the default) or not, or the bare ceiling (flood-bare.ts). */
interface Target {
  backend: Backend | 'bare';
  held: boolean;
}
const targetLabel = ({ backend, held }: Target) => (backend === 'bare' ? 'bare (ceiling)' : held ? backend : `${backend}, no hold`);

interface FloodRow extends Target {
  flood: { sent: number; admitted: number; throttled: number; p50Ms: number; p99Ms: number; budget: number };
  legit: { sent: number; admitted: number; throttled: number; otherErrors: number; p50Ms: number; p99Ms: number };
  throttledPhase: { requests: number; apiCpuSeconds: number; cpuPerThrottledUs: number; requestsPerSecond: number };
}

interface Settings {
  durationSeconds: number;
  connections: number;
  legitRate: number;
}

export async function run(): Promise<FloodRow[]> {
  const settings: Settings = {
    durationSeconds: envPositiveNumber('BENCH_DURATION', 20),
    connections: envPositiveNumber('BENCH_CONNECTIONS', 50),
    legitRate: envPositiveNumber('BENCH_LEGIT_RATE', 4),
  };
  if (settings.durationSeconds >= DEFAULT_RATE_LIMITS.anonymous.duration) {
    throw new Error(`BENCH_DURATION must stay within one window of the anonymous budget (< ${DEFAULT_RATE_LIMITS.anonymous.duration} s)`);
  }
  const { root, dist, cluster } = await startBenchRun('flood');
  const rows: FloodRow[] = [];
  let ceilingDatabase: { url: string; dir: string } | undefined;
  // Each store twice: as configured by default (refusals held once a client ignores Retry-After), and with
  // RATE_LIMIT_HOLD_MS=0, where every refusal is answered at once: what one refusal costs.
  for (const backend of benchBackends()) {
    for (const held of [true, false]) {
      const target = { backend, held };
      const shop = await startShop({
        cluster,
        root,
        name: `flood_${backend}${held ? '' : '_no_hold'}`,
        backend,
        logLevel: process.env.BENCH_LOG_LEVEL || 'warn',
        dist,
        extraEnv: { RATE_LIMITS: 'on', TRUST_PROXY: 'loopback', ...(held ? {} : { RATE_LIMIT_HOLD_MS: '0' }) },
        profileOut: held ? undefined : profileOf(backend),
      });
      try {
        await shop.worker.stop();
        for (let i = 1; i <= 5; i++) {
          await createBenchItem(shop.graphqlUrl, { sku: `FLOOD-${i}`, name: `Flood item ${i}`, price: '100', stock: 10, limitPerUser: null });
        }
        ceilingDatabase ??= { url: shop.databaseUrl, dir: shop.dir };
        const watch = { child: shop.api, describe: () => `see ${shop.apiLog}` };
        rows.push(await measure(target, shop.graphqlUrl, shop.api.pid, watch, settings, held ? undefined : profileOf(backend)));
      } finally {
        await shop.stop();
      }
    }
  }
  // The ceiling, on the first store's database (its items), with the API stopped: the same traffic, the least work.
  if (ceilingDatabase) {
    const logFile = join(ceilingDatabase.dir, 'bare.log');
    const { anonymous } = DEFAULT_RATE_LIMITS;
    const bare = await spawnListening('bare flood route', [...TSX_IMPORT, benchFile('flood-bare.ts')], {
      env: childEnv({
        DATABASE_URL: ceilingDatabase.url,
        PORT: '0',
        ANONYMOUS_LIMIT: String(anonymous.limit),
        ANONYMOUS_WINDOW_S: String(anonymous.duration),
      }),
      logFile,
    });
    try {
      const url = `http://127.0.0.1:${bare.port}/graphql`;
      rows.push(await measure({ backend: 'bare', held: false }, url, bare.child.pid, { child: bare.child, describe: () => `see ${logFile}` }, settings));
    } finally {
      await bare.child.stop();
    }
  }
  print(rows, settings);
  return finishBenchRun(rows, cluster);
}

/**
 * Both phases against one server: the flood and the steady clients at once,
 * then the flood alone for 5 s with the server's CPU read around it (and its
 * profile taken, when `profileOut` is set).
 */
async function measure(
  target: Target,
  url: string,
  pid: number,
  watch: Parameters<typeof runToCompletion>[3],
  settings: Settings,
  profileOut?: string,
): Promise<FloodRow> {
  const { durationSeconds, connections, legitRate } = settings;
  // The admitted answer, as the flood will see it (asked from an address of its own).
  const expected = await post(new http.Agent(), new URL(url), '192.0.2.99');
  const label = targetLabel(target);
  if (!expected.includes('"items"')) throw new Error(`the items page failed on ${label}: ${expected}`);
  log(`${label}: pid ${pid}; flood of ${connections} connections and 10 IPs at ${legitRate}/s for ${durationSeconds} s`);

  const floodJob: DriverJob = {
    title: `flood (${label})`,
    url,
    headers: { 'content-type': 'application/json', 'x-forwarded-for': FLOOD_IP },
    body: BODY,
    connections,
    durationSeconds,
    expectBody: expected,
  };
  const legitJob: LegitJob = { url, ips: LEGIT_IPS, ratePerSecond: legitRate, durationSeconds };
  const [flood, legit] = await Promise.all([
    drive(floodJob, watch),
    runToCompletion('legit clients', NODE, [...TSX_IMPORT, benchFile('flood.ts'), '--legit', JSON.stringify(legitJob)], watch).then(
      (out) => JSON.parse(out.trim().split('\n').pop() ?? '') as LegitResult,
    ),
  ]);

  // Phase 2: only throttled answers now; the server's CPU over them.
  if (profileOut) process.kill(pid, 'SIGUSR2');
  const cpuBefore = readCpuSeconds(pid) ?? 0;
  const throttledOnly = await drive({ ...floodJob, title: `throttled (${label})`, durationSeconds: THROTTLED_PHASE_S }, watch);
  const apiCpuSeconds = (readCpuSeconds(pid) ?? 0) - cpuBefore;
  if (profileOut) {
    process.kill(pid, 'SIGUSR2');
    const file = `${profileOut}-1.cpuprofile`;
    await waitForFile(file, 30_000);
    log(`CPU profile of the API, throttled phase (${label}), ${file}\n${formatSummary(summarizeProfile(file, 25))}`);
  }
  if (throttledOnly.requestsTotal !== throttledOnly.mismatches) {
    log(`${label}: ${throttledOnly.requestsTotal - throttledOnly.mismatches} admitted in the throttled phase`);
  }
  const sorted = [...legit.latenciesMs].sort((a, b) => a - b);
  return {
    ...target,
    flood: {
      sent: flood.requestsTotal,
      admitted: flood.requestsTotal - flood.mismatches,
      throttled: flood.mismatches,
      p50Ms: flood.latencyP50Ms,
      p99Ms: flood.latencyP99Ms,
      budget: DEFAULT_RATE_LIMITS.anonymous.limit,
    },
    legit: {
      sent: legit.sent,
      admitted: legit.admitted,
      throttled: legit.throttled,
      otherErrors: legit.otherErrors,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
    },
    throttledPhase: {
      requests: throttledOnly.requestsTotal,
      apiCpuSeconds,
      cpuPerThrottledUs: (apiCpuSeconds / Math.max(1, throttledOnly.requestsTotal)) * 1e6,
      requestsPerSecond: throttledOnly.requestsPerSecondMean,
    },
  };
}

async function drive(job: DriverJob, watch: Parameters<typeof runToCompletion>[3]): Promise<DriverResult> {
  const out = await runToCompletion(`driver (${job.title})`, NODE, [...TSX_IMPORT, benchFile('driver.ts'), JSON.stringify(job)], watch);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as DriverResult;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Seconds of the second phase: the flood alone, every answer a refusal. */
const THROTTLED_PHASE_S = 5;

/** How many times the ceiling's figure the API's may be: the same traffic, the same machine, the same run. */
const CEILING_RATIO = 2;

function print(rows: FloodRow[], settings: Settings): void {
  const bare = rows.find((row) => row.backend === 'bare');
  const verdict = (pass: boolean) => (pass ? 'PASS' : 'MISS');
  const ratio = (value: number) => `${value.toFixed(2)}×`;
  const checks = rows.flatMap((row): string[][] => {
    if (row.backend === 'bare') return [];
    const name = targetLabel(row);
    if (!row.held) {
      // Every refusal answered at once: what one costs.
      const cpu = row.throttledPhase.cpuPerThrottledUs;
      return [
        [verdict(cpu < 100), `${name}: API CPU per throttled request`, `${cpu.toFixed(0)} µs`, '< 100 µs'],
        ...(bare
          ? [[verdict(cpu / bare.throttledPhase.cpuPerThrottledUs <= CEILING_RATIO), `${name}: CPU per throttled request vs the ceiling's`, ratio(cpu / bare.throttledPhase.cpuPerThrottledUs), `≤ ${CEILING_RATIO}×`]]
          : []),
      ];
    }
    const over = row.flood.admitted / row.flood.budget - 1;
    return [
      [verdict(Math.abs(over) <= 0.05), `${name}: flood admitted vs its budget`, `${row.flood.admitted} / ${row.flood.budget}`, 'within 5%'],
      [verdict(row.legit.throttled === 0), `${name}: legitimate throttled`, String(row.legit.throttled), '0'],
      [verdict(row.legit.p99Ms < 50), `${name}: legitimate p99`, ms(row.legit.p99Ms), '< 50 ms'],
      ...(bare
        ? [
            [verdict(row.legit.p99Ms / bare.legit.p99Ms <= CEILING_RATIO), `${name}: legitimate p99 vs the ceiling's`, ratio(row.legit.p99Ms / bare.legit.p99Ms), `≤ ${CEILING_RATIO}×`],
            [verdict(row.throttledPhase.apiCpuSeconds <= bare.throttledPhase.apiCpuSeconds), `${name}: CPU the flood costs vs the ceiling's`, ratio(row.throttledPhase.apiCpuSeconds / bare.throttledPhase.apiCpuSeconds), '≤ 1×'],
          ]
        : []),
    ];
  });
  const lines = [
    `flood: one IP on ${settings.connections} connections vs 10 IPs at ${settings.legitRate}/s each, ${settings.durationSeconds} s; ` +
      `then the flood alone for ${THROTTLED_PHASE_S} s; anonymous budget ${DEFAULT_RATE_LIMITS.anonymous.limit} per ${DEFAULT_RATE_LIMITS.anonymous.duration} s per IP`,
    '',
    table([
      ['server', 'group', 'sent', 'admitted', 'throttled', 'p50', 'p99'],
      ...rows.flatMap((row) => [
        [targetLabel(row), 'flood', String(row.flood.sent), String(row.flood.admitted), String(row.flood.throttled), ms(row.flood.p50Ms), ms(row.flood.p99Ms)],
        [targetLabel(row), 'legitimate', String(row.legit.sent), String(row.legit.admitted), String(row.legit.throttled), ms(row.legit.p50Ms), ms(row.legit.p99Ms)],
      ]),
    ], 2),
    '',
    table([
      ['server', 'throttled answers', 'per second', 'CPU', 'cores busy', 'CPU per throttled request'],
      ...rows.map((row) => [
        targetLabel(row),
        String(row.throttledPhase.requests),
        row.throttledPhase.requestsPerSecond.toFixed(0),
        `${row.throttledPhase.apiCpuSeconds.toFixed(2)} s`,
        (row.throttledPhase.apiCpuSeconds / THROTTLED_PHASE_S).toFixed(2),
        `${row.throttledPhase.cpuPerThrottledUs.toFixed(0)} µs`,
      ]),
    ]),
    '',
    'targets:',
    table([['', 'target', 'measured', 'goal'], ...checks], 99),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function log(message: string): void {
  process.stderr.write(`[flood] ${message}\n`);
}

if (process.argv[2] === '--legit' && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  legitMain().catch((error: unknown) => {
    process.stderr.write(`flood legit clients: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
