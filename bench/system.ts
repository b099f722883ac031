/**
 * The system a scenario runs against: an embedded PostgreSQL cluster of its
 * own (pg_stat_statements loaded), a private redis-server, and a GraphQL
 * helper for set-up requests. Shared by the ledger, flash-sale and fanout
 * scenarios.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config.js';
import { closeDb, createDb } from '../src/infra/db.js';
import { freePort } from '../test/harness/ports.js';
import { startPostgres, withClient } from '../test/harness/postgres.js';
import { childEnv } from '../test/harness/processes.js';
import { type Redis, startRedis as startRedisServer } from '../test/harness/redis.js';
import { type Buyer, buyersProvisionedBy } from '../test/harness/users.js';
import {
  benchFile,
  type Child,
  NODE,
  onCleanup,
  removeOnCleanup,
  ROOT_DIR,
  runToCompletion,
  spawnChild,
  TSX_IMPORT,
  tail,
  waitForHealth,
} from './lib.js';

/** One set-up request; throws on any error. */
export async function graphql<T>(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await response.text();
  const json = JSON.parse(text) as { data?: T; errors?: unknown[] };
  if (!response.ok || json.errors || !json.data) throw new Error(`GraphQL request failed (${response.status}): ${text}`);
  return json.data;
}

/**
 * One keep-alive HTTP/1.1 connection on which a driver sends its POSTs one
 * after another. The drivers share the machine's cores with the server under
 * test, and node:http's client spent about three times this one's CPU per
 * request (bench/README.md, "Drivers") — CPU the server then lacked. It reads
 * only what the API writes: a status line, headers with a content-length, and
 * the body; any other framing fails the request, so it shows as `other`.
 */
export class KeepAliveConnection {
  readonly #host: string;
  readonly #port: number;
  readonly #head: string;
  readonly #token: string;
  #socket: net.Socket | undefined;
  #chunks: Buffer[] = [];
  #pending: { resolve: (response: { status: number; text: string }) => void; reject: (error: Error) => void } | undefined;

  constructor(url: URL, token: string) {
    this.#host = url.hostname;
    this.#port = Number(url.port);
    this.#head = `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n`;
    this.#token = token;
  }

