/**
 * The `ledger` scenario (issue 3, item 8): transfers through the job backbone.
 *
 * For each queue backend (Redis, then BullMQ's PostgreSQL backend) it starts,
 * on one embedded PostgreSQL cluster of its own (a fresh database per backend,
 * pg_stat_statements loaded) and, for Redis, a private redis-server:
 *   - the API as a child process (`src/server.ts --api`, workers off),
 *   - one worker process (`workers/index.ts`),
 * registers 20 users (each provisioned by the worker: READY with a USD account
 * holding WELCOME_CREDIT), then drives `transfer` mutations between random
 * accounts from a separate driver process (this file run with `--driver`):
 *   0. the ceiling: ledger-ceiling.ts, with the worker's environment, records
 *      BENCH_CEILING_TRANSFERS PENDING transfers through the ledger service and
 *      settles them with the settlement job's own function in a loop,
 *      WORKER_CONCURRENCY at a time, no queue (after the warm-up);
 *   1. warm-up (BENCH_WARMUP s), drained;
 *   2. peak: BENCH_CLIENTS closed-loop clients for BENCH_DURATION s;
 *   3. half rate: an open-loop schedule at half the peak's accepted/s.
 * After each phase the queue is drained and the ledger invariants are checked
 * against the database. Targets are ratios to the same run's ceiling, as
 * machines here differ by 3×. Prints one table per backend with PASS/MISS; a miss
 * never fails the process.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { freePort } from '../test/harness/ports.js';
import { childEnv } from '../test/harness/processes.js';
import {
  benchFile,
  busyCores,
  type Child,
  envPositiveNumber,
  hostCpuTimes,
  loadavgNow,
  machineSummary,
  NODE,
  onCleanup,
  readCpuSeconds,
  readCpuSecondsWithReaped,
  readDescendantsCpuSeconds,
  ROOT_DIR,
  removeOnCleanup,
  runToCompletion,
  spawnChild,
  table,
  tail,
  TSX_IMPORT,
  waitForFile,
  waitForHealth,
} from './lib.js';
import { sleep } from '../test/harness/wait.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { type Backend, benchBackends, type Cluster, graphql, postGraphQL, startCluster, startRedis } from './system.js';
import type { CeilingJob, CeilingResult } from './ledger-ceiling.js';

const WELCOME_CREDIT = 10_000n;
const HOUSE_OPENING_BALANCE = 1_000_000_000_000n;
const AMOUNT_MAX = 50;
const TARGETS = {
  /** Settled/s at peak over the ceiling's (ledger-ceiling.ts: the worker's settlement in a loop, no queue), same run. */
  shareOfCeiling: 0.5,
  acceptP99Ms: 30,
  settleP99Ms: 250,
};
/** PENDING transfers the ceiling records, then settles (BENCH_CEILING_TRANSFERS). */
const CEILING_TRANSFERS = 5000;

const TRANSFER = 'mutation Transfer($input: TransferInput!) { transfer(input: $input) { id status } }';

// ---------------------------------------------------------------------------
// The driver (a separate process: `node --import tsx bench/ledger.ts --driver '<job>'`)

export interface LedgerDriverJob {
  url: string;
  users: { token: string; accountId: string }[];
  clients: number;
  durationSeconds: number;
  /** Open loop at this many requests/s (a shared schedule); unset = closed loop, as fast as answers come. */
  rate?: number;
  /** Idempotency keys are `${keyPrefix}-${client}-${n}`: the phase's transactions are found by it. */
  keyPrefix: string;
}

export interface LedgerDriverResult {
  sent: number;
  accepted: number;
  /** Epoch ms: the timed window (in-flight requests finish after windowEndMs). */
  windowStartMs: number;
  windowEndMs: number;
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Failed requests by GraphQL error code, `HTTP_<status>` or `NETWORK`. */
  errors: Record<string, number>;
  /** The first message seen for each error code. */
  errorSamples: Record<string, string>;
  /** Statuses in the accepted responses (PENDING, or already settled). */
  statuses: Record<string, number>;
  /** Open loop only: how far behind its schedule the driver fell at worst. */
  maxLagMs: number;
  driverCpuPercent: number;
}

