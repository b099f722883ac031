import { randomBytes } from 'node:crypto';
import { Queue, createPostgresBackend } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import type { Config } from '../src/config.js';
import type { AppServices } from '../src/core/context.js';
import { closeDb, createDb, type Db } from '../src/infra/db.js';
import { freePort } from './harness/ports.js';
import { createLogger } from '../src/infra/logger.js';
import { createAppEventBus } from '../src/events.js';
import { defineJob, InvalidJobPayloadError } from '../src/infra/jobs/definition.js';
import { createQueues, type Queues } from '../src/infra/jobs/producer.js';
import { startWorkers, type Workers } from '../src/infra/jobs/worker.js';
import { QUEUE_NAMES } from '../src/jobs.js';
import { testConfig } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { tcpProxy } from './helpers/tcp-proxy.js';
import { sleep, waitUntil as waitFor } from './harness/wait.js';

/**
 * src/infra/jobs/ on both backends, with jobs of its own: the same suite
 * runs on Redis (the shared test redis-server, under a key prefix of its own)
 * and on BullMQ's PostgreSQL backend (on a test database of its own).
 */



/** What the test processors saw, by the `id` in their payload. */
interface Seen {
  runs: Array<{ attempt: number; maxAttempts: number; jobId: string; at: number; payload: unknown }>;
  finalFailures: Array<{ attempt: number; message: string }>;
  finished: boolean;
}
const seen = new Map<string, Seen>();
const record = (id: string) => {
  let entry = seen.get(id);
  if (!entry) {
    entry = { runs: [], finalFailures: [], finished: false };
    seen.set(id, entry);
  }
  return entry;
};

const idPayload = z.object({ id: z.string().min(1).max(100) });

const recordJob = defineJob({
  name: 'test-record',
  queue: 'provisioning',
  payload: idPayload,
  jobId: ({ id }) => `record-${id}`,
  process: async (payload, { attempt, maxAttempts, jobId }) => {
    record(payload.id).runs.push({ attempt, maxAttempts, jobId, at: Date.now(), payload });
    return 'ok';
  },
});

const slowJob = defineJob({
  name: 'test-slow',
  queue: 'provisioning',
  payload: z.object({ id: z.string(), ms: z.number().int().min(0).max(10_000) }),
  process: async ({ id, ms }, { attempt, maxAttempts, jobId }) => {
    const entry = record(id);
    entry.runs.push({ attempt, maxAttempts, jobId, at: Date.now(), payload: { id, ms } });
    await sleep(ms);
    entry.finished = true;
  },
});

const failingJob = defineJob({
  name: 'test-failing',
  queue: 'ledger',
  payload: idPayload,
  jobId: ({ id }) => `failing-${id}`,
  attempts: 3,
  backoffMs: 200,
  process: async ({ id }, { attempt, maxAttempts, jobId }) => {
    record(id).runs.push({ attempt, maxAttempts, jobId, at: Date.now(), payload: { id } });
    throw new Error(`attempt ${attempt} failed`);
  },
  onFinalFailure: async ({ id }, error, { attempt }) => {
    record(id).finalFailures.push({ attempt, message: error.message });
  },
});

const flakyJob = defineJob({
  name: 'test-flaky',
  queue: 'ledger',
  payload: idPayload,
  attempts: 4,
  backoffMs: 100,
  process: async ({ id }, { attempt, maxAttempts, jobId }) => {
    record(id).runs.push({ attempt, maxAttempts, jobId, at: Date.now(), payload: { id } });
    if (attempt < 2) throw new Error('transient');
  },
  onFinalFailure: async ({ id }, error) => {
    record(id).finalFailures.push({ attempt: -1, message: error.message });
  },
});

/** Work "committed" before each enqueue of the coalesced job, by group; the job takes all of its group's. */
const committed = new Map<string, { open: Set<number>; done: Set<number>; runs: number }>();
const coalescedJob = defineJob({
  name: 'test-coalesced',
  queue: 'ledger',
  payload: z.object({ group: z.string(), item: z.number().int() }),
  coalesceId: ({ group }) => `coalesced-${group}`,
  process: async ({ group }) => {
    const entry = committed.get(group)!;
    entry.runs += 1;
    // Whatever is open when it runs, as a settlement batch takes whatever is PENDING.
    const taken = [...entry.open];
    await sleep(20);
    for (const item of taken) {
      entry.open.delete(item);
      entry.done.add(item);
    }
  },
});

