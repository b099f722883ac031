import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { buildApp } from '../src/http/app.js';
import { createMetrics } from '../src/infra/metrics.js';
import { createLogger } from '../src/infra/logger.js';
import { defineJob } from '../src/infra/jobs/definition.js';
import { createQueues } from '../src/infra/jobs/producer.js';
import { startWorkers, type Workers } from '../src/infra/jobs/worker.js';
import { QUEUE_NAMES } from '../src/jobs.js';
import { testConfig, useTestApp } from './helpers/app.js';
import { tcpProxy } from './helpers/tcp-proxy.js';
import { sleep, waitUntil } from './harness/wait.js';

/**
 * Queue metrics on /metrics: the per-queue gauges read from the store on
 * scrape, and the job histogram and failure counter observed by the workers
 * started on the app's queues. Test-only jobs; no job of src/jobs.ts runs.
 */

const unique = () => randomBytes(6).toString('hex');

const waitFor = (predicate: () => boolean | Promise<boolean>, timeoutMs = 8000, what = 'condition') =>
  waitUntil(predicate, timeoutMs, what, 50);

const idPayload = z.object({ id: z.string().min(1) });

const waitingJob = defineJob({
  name: 'test-metrics-wait',
  queue: 'provisioning',
  payload: idPayload,
  process: async () => {},
});

const okJob = defineJob({
  name: 'test-metrics-ok',
  queue: 'ledger',
  payload: idPayload,
  process: async () => {
    await sleep(20);
  },
});

const failJob = defineJob({
  name: 'test-metrics-fail',
  queue: 'ledger',
  payload: idPayload,
  attempts: 2,
  backoffMs: 50,
  process: async () => {
    throw new Error('always');
  },
});

const slowJob = defineJob({
  name: 'test-metrics-slow',
  queue: 'ledger',
  payload: idPayload,
  process: async () => {
    await sleep(1500);
  },
});