async function driverMain(): Promise<void> {
  const job = JSON.parse(process.argv[3] ?? '') as LedgerDriverJob;
  const target = new URL(job.url);
  if (target.hostname !== '127.0.0.1') throw new Error(`bench traffic must target 127.0.0.1, not ${target.hostname}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.clients });
  const bodies = (from: number, to: number, key: string) =>
    JSON.stringify({
      query: TRANSFER,
      variables: {
        input: {
          fromAccountId: job.users[from]!.accountId,
          toAccountId: job.users[to]!.accountId,
          amount: String(1 + Math.floor(Math.random() * AMOUNT_MAX)),
          idempotencyKey: key,
        },
      },
    });

  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const errorSamples: Record<string, string> = {};
  let sent = 0;
  let maxLagMs = 0;
  const count = (map: Record<string, number>, key: string) => {
    map[key] = (map[key] ?? 0) + 1;
  };

  const cpuBefore = process.cpuUsage();
  const windowStartMs = Date.now();
  const t0 = performance.now();
  const end = t0 + job.durationSeconds * 1000;
  const interval = job.rate ? 1000 / job.rate : 0;
  let scheduled = 0;

  const client = async (index: number) => {
    for (let n = 0; ; n++) {
      let startedAt: number;
      if (job.rate) {
        // Open loop: the next free slot of the shared schedule; latency counts from the
        // slot, so a driver or server that falls behind shows in the figures.
        const slot = t0 + scheduled++ * interval;
        if (slot >= end) return;
        const wait = slot - performance.now();
        if (wait > 1) await sleep(wait);
        else maxLagMs = Math.max(maxLagMs, -wait);
        startedAt = slot;
      } else {
        if (performance.now() >= end) return;
        startedAt = performance.now();
      }
      const from = Math.floor(Math.random() * job.users.length);
      let to = Math.floor(Math.random() * (job.users.length - 1));
      if (to >= from) to += 1;
      const body = bodies(from, to, `${job.keyPrefix}-${index}-${n}`);
      sent += 1;
      try {
        const response = await postGraphQL(agent, target, job.users[from]!.token, body);
        const done = performance.now();
        if (response.status !== 200) {
          count(errors, `HTTP_${response.status}`);
          errorSamples[`HTTP_${response.status}`] ??= response.text.slice(0, 300);
          continue;
        }
        const json = JSON.parse(response.text) as {
          data?: { transfer?: { id: string; status: string } | null } | null;
          errors?: { extensions?: { code?: string } }[];
        };
        if (json.errors?.length || !json.data?.transfer) {
          const code = json.errors?.[0]?.extensions?.code ?? 'GRAPHQL_ERROR';
          count(errors, code);
          errorSamples[code] ??= response.text.slice(0, 300);
          continue;
        }
        latencies.push(done - startedAt);
        count(statuses, json.data.transfer.status);
      } catch (error) {
        count(errors, 'NETWORK');
        errorSamples.NETWORK ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: job.clients }, (_, index) => client(index)));
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  agent.destroy();

  latencies.sort((a, b) => a - b);
  const at = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]! : 0);
  const result: LedgerDriverResult = {
    sent,
    accepted: latencies.length,
    windowStartMs,
    windowEndMs: windowStartMs + job.durationSeconds * 1000,
    latency: {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: latencies.at(-1) ?? 0,
      mean: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0,
    },
    errors,
    errorSamples,
    statuses,
    maxLagMs,
    driverCpuPercent: ((cpu.user + cpu.system) / 1e6 / wallSeconds) * 100,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------
// The scenario

interface Settings {
  users: number;
  ceilingTransfers: number;
  clients: number;
  /** BENCH_KEEP=1: leave the temp dir (logs, PostgreSQL data) for a post-mortem. */
  keep: boolean;
  durationSeconds: number;
  warmupSeconds: number;
  logLevel: string;
  backends: Backend[];
  pgFsync: boolean;
  workerConcurrency: string | undefined;
  profile: { api: boolean; worker: boolean };
}

interface ProcessCpu {
  api: number;
  worker: number;
  postgres: number;
  redis: number;
  hostBusyCores: number;
}

interface PhaseResult {
  name: 'peak' | 'half rate';
  clients: number;
  rate?: number;
  driver: LedgerDriverResult;
  acceptedPerSecond: number;
  /** Transactions of this phase settled (COMPLETED or FAILED) inside the timed window, per second. */
  settledPerSecond: number;
  /** Left PENDING at the end of the window, and how fast the worker then drained them (API idle). */
  backlogAtEnd: number;
  drainSeconds: number;
  drainRate: number | undefined;
  settle: { count: number; failed: number; p50: number; p99: number; max: number };
  failureReasons: Record<string, number>;
  cpu: ProcessCpu;
  waits?: string;
  /** Deadlocks PostgreSQL detected (and broke by aborting one side) during the phase and its drain. */
  deadlocks: number;
  statements?: string;
  invariants: InvariantResult;
  loadavg: string;
}

interface InvariantResult {
  pass: boolean;
  problems: string[];
  transactions: number;
}

interface CeilingPhase {
  result: CeilingResult;
  /** PostgreSQL's CPU while the ceiling settled, % of one core (the recording before it excluded). */
  postgresCpu: number;
  hostBusyCores: number;
  invariants: InvariantResult;
}

interface BackendResult {
  backend: Backend;
  ceiling: CeilingPhase;
  phases: PhaseResult[];
  targets: { name: string; measured: string; goal: string; pass: boolean }[];
  profiles: string[];
  logs: { api: string; worker: string };
}

export interface LedgerResults {
  startedAt: string;
  machine: ReturnType<typeof machineSummary>;
  settings: Settings;
  backends: BackendResult[];
}

export async function run(): Promise<LedgerResults> {
  const settings = readSettings();
  const machine = machineSummary();
  const startedAt = new Date().toISOString();
  log(
    `ledger: ${settings.clients} clients, ${settings.durationSeconds} s per phase, ${settings.warmupSeconds} s warm-up, ` +
      `backends ${settings.backends.join(', ')}, LOG_LEVEL=${settings.logLevel}, PostgreSQL fsync ${settings.pgFsync ? 'on' : 'off'}`,
  );
  log(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}, load ${machine.loadavg}`);

  const root = mkdtempSync(join(tmpdir(), 'switchyard-bench-ledger-'));
  chmodSync(root, 0o755); // as root, PostgreSQL runs as `postgres` and must reach its data dir
  if (settings.keep) log(`BENCH_KEEP=1: ${root} is left behind (logs, PostgreSQL data); remove it yourself`);
  else removeOnCleanup(root);
  const cluster = await startCluster(root, settings.pgFsync);
  log(`PostgreSQL ready on 127.0.0.1:${cluster.port} (data ${cluster.dir}, log ${cluster.logFile})`);

  const backends: BackendResult[] = [];
  for (const backend of settings.backends) {
    backends.push(await runBackend(backend, cluster, root, settings));
    printBackend(backends.at(-1)!, settings, machine);
  }
  const output: LedgerResults = { startedAt, machine, settings, backends };
  if (process.env.BENCH_JSON) {
    writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(output, null, 2)}\n`);
    log(`results written to ${process.env.BENCH_JSON}`);
  }
  await cluster.stop();
  return output;
}

function readSettings(): Settings {
  const flag = process.env.BENCH_PROFILE ?? '';
  const wanted = flag === '1' || flag === 'true' ? ['api', 'worker'] : flag.split(',').map((s) => s.trim());
  return {
    users: Math.max(2, Math.round(envPositiveNumber('BENCH_USERS', 20))),
    ceilingTransfers: Math.round(envPositiveNumber('BENCH_CEILING_TRANSFERS', CEILING_TRANSFERS)),
    keep: process.env.BENCH_KEEP === '1',
    clients: Math.round(envPositiveNumber('BENCH_CLIENTS', 50)),
    durationSeconds: envPositiveNumber('BENCH_DURATION', 10),
    warmupSeconds: process.env.BENCH_WARMUP === '0' ? 0 : envPositiveNumber('BENCH_WARMUP', 3),
    logLevel: process.env.BENCH_LOG_LEVEL || 'warn',
    backends: benchBackends(),
    pgFsync: process.env.BENCH_PG_FSYNC !== 'off',
    workerConcurrency: process.env.BENCH_WORKER_CONCURRENCY || undefined,
    // `http`'s case names (typename, me, strategies) mean nothing here: only api/worker/1 do.
    profile: { api: wanted.includes('api'), worker: wanted.includes('worker') },
  };
}

async function runBackend(backend: Backend, cluster: Cluster, root: string, settings: Settings): Promise<BackendResult> {
  log(`--- backend: ${backend} ---`);
  const database = `switchyard_${backend}`;
  const databaseUrl = await cluster.createDatabase(database);
  const dir = join(root, backend);
  mkdirSync(dir, { mode: 0o755 });

  let redisUrl: string | undefined;
  let redis: Child | undefined;
  if (backend === 'redis') {
    ({ child: redis, url: redisUrl } = await startRedis(dir));
    log(`redis-server ready at ${redisUrl} (pid ${redis.pid})`);
  }

  const port = await freePort();
  const env = childEnv({
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    JWT_SECRET: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: settings.logLevel,
    ACCESS_TOKEN_TTL: '86400',
    WELCOME_CREDIT: String(WELCOME_CREDIT),
    HOUSE_OPENING_BALANCE: String(HOUSE_OPENING_BALANCE),
    ...(settings.workerConcurrency ? { WORKER_CONCURRENCY: settings.workerConcurrency } : {}),
  });

  // db:migrate, as a deployment would run it before API and workers start.
  const migrateLog = join(dir, 'migrate.log');
  const migrate = spawnChild('db:migrate', NODE, [...TSX_IMPORT, join(ROOT_DIR, 'src/infra/migrate-cli.ts')], {
    env,
    logFile: migrateLog,
  });
  if ((await migrate.exited) !== 0) throw new Error(`db:migrate failed:\n${tail(migrateLog)}`);

  const profilePrefix = settings.profile.api || settings.profile.worker ? join(tmpdir(), `switchyard-bench-ledger-${Date.now()}`) : undefined;
  const hook = (on: boolean) => (on ? ['--import', benchFile('profile-hook.ts')] : []);
  const apiLog = join(dir, 'api.log');
  const workerLog = join(dir, 'worker.log');
  const apiEnv = { ...env, ...(profilePrefix && settings.profile.api ? { BENCH_PROFILE_OUT: `${profilePrefix}-${backend}-api` } : {}) };
  const workerEnv = { ...env, ...(profilePrefix && settings.profile.worker ? { BENCH_PROFILE_OUT: `${profilePrefix}-${backend}-worker` } : {}) };
  const api = spawnChild('API', NODE, [...TSX_IMPORT, ...hook(settings.profile.api), join(ROOT_DIR, 'src/server.ts'), '--api'], {
    env: apiEnv,
    logFile: apiLog,
  });
  const apiUrl = `http://127.0.0.1:${port}`;
  log(`starting the API (pid ${api.pid}, log ${apiLog}) …`);
  await waitForHealth(api, `${apiUrl}/health`, apiLog);
  const worker = spawnChild('worker', NODE, [...TSX_IMPORT, ...hook(settings.profile.worker), join(ROOT_DIR, 'workers/index.ts')], {
    env: workerEnv,
    logFile: workerLog,
  });
  log(`started the worker (pid ${worker.pid}, log ${workerLog})`);

  const stats = await connectStats(databaseUrl);
  const graphqlUrl = `${apiUrl}/graphql`;
  const users = await prepareUsers(graphqlUrl, settings.users, api, worker, workerLog);
  log(`${users.length} users READY, each with a USD account of ${WELCOME_CREDIT}`);

  const runId = Math.random().toString(36).slice(2, 10);
  const processes = { api, worker, redis, postmasterPid: cluster.postmasterPid() };
  const drive = (name: string, clients: number, durationSeconds: number, rate?: number) =>
    runDriver({ url: graphqlUrl, users, clients, durationSeconds, rate, keyPrefix: `${runId}-${name}` }, api, worker, apiLog, workerLog);

  if (settings.warmupSeconds > 0) {
    log(`warm-up: ${settings.clients} clients for ${settings.warmupSeconds} s …`);
    await drive('warmup', settings.clients, settings.warmupSeconds);
    await drain(stats, worker, 300_000);
  }

  // --- the ceiling: the worker's settlement in a loop, no queue -------------
  log(`ceiling: ${settings.ceilingTransfers} PENDING transfers recorded, then settled by ledger-ceiling.ts …`);
  const ceiling = await measureCeiling(
    { accountIds: users.map((u) => u.accountId), transfers: settings.ceilingTransfers, keyPrefix: `${runId}-ceiling`, amountMax: AMOUNT_MAX },
    env,
    stats,
    processes,
  );
  log(
    `ceiling: ${ceiling.result.settled} settled in ${ceiling.result.settleSeconds.toFixed(2)} s = ${ceiling.result.settledPerSecond.toFixed(0)}/s ` +
      `(concurrency ${ceiling.result.concurrency}), invariants ${ceiling.invariants.pass ? 'PASS' : 'FAIL'}`,
  );

  const phases: PhaseResult[] = [];
  const profiles: string[] = [];
  const profileTargets = [
    ...(settings.profile.api ? [{ role: 'API', child: api, out: apiEnv.BENCH_PROFILE_OUT! }] : []),
    ...(settings.profile.worker ? [{ role: 'worker', child: worker, out: workerEnv.BENCH_PROFILE_OUT! }] : []),
  ];

  // --- peak: closed loop ---------------------------------------------------
  log(`peak: ${settings.clients} clients for ${settings.durationSeconds} s …`);
  await stats.resetStatements();
  for (const p of profileTargets) process.kill(p.child.pid, 'SIGUSR2');
  const peak = await measurePhase('peak', settings.clients, undefined, `${runId}-peak`, stats, processes, () =>
    drive('peak', settings.clients, settings.durationSeconds),
  );
  for (const p of profileTargets) process.kill(p.child.pid, 'SIGUSR2');
  phases.push(peak);
  for (const p of profileTargets) {
    const file = `${p.out}-1.cpuprofile`;
    await waitForFile(file, 30_000);
    profiles.push(`CPU profile of the ${p.role} during the peak phase (${backend}), ${file}\n${formatSummary(summarizeProfile(file, 20))}`);
  }

  // --- half the peak's accepted rate: open loop -------------------------------
  const rate = Math.max(1, Math.round(peak.acceptedPerSecond / 2));
  log(`half rate: ${rate} transfers/s (open loop, up to ${settings.clients} in flight) for ${settings.durationSeconds} s …`);
  phases.push(
    await measurePhase('half rate', settings.clients, rate, `${runId}-half`, stats, processes, () =>
      drive('half', settings.clients, settings.durationSeconds, rate),
    ),
  );

  const ceilingRate = ceiling.result.settledPerSecond;
  const targets = [
    {
      name: `settled/s at peak / ceiling's (${backend})`,
      measured: `${peak.settledPerSecond.toFixed(0)} / ${ceilingRate.toFixed(0)} = ${((peak.settledPerSecond / ceilingRate) * 100).toFixed(0)}%`,
      goal: `≥ ${TARGETS.shareOfCeiling * 100}%`,
      pass: peak.settledPerSecond >= TARGETS.shareOfCeiling * ceilingRate,
    },
    {
      name: 'accept p99 at half the peak rate',
      measured: `${phases[1]!.driver.latency.p99.toFixed(1)} ms`,
      goal: `< ${TARGETS.acceptP99Ms} ms`,
      pass: phases[1]!.driver.latency.p99 < TARGETS.acceptP99Ms,
    },
    {
      name: 'accept-to-settled p99 at half the peak rate',
      measured: `${phases[1]!.settle.p99.toFixed(0)} ms`,
      goal: `< ${TARGETS.settleP99Ms} ms`,
      pass: phases[1]!.settle.p99 < TARGETS.settleP99Ms,
    },
    {
      name: 'ledger invariants after the ceiling and both phases',
      measured: ceiling.invariants.pass && phases.every((p) => p.invariants.pass) ? 'intact' : 'BROKEN',
      goal: 'intact',
      pass: ceiling.invariants.pass && phases.every((p) => p.invariants.pass),
    },
  ];

  await stats.close();
  await worker.stop();
  await api.stop();
  await redis?.stop();
  return { backend, ceiling, phases, targets, profiles, logs: { api: apiLog, worker: workerLog } };
}

