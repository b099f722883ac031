/**
 * The `peers` scenario: Switchyard against other servers on the same data.
 *
 * One embedded PostgreSQL cluster (pg_stat_statements loaded), the project's
 * migrations, and one owner with 50 strategies among other owners' (made
 * through Switchyard's own `register` and `createStrategy` mutations). Then,
 * one server at a time on a free port — started, its answer checked against
 * Switchyard's, warmed up, measured under autocannon from a separate driver
 * process, stopped:
 *
 * - Switchyard compiled (`node dist/src/server.js --api`, as the Docker image)
 * - PostGraphile 5, amber preset (peer-postgraphile.ts)
 * - Mercurius + graphql-jit + pg, hand-written resolvers (peer-mercurius.ts)
 * - a bare Fastify route running the same two statements with pg (peer-bare-pg.ts): the ceiling
 * - a bare Fastify route returning a constant (bare-server.ts): HTTP alone
 *
 * The peers are transpiled to plain JavaScript (as Switchyard is compiled),
 * so that no server pays for tsx. Prints req/s, latency, CPU of the server and
 * of PostgreSQL, SQL statements per request (pg_stat_statements), RSS, and
 * the targets (reported, never failing the exit code).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import ts from 'typescript';
import { migrate } from '../src/infra/migrate.js';
import { startApiLaunch } from '../test/harness/launch.js';
import { freePort } from '../test/harness/ports.js';
import { childEnv } from '../test/harness/processes.js';
import { sleep } from '../test/harness/wait.js';
import type { DriverJob, DriverResult } from './driver.js';
import {
  benchFile,
  busyCores,
  type Child,
  envPositiveNumber,
  hostCpuTimes,
  machineSummary,
  mb,
  NODE,
  onCleanup,
  readCpuSeconds,
  readCpuSecondsWithReaped,
  readDescendantsCpuSeconds,
  removeOnCleanup,
  ROOT_DIR,
  runToCompletion,
  sampleRss,
  spawnChild,
  spawnListening,
  table,
  tail,
  TSX_IMPORT,
  waitForHealth,
} from './lib.js';
import { compileServer, graphql, startCluster } from './system.js';

const OWNER_STRATEGIES = 50;
/** Other owners, each with this many strategies, made after the owner's: newer, so a server that did not filter by owner would answer with theirs. */
const OTHER_OWNERS = 3;
const OTHER_STRATEGIES = 20;
const PAGE = 20;

const TARGETS = { vsPostgraphile: 2, ofBarePgPercent: 60, p99Ms: 100 };

const SWITCHYARD_QUERY = '{ strategies(first: 20) { edges { node { id name asset params owner { name } } } totalCount } }';
const POSTGRAPHILE_QUERY =
  'query ($owner: String!) { allStrategies(first: 20, orderBy: [CREATED_AT_DESC, ROW_ID_DESC], condition: { ownerId: $owner }) ' +
  '{ edges { node { rowId name asset params userByOwnerId { name } } } totalCount } }';

type ServerKey = 'switchyard' | 'postgraphile' | 'mercurius' | 'bare-pg' | 'bare';

/** The rows every server must return: the same strategies in the same order, the owner's name, the count. */
interface Normalized {
  rows: { id: string; name: string; asset: string; params: string; owner: string }[];
  totalCount: number;
}

interface ServerSpec {
  key: ServerKey;
  label: string;
  /** Starts the server; resolves with the child and its POST /graphql URL once it answers. */
  start: () => Promise<{ child: Child; url: string; logFile: string }>;
  headers: Record<string, string>;
  body: string;
  /** Undefined for the constant route, which answers no strategies. */
  normalize?: (data: unknown) => Normalized;
}

