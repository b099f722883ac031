import { ConfigError, loadConfig } from '../src/config.js';
import type { AppServices } from '../src/context.js';
import { createDb, type Db } from '../src/infra/db.js';
import { createLogger } from '../src/infra/logger.js';
import { createQueues, type Queues, startWorkers, type Workers } from '../src/infra/queues.js';
import { ALL_JOBS } from '../src/jobs.js';

/**
 * The worker process (`npm run start:worker`, `node dist/workers/index.js`):
 * runs the processors of every job in src/jobs.ts, WORKER_CONCURRENCY jobs
 * per queue. Production only: it needs DATABASE_URL (and uses REDIS_URL when
 * set). On SIGTERM/SIGINT it stops taking jobs, lets the running ones finish
 * (up to SHUTDOWN_TIMEOUT_MS), closes the queues and Prisma, and exits 0.
 */
async function main(): Promise<void> {
  // Workers never sign or verify tokens.
  const config = loadConfig(process.env, { requireJwtSecret: false });
  if (!config.databaseUrl) {
    throw new ConfigError(
      'DATABASE_URL is required for the worker process (embedded PostgreSQL runs only with `npm start`, workers inline)',
    );
  }
  const log = createLogger(config.logLevel).child({ role: 'worker' });

  let db: Db | undefined;
  let queues: Queues | undefined;
  let workers: Workers | undefined;
  let shuttingDown = false;

  const closeAll = async () => {
    await workers?.close();
    await queues?.close();
    await db?.$disconnect();
  };

  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    // A backstop: workers.close() is bounded by SHUTDOWN_TIMEOUT_MS, the rest by their own timeouts.
    setTimeout(() => {
      log.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 15_000).unref();
    try {
      await started.catch(() => {});
      await closeAll();
      log.info('stopped');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  // This process owns its shutdown order (see src/server.ts on async-exit-hook).
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const started = (async () => {
    db = createDb(config.databaseUrl!);
    queues = await createQueues({ config, log, databaseUrl: config.databaseUrl! });
    const services: AppServices = { db, config, log, queues };
    workers = await startWorkers(services, ALL_JOBS, { concurrency: config.workerConcurrency });
  })();
  try {
    await started;
  } catch (error) {
    await closeAll().catch(() => {});
    throw error;
  }
  if (shuttingDown) return;
  log.info({ jobs: ALL_JOBS.length, backend: queues!.backend }, 'worker process ready');
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`switchyard worker: ${error.message}\n`);
  } else {
    process.stderr.write(`switchyard worker: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
  process.exit(1);
});