/** The value of one sample in Prometheus text, or undefined when it is not there. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = match[2] ? match[2].split(',') : [];
    if (wanted.length === present.length && wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return undefined;
}

describe.each(['postgres', 'redis'] as const)('queue metrics on %s', (backend) => {
  const t = useTestApp(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {});
  let workers: Workers | undefined;

  afterAll(async () => {
    await workers?.close();
  });

  const scrape = async () => {
    const response = await t.app.fastify.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    return response.body;
  };
  const gauge = (text: string, state: string, queue: string) => sample(text, `jobs_${state}`, { queue }) ?? NaN;

  it('reports waiting and delayed jobs per queue before any worker runs', async () => {
    const before = await scrape();
    expect(sample(before, 'queue_store_up')).toBe(1);
    for (const queue of ['provisioning', 'ledger']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) {
        expect(gauge(before, state, queue), `${state} ${queue}`).toBeGreaterThanOrEqual(0);
      }
    }

    for (let i = 0; i < 3; i += 1) await t.app.services.queues.enqueue(waitingJob, { id: unique() });
    for (let i = 0; i < 2; i += 1) await t.app.services.queues.enqueue(okJob, { id: unique() });
    const ledger = t.app.services.queues.bullQueues().find((queue) => queue.name === 'ledger')!;
    await ledger.add(okJob.name, { id: unique() }, { delay: 10 * 60_000 });

    const after = await scrape();
    expect(gauge(after, 'waiting', 'provisioning')).toBe(gauge(before, 'waiting', 'provisioning') + 3);
    expect(gauge(after, 'waiting', 'ledger')).toBe(gauge(before, 'waiting', 'ledger') + 2);
    expect(gauge(after, 'delayed', 'ledger')).toBe(gauge(before, 'delayed', 'ledger') + 1);
    expect(gauge(after, 'active', 'ledger')).toBe(0);
    expect(gauge(after, 'failed', 'ledger')).toBe(gauge(before, 'failed', 'ledger'));
    expect(after).toContain('# TYPE jobs_waiting gauge');
  });

  it('observes processing time and failures by job name in the workers on the app queues', async () => {
    const before = await scrape();
    // As inline workers do: the app's metrics observe them.
    workers = await startWorkers(t.app.services, [waitingJob, okJob, failJob, slowJob], {
      concurrency: 4,
      observer: t.app.metrics.jobs,
    });
    await t.app.services.queues.enqueue(failJob, { id: unique() });

    let text = before;
    await waitFor(
      async () => {
        text = await scrape();
        return (
          sample(text, 'job_duration_seconds_count', { job: okJob.name }) === 2 &&
          sample(text, 'job_duration_seconds_count', { job: waitingJob.name }) === 3 &&
          sample(text, 'job_failures_total', { job: failJob.name, final: 'true' }) === 1 &&
          gauge(text, 'active', 'ledger') === 0
        );
      },
      10_000,
      'the jobs to be observed',
    );
    expect(sample(text, 'job_duration_seconds_count', { job: waitingJob.name })).toBe(3);
    // Two runs of a 20 ms sleep; Node's timers may fire up to a millisecond early.
    expect(sample(text, 'job_duration_seconds_sum', { job: okJob.name })).toBeGreaterThanOrEqual(0.036);
    expect(sample(text, 'job_duration_seconds_bucket', { job: okJob.name, le: '+Inf' })).toBe(2);
    // Two attempts: the first is retried, the second is final.
    expect(sample(text, 'job_duration_seconds_count', { job: failJob.name })).toBe(2);
    expect(sample(text, 'job_failures_total', { job: failJob.name, final: 'false' })).toBe(1);
    expect(sample(text, 'job_failures_total', { job: failJob.name, final: 'true' })).toBe(1);
    expect(sample(text, 'job_failures_total', { job: okJob.name, final: 'false' })).toBeUndefined();
    expect(sample(text, 'job_failures_total', { job: okJob.name, final: 'true' })).toBeUndefined();

    expect(gauge(text, 'waiting', 'ledger')).toBe(0);
    expect(gauge(text, 'waiting', 'provisioning')).toBe(0);
    expect(gauge(text, 'failed', 'ledger')).toBe(gauge(before, 'failed', 'ledger') + 1);
    expect(gauge(text, 'delayed', 'ledger')).toBe(gauge(before, 'delayed', 'ledger'));
  });

  it('counts a running job as active', async () => {
    await t.app.services.queues.enqueue(slowJob, { id: unique() });
    await waitFor(async () => gauge(await scrape(), 'active', 'ledger') === 1, 5000, 'the job to be active');
    await waitFor(
      async () => sample(await scrape(), 'job_duration_seconds_count', { job: slowJob.name }) === 1,
      5000,
      'the slow job to finish',
    );
    const text = await scrape();
    expect(gauge(text, 'active', 'ledger')).toBe(0);
    expect(sample(text, 'job_duration_seconds_sum', { job: slowJob.name })).toBeGreaterThanOrEqual(1.4);
  });
});

describe('queue metrics when the store does not answer', () => {
  it('reports queue_store_up 0 and no counts, without waiting past the timeout', async () => {
    // Real queues on Redis, through a proxy that then stops answering: a hung store.
    const redis = new URL(inject('redisUrl'));
    const proxy = await tcpProxy(redis.hostname, Number(redis.port));
    redis.port = String(proxy.port);
    const config = testConfig('postgresql://unused@127.0.0.1:1/unused', { REDIS_URL: redis.toString() });
    const queues = await createQueues(
      { config, log: createLogger('silent'), databaseUrl: config.databaseUrl! },
      { namespace: `test-${unique()}`, queueNames: QUEUE_NAMES },
    );
    try {
      const metrics = createMetrics({ queues, queueCountsTimeoutMs: 200 });
      expect(sample(await metrics.registry.metrics(), 'queue_store_up')).toBe(1);
      proxy.hang();
      const started = Date.now();
      const text = await metrics.registry.metrics();
      expect(Date.now() - started).toBeLessThan(1000);
      expect(sample(text, 'queue_store_up')).toBe(0);
      expect(text).not.toMatch(/^jobs_waiting\{/m);
    } finally {
      await proxy.close();
      await queues.close();
    }
  });

  it('reports queue_store_up 0 while the app queues are not started', async () => {
    const app = buildApp(testConfig('postgresql://nobody@127.0.0.1:1/none'));
    const response = await app.fastify.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(sample(response.body, 'queue_store_up')).toBe(0);
    expect(response.body).not.toMatch(/^jobs_(waiting|active|delayed|failed)\{/m);
    await app.fastify.close();
    await app.db.$disconnect();
  });
});