export interface PeerResult extends DriverResult {
  key: ServerKey;
  label: string;
  ofBarePgPercent: number;
  serverCpuPercent: number;
  /** The server's CPU per request sent, in ms: what a request costs it, less moved than req/s by other load on the host. */
  serverCpuMsPerRequest: number;
  dbCpuPercent: number;
  /** pg_stat_statements calls during the timed phase (the bench's own excluded) per request sent. */
  sqlPerRequest: number;
  /** The statements by calls per request, for the report. */
  statements: { query: string; perRequest: number }[];
  rssWarm: number;
  rssPeak: number;
  hostBusyCores: number;
}

export interface PeersResults {
  startedAt: string;
  commit: string;
  machine: ReturnType<typeof machineSummary>;
  /** Cores busy on the host in the second before the bench started (other work on the machine). */
  hostBusyBefore: number;
  settings: { durationSeconds: number; connections: number; warmupSeconds: number; logLevel: string; poolSize: number };
  servers: PeerResult[];
  targets: { name: string; value: string; target: string; pass: boolean }[];
}

export async function run(): Promise<PeersResults> {
  const durationSeconds = envPositiveNumber('BENCH_DURATION', 10);
  const connections = envPositiveNumber('BENCH_CONNECTIONS', 100);
  const warmupSeconds = envPositiveNumber('BENCH_WARMUP', 3);
  const logLevel = process.env.BENCH_LOG_LEVEL || 'info';
  const machine = machineSummary();
  const startedAt = new Date().toISOString();
  const commit = await describeCommit();
  const idleBefore = hostCpuTimes();
  await sleep(1000);
  const hostBusyBefore = busyCores(idleBefore, hostCpuTimes());
  log(`peers: ${connections} connections, ${durationSeconds} s per server, ${warmupSeconds} s warm-up, Switchyard LOG_LEVEL=${logLevel}`);
  log(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}, load ${machine.loadavg}; commit ${commit}`);
  if (hostBusyBefore > 0.25) log(`warning: ${hostBusyBefore.toFixed(2)} cores already busy before the bench starts; figures will be noisy`);

  // --- the run's workspace: compiled Switchyard, transpiled peers, one cluster ---
  const root = mkdtempSync(join(tmpdir(), 'switchyard-bench-peers-'));
  chmodSync(root, 0o755); // as root, PostgreSQL runs as `postgres` and must reach its data dir
  removeOnCleanup(root);
  const dist = await compileServer(root);
  const peersDir = transpilePeers(join(root, 'build'));
  const cluster = await startCluster(root, true);
  const databaseUrl = await cluster.createDatabase('peers');
  const { applied } = await migrate(databaseUrl);
  log(`database ready (${applied.length} migrations applied)`);
  const stats = await statements(databaseUrl);

  // --- Switchyard first: it makes the data --------------------------------------
  const switchyardPort = await freePort();
  const switchyardLog = join(root, 'switchyard.log');
  // Launched as `npm run start:api` and the Docker image launch it (its environment and node flags).
  const launch = startApiLaunch(ROOT_DIR);
  const switchyardEnv = childEnv({
    ...launch.env,
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    PORT: String(switchyardPort),
    LOG_LEVEL: logLevel,
    ACCESS_TOKEN_TTL: '86400',
    ADMIN_EMAIL: 'admin@bench.local',
    ADMIN_PASSWORD: 'bench-admin-password',
  });
  const startSwitchyard = async () => {
    const child = spawnChild('Switchyard', NODE, [...launch.nodeArgs, join(dist, 'src/server.js'), '--api'], { env: switchyardEnv, logFile: switchyardLog });
    await waitForHealth(child, `http://127.0.0.1:${switchyardPort}/health`, switchyardLog);
    return { child, url: `http://127.0.0.1:${switchyardPort}/graphql`, logFile: switchyardLog };
  };
  const switchyard = await startSwitchyard();
  const owner = await seed(switchyard.url);
  log(`seeded: ${owner.name} (${owner.id}) with ${OWNER_STRATEGIES} strategies, ${OTHER_OWNERS} other owners with ${OTHER_STRATEGIES} each`);

  const peer = (key: ServerKey, file: string, preload: string[] = [], extraEnv: Record<string, string> = {}) => async () => {
    const logFile = join(root, `${key}.log`);
    // The constant route gets no database (bare-server.ts then opens no pool).
    const env = childEnv({ ...(key === 'bare' ? {} : { DATABASE_URL: databaseUrl }), PORT: '0', ...extraEnv });
    const { child, port } = await spawnListening(key, [...preload, join(peersDir, file)], { env, logFile }, 60_000);
    return { child, url: `http://127.0.0.1:${port}/graphql`, logFile };
  };
  const json = { 'content-type': 'application/json' };
  const ownerHeader = { ...json, 'x-owner-id': owner.id };
  const switchyardBody = JSON.stringify({ query: SWITCHYARD_QUERY });
  const specs: ServerSpec[] = [
    {
      key: 'switchyard',
      label: 'Switchyard (compiled)',
      start: async () => switchyard,
      headers: { ...json, authorization: `Bearer ${owner.token}` },
      body: switchyardBody,
      normalize: (data) => normalizeConnection((data as { strategies: unknown }).strategies, 'id', 'owner'),
    },
    {
      key: 'postgraphile',
      label: 'PostGraphile 5 (amber)',
      start: peer('postgraphile', 'peer-postgraphile.js', ['--import', join(peersDir, 'promise-with-resolvers.js')], {
        GRAPHILE_ENV: 'production',
      }),
      headers: json,
      body: JSON.stringify({ query: POSTGRAPHILE_QUERY, variables: { owner: owner.id } }),
      normalize: (data) => normalizeConnection((data as { allStrategies: unknown }).allStrategies, 'rowId', 'userByOwnerId'),
    },
    {
      key: 'mercurius',
      label: 'Mercurius + graphql-jit + pg',
      start: peer('mercurius', 'peer-mercurius.js'),
      headers: ownerHeader,
      body: switchyardBody,
      normalize: (data) => normalizeConnection((data as { strategies: unknown }).strategies, 'id', 'owner'),
    },
    {
      key: 'bare-pg',
      label: 'bare Fastify + pg (ceiling)',
      start: peer('bare-pg', 'peer-bare-pg.js'),
      headers: ownerHeader,
      body: switchyardBody,
      normalize: (data) => normalizeConnection((data as { strategies: unknown }).strategies, 'id', 'owner'),
    },
    {
      key: 'bare',
      label: 'bare Fastify constant (HTTP only)',
      start: peer('bare', 'bare-server.js'),
      headers: json,
      body: JSON.stringify({ query: '{ __typename }' }),
    },
  ];

  // --- each server alone: start, check, warm up, measure, stop -----------------
  let reference: string | undefined;
  const results: PeerResult[] = [];
  for (const spec of specs) {
    log(`${spec.label}: starting …`);
    const server = await spec.start();
    const watch = { child: server.child, describe: () => `its log ends:\n${tail(server.logFile)}` };
    const expectBody = await checkedAnswer(spec, server.url);
    if (spec.normalize) {
      const normalized = JSON.stringify(spec.normalize((JSON.parse(expectBody) as { data: unknown }).data));
      reference ??= normalized;
      if (normalized !== reference) {
        throw new Error(`${spec.label} answers other rows than Switchyard:\n  Switchyard: ${reference}\n  ${spec.key}: ${normalized}`);
      }
    }
    const job: DriverJob = { title: spec.label, url: server.url, headers: spec.headers, body: spec.body, connections, durationSeconds, expectBody };

    log(`${spec.label}: warming up for ${warmupSeconds} s …`);
    await drive({ ...job, durationSeconds: warmupSeconds, title: `warm-up ${spec.label}` }, watch);
    await sleep(2000);
    const warmSampler = sampleRss(server.child.pid, 250);
    await sleep(3000);
    const rssWarm = Math.max(...warmSampler.stop());

    log(`${spec.label}: running for ${durationSeconds} s …`);
    await stats.reset();
    const postmaster = cluster.postmasterPid();
    const dbCpu = () => (readCpuSecondsWithReaped(postmaster) ?? 0) + readDescendantsCpuSeconds(postmaster);
    const cpuBefore = readCpuSeconds(server.child.pid) ?? 0;
    const dbCpuBefore = dbCpu();
    const hostBefore = hostCpuTimes();
    const wallBefore = performance.now();
    const sampler = sampleRss(server.child.pid, 100);
    const result = await drive(job, watch);
    const rssSamples = sampler.stop();
    const wallSeconds = (performance.now() - wallBefore) / 1000;
    const cpuSeconds = (readCpuSeconds(server.child.pid) ?? cpuBefore) - cpuBefore;
    const dbCpuSeconds = dbCpu() - dbCpuBefore;
    const hostAfter = hostCpuTimes();
    // The requests in flight when autocannon stopped still run their statements: let them finish,
    // and count them (requestsSent) in the denominator.
    await sleep(1000);
    const calls = await stats.calls();
    const perRequest = (n: number) => (result.requestsSent ? n / result.requestsSent : 0);
    results.push({
      ...result,
      key: spec.key,
      label: spec.label,
      ofBarePgPercent: 0,
      serverCpuPercent: (cpuSeconds / wallSeconds) * 100,
      serverCpuMsPerRequest: perRequest(cpuSeconds * 1000),
      dbCpuPercent: (dbCpuSeconds / wallSeconds) * 100,
      sqlPerRequest: perRequest(calls.reduce((total, s) => total + s.calls, 0)),
      statements: calls.slice(0, 6).map((s) => ({ query: s.query, perRequest: perRequest(s.calls) })),
      rssWarm,
      rssPeak: Math.max(...rssSamples),
      hostBusyCores: busyCores(hostBefore, hostAfter),
    });
    await server.child.stop();
    log(`${spec.label}: ${Math.round(result.requestsPerSecondMean)} req/s, p99 ${result.latencyP99Ms} ms; stopped`);
  }
  await stats.close();

  const byKey = (key: ServerKey) => results.find((r) => r.key === key)!;
  const barePg = byKey('bare-pg').requestsPerSecondMean;
  for (const r of results) r.ofBarePgPercent = barePg ? (r.requestsPerSecondMean / barePg) * 100 : 0;
  const ours = byKey('switchyard');
  const ratio = ours.requestsPerSecondMean / Math.max(1e-9, byKey('postgraphile').requestsPerSecondMean);
  const targets = [
    { name: 'Switchyard req/s vs PostGraphile', value: `${ratio.toFixed(2)}×`, target: `≥ ${TARGETS.vsPostgraphile}×`, pass: ratio >= TARGETS.vsPostgraphile },
    {
      name: 'Switchyard share of the bare-pg ceiling',
      value: `${ours.ofBarePgPercent.toFixed(1)}%`,
      target: `≥ ${TARGETS.ofBarePgPercent}%`,
      pass: ours.ofBarePgPercent >= TARGETS.ofBarePgPercent,
    },
    { name: 'Switchyard p99', value: `${ours.latencyP99Ms} ms`, target: `< ${TARGETS.p99Ms} ms`, pass: ours.latencyP99Ms < TARGETS.p99Ms },
  ];

  const output: PeersResults = {
    startedAt,
    commit,
    machine,
    hostBusyBefore,
    settings: { durationSeconds, connections, warmupSeconds, logLevel, poolSize: 10 },
    servers: results,
    targets,
  };
  printReport(output);
  if (process.env.BENCH_JSON) {
    writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(output, null, 2)}\n`);
    log(`results written to ${process.env.BENCH_JSON}`);
  }
  await cluster.stop();
  return output;
}

// ---------------------------------------------------------------------------

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** The checkout's commit, `+dirty` when it has uncommitted changes. */
async function describeCommit(): Promise<string> {
  try {
    const commit = (await runToCompletion('git', 'git', ['-C', ROOT_DIR, 'rev-parse', '--short', 'HEAD'])).trim();
    const dirty = (await runToCompletion('git', 'git', ['-C', ROOT_DIR, 'status', '--porcelain', '--untracked-files=no'])).trim();
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
}

/**
 * The peers and the constant route as plain ES modules under `build/bench`
 * (beside compileServer's links to node_modules/ and package.json), so they
 * run on `node` alone as the compiled Switchyard does: tsx would add its
 * loader to their RSS and start-up. Returns that directory.
 */
function transpilePeers(build: string): string {
  const out = join(build, 'bench');
  mkdirSync(out, { recursive: true });
  for (const name of ['peer-postgraphile', 'peer-mercurius', 'peer-bare-pg', 'peer-sql', 'bare-server', 'promise-with-resolvers']) {
    const source = readFileSync(benchFile(`${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: `${name}.ts`,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    });
    writeFileSync(join(out, `${name}.js`), outputText);
  }
  return out;
}

