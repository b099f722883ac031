import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from './harness/ports.js';
import { type Child, childEnv, spawnChild, waitForOutput } from './harness/processes.js';
import { waitUntil } from './harness/wait.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { tcpProxy } from './helpers/tcp-proxy.js';

/**
 * workers/index.ts as a real process (`npm run start:worker` runs the same file
 * through tsx): it starts on DATABASE_URL + REDIS_URL, and SIGTERM stops it
 * cleanly with exit code 0.
 */

function spawnWorker(env: Record<string, string>): Child {
  return spawnChild('worker', process.execPath, ['--import', 'tsx', 'workers/index.ts'], {
    env: childEnv(env),
    capture: true,
    killAfterMs: 45_000, // a guard: never leave a process behind
  });
}

describe('the worker process', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it.each(['redis', 'postgres'] as const)(
    'starts on %s, serves its metrics, and exits 0 on SIGTERM',
    async (backend) => {
      const metricsPort = await freePort();
      const run = spawnWorker({
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        ...(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}),
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        WORKER_METRICS_PORT: String(metricsPort),
        // The sweepers run every half second, so their metrics have something to show.
        SWEEP_INTERVAL_MS: '500',
      });
      await waitForOutput(run, /"msg":"worker process ready"/, 25_000);
      expect(run.output()).toContain(`"backend":"${backend}"`);

      const metricsUrl = `http://127.0.0.1:${metricsPort}`;
      expect((await fetch(`${metricsUrl}/health`)).status).toBe(200);
      let metrics = '';
      const deadline = Date.now() + 10_000;
      while (!/sweeper_rounds_total\{sweeper="sweep-pending-provisioning",outcome="(swept|skipped)"\} [1-9]/.test(metrics)) {
        if (Date.now() > deadline) throw new Error(`no sweeper metrics from the worker:\n${metrics}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
      }
      expect(metrics).toMatch(/^queue_store_up 1$/m);
      expect(metrics).toMatch(/^jobs_waiting\{queue="ledger"\} \d+$/m);
      const ready = await fetch(`${metricsUrl}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { queues: 'ok', sweepers: 'ok' } });
      run.proc.kill('SIGTERM');
      expect(await run.closed).toEqual({ code: 0, signal: null });
      expect(run.output()).toMatch(/"msg":"stopped"/);
      expect(run.output()).not.toMatch(/"level":(50|60)/); // no error or fatal lines
    },
    40_000,
  );

  it('is not ready while its sweepers cannot sweep (database away for 3 intervals), and ready again after', async () => {
    const target = new URL(database.url);
    const proxy = await tcpProxy(target.hostname, Number(target.port));
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const metricsPort = await freePort();
    // Queues on the shared Redis: only the sweepers' database goes away.
    const run = spawnWorker({
      NODE_ENV: 'production',
      DATABASE_URL: viaProxy.toString(),
      REDIS_URL: inject('redisUrl'),
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      WORKER_METRICS_PORT: String(metricsPort),
      SWEEP_INTERVAL_MS: '500',
    });
    try {
      await waitForOutput(run, /"msg":"worker process ready"/, 25_000);
      const readyUrl = `http://127.0.0.1:${metricsPort}/ready`;
      const readiness = async () => {
        const response = await fetch(readyUrl);
        return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
      };
      expect((await readiness()).status).toBe(200);
      await proxy.cut();
      await waitUntil(async () => (await readiness()).status === 503, 15_000, '/ready to say 503');
      expect((await readiness()).body.checks.sweepers).toMatch(/^overdue: .*sweep-pending-transactions/);
      await proxy.restore();
      await waitUntil(async () => (await readiness()).status === 200, 15_000, '/ready to say 200 again');
      run.proc.kill('SIGTERM');
      expect(await run.closed).toEqual({ code: 0, signal: null });
    } finally {
      run.kill();
      await proxy.close();
    }
  }, 45_000);

  it('refuses to start without DATABASE_URL', async () => {
    const run = spawnWorker({ LOG_LEVEL: 'info' });
    expect(await run.closed).toEqual({ code: 1, signal: null });
    expect(run.output()).toMatch(/switchyard worker: DATABASE_URL is required/);
  });

  it('fails fast when the queue store is unreachable', async () => {
    const started = Date.now();
    const run = spawnWorker({ DATABASE_URL: database.url, REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent' });
    expect(await run.closed).toEqual({ code: 1, signal: null });
    expect(run.output()).toMatch(/queue store \(redis\) unreachable/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