const TEST_JOBS = [recordJob, slowJob, failingJob, flakyJob, coalescedJob];

const unique = () => randomBytes(6).toString('hex');

describe.each(['redis', 'postgres'] as const)('queues on %s', (backend) => {
  let database: TestDatabase;
  let config: Config;
  let db: Db;
  let queues: Queues;
  let workers: Workers;
  let services: AppServices;
  // Redis is shared by every test file: a key prefix of our own. PostgreSQL: our own database.
  const namespace = backend === 'redis' ? `test-${unique()}` : undefined;

  /** A plain BullMQ Queue on the same store, to look at jobs and to add what enqueue refuses. */
  let raw: Record<'provisioning' | 'ledger', Queue>;
  const rawQueue = (name: string): Queue =>
    backend === 'redis'
      ? new Queue(name, { connection: { url: inject('redisUrl') }, prefix: namespace })
      : (new Queue(
          name,
          { connection: { connectionString: database.url, schema: 'bullmq', max: 2 } } as never,
          createPostgresBackend as never,
        ) as unknown as Queue);

  beforeAll(async () => {
    database = await createTestDatabase();
    config = testConfig(database.url, backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {});
    const log = createLogger(config.logLevel);
    db = createDb(database.url, 2);
    queues = await createQueues({ config, log, databaseUrl: database.url }, { namespace, queueNames: QUEUE_NAMES });
    // The jobs here publish nothing: an event bus that is never started will do.
    services = { db, config, log, queues, pubsub: createAppEventBus({ config, log, databaseUrl: database.url }) };
    workers = await startWorkers(services, TEST_JOBS, { concurrency: 5 });
    raw = { provisioning: rawQueue('provisioning'), ledger: rawQueue('ledger') };
  });

  afterAll(async () => {
    await workers?.close();
    await queues?.close();
    for (const queue of Object.values(raw ?? {})) await queue.close();
    if (db) await closeDb(db);
    await database?.drop();
  });

  it('uses the backend the configuration names', () => {
    expect(queues.backend).toBe(backend);
  });

  it('processes a job once, with its payload', async () => {
    const id = unique();
    await queues.enqueue(recordJob, { id });
    await waitFor(() => (seen.get(id)?.runs.length ?? 0) > 0, 5000, 'the job to run');
    await sleep(300);
    expect(seen.get(id)!.runs).toEqual([
      { attempt: 1, maxAttempts: 5, jobId: `record-${id}`, at: expect.any(Number), payload: { id } },
    ]);
    const job = await raw.provisioning.getJob(`record-${id}`);
    expect(await job?.getState()).toBe('completed');
    expect(job?.returnvalue).toBe('ok');
    // Retention is set on every job: by age, and on Redis (memory) by count too.
    if (backend === 'redis') {
      expect(job?.opts.removeOnComplete).toEqual({ age: 3600, count: 10_000 });
      expect(job?.opts.removeOnFail).toEqual({ age: 7 * 24 * 3600, count: 10_000 });
    } else {
      expect(job?.opts.removeOnComplete).toEqual({ age: 3600 });
      expect(job?.opts.removeOnFail).toEqual({ age: 7 * 24 * 3600 });
    }
  });

  it('runs a delayed job no sooner than its delay, counted as delayed meanwhile', async () => {
    const id = unique();
    const enqueuedAt = Date.now();
    await queues.enqueue(recordJob, { id }, { delayMs: 1200 });
    await sleep(200);
    expect(seen.get(id)).toBeUndefined();
    expect((await queues.counts()).provisioning!.delayed).toBeGreaterThanOrEqual(1);
    await waitFor(() => (seen.get(id)?.runs.length ?? 0) > 0, 8000, 'the delayed job to run');
    expect(seen.get(id)!.runs[0]!.at - enqueuedAt).toBeGreaterThanOrEqual(1200);
  });

  it('processes a duplicate jobId once, enqueued one after another or at once', async () => {
    const id = unique();
    await queues.enqueue(recordJob, { id });
    await queues.enqueue(recordJob, { id });
    await Promise.all([1, 2, 3, 4, 5].map(() => queues.enqueue(recordJob, { id })));
    await waitFor(() => (seen.get(id)?.runs.length ?? 0) > 0, 5000, 'the job to run');
    // Again after it completed: the kept job keeps the id taken.
    await queues.enqueue(recordJob, { id });
    await sleep(500);
    expect(seen.get(id)!.runs).toHaveLength(1);
  });

  it('coalesces enqueues of one coalescing id, and leaves nothing committed before an enqueue undone', async () => {
    const group = unique();
    const entry = { open: new Set<number>(), done: new Set<number>(), runs: 0 };
    committed.set(group, entry);
    // 300 "commits", each followed by its enqueue, in waves while the job runs: none may be left open.
    for (let wave = 0; wave < 6; wave++) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const item = wave * 50 + i;
          entry.open.add(item);
          await queues.enqueue(coalescedJob, { group, item });
        }),
      );
      await sleep(15);
    }
    await waitFor(() => entry.done.size === 300, 10_000, 'every item to be taken');
    expect(entry.open.size).toBe(0);
    // Far fewer runs than enqueues: one runs and one waits at a time.
    expect(entry.runs).toBeLessThan(100);
  });

  it('retries a failing job with exponential backoff, then runs onFinalFailure once', async () => {
    const id = unique();
    await queues.enqueue(failingJob, { id });
    await waitFor(() => (seen.get(id)?.finalFailures.length ?? 0) > 0, 8000, 'the final failure');
    await sleep(300);
    const entry = seen.get(id)!;
    expect(entry.runs.map((run) => run.attempt)).toEqual([1, 2, 3]);
    expect(entry.runs.every((run) => run.maxAttempts === 3)).toBe(true);
    const gaps = entry.runs.slice(1).map((run, index) => run.at - entry.runs[index]!.at);
    // 200 ms, then 400 ms (exponential), with some slack for the pollers.
    expect(gaps[0]).toBeGreaterThanOrEqual(190);
    expect(gaps[1]).toBeGreaterThanOrEqual(390);
    expect(entry.finalFailures).toEqual([{ attempt: 3, message: 'attempt 3 failed' }]);
    const job = await raw.ledger.getJob(`failing-${id}`);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(3);
  });

  it('does not call onFinalFailure when a retry succeeds', async () => {
    const id = unique();
    await queues.enqueue(flakyJob, { id });
    await waitFor(() => (seen.get(id)?.runs.length ?? 0) >= 2, 5000, 'the retry');
    await sleep(300);
    expect(seen.get(id)!.runs.map((run) => run.attempt)).toEqual([1, 2]);
    expect(seen.get(id)!.finalFailures).toEqual([]);
  });

  it('refuses an invalid payload at enqueue, and fails one forced into the queue without retries', async () => {
    await expect(queues.enqueue(recordJob, { id: '' })).rejects.toBeInstanceOf(InvalidJobPayloadError);
    await expect(queues.enqueue(recordJob, { id: 42 } as never)).rejects.toThrow(/invalid payload for job test-record: id/);
    // A job id of digits only is refused by BullMQ; enqueue says so before it gets there.
    const digits = defineJob({ ...recordJob, name: 'test-digits', jobId: () => '12345' });
    await expect(queues.enqueue(digits, { id: 'x' })).rejects.toThrow(/not all digits/);

    const forcedId = `forced-${unique()}`;
    await raw.provisioning.add(recordJob.name, { id: 42 }, { jobId: forcedId, attempts: 5, backoff: 100 });
    await waitFor(async () => (await raw.provisioning.getJob(forcedId).then((job) => job?.getState())) === 'failed');
    await sleep(400);
    const job = await raw.provisioning.getJob(forcedId);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toMatch(/^invalid payload: id: Expected string, received number/);
    // The processor never ran.
    expect(seen.has('42')).toBe(false);
  });

  it('counts waiting, active, delayed and failed jobs per queue', async () => {
    const id = unique();
    await queues.enqueue(slowJob, { id, ms: 800 });
    await waitFor(() => (seen.get(id)?.runs.length ?? 0) > 0, 5000, 'the slow job to start');
    const counts = await queues.counts();
    expect(Object.keys(counts).sort()).toEqual(['backtests', 'ledger', 'orders', 'provisioning', 'quizzes']);
    for (const perQueue of Object.values(counts)) {
      expect(Object.keys(perQueue).sort()).toEqual(['active', 'delayed', 'failed', 'waiting']);
    }
    expect(counts.provisioning!.active).toBeGreaterThanOrEqual(1);
    // The failing job and the forced invalid one above.
    expect(counts.ledger!.failed).toBeGreaterThanOrEqual(1);
    expect(counts.provisioning!.failed).toBeGreaterThanOrEqual(1);
    await waitFor(() => seen.get(id)!.finished, 5000, 'the slow job to finish');
    await expect(queues.ping()).resolves.toBeUndefined();
  });

  it('redeliver retries a job that was kept as failed', async () => {
    const id = unique();
    await queues.enqueue(failingJob, { id });
    await waitFor(() => (seen.get(id)?.finalFailures.length ?? 0) > 0, 8000, 'the final failure');
    // A plain enqueue of the kept id is ignored…
    await queues.enqueue(failingJob, { id });
    await sleep(300);
    expect(seen.get(id)!.runs).toHaveLength(3);
    // …redeliver runs it again, with fresh attempts.
    await queues.redeliver(failingJob, { id });
    await waitFor(() => seen.get(id)!.finalFailures.length > 1, 8000, 'the second final failure');
    expect(seen.get(id)!.runs.map((run) => run.attempt)).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('rejects enqueues fast while the store is away; producer and workers recover when it is back', async () => {
    const target = new URL(backend === 'redis' ? inject('redisUrl') : database.url);
    const proxy = await tcpProxy(target.hostname, Number(target.port));
    const viaProxy = new URL(target);
    viaProxy.port = String(proxy.port);
    const proxied = testConfig(database.url, backend === 'redis' ? { REDIS_URL: viaProxy.toString() } : {});
    const log = createLogger('silent');
    // A namespace of its own, so that only the workers behind the proxy can take these jobs.
    const own = backend === 'redis' ? `test-${unique()}` : 'bullmq_proxied';
    const databaseUrl = backend === 'redis' ? database.url : viaProxy.toString();
    const producer = await createQueues({ config: proxied, log, databaseUrl }, { namespace: own, queueNames: QUEUE_NAMES });
    const proxiedWorkers = await startWorkers({ ...services, config: proxied, log, queues: producer }, [recordJob], {
      concurrency: 2,
    });
    try {
      const id = unique();
      await producer.enqueue(recordJob, { id });
      await waitFor(() => (seen.get(id)?.runs.length ?? 0) > 0, 5000, 'the job to run');

      await proxy.cut();
      let started = Date.now();
      await expect(producer.enqueue(recordJob, { id: unique() })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2000);
      started = Date.now();
      await expect(producer.ping()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2500);
      await sleep(1000); // the workers meet the outage too

      await proxy.restore();
      const again = unique();
      await waitFor(
        () =>
          producer.enqueue(recordJob, { id: again }).then(
            () => true,
            () => false,
          ),
        10_000,
        'enqueue to work again',
      );
      await waitFor(() => (seen.get(again)?.runs.length ?? 0) > 0, 10_000, 'the workers to take jobs again');
      await expect(producer.ping()).resolves.toBeUndefined();
    } finally {
      await proxiedWorkers.close();
      await producer.close();
      await proxy.close();
    }
  });

  it('createQueues rejects fast when nothing listens', async () => {
    const port = await freePort();
    const nowhere =
      backend === 'redis'
        ? { REDIS_URL: `redis://127.0.0.1:${port}` }
        : { DATABASE_URL: `postgresql://postgres:postgres@127.0.0.1:${port}/nowhere` };
    const closedConfig = testConfig(database.url, nowhere);
    const started = Date.now();
    await expect(
      createQueues({
        config: closedConfig,
        log: createLogger('silent'),
        databaseUrl: closedConfig.databaseUrl!,
      }, { queueNames: QUEUE_NAMES }),
    ).rejects.toThrow(/unreachable/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  // Last: it closes the suite's workers.
  it('workers.close() lets a running job finish first', async () => {
    const id = unique();
    await queues.enqueue(slowJob, { id, ms: 1200 });
    await waitFor(() => (seen.get(id)?.runs.length ?? 0) > 0, 5000, 'the slow job to start');
    const started = Date.now();
    await workers.close();
    expect(seen.get(id)!.finished).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const [job] = await raw.provisioning.getJobs(['completed'], 0, 100).then((jobs) =>
      jobs.filter((candidate) => (candidate.data as { id?: string }).id === id),
    );
    expect(await job?.getState()).toBe('completed');
    // Closed workers take nothing more.
    const later = unique();
    await queues.enqueue(recordJob, { id: later });
    await sleep(500);
    expect(seen.has(later)).toBe(false);
  });
});