/** Runs ledger-ceiling.ts with the worker's environment, then checks the invariants. */
async function measureCeiling(
  job: CeilingJob,
  env: NodeJS.ProcessEnv,
  stats: Stats,
  { worker, postmasterPid }: { worker: Child; postmasterPid: number },
): Promise<CeilingPhase> {
  const child = spawnChild('ledger ceiling', NODE, [...TSX_IMPORT, benchFile('ledger-ceiling.ts'), JSON.stringify(job)], {
    env,
    pipeStdout: true,
  });
  let out = '';
  child.proc.stdout?.setEncoding('utf8');
  // The recording comes first and is not timed: PostgreSQL's CPU is read from the first settlement on,
  // approximately — from when the child says it starts settling.
  const postgresCpu = () => (readCpuSecondsWithReaped(postmasterPid) ?? 0) + readDescendantsCpuSeconds(postmasterPid);
  let settling: { cpu: number; host: ReturnType<typeof hostCpuTimes>; at: number } | undefined;
  child.proc.stdout?.on('data', (chunk: string) => {
    out += chunk;
    if (!settling && out.includes('settling\n')) settling = { cpu: postgresCpu(), host: hostCpuTimes(), at: performance.now() };
  });
  const code = await child.exited;
  const after = { cpu: postgresCpu(), host: hostCpuTimes(), at: performance.now() };
  if (code !== 0) throw new Error(`the ledger ceiling exited with ${String(code)}; its output:\n${out}`);
  const result = JSON.parse(out.trim().split('\n').pop() ?? '') as CeilingResult;
  const seconds = settling ? (after.at - settling.at) / 1000 : result.settleSeconds;
  await drain(stats, worker, 60_000);
  return {
    result,
    postgresCpu: settling ? ((after.cpu - settling.cpu) / seconds) * 100 : 0,
    hostBusyCores: settling ? busyCores(settling.host, after.host) : 0,
    invariants: await stats.checkInvariants(HOUSE_OPENING_BALANCE),
  };
}

