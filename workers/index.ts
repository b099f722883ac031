import { ConfigError, loadConfig } from '../src/config.js';
import type { AppServices } from '../src/core/context.js';
import { closeDb, createDb, type Db } from '../src/infra/db.js';
import { createServer, type Server } from 'node:http';
import { createLogger } from '../src/infra/logger.js';
import { onShutdownSignal } from '../src/infra/shutdown.js';
import { createMetrics } from '../src/infra/metrics.js';
import type { AppEventBus } from '../src/core/events.js';
import { createAppEventBus } from '../src/events.js';
import { createQueues, type Queues } from '../src/infra/jobs/producer.js';
import { startSweepers, type Sweepers } from '../src/infra/jobs/sweeper.js';
import { startWorkers, type Workers } from '../src/infra/jobs/worker.js';
import { ALL_JOBS, ALL_SWEEPERS, QUEUE_NAMES } from '../src/jobs.js';

/**
 * The worker process (`npm run start:worker`, `node dist/workers/index.js`):
 * runs the processors of every job in src/jobs.ts, WORKER_CONCURRENCY jobs
 * per queue. Production only: it needs DATABASE_URL (and uses REDIS_URL when
 * set). Jobs publish their outcomes (transactionUpdated, …) to the event bus,
 * which the API processes listen to. On SIGTERM/SIGINT it stops taking jobs,
 * lets the running ones finish (up to SHUTDOWN_TIMEOUT_MS), closes the queues,
 * the event bus and Prisma, and exits 0.
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
  let pubsub: AppEventBus | undefined;
  let workers: Workers | undefined;
  let sweepers: Sweepers | undefined;
  let metricsServer: Server | undefined;

  const closeAll = async () => {
    await sweepers?.close();
    await workers?.close();
    await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
    await queues?.close();
    await pubsub?.close();
    if (db) await closeDb(db);
  };

  let stopping = false;
  // Backstop: workers.close() is bounded by SHUTDOWN_TIMEOUT_MS, the rest by their own timeouts.
  onShutdownSignal(
    log,
    async () => {
      stopping = true;
      await started.catch(() => {});
      await closeAll();
    },
    config.shutdownTimeoutMs + 15_000,
  );

  const started = (async () => {
    // No statement_timeout: a job may run a long statement (a batch settling a backlog), and its lock bounds the job.
    db = createDb(config.databaseUrl!, undefined, log, {
      connectTimeoutMs: config.dbConnectTimeoutMs,
      idleTimeoutMs: config.dbIdleTimeoutMs,
    });
    queues = await createQueues({ config, log, databaseUrl: config.databaseUrl! }, { queueNames: QUEUE_NAMES });
    const metrics = createMetrics({ queues });
    // Jobs publish their results (transactionUpdated, …) to the API processes' subscribers; a worker never listens.
    pubsub = createAppEventBus({ config, log, databaseUrl: config.databaseUrl! }, { listen: false, onPublish: metrics.onPublish });
    await pubsub.start();
    const services: AppServices = { db, config, log, queues, pubsub };
    workers = await startWorkers(services, ALL_JOBS, { concurrency: config.workerConcurrency, observer: metrics.jobs });
    sweepers = startSweepers(services, ALL_SWEEPERS, { observer: metrics.sweepers });
    if (config.workerMetricsPort !== undefined) {
      metricsServer = await serveMetrics(metrics.registry, readiness(queues, sweepers), config.host, config.workerMetricsPort);
      log.info({ port: config.workerMetricsPort }, 'worker metrics at /metrics');
    }
  })();
  try {
    await started;
  } catch (error) {
    await closeAll().catch(() => {});
    throw error;
  }
  if (stopping) return;
  log.info({ jobs: ALL_JOBS.length, backend: queues!.backend }, 'worker process ready');
}

/**
 * What the worker's /ready says: the queue store answers, and every sweeper
 * finished a round within its last 3 intervals (a worker whose sweeps keep
 * failing leaves open rows undelivered).
 */
function readiness(queues: Queues, sweepers: Sweepers) {
  return async (): Promise<{ ready: boolean; checks: Record<string, string> }> => {
    const store = await queues.ping().then(
      () => 'ok',
      () => 'unreachable',
    );
    const overdue = sweepers.overdue();
    const checks = { queues: store, sweepers: overdue.length === 0 ? 'ok' : `overdue: ${overdue.join(', ')}` };
    return { ready: Object.values(checks).every((check) => check === 'ok'), checks };
  };
}

/** The worker's own /metrics (job timings and queue counts), /health and /ready, for Prometheus and orchestrators. */
function serveMetrics(
  registry: ReturnType<typeof createMetrics>['registry'],
  ready: ReturnType<typeof readiness>,
  host: string,
  port: number,
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.method === 'GET' && req.url === '/ready') {
      ready().then(
        ({ ready: ok, checks }) =>
          res
            .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
            .end(JSON.stringify({ status: ok ? 'ready' : 'unavailable', checks })),
        () => res.writeHead(500).end(),
      );
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