/**
 * The data, made by Switchyard's own mutations so the rows look as the app
 * makes them: the owner with 50 strategies, then other owners with theirs.
 */
async function seed(url: string): Promise<{ id: string; name: string; token: string }> {
  const register = async (name: string) => {
    const email = `${name.toLowerCase().replace(/\s+/g, '-')}-${Date.now().toString(36)}@bench.local`;
    const { register } = await graphql<{ register: { accessToken: string } }>(
      url,
      'mutation ($input: RegisterInput!) { register(input: $input) { accessToken } }',
      { input: { email, password: 'bench-password-1', name } },
    );
    return register.accessToken;
  };
  const createStrategies = async (token: string, count: number, prefix: string) => {
    for (let i = 0; i < count; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, count - i) }, (_, j) =>
          graphql(
            url,
            'mutation ($input: CreateStrategyInput!) { createStrategy(input: $input) { id } }',
            {
              input: {
                name: `${prefix} strategy ${i + j + 1}`,
                asset: (i + j) % 3 === 0 ? 'ETH-USD' : 'BTC-USD',
                params: { fast: 10 + ((i + j) % 7), slow: 50 + i + j, note: `${prefix} ${i + j}` },
              },
            },
            token,
          ),
        ),
      );
    }
  };
  const token = await register('Bench Owner');
  await createStrategies(token, OWNER_STRATEGIES, 'owner');
  for (let k = 1; k <= OTHER_OWNERS; k++) await createStrategies(await register(`Other Owner ${k}`), OTHER_STRATEGIES, `other ${k}`);
  const { me } = await graphql<{ me: { id: string; name: string } }>(url, '{ me { id name } }', {}, token);
  return { ...me, token };
}