async function measurePhase(
  name: PhaseResult['name'],
  clients: number,
  rate: number | undefined,
  keyPrefix: string,
  stats: Stats,
  processes: { api: Child; worker: Child; redis: Child | undefined; postmasterPid: number },
  drive: () => Promise<LedgerDriverResult>,
): Promise<PhaseResult> {
  const cpuOf = () => ({
    api: readCpuSeconds(processes.api.pid) ?? 0,
    worker: readCpuSeconds(processes.worker.pid) ?? 0,
    // Backends come and go: the postmaster's reaped children count too.
    postgres: (readCpuSecondsWithReaped(processes.postmasterPid) ?? 0) + readDescendantsCpuSeconds(processes.postmasterPid),
    redis: processes.redis ? (readCpuSeconds(processes.redis.pid) ?? 0) : 0,
    host: hostCpuTimes(),
  });
  const deadlocksBefore = await stats.deadlocks();
  const before = cpuOf();
  const waits = name === 'peak' ? stats.sampleWaits() : undefined;
  const wallBefore = performance.now();
  const driver = await drive();
  const wall = (performance.now() - wallBefore) / 1000;
  const after = cpuOf();
  const waitSummary = waits?.stop();
  const share = (a: number, b: number) => ((b - a) / wall) * 100;
  const cpu: ProcessCpu = {
    api: share(before.api, after.api),
    worker: share(before.worker, after.worker),
    postgres: share(before.postgres, after.postgres),
    redis: share(before.redis, after.redis),
    hostBusyCores: busyCores(before.host, after.host),
  };
  const loadavg = loadavgNow();
  const backlogAtEnd = await stats.pending();
  const windowSeconds = (driver.windowEndMs - driver.windowStartMs) / 1000;
  const drainStart = Date.now();
  await drain(stats, processes.worker, 600_000);
  const drainSeconds = (Date.now() - drainStart) / 1000;
  const settledInWindow = await stats.settledBetween(keyPrefix, driver.windowStartMs, driver.windowEndMs);
  const drainRate = backlogAtEnd > 100 ? await stats.drainRate(keyPrefix, driver.windowEndMs) : undefined;
  const settle = await stats.settleLatency(keyPrefix);
  const failureReasons = await stats.failureReasons(keyPrefix);
  const statements = name === 'peak' ? await stats.topStatements(8) : undefined;
  const invariants = await stats.checkInvariants(HOUSE_OPENING_BALANCE);
  await sleep(1000); // statistics are published about once a second
  const deadlocks = (await stats.deadlocks()) - deadlocksBefore;
  if (!invariants.pass) log(`invariants BROKEN after ${name}: ${invariants.problems.join('; ')}`);
  return {
    name,
    clients,
    rate,
    driver,
    acceptedPerSecond: driver.accepted / windowSeconds,
    settledPerSecond: settledInWindow / windowSeconds,
    backlogAtEnd,
    drainSeconds,
    drainRate,
    settle,
    failureReasons,
    cpu,
    waits: waitSummary,
    deadlocks,
    statements,
    invariants,
    loadavg,
  };
}

