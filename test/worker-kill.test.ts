import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../prisma/seed.js';
import { type App, buildApp } from '../src/http/app.js';
import type { Config } from '../src/config.js';
import { type Child, childEnv, spawnChild, waitForOutput } from './harness/processes.js';
import { startRedis } from './harness/redis.js';
import { codes, type GraphQLResponse, injectGraphQL, type Session, testConfig } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { checkLedgerInvariants, waitFor } from './helpers/ledger.js';

/**
 * "No lost work" with a real fault: a worker process (workers/index.ts, as
 * `npm run start:worker` runs it) is SIGKILLed while it is settling a burst of
 * concurrent transfers, holding jobs it will never finish — three times, a
 * burst each time. Each time a new worker process recovers them within the
 * bound (their locks expire, the stall check re-queues them), and the ledger's
 * invariants hold afterwards — nothing lost, nothing settled twice.
 *
 * The API runs in this process without workers, on the queue store's default
 * namespace (Redis prefix `bull`, PostgreSQL schema `bullmq`) as the child
 * does; so each backend gets a database of its own and, for Redis, a private
 * redis-server rather than the shared one.
 */

const USERS = 20;
const TRANSFERS = 400;
/**
 * Short locks so that the dead worker's jobs are re-run within seconds (the defaults are 30 s and 5 s). Not
 * shorter: a live worker renews its locks every half lock, and on a loaded machine a 2 s lock was seen to lapse
 * between renewals ("could not renew lock"), which is not the fault under test.
 */
const JOB_ENV = { JOB_LOCK_MS: '5000', JOB_STALLED_INTERVAL_MS: '1000' };
/** How often the worker is killed, each time under a burst of its own. */
const KILLS = 3;
/**
 * More kills, up to this many in all, while none has yet caught the worker holding a settlement job: a batch
 * lasts milliseconds, so a kill can land between two (on a busy machine three did, one after the other).
 */
const MAX_KILLS = 6;
/** Every row a killed worker left is settled within JOB_LOCK_MS + 30 s of the kill (docs/invariants.md, "Sweepers"). */
const RECOVERY_BOUND_MS = Number(JOB_ENV.JOB_LOCK_MS) + 30_000;
/** The kill comes once this many of the burst's transfers have settled: the worker is demonstrably mid-run. */
const KILL_AFTER_SETTLED = 25;
/** …and while at least this many wait for it (so that it holds jobs: it runs 10 at a time). */
const KILL_WITH_PENDING = 5;

