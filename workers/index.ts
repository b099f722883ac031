import { ConfigError, loadConfig } from '../src/config.js';
import type { AppServices } from '../src/context.js';
import { createDb, type Db } from '../src/infra/db.js';
import { createServer, type Server } from 'node:http';
import { createLogger } from '../src/infra/logger.js';
import { createMetrics } from '../src/infra/metrics.js';
import { createQueues, observeJobs, type Queues, startWorkers, type Workers } from '../src/infra/queues.js';
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
  let metricsServer: Server | undefined;
  let shuttingDown = false;

  const closeAll = async () => {
    await workers?.close();
    await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
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
    const metrics = createMetrics({ queues });
    observeJobs(queues, metrics.jobs);
    workers = await startWorkers(services, ALL_JOBS, { concurrency: config.workerConcurrency });
    if (config.workerMetricsPort !== undefined) {
      metricsServer = await serveMetrics(metrics.registry, config.host, config.workerMetricsPort);
      log.info({ port: config.workerMetricsPort }, 'worker metrics at /metrics');
    }
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

/** The worker's own /metrics (job timings and queue counts) and /health, for Prometheus and orchestrators. */
function serveMetrics(registry: ReturnType<typeof createMetrics>['registry'], host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`switchyard worker: ${error.message}\n`);
  } else {
    process.stderr.write(`switchyard worker: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
  process.exit(1);
});