/** JSON with object keys sorted, so that equal params compare equal whatever order a server printed them in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function normalizeConnection(connection: unknown, idField: string, ownerField: string): Normalized {
  const c = connection as { edges: { node: Record<string, unknown> }[]; totalCount: number };
  return {
    rows: c.edges.map(({ node }) => ({
      id: String(node[idField]),
      name: String(node.name),
      asset: String(node.asset),
      params: canonical(node.params),
      owner: String((node[ownerField] as { name?: unknown } | null)?.name),
    })),
    totalCount: c.totalCount,
  };
}

/** One request before load: it must be a 200 with data and no errors; its body is what every timed response must equal. */
async function checkedAnswer(spec: ServerSpec, url: string): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: spec.headers, body: spec.body });
  const text = await response.text();
  const json = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
  if (response.status !== 200 || json.errors || !json.data) throw new Error(`${spec.label}: unexpected answer ${response.status}: ${text}`);
  if (spec.normalize) {
    const { rows, totalCount } = spec.normalize(json.data);
    if (rows.length !== PAGE || totalCount !== OWNER_STRATEGIES) {
      throw new Error(`${spec.label}: expected ${PAGE} rows of ${OWNER_STRATEGIES}, got ${rows.length} of ${totalCount}: ${text}`);
    }
  }
  return text;
}