const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken expiresIn user { id email name role } }
}`;
const TRANSFER = `mutation Transfer($input: TransferInput!) { transfer(input: $input) { id status } }`;

const children: Child[] = [];
// Should this process end before afterAll ran, it takes its workers and redis-server along.
process.once('exit', () => {
  for (const run of children) run.kill();
});

/** A redis-server of this file's own (the shared one is used by other files under their key prefixes). */
async function startPrivateRedis(): Promise<string> {
  const redis = await startRedis();
  children.push(redis.child);
  return redis.url;
}

/** workers/index.ts as `npm run start:worker` runs it, on the same store as the API. */
async function startWorker(config: Config): Promise<Child> {
  const worker = spawnChild('worker', process.execPath, ['--import', 'tsx', 'workers/index.ts'], {
    env: childEnv({
      NODE_ENV: 'production',
      DATABASE_URL: config.databaseUrl!,
      ...(config.redisUrl ? { REDIS_URL: config.redisUrl } : {}),
      ...JOB_ENV,
      WORKER_CONCURRENCY: '10',
      LOG_LEVEL: 'info', // quiet per job; shows start-up and stalled jobs
    }),
    capture: true,
  });
  children.push(worker);
  await waitForOutput(worker, /"msg":"worker process ready"/);
  return worker;
}

/** Lines the worker logged at level error (50) or fatal (60). */
const errorLines = (run: Child) =>
  run
    .output()
    .split('\n')
    .filter((line) => /"level":(50|60)/.test(line));

describe.each(['redis', 'postgres'] as const)('a worker process SIGKILLed mid-run on the %s backend', (backend) => {
  let database: TestDatabase | undefined;
  let app: App | undefined;
  let config: Config;
  /** A connection of the test's own, so that watching the ledger takes nothing from the API's pool. */
  let monitor: pg.Client | undefined;
  const stats = async () => {
    const { rows } = await monitor!.query<{ completed: number; pending: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE status = 'COMPLETED')::int AS completed,
              count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
              count(*) FILTER (WHERE status = 'FAILED')::int AS failed
       FROM ledger_transactions`,
    );
    return rows[0]!;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const redisUrl = backend === 'redis' ? await startPrivateRedis() : undefined;
    config = testConfig(database.url, { ...(redisUrl ? { REDIS_URL: redisUrl } : {}), ...JOB_ENV });
    expect(config.workers).toBe('off');
    // No namespace: the default one, which the worker process uses too.
    app = buildApp(config);
    await app.ready();
    expect(app.services.queues.backend).toBe(backend);
    await seed(app.services, { demo: false });
    monitor = new pg.Client({ connectionString: database.url });
    await monitor.connect();
  });

  afterAll(async () => {
    // The app first, while its queue store still runs; then the workers and redis-server left, if any.
    await monitor?.end();
    await app?.stop();
    for (const run of children.splice(0)) {
      run.kill();
      await run.closed;
    }
    await database?.drop();
  });

  const gql = <T>(query: string, variables: unknown, token?: string): Promise<GraphQLResponse<T>> =>
    injectGraphQL<T, unknown>(app!, query, variables, token);

  it('settles every accepted transfer exactly once after each of three kills (up to six, until one catches a held job), within the bound, and the ledger invariants hold', async () => {
    const db = app!.db;
    const first = await startWorker(config);

    // 20 users; their provisioning (USD account + welcome credit) runs in the worker process.
    const sessions = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const email = `kill-${i}-${randomBytes(4).toString('hex')}@example.com`;
        const input = { email, password: 'correct horse battery', name: `User ${i}` };
        const result = await gql<{ register: Session }>(REGISTER, { input });
        if (!result.data?.register) throw new Error(`register failed: ${JSON.stringify(result.errors)}`);
        return result.data.register;
      }),
    );
    const userIds = sessions.map((session) => session.user.id);
    await waitFor(
      async () => (await db.user.count({ where: { id: { in: userIds }, provisioningStatus: 'READY' } })) === USERS,
      30_000,
    );
    const accounts = await db.ledgerAccount.findMany({ where: { ownerId: { in: userIds }, currency: 'USD' } });
    expect(accounts).toHaveLength(USERS);
    const users = sessions.map((session) => ({
      token: session.accessToken,
      accountId: accounts.find((account) => account.ownerId === session.user.id)!.id,
    }));
    expect(await stats()).toEqual({ completed: USERS, pending: 0, failed: 0 }); // the welcome credits

    // Three times: a burst, the worker SIGKILLed mid-run, a new worker that must settle what it left.
    let worker = first;
    const accepted: string[] = [];
    let orphanedRounds = 0;
    // Bursts the worker settled as fast as they came, leaving no moment to kill it: sent again, up to a bound.
    let keptUp = 0;
    for (let round = 1; round <= KILLS || (orphanedRounds === 0 && round <= MAX_KILLS); round += 1) {
      const before = await stats();
      // The burst: TRANSFERS concurrent transfers in random directions, every tenth
      // larger than any balance can be; `results` fills as the answers come.
      const results: Array<GraphQLResponse<{ transfer: { id: string } }>> = [];
      const burst = Promise.all(
        Array.from({ length: TRANSFERS }, async (_, i) => {
          const from = users[Math.floor(Math.random() * USERS)]!;
          let to = users[Math.floor(Math.random() * USERS)]!;
          if (to === from) to = users[(users.indexOf(from) + 1) % USERS]!;
          const amount = i % 10 === 0 ? 1_000_000 : 1 + Math.floor(Math.random() * 300);
          const input = {
            fromAccountId: from.accountId,
            toAccountId: to.accountId,
            amount: String(amount),
            idempotencyKey: `kill-${randomBytes(8).toString('hex')}`,
          };
          results.push(await gql<{ transfer: { id: string } }>(TRANSFER, { input }, from.token));
        }),
      );

      // SIGKILL once the worker is demonstrably mid-run: part of the burst settled, more of it waiting.
      // The API may have answered the whole burst by then; what matters is the work still queued.
      const moment = await waitFor(
        async () => {
          const now = await stats();
          // …and while it holds a settlement job: it settles in batches, at most one job per lane at a time.
          if (now.completed - before.completed >= KILL_AFTER_SETTLED && now.pending >= KILL_WITH_PENDING) {
            if ((await app!.services.queues.counts()).ledger!.active > 0) return 'mid-run' as const;
          }
          if (results.length === TRANSFERS && now.pending < KILL_WITH_PENDING) return 'kept-up' as const;
          return false;
        },
        30_000,
        10,
      );
      if (moment === 'kept-up') {
        // A fast moment of the host: the same round again with a new burst (its transfers count as any).
        await burst;
        accepted.push(...results.flatMap((result) => (result.data?.transfer ? [result.data.transfer.id] : [])));
        keptUp += 1;
        expect(keptUp, 'bursts the worker kept up with, leaving no moment to kill it').toBeLessThanOrEqual(MAX_KILLS);
        round -= 1;
        continue;
      }
      worker.proc.kill('SIGKILL');
      expect(await worker.closed).toEqual({ code: null, signal: 'SIGKILL' });
      const killedAt = Date.now();
      // What the dead worker left: PENDING rows, and settlement jobs for them — still active under its orphaned
      // locks, or waiting. Settlement runs in batches, at most one job per lane at a time, each a few
      // milliseconds, so the kill may fall between two batches, when the worker holds none and the next waits.
      const atKill = await stats();
      const ledgerAtKill = (await app!.services.queues.counts()).ledger!;
      expect(atKill.pending, `transactions PENDING when the worker was killed (round ${round})`).toBeGreaterThan(0);
      expect(
        ledgerAtKill.active + ledgerAtKill.waiting + ledgerAtKill.delayed,
        `settlement jobs the killed worker held or had yet to take (round ${round})`,
      ).toBeGreaterThan(0);
      if (ledgerAtKill.active > 0) orphanedRounds += 1;

      // Every answer of the burst: a transfer or INSUFFICIENT_FUNDS, some perhaps given while no worker ran.
      await burst;
      const outcomes = results.map((result) => (result.errors ? String(codes(result)[0]) : 'ACCEPTED'));
      const count = (outcome: string) => outcomes.filter((each) => each === outcome).length;
      const unexpected = results.filter((result) => result.errors && codes(result)[0] !== 'INSUFFICIENT_FUNDS');
      expect(unexpected.map((result) => result.errors), 'answers other than a transfer or INSUFFICIENT_FUNDS').toEqual([]);
      expect(count('INSUFFICIENT_FUNDS')).toBeGreaterThanOrEqual(TRANSFERS / 10);
      // Fewer than half: with no worker, holds are never released and the balances run dry.
      expect(count('ACCEPTED')).toBeGreaterThanOrEqual(TRANSFERS / 4);
      accepted.push(...results.flatMap((result) => (result.data?.transfer ? [result.data.transfer.id] : [])));
      expect((await stats()).pending).toBeGreaterThan(0);

      // A new worker process: re-runs the orphaned jobs (stall check) and settles the rest, within the bound.
      worker = await startWorker(config);
      await waitFor(async () => (await stats()).pending === 0, RECOVERY_BOUND_MS - (Date.now() - killedAt), 100);
      // Its orphaned job, if it held one when killed (a batch may have ended between the check and the kill).
      if (ledgerAtKill.active > 0) await waitForOutput(worker, /"msg":"job stalled; re-queued"/, 5_000);
      expect(errorLines(worker)).toEqual([]);
    }
    // The stall check re-ran an orphaned settlement job in one round at least (of at most MAX_KILLS).
    expect(orphanedRounds).toBeGreaterThan(0);
    expect(new Set(accepted).size).toBe(accepted.length);

    // Every accepted transfer completed (the holds guaranteed the funds)…
    const burstRows = await db.ledgerTransaction.findMany({ where: { id: { in: accepted } }, select: { status: true } });
    expect(burstRows).toHaveLength(accepted.length);
    expect(burstRows.every((row) => row.status === 'COMPLETED')).toBe(true);
    // …and nothing else: the welcome credits and the accepted transfers, all COMPLETED.
    expect(await stats()).toEqual({ completed: USERS + accepted.length, pending: 0, failed: 0 });

    // Nothing settled twice: at most two entries per transaction, one per account, enforced by a unique index.
    const [unique] = await db.$queryRaw<Array<{ count: bigint }>>`
      SELECT count(*) AS count FROM pg_indexes
      WHERE tablename = 'ledger_entries'
        AND indexdef LIKE 'CREATE UNIQUE INDEX %'
        AND indexdef LIKE '%(transaction_id, account_id)%'`;
    expect(unique?.count).toBe(1n);
    const [overPosted] = await db.$queryRaw<Array<{ count: bigint }>>`
      SELECT count(*) AS count FROM (
        SELECT transaction_id FROM ledger_entries GROUP BY transaction_id HAVING count(*) > 2
      ) AS t`;
    expect(overPosted?.count).toBe(0n);
    await checkLedgerInvariants(db, config.houseOpeningBalance);

    worker.proc.kill('SIGTERM');
    expect(await worker.closed).toEqual({ code: 0, signal: null });
  }, 240_000);
});