async function runDriver(job: LedgerDriverJob, api: Child, worker: Child, apiLog: string, workerLog: string): Promise<LedgerDriverResult> {
  const out = await runToCompletion('ledger driver', NODE, [...TSX_IMPORT, benchFile('ledger.ts'), '--driver', JSON.stringify(job)], {
    child: api,
    describe: () => `its log ends:\n${tail(apiLog)}`,
  });
  if (worker.hasExited()) throw new Error(`the worker exited during the run; its log ends:\n${tail(workerLog)}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as LedgerDriverResult;
}

/** Waits until no transaction is PENDING (the worker settled everything). */
async function drain(stats: Stats, worker: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = await stats.pending();
    if (pending === 0) return;
    if (worker.hasExited()) throw new Error(`the worker exited with ${pending} transactions PENDING`);
    if (Date.now() > deadline) {
      log(`warning: ${pending} transactions still PENDING after ${timeoutMs / 1000} s; going on`);
      return;
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------
// Users

async function prepareUsers(url: string, count: number, api: Child, worker: Child, workerLog: string): Promise<{ token: string; accountId: string }[]> {
  const tag = Date.now().toString(36);
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 5) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(5, count - i) }, (_, j) =>
        graphql<{ register: { accessToken: string } }>(
          url,
          'mutation ($input: RegisterInput!) { register(input: $input) { accessToken } }',
          { input: { email: `bench-${tag}-${i + j}@bench.local`, password: 'bench-password-1', name: `Bench ${i + j}` } },
        ),
      ),
    );
    tokens.push(...batch.map((r) => r.register.accessToken));
  }
  const deadline = Date.now() + 120_000;
  const users: { token: string; accountId: string }[] = [];
  for (const token of tokens) {
    for (;;) {
      if (api.hasExited()) throw new Error('the API exited while users were provisioned');
      if (worker.hasExited()) throw new Error(`the worker exited while users were provisioned; its log ends:\n${tail(workerLog)}`);
      const { me } = await graphql<{
        me: { provisioningStatus: string; accounts: { id: string; currency: string; balance: string }[] };
      }>(url, '{ me { provisioningStatus accounts { id currency balance } } }', {}, token);
      if (me.provisioningStatus === 'FAILED') throw new Error('a bench user failed provisioning');
      const usd = me.accounts.find((a) => a.currency === 'USD');
      if (me.provisioningStatus === 'READY' && usd) {
        if (BigInt(usd.balance) !== WELCOME_CREDIT) throw new Error(`a new user's USD account holds ${usd.balance}, not ${WELCOME_CREDIT}`);
        users.push({ token, accountId: usd.id });
        break;
      }
      if (Date.now() > deadline) throw new Error(`users were not provisioned within 120 s; the worker log ends:\n${tail(workerLog)}`);
      await sleep(100);
    }
  }
  return users;
}

