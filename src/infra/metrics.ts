import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { withTimeout } from './async.js';
import type { PublishOutcome } from './events/bus.js';
import type { JobCounts, Queues } from './jobs/producer.js';
import type { SweepObserver } from './jobs/sweeper.js';
import type { JobObserver } from './jobs/worker.js';

/** One registry per app, so several apps in one process (tests) never collide. */
export interface Metrics {
  registry: Registry;
  requestDuration: Histogram<'operation' | 'type'>;
  errors: Counter<'code'>;
  /** Processing time of each job attempt, by job name (observed where the workers run). */
  jobDuration: Histogram<'job'>;
  /** Failed job attempts by job name; final="true" when no retry follows. */
  jobFailures: Counter<'job' | 'final'>;
  /** Feeds jobDuration and jobFailures; startWorkers takes it as its `observer`. */
  jobs: JobObserver;
  /** Sweeper rounds by sweeper and outcome (swept, skipped: another process held the lock, failed). */
  sweeps: Counter<'sweeper' | 'outcome'>;
  /** Open rows the sweepers delivered again, by sweeper. */
  sweptRows: Counter<'sweeper'>;
  /** Feeds sweeps and sweptRows; startSweepers takes it as its `observer`. */
  sweepers: SweepObserver;
  /** Open graphql-ws connections of this process. */
  wsConnections: Gauge;
  /** Running subscriptions of this process, by transport (ws, sse, http = multipart). */
  subscriptions: Gauge<'transport'>;
  /** Events this process published to the bus, by topic and outcome (sent, failed, too_large, not_started). */
  eventsPublished: Counter<'topic' | 'outcome'>;
  /** Feeds eventsPublished; createPubSub takes it as its `onPublish`. */
  onPublish: (topic: string, outcome: PublishOutcome) => void;
}

/** The transports a subscription runs over (the `transport` label). */
const SUBSCRIPTION_TRANSPORTS = ['ws', 'sse', 'http'] as const;
export type SubscriptionTransport = (typeof SUBSCRIPTION_TRANSPORTS)[number];

export interface CreateMetricsOptions {
  /**
   * The app's queues: each scrape asks them for their counts (jobs_waiting,
   * jobs_active, jobs_delayed, jobs_failed by queue, and queue_store_up).
   * A worker process, which only runs jobs, leaves it out.
   */
  queues?: Queues;
  /**
   * How long a scrape waits for the counts (default 1.5 s); past it,
   * queue_store_up is 0 and no counts are reported.
   */
  queueCountsTimeoutMs?: number;
}

const QUEUE_COUNTS_TIMEOUT_MS = 1500;

export function createMetrics(options: CreateMetricsOptions = {}): Metrics {
  const registry = new Registry();
  // Includes nodejs_eventloop_lag_seconds and the event-loop delay percentiles.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const jobDuration = new Histogram({
    name: 'job_duration_seconds',
    help: 'Processing time of a job attempt (successful or not), by job name.',
    labelNames: ['job'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const jobFailures = new Counter({
    name: 'job_failures_total',
    help: 'Failed job attempts, by job name; final="true" when the job will not be retried.',
    labelNames: ['job', 'final'],
    registers: [registry],
  });
  const subscriptions = new Gauge({
    name: 'switchyard_subscriptions',
    help: 'Running GraphQL subscriptions of this process, by transport (ws, sse, http = multipart).',
    labelNames: ['transport'],
    registers: [registry],
  });
  // Every transport shows from the first scrape on, at 0.
  for (const transport of SUBSCRIPTION_TRANSPORTS) subscriptions.set({ transport }, 0);
  const eventsPublished = new Counter({
    name: 'switchyard_events_published_total',
    help: 'Events this process published to the event bus, by topic and outcome (sent, failed, too_large, not_started).',
    labelNames: ['topic', 'outcome'],
    registers: [registry],
  });
  if (options.queues) {
    registerQueueGauges(registry, options.queues, options.queueCountsTimeoutMs ?? QUEUE_COUNTS_TIMEOUT_MS);
  }
  const sweeps = new Counter({
    name: 'sweeper_rounds_total',
    help: 'Sweeper rounds, by sweeper and outcome (swept; skipped: another process held its lock; failed).',
    labelNames: ['sweeper', 'outcome'],
    registers: [registry],
  });
  const sweptRows = new Counter({
    name: 'sweeper_rows_delivered_total',
    help: 'Open rows the sweepers delivered their job again for, by sweeper.',
    labelNames: ['sweeper'],
    registers: [registry],
  });
  return {
    registry,
    requestDuration: new Histogram({
      name: 'graphql_request_duration_seconds',
      help: 'Time to execute a GraphQL operation, by operation name and type.',
      labelNames: ['operation', 'type'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'graphql_errors_total',
      help: 'GraphQL errors returned to clients, by error code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    jobDuration,
    jobFailures,
    wsConnections: new Gauge({
      name: 'switchyard_ws_connections',
      help: 'Open graphql-ws (WebSocket) connections of this process.',
      registers: [registry],
    }),
    subscriptions,
    eventsPublished,
    onPublish: (topic, outcome) => eventsPublished.inc({ topic, outcome }),
    sweeps,
    sweptRows,
    sweepers: {
      round(sweeper, outcome, delivered) {
        sweeps.inc({ sweeper, outcome });
        if (delivered > 0) sweptRows.inc({ sweeper }, delivered);
      },
    },
    jobs: {
      attempt(job, seconds, failed) {
        jobDuration.observe({ job }, seconds);
        if (failed) jobFailures.inc({ job, final: failed.final ? 'true' : 'false' });
      },
    },
  };
}

const COUNT_GAUGES: Array<{ state: keyof JobCounts; help: string }> = [
  { state: 'waiting', help: 'Jobs waiting to be processed, by queue.' },
  { state: 'active', help: 'Jobs being processed now, by queue.' },
  { state: 'delayed', help: 'Jobs delayed (scheduled, or backing off before a retry), by queue.' },
  { state: 'failed', help: 'Jobs kept as failed after their last attempt, by queue.' },
];

/**
 * The queue gauges are read from the store on scrape. Every gauge's collect
 * awaits the same counts() call (prom-client collects all metrics of a scrape
 * at once), bounded by timeoutMs so that a dead store cannot hang /metrics.
 */
function registerQueueGauges(registry: Registry, queues: Queues, timeoutMs: number): void {
  let inFlight: Promise<Record<string, JobCounts> | undefined> | undefined;
  const snapshot = () => {
    inFlight ??= withTimeout(queues.counts(), timeoutMs)
      .catch(() => undefined)
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  for (const { state, help } of COUNT_GAUGES) {
    new Gauge({
      name: `jobs_${state}`,
      help,
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        const counts = await snapshot();
        // Store unreachable: report no counts rather than stale ones (queue_store_up says why).
        this.reset();
        if (!counts) return;
        for (const [queue, perState] of Object.entries(counts)) this.set({ queue }, perState[state]);
      },
    });
  }
  new Gauge({
    name: 'queue_store_up',
    help: '1 when the queue store (Redis or PostgreSQL) answered the counts of this scrape in time, else 0.',
    registers: [registry],
    async collect() {
      this.set((await snapshot()) ? 1 : 0);
    },
  });
}