  /** `token` signs this one request in: a client acting for many users (the teams driver) keeps one connection. */
  post(body: string, timeoutMs = 30_000, token = this.#token): Promise<{ status: number; text: string }> {
    if (this.#pending) return Promise.reject(new Error('one request at a time'));
    const socket = (this.#socket ??= this.#connect());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error('timeout')), timeoutMs);
      this.#pending = {
        resolve: (response) => (clearTimeout(timer), resolve(response)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
      socket.write(`${this.#head}authorization: Bearer ${token}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close(): void {
    this.#socket?.destroy();
  }

  #connect(): net.Socket {
    const socket = net.connect({ host: this.#host, port: this.#port, noDelay: true });
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('connection closed')));
    return socket;
  }

  #read(chunk: Buffer): void {
    this.#chunks.push(chunk);
    const data = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks);
    const headEnd = data.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = data.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length === undefined || /\r\ntransfer-encoding:/i.test(head)) {
      this.#fail(new Error(`unexpected response framing: ${head.slice(0, 200)}`));
      return;
    }
    const bodyEnd = headEnd + 4 + Number(length);
    if (data.length < bodyEnd) {
      this.#chunks = [data];
      return;
    }
    if (data.length > bodyEnd) {
      this.#fail(new Error('bytes after the response'));
      return;
    }
    this.#chunks = [];
    const pending = this.#pending;
    this.#pending = undefined;
    if (/\r\nconnection: *close/i.test(head)) this.#drop();
    pending?.resolve({ status: Number(head.slice(9, 12)), text: data.toString('utf8', headEnd + 4, bodyEnd) });
  }

  #fail(error: Error): void {
    this.#drop();
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }

  /** The next request opens a new connection. */
  #drop(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#chunks = [];
    socket?.removeAllListeners().on('error', () => {});
    socket?.destroy();
  }
}

/** A driver's POST of a JSON body on a keep-alive agent (node:http: less driver CPU per request than fetch). */
export function postGraphQL(agent: http.Agent, url: URL, token: string, body: string, timeoutMs = 10_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.setTimeout(timeoutMs, () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end(body);
  });
}

// ---------------------------------------------------------------------------
// A run's workspace

/**
 * A temp dir for the run (removed on cleanup), the server compiled into it
 * when BENCH_SERVER=compiled, and an embedded PostgreSQL cluster (fsync on).
 */
export async function startBenchRun(name: string): Promise<{ root: string; dist: string | undefined; cluster: Cluster }> {
  const root = mkdtempSync(join(tmpdir(), `switchyard-bench-${name}-`));
  chmodSync(root, 0o755); // as root, PostgreSQL runs as `postgres` and must reach its data dir
  removeOnCleanup(root);
  const dist = serverKind() === 'compiled' ? await compileServer(root) : undefined;
  return { root, dist, cluster: await startCluster(root, true) };
}

/** The run's results: written to BENCH_JSON when it is set; then the cluster is stopped. */
export async function finishBenchRun<T>(output: T, cluster: Cluster): Promise<T> {
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(output, null, 2)}\n`);
  await cluster.stop();
  return output;
}

// ---------------------------------------------------------------------------
// Backends

/** Redis (queues on BullMQ's Redis backend, events on Redis pub/sub) or PostgreSQL for both. */
export type Backend = 'redis' | 'postgres';

/** BENCH_BACKENDS: the backends to run, in order (default both, Redis first). */
export function benchBackends(): Backend[] {
  const backends = (process.env.BENCH_BACKENDS || 'redis,postgres').split(',').map((b) => b.trim());
  for (const backend of backends) {
    if (backend !== 'redis' && backend !== 'postgres') throw new Error(`BENCH_BACKENDS: unknown backend "${backend}"`);
  }
  return backends as Backend[];
}

// ---------------------------------------------------------------------------
// A shop: API and worker in production mode, an admin, buyers

const BENCH_ADMIN = { email: 'admin@bench.local', password: 'bench-admin-password' };

/**
 * The environment of a shop's API and worker: the caller's without any
 * Switchyard variable, then production settings, the bench admin (seeded on
 * start), tokens that outlive any run, and a sweeper that provisions the
 * buyers prepareBuyers inserts within a second or two.
 */
function shopEnv(
  system: { databaseUrl: string; redisUrl: string | undefined; port: number; jwtSecret: string; logLevel: string },
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return childEnv({
    NODE_ENV: 'production',
    DATABASE_URL: system.databaseUrl,
    ...(system.redisUrl ? { REDIS_URL: system.redisUrl } : {}),
    JWT_SECRET: system.jwtSecret,
    HOST: '127.0.0.1',
    PORT: String(system.port),
    LOG_LEVEL: system.logLevel,
    ACCESS_TOKEN_TTL: '86400',
    ADMIN_EMAIL: BENCH_ADMIN.email,
    ADMIN_PASSWORD: BENCH_ADMIN.password,
    SWEEP_AFTER_MS: '1000',
    SWEEP_INTERVAL_MS: '1000',
    ...extra,
  });
}

/** Creates an item as the bench admin; returns its id. */
export async function createBenchItem(
  graphqlUrl: string,
  input: { sku: string; name: string; price: string; stock: number; limitPerUser: number | null },
): Promise<string> {
  const { login } = await graphql<{ login: { accessToken: string } }>(
    graphqlUrl,
    'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
    { input: BENCH_ADMIN },
  );
  const { createItem } = await graphql<{ createItem: { id: string } }>(
    graphqlUrl,
    'mutation ($input: CreateItemInput!) { createItem(input: $input) { id } }',
    { input: { ...input, currency: 'USD' } },
    login.accessToken,
  );
  return createItem.id;
}

// ---------------------------------------------------------------------------
// Buyers

export type { Buyer };

/** Buyers the shop's worker provisions (buyersProvisionedBy), over a Prisma client of their own. */
export async function prepareBuyers(shop: Shop, count: number): Promise<Buyer[]> {
  const db = createDb(shop.databaseUrl, 2);
  try {
    return await buyersProvisionedBy(shop.worker, db, shop.config, count);
  } finally {
    await closeDb(db);
  }
}

// ---------------------------------------------------------------------------
// The server as the Docker image runs it

/**
 * The Docker image runs `node dist/src/server.js`: compile the same way
 * (tsconfig.build.json) into the temp dir, beside links to prisma/ (migrations),
 * node_modules/ and package.json (ESM), so the checkout's dist/ is left alone.
 * `tree` is the source to compile: the checkout, or a baseline revision
 * (checkoutRevision). Returns the dist/ directory (src/server.js, workers/index.js).
 */
export async function compileServer(root: string, tree = ROOT_DIR, name = 'build'): Promise<string> {
  const build = join(root, name);
  mkdirSync(build);
  for (const link of ['prisma', 'node_modules', 'package.json']) symlinkSync(join(tree, link), join(build, link));
  process.stderr.write(`[bench] compiling the server (tsconfig.build.json${tree === ROOT_DIR ? '' : ` of ${tree}`}) …\n`);
  await runToCompletion('tsc', NODE, [
    join(ROOT_DIR, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(tree, 'tsconfig.build.json'),
    '--outDir',
    join(build, 'dist'),
  ]);
  // What tsc does not emit (the admin sign-in page), as `npm run build` copies it; older trees have none.
  await runToCompletion('copy-assets', NODE, [join(ROOT_DIR, 'scripts/copy-assets.mjs'), join(build, 'dist'), tree]);
  return join(build, 'dist');
}

/**
 * BENCH_BASELINE: a git revision to measure beside the checkout, in the same
 * run. Its committed files are unpacked into the temp dir, with links to the
 * checkout's node_modules/ and generated Prisma client — so its Prisma schema
 * must be the checkout's, and its dependencies a subset of them.
 */
export function baselineRevision(): string | undefined {
  return process.env.BENCH_BASELINE || undefined;
}

/** The source tree of `revision` (see baselineRevision), unpacked under `root`. */
export async function checkoutRevision(root: string, revision: string): Promise<{ tree: string; label: string }> {
  const git = (...args: string[]) => runToCompletion('git', 'git', ['-C', ROOT_DIR, ...args]);
  const commit = (await git('rev-parse', '--verify', `${revision}^{commit}`)).trim();
  const schema = await git('show', `${commit}:prisma/schema.prisma`);
  if (schema !== readFileSync(join(ROOT_DIR, 'prisma/schema.prisma'), 'utf8')) {
    throw new Error(`BENCH_BASELINE ${revision}: its prisma/schema.prisma differs from the checkout's, so the generated client would not match`);
  }
  const tree = join(root, `baseline-${commit.slice(0, 12)}`);
  mkdirSync(tree);
  const archive = join(root, 'baseline.tar');
  await git('archive', '--format=tar', '-o', archive, commit);
  await runToCompletion('tar', 'tar', ['-xf', archive, '-C', tree]);
  for (const link of ['node_modules', 'src/generated']) symlinkSync(join(ROOT_DIR, link), join(tree, link));
  return { tree, label: `baseline ${commit.slice(0, 12)}` };
}

// ---------------------------------------------------------------------------
// API and worker processes

interface ApiAndWorker {
  api: Child;
  worker: Child;
  apiLog: string;
  workerLog: string;
  /** http://127.0.0.1:PORT */
  apiUrl: string;
}

/**
 * db:migrate, then the API (`src/server.ts --api`) on `port` and one worker
 * (`workers/index.ts`), each logging into `dir`: run by tsx as `npm run
 * start:api` does, or from `dist` (compileServer) as the Docker image does.
 * With `profileOut`, the API preloads profile-hook.ts (SIGUSR2 starts/stops).
 */
async function startApiAndWorker(options: {
  env: NodeJS.ProcessEnv;
  dir: string;
  port: number;
  dist?: string;
  /** The source tree run by tsx when there is no `dist`: the checkout, or a baseline's. */
  tree?: string;
  profileOut?: string;
}): Promise<ApiAndWorker> {
  const { env, dir, dist, profileOut, tree = ROOT_DIR } = options;
  const entry = (source: string) => (dist ? join(dist, source.replace(/\.ts$/, '.js')) : join(tree, source));
  // tsx is needed for the profile hook even when the server itself is compiled.
  const loader = (profiled: boolean) => (dist && !profiled ? [] : TSX_IMPORT);
  const migrateLog = join(dir, 'migrate.log');
  const migrate = spawnChild('db:migrate', NODE, [...loader(false), entry('src/infra/migrate-cli.ts')], { env, logFile: migrateLog });
  if ((await migrate.exited) !== 0) throw new Error(`db:migrate failed:\n${tail(migrateLog)}`);
  const apiLog = join(dir, 'api.log');
  const workerLog = join(dir, 'worker.log');
  const hook = profileOut ? ['--import', benchFile('profile-hook.ts')] : [];
  const api = spawnChild('API', NODE, [...loader(profileOut !== undefined), ...hook, entry('src/server.ts'), '--api'], {
    env: { ...env, ...(profileOut ? { BENCH_PROFILE_OUT: profileOut } : {}) },
    logFile: apiLog,
  });
  const apiUrl = `http://127.0.0.1:${options.port}`;
  await waitForHealth(api, `${apiUrl}/health`, apiLog);
  const worker = spawnChild('worker', NODE, [...loader(false), entry('workers/index.ts')], { env, logFile: workerLog });
  return { api, worker, apiLog, workerLog, apiUrl };
}

export interface Shop extends ApiAndWorker {
  /** Where its logs and the scenario's job files go. */
  dir: string;
  databaseUrl: string;
  graphqlUrl: string;
  /** The configuration the API and worker run with, for signing the buyers' tokens. */
  config: ReturnType<typeof loadConfig>;
  /** A connection of the scenario's own to the shop's database (set-up, invariant checks). */
  db: pg.Client;
  /** Closes the connection, then stops worker, API and redis-server. */
  stop(): Promise<void>;
}

/**
 * One backend's shop under `root/name`: a database of `cluster`, a private
 * redis-server when the backend is Redis, then db:migrate, the API and a
 * worker (startApiAndWorker) with shopEnv plus `extraEnv`.
 */
export async function startShop(options: {
  cluster: Cluster;
  root: string;
  name: string;
  backend: Backend;
  logLevel: string;
  extraEnv?: Record<string, string>;
  dist?: string;
  tree?: string;
  profileOut?: string;
}): Promise<Shop> {
  const { cluster, root, name, backend, logLevel, extraEnv, dist, tree, profileOut } = options;
  const databaseUrl = await cluster.createDatabase(name);
  const dir = join(root, name);
  mkdirSync(dir, { mode: 0o755 });
  const redis = backend === 'redis' ? await startRedis(dir) : undefined;
  const port = await freePort();
  const jwtSecret = randomBytes(32).toString('hex');
  const env = shopEnv({ databaseUrl, redisUrl: redis?.url, port, jwtSecret, logLevel }, extraEnv);
  const processes = await startApiAndWorker({ env, dir, port, dist, tree, profileOut });
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  return {
    ...processes,
    dir,
    databaseUrl,
    graphqlUrl: `${processes.apiUrl}/graphql`,
    config: loadConfig({ NODE_ENV: 'production', DATABASE_URL: databaseUrl, JWT_SECRET: jwtSecret, ACCESS_TOKEN_TTL: '86400' }),
    db,
    stop: async () => {
      await db.end();
      await processes.worker.stop();
      await processes.api.stop();
      await redis?.stop();
    },
  };
}

/** BENCH_SERVER: `tsx` (default, as `npm run start:api`) or `compiled` (as the Docker image). */
function serverKind(): 'tsx' | 'compiled' {
  const kind = process.env.BENCH_SERVER || 'tsx';
  if (kind !== 'tsx' && kind !== 'compiled') {
    throw new Error('BENCH_SERVER must be "tsx" (npm start\'s way) or "compiled" (the Docker image\'s way)');
  }
  return kind;
}

// ---------------------------------------------------------------------------
// PostgreSQL (embedded, one cluster for the whole scenario) and Redis

export interface Cluster {
  port: number;
  dir: string;
  logFile: string;
  /** 0 once it has stopped. */
  postmasterPid(): number;
  /** A new database with pg_stat_statements; its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** The scenario's cluster under `root`: pg_stat_statements loaded, fsync on unless told otherwise; stopped on cleanup. */
export async function startCluster(root: string, fsync: boolean): Promise<Cluster> {
  const logFile = join(root, 'postgres.log');
  const cluster = await startPostgres({
    dir: join(root, 'pg'),
    password: 'bench',
    flags: [
      '-c', 'max_connections=300',
      '-c', 'shared_preload_libraries=pg_stat_statements',
      '-c', 'pg_stat_statements.track=all',
      ...(fsync ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off']),
    ],
    logFile,
    // They would exit the bench before its own cleanup ran: keep only the bench's handlers.
    withoutExitHooks: true,
    onStarting: ({ stop, kill }) => onCleanup('stop PostgreSQL', stop, kill),
  });
  return {
    port: cluster.port,
    dir: cluster.dir,
    logFile,
    postmasterPid: () => cluster.pid() ?? 0,
    async createDatabase(name) {
      const url = await cluster.createDatabase(name);
      await withClient(url, (client) => client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'));
      return url;
    },
    stop: cluster.stop,
  };
}

/** A redis-server of the shop's own, logging to `dir`/redis.log. */
export function startRedis(dir: string): Promise<Redis> {
  return startRedisServer((command, args) => spawnChild('redis-server', command, args, { logFile: join(dir, 'redis.log') }));
}