// ---------------------------------------------------------------------------
// What the bench reads from the database

interface Stats {
  pending(): Promise<number>;
  /** pg_stat_database.deadlocks of this database (PostgreSQL publishes it about once a second). */
  deadlocks(): Promise<number>;
  settledBetween(prefix: string, fromMs: number, toMs: number): Promise<number>;
  drainRate(prefix: string, afterMs: number): Promise<number | undefined>;
  settleLatency(prefix: string): Promise<PhaseResult['settle']>;
  failureReasons(prefix: string): Promise<Record<string, number>>;
  resetStatements(): Promise<void>;
  topStatements(limit: number): Promise<string>;
  sampleWaits(): { stop(): string };
  checkInvariants(houseOpening: bigint): Promise<InvariantResult>;
  close(): Promise<void>;
}

async function connectStats(databaseUrl: string): Promise<Stats> {
  const client = new pg.Client({ connectionString: databaseUrl });
  const sampler = new pg.Client({ connectionString: databaseUrl });
  for (const c of [client, sampler]) {
    c.on('error', () => {});
    await c.connect();
  }
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= Promise.all([client.end().catch(() => {}), sampler.end().catch(() => {})]).then(() => {});
    return closed;
  };
  onCleanup('close the statistics connections', close);
  const like = (prefix: string) => `${prefix}-%`;
  const one = async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows[0] as T;

  return {
    async pending() {
      const row = await one<{ n: number }>("SELECT count(*)::int AS n FROM ledger_transactions WHERE status = 'PENDING'");
      return row.n;
    },
    async deadlocks() {
      const row = await one<{ n: number }>(
        'SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()',
      );
      return row.n;
    },
    async settledBetween(prefix, fromMs, toMs) {
      const row = await one<{ n: number }>(
        `SELECT count(*)::int AS n FROM ledger_transactions
         WHERE idempotency_key LIKE $1 AND status <> 'PENDING'
           AND settled_at >= to_timestamp($2::float8 / 1000) AND settled_at < to_timestamp($3::float8 / 1000)`,
        [like(prefix), fromMs, toMs],
      );
      return row.n;
    },
    async drainRate(prefix, afterMs) {
      const row = await one<{ n: number; seconds: number | null }>(
        `SELECT count(*)::int AS n, extract(epoch FROM max(settled_at) - to_timestamp($2::float8 / 1000))::float8 AS seconds
         FROM ledger_transactions WHERE idempotency_key LIKE $1 AND settled_at >= to_timestamp($2::float8 / 1000)`,
        [like(prefix), afterMs],
      );
      return row.seconds && row.seconds > 0 ? row.n / row.seconds : undefined;
    },
    async settleLatency(prefix) {
      const row = await one<{ n: number; failed: number; p: number[] | null; max: number | null }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
                percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM settled_at - created_at) * 1000) AS p,
                max(extract(epoch FROM settled_at - created_at) * 1000)::float8 AS max
         FROM ledger_transactions WHERE idempotency_key LIKE $1 AND status <> 'PENDING'`,
        [like(prefix)],
      );
      return { count: row.n, failed: row.failed, p50: row.p?.[0] ?? 0, p99: row.p?.[1] ?? 0, max: row.max ?? 0 };
    },
    async failureReasons(prefix) {
      const { rows } = await client.query<{ reason: string | null; n: number }>(
        `SELECT failure_reason AS reason, count(*)::int AS n FROM ledger_transactions
         WHERE idempotency_key LIKE $1 AND status = 'FAILED' GROUP BY 1 ORDER BY 2 DESC`,
        [like(prefix)],
      );
      return Object.fromEntries(rows.map((r) => [r.reason ?? '(none)', r.n]));
    },
    async resetStatements() {
      await client.query('SELECT pg_stat_statements_reset()');
    },
    async topStatements(limit) {
      const { rows } = await client.query<{ query: string; calls: string; total: number; mean: number; rows: string }>(
        `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls::text, total_exec_time::float8 AS total,
                mean_exec_time::float8 AS mean, rows::text
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         ORDER BY total_exec_time DESC LIMIT $1`,
        [limit],
      );
      return table([
        ['total ms', 'calls', 'mean ms', 'statement'],
        ...rows.map((r) => [r.total.toFixed(0), r.calls, r.mean.toFixed(2), r.query.length > 110 ? `${r.query.slice(0, 107)}...` : r.query]),
      ], 1).replace(/^(.*)$/gm, '  $1');
    },
    sampleWaits() {
      // Every 100 ms: what each of this database's busy backends is doing.
      const counts = new Map<string, number>();
      let samples = 0;
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        sampler
          .query<{ state: string; wait: string | null }>(
            `SELECT state, CASE WHEN wait_event IS NULL THEN NULL ELSE wait_event_type || ':' || wait_event END AS wait
             FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'`,
          )
          .then(({ rows }) => {
            samples += 1;
            for (const row of rows) {
              const key = row.state === 'active' ? (row.wait ?? 'active: on CPU') : `${row.state}${row.wait ? ` (${row.wait})` : ''}`;
              counts.set(key, (counts.get(key) ?? 0) + 1);
            }
          })
          .catch(() => {})
          .finally(() => {
            busy = false;
          });
      }, 100);
      return {
        stop() {
          clearInterval(timer);
          if (samples === 0) return '';
          return [...counts]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 8)
            .map(([key, n]) => `${key} ${(n / samples).toFixed(1)}`)
            .join(', ');
        },
      };
    },
    async checkInvariants(houseOpening) {
      const problems: string[] = [];
      const pending = await one<{ n: number }>("SELECT count(*)::int AS n FROM ledger_transactions WHERE status = 'PENDING'");
      if (pending.n > 0) problems.push(`${pending.n} transactions PENDING`);
      const negative = await one<{ n: number }>(
        'SELECT count(*)::int AS n FROM ledger_accounts WHERE balance < 0 OR held < 0 OR balance - held < 0',
      );
      if (negative.n > 0) problems.push(`${negative.n} accounts with a negative balance or available amount`);
      const holds = await one<{ n: number }>('SELECT count(*)::int AS n FROM ledger_accounts WHERE held <> 0');
      if (holds.n > 0) problems.push(`${holds.n} accounts with a hold left`);
      const unbalanced = await one<{ n: number }>(
        `SELECT count(*)::int AS n FROM ledger_accounts a
         LEFT JOIN (SELECT account_id, sum(amount) AS s FROM ledger_entries GROUP BY account_id) e ON e.account_id = a.id
         WHERE a.balance <> COALESCE(e.s, 0) + CASE WHEN a.owner_id = 'house' AND a.currency = 'USD' THEN $1::bigint ELSE 0 END`,
        [houseOpening.toString()],
      );
      if (unbalanced.n > 0) problems.push(`${unbalanced.n} accounts whose balance is not opening + entries`);
      const badEntries = await one<{ n: number }>(
        `SELECT count(*)::int AS n FROM (
           SELECT t.id FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id
           GROUP BY t.id, t.status, t.kind, t.amount
           HAVING NOT (
             (t.status = 'FAILED' AND count(e.id) = 0)
             OR (t.status = 'COMPLETED' AND t.kind = 'DEPOSIT' AND count(e.id) = 1 AND sum(e.amount) = t.amount)
             OR (t.status = 'COMPLETED' AND t.kind <> 'DEPOSIT' AND count(e.id) = 2 AND sum(e.amount) = 0)
             OR t.status = 'PENDING')) bad`,
      );
      if (badEntries.n > 0) problems.push(`${badEntries.n} transactions whose entries are wrong (a transfer's must sum to zero)`);
      const { rows: money } = await client.query<{ currency: string; total: string; deposits: string }>(
        `SELECT a.currency, sum(a.balance)::text AS total,
                COALESCE((SELECT sum(amount) FROM ledger_transactions t
                          WHERE t.kind = 'DEPOSIT' AND t.status = 'COMPLETED' AND t.currency = a.currency), 0)::text AS deposits
         FROM ledger_accounts a GROUP BY a.currency`,
      );
      for (const row of money) {
        const expected = (row.currency === 'USD' ? houseOpening : 0n) + BigInt(row.deposits);
        if (BigInt(row.total) !== expected) problems.push(`money in ${row.currency}: ${row.total}, expected ${expected}`);
      }
      const transactions = await one<{ n: number }>('SELECT count(*)::int AS n FROM ledger_transactions');
      return { pass: problems.length === 0, problems, transactions: transactions.n };
    },
    close,
  };
}