/**
 * pg_stat_statements over a connection of the bench's own: reset before a
 * timed phase, then the calls of every statement since, except the bench's
 * own (those that read or reset pg_stat_statements).
 */
async function statements(url: string): Promise<{
  reset(): Promise<void>;
  calls(): Promise<{ query: string; calls: number }[]>;
  close(): Promise<void>;
}> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // the cluster's shutdown ends it too
  await client.connect();
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= client.end().catch(() => {}));
  onCleanup('close the statistics connection', close);
  return {
    async reset() {
      await client.query('SELECT pg_stat_statements_reset()');
    },
    async calls() {
      const { rows } = await client.query<{ query: string; calls: string }>(
        `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls::text
         FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT ILIKE '%pg_stat_statements%'
         ORDER BY calls DESC`,
      );
      return rows.map((r) => ({ query: r.query, calls: Number(r.calls) }));
    },
    close,
  };
}

async function drive(job: DriverJob, watch: { child: Child; describe: () => string }): Promise<DriverResult> {
  const out = await runToCompletion(`driver (${job.title})`, NODE, [...TSX_IMPORT, benchFile('driver.ts'), JSON.stringify(job)], watch);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as DriverResult;
}

function printReport(results: PeersResults): void {
  const rows = [
    ['server', 'req/s', 'of the bare-pg ceiling', 'p50', 'p99', 'errors / non-2xx / bad body', 'server CPU', 'CPU ms/req', 'DB CPU', 'SQL/request', 'RSS warm', 'RSS peak'],
    ...results.servers.map((r) => [
      r.label,
      Math.round(r.requestsPerSecondMean).toLocaleString('en-US'),
      `${r.ofBarePgPercent.toFixed(1)}%`,
      `${r.latencyP50Ms} ms`,
      `${r.latencyP99Ms} ms`,
      `${r.errors + r.timeouts} / ${r.non2xx} / ${r.mismatches}`,
      `${r.serverCpuPercent.toFixed(0)}%`,
      r.serverCpuMsPerRequest.toFixed(2),
      `${r.dbCpuPercent.toFixed(0)}%`,
      r.sqlPerRequest.toFixed(2),
      mb(r.rssWarm),
      mb(r.rssPeak),
    ]),
  ];
  const m = results.machine;
  const s = results.settings;
  const lines = [
    '',
    `peers benchmark — strategies(first: 20) with owner { name } and totalCount, ${s.connections} connections, ${s.durationSeconds} s per server, ` +
      `${s.warmupSeconds} s warm-up, pool ${s.poolSize} each, Switchyard LOG_LEVEL=${s.logLevel}, commit ${results.commit}`,
    `machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB RAM, node ${m.node}, load average at start ${m.loadavg}, cores busy before start ${results.hostBusyBefore.toFixed(2)}`,
    '',
    table(rows),
    '',
    `host CPU busy during each run (cores of ${m.cpus}): ${results.servers.map((r) => `${r.key} ${r.hostBusyCores.toFixed(2)}`).join(', ')}`,
    `driver CPU (% of one core): ${results.servers.map((r) => `${r.key} ${r.driverCpuPercent.toFixed(0)}%`).join(', ')}`,
    '',
    'statements per request (pg_stat_statements, most frequent first):',
    ...results.servers
      .filter((r) => r.statements.length > 0)
      .flatMap((r) => [
        `  ${r.label}:`,
        ...r.statements.map((st) => `    ${st.perRequest.toFixed(2)}  ${st.query.length > 140 ? `${st.query.slice(0, 137)}...` : st.query}`),
      ]),
    '',
    'targets:',
    table([['', 'target', 'measured', 'goal'], ...results.targets.map((t) => [t.pass ? 'PASS' : 'MISS', t.name, t.value, t.target])], 99),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