// ---------------------------------------------------------------------------
// Report

function printBackend(result: BackendResult, settings: Settings, machine: ReturnType<typeof machineSummary>): void {
  const ms = (value: number) => `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ms`;
  const rows = [
    [
      'phase',
      'load',
      'accepted/s',
      'settled/s',
      'accept p50',
      'accept p99',
      'settle p50',
      'settle p99',
      'errors',
      'FAILED',
      'deadlocks',
      'backlog',
      'API CPU',
      'worker CPU',
      'PG CPU',
      'redis CPU',
      'host busy',
    ],
    ...result.phases.map((p) => [
      p.name,
      p.rate ? `${p.rate}/s` : `${p.clients} clients`,
      p.acceptedPerSecond.toFixed(0),
      p.settledPerSecond.toFixed(0),
      ms(p.driver.latency.p50),
      ms(p.driver.latency.p99),
      ms(p.settle.p50),
      ms(p.settle.p99),
      String(Object.values(p.driver.errors).reduce((a, b) => a + b, 0)),
      String(p.settle.failed),
      String(p.deadlocks),
      String(p.backlogAtEnd),
      `${p.cpu.api.toFixed(0)}%`,
      `${p.cpu.worker.toFixed(0)}%`,
      `${p.cpu.postgres.toFixed(0)}%`,
      result.backend === 'redis' ? `${p.cpu.redis.toFixed(0)}%` : '–',
      `${p.cpu.hostBusyCores.toFixed(2)}`,
    ]),
  ];
  const lines = [
    '',
    `Ledger benchmark — backend ${result.backend.toUpperCase()}: API and one worker process, ${settings.users} users, ${settings.clients} clients, amounts 1–${AMOUNT_MAX}, ` +
      `${settings.durationSeconds} s per phase, LOG_LEVEL=${settings.logLevel}, WORKER_CONCURRENCY=${settings.workerConcurrency ?? 'default'}, ` +
      `PostgreSQL fsync ${settings.pgFsync ? 'on' : 'off'}`,
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB RAM, node ${machine.node}; load average at the start ${machine.loadavg}`,
    '',
    table(rows),
    '',
    'settle = createdAt → settledAt from the database; backlog = PENDING when the window ended; CPU = % of one core over the window.',
  ];
  for (const p of result.phases) {
    const errors = Object.entries(p.driver.errors).map(([code, n]) => `${code} ${n}`).join(', ') || 'none';
    const reasons = Object.entries(p.failureReasons).map(([reason, n]) => `${n}× ${reason}`).join('; ') || 'none';
    lines.push(
      `${p.name}: sent ${p.driver.sent}, accepted ${p.driver.accepted} (${Object.entries(p.driver.statuses).map(([s, n]) => `${s} ${n}`).join(', ')}), ` +
        `errors ${errors}; FAILED settlements: ${reasons}; accept p90 ${ms(p.driver.latency.p90)} max ${ms(p.driver.latency.max)}; ` +
        `settle max ${ms(p.settle.max)}; drained in ${p.drainSeconds.toFixed(1)} s` +
        (p.drainRate ? ` (${p.drainRate.toFixed(0)} settled/s with the API idle)` : '') +
        (p.rate ? `; driver max lag ${ms(p.driver.maxLagMs)}` : '') +
        `; driver CPU ${p.driver.driverCpuPercent.toFixed(0)}%; load average after ${p.loadavg}; ` +
        `invariants ${p.invariants.pass ? 'PASS' : `FAIL (${p.invariants.problems.join('; ')})`} over ${p.invariants.transactions} transactions`,
    );
    for (const [code, sample] of Object.entries(p.driver.errorSamples)) lines.push(`  first ${code} (${p.name}): ${sample}`);

  }
  const c = result.ceiling;
  lines.push(
    `ceiling (ledger-ceiling.ts: settlePendingTransfers in a loop, ${c.result.concurrency} at a time, no queue): ` +
      `${c.result.settled} of ${c.result.recorded} recorded settled in ${c.result.settleSeconds.toFixed(2)} s = ` +
      `${c.result.settledPerSecond.toFixed(0)} settled/s; its CPU ${c.result.cpuPercent.toFixed(0)}%, PG CPU ${c.postgresCpu.toFixed(0)}%, ` +
      `host busy ${c.hostBusyCores.toFixed(2)}; invariants ${c.invariants.pass ? 'PASS' : `FAIL (${c.invariants.problems.join('; ')})`}`,
  );
  const peak = result.phases[0]!;
  if (peak.waits) lines.push('', `PostgreSQL backends of this database during the peak (mean count per sample): ${peak.waits}`);
  if (peak.statements) lines.push('', 'pg_stat_statements during the peak, by total time:', peak.statements);
  lines.push(
    '',
    'targets:',
    table([['', 'target', 'measured', 'goal'], ...result.targets.map((t) => [t.pass ? 'PASS' : 'MISS', t.name, t.measured, t.goal])], 99),
  );
  for (const text of result.profiles) lines.push('', text);
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------------------

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}


if (process.argv[2] === '--driver' && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  driverMain().catch((error: unknown) => {
    process.stderr.write(`ledger driver: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
