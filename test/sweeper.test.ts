import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../src/modules/auth/auth.service.js';
import { transfer } from '../src/modules/ledger/ledger.service.js';
import { startQuiz } from '../src/modules/quizzes/quizzes.service.js';
import { simulateBacktest } from '../src/modules/strategies/backtest-simulation.js';
import { startBacktest } from '../src/modules/strategies/backtests.service.js';
import { stalePageQuery } from '../src/core/jobs.js';
import { startSweepers, sweeperLockKey } from '../src/infra/jobs/sweeper.js';
import { ALL_SWEEPERS } from '../src/jobs.js';
import { createUser } from '../src/modules/users/users.service.js';
import { graphql } from './gql/index.js';
import { type Session, type TestApp, useTestApp } from './helpers/app.js';
import { checkLedgerInvariants, waitFor } from './helpers/ledger.js';
import { tcpProxy } from './helpers/tcp-proxy.js';

/**
 * "The row is the truth, the queue is the delivery": work committed without a
 * job — the process died between commit and enqueue, or the queue store was
 * down — is found by the sweeper and done. The sweeper looks every 0.5 s for
 * rows PENDING longer than 1 s here (30 s / 10 s by default).
 */
const SWEEP = { SWEEP_AFTER_MS: '1000', SWEEP_INTERVAL_MS: '500' };

const Me = graphql(`
  query SweptMe { me { provisioningStatus accounts { id } } }
`);
const SendMoney = graphql(`
  mutation SendMoney($input: TransferInput!) { transfer(input: $input) { id status } }
`);

async function readyAccount(t: TestApp, session: Session): Promise<string> {
  return waitFor(async () => {
    const result = await t.gql(Me, {}, session.accessToken);
    return result.data?.me?.provisioningStatus === 'READY' ? result.data.me.accounts[0]!.id : undefined;
  });
}

describe.each(['redis', 'postgres'] as const)('the sweeper on the %s backend', (backend) => {
  const t = useTestApp({ ...SWEEP, ...(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}) }, { workers: true });

  it('settles a transfer that was committed but never enqueued', async () => {
    const alice = await t.registerUser();
    const bob = await t.registerUser();
    const [from, to] = [await readyAccount(t, alice), await readyAccount(t, bob)];
    // The service commits the PENDING row and its hold; the enqueue that would follow never happens.
    const { transaction } = await transfer(t.app.services, { id: alice.user.id, role: 'USER' }, {
      fromAccountId: from,
      toAccountId: to,
      amount: 700n,
      idempotencyKey: `crash-${randomBytes(6).toString('hex')}`,
    });
    expect(transaction.status).toBe('PENDING');
    const settled = await waitFor(async () => {
      const row = await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: transaction.id } });
      return row.status === 'PENDING' ? undefined : row;
    }, 15_000);
    expect(settled.status).toBe('COMPLETED');
    expect((await t.app.db.ledgerAccount.findUniqueOrThrow({ where: { id: to } })).balance).toBe(10_700n);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });

  it('ends a quiz whose end job was never enqueued, once it is SWEEP_AFTER_MS past its endsAt', async () => {
    // startQuiz's own service call: the quiz is LIVE, the delayed end job that would follow never enqueued.
    const quiz = await t.app.db.quiz.create({
      data: { title: 'Swept quiz', maxTeams: 2, durationSeconds: 5, questionTimeLimitSeconds: 60, startingPoints: 100, status: 'OPEN' },
    });
    await startQuiz(t.app.services, quiz.id);
    await t.app.db.quiz.update({ where: { id: quiz.id }, data: { endsAt: new Date(Date.now() - 100) } });
    const ended = await waitFor(async () => {
      const row = await t.app.db.quiz.findUniqueOrThrow({ where: { id: quiz.id } });
      return row.status === 'ENDED' ? row : undefined;
    }, 15_000);
    expect(ended.status).toBe('ENDED');
  });

  it('provisions a user whose provisioning was never enqueued', async () => {
    const user = await createUser(t.app.services, {
      email: `orphan-${randomBytes(5).toString('hex')}@example.com`,
      name: 'Orphan',
      passwordHash: await hashPassword('orphan password'),
    });
    expect(user.provisioningStatus).toBe('PENDING');
    const ready = await waitFor(async () => {
      const row = await t.app.db.user.findUniqueOrThrow({ where: { id: user.id }, include: { accounts: true } });
      return row.provisioningStatus === 'READY' ? row : undefined;
    }, 15_000);
    expect(ready.accounts.map((account) => [account.currency, account.balance])).toEqual([['USD', 10_000n]]);
  });

  it('runs a backtest that was committed but never enqueued', async () => {
    const user = await createUser(t.app.services, {
      email: `backtester-${randomBytes(5).toString('hex')}@example.com`,
      name: 'Backtester',
      passwordHash: await hashPassword('backtest password'),
    });
    const strategy = await t.app.db.strategy.create({
      data: { ownerId: user.id, name: 'Crossover', asset: 'BTC', params: { fast: 10, slow: 30 } },
    });
    const spec = { from: new Date('2019-01-01T00:00:00Z'), to: new Date('2020-01-01T00:00:00Z') };
    const backtest = await startBacktest(t.app.services, { id: user.id, role: 'USER' }, { strategyId: strategy.id, ...spec });
    const done = await waitFor(async () => {
      const row = await t.app.db.backtest.findUniqueOrThrow({ where: { id: backtest.id } });
      return row.status === 'COMPLETED' ? row : undefined;
    }, 15_000);
    expect(done.trades).toBe(simulateBacktest({ asset: 'BTC', fastWindow: 10, slowWindow: 30, ...spec }).trades);
  });

  it('prunes expired refresh tokens of users who never sign in again, and quota counters of past days', async () => {
    const user = await createUser(t.app.services, {
      email: `gone-${randomBytes(5).toString('hex')}@example.com`,
      name: 'Gone',
      passwordHash: await hashPassword('gone password'),
    });
    const token = (expiresAt: Date) => ({
      userId: user.id,
      familyId: randomBytes(8).toString('hex'),
      tokenHash: randomBytes(32).toString('hex'),
      expiresAt,
    });
    const day = 86_400_000;
    await t.app.db.refreshToken.createMany({
      data: [token(new Date(Date.now() - day)), token(new Date(Date.now() - 1000)), token(new Date(Date.now() + day))],
    });
    const today = new Date(Math.floor(Date.now() / day) * day);
    await t.app.db.quotaUsage.createMany({
      data: [
        { userId: user.id, quota: 'backtests', day: new Date(today.getTime() - 2 * day), used: 3 },
        { userId: user.id, quota: 'backtests', day: new Date(today.getTime() - day), used: 4 },
        { userId: user.id, quota: 'backtests', day: today, used: 5 },
      ],
    });
    await waitFor(async () => {
      const [tokens, counters] = await Promise.all([
        t.app.db.refreshToken.count({ where: { userId: user.id } }),
        t.app.db.quotaUsage.count({ where: { userId: user.id } }),
      ]);
      return tokens === 1 && counters === 1;
    }, 15_000);
    const [left] = await t.app.db.refreshToken.findMany({ where: { userId: user.id } });
    expect(left!.expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(await t.app.db.quotaUsage.findMany({ where: { userId: user.id }, select: { used: true } })).toEqual([{ used: 5 }]);
  });

  it('runs again a completed job whose row is still open, and its effect stays one', async () => {
    const session = await t.registerUser();
    await readyAccount(t, session);
    const jobs = t.app.services.queues.bullQueues().find((queue) => queue.name === 'provisioning')!;
    const job = await jobs.getJob(`provision-${session.user.id}`);
    expect(await job?.getState()).toBe('completed');
    // The row open again, as if the job had finished without closing it: only a redelivery that runs it closes it.
    await t.app.db.user.update({ where: { id: session.user.id }, data: { provisioningStatus: 'PENDING' } });
    const ready = await waitFor(async () => {
      const row = await t.app.db.user.findUniqueOrThrow({ where: { id: session.user.id }, include: { accounts: true } });
      return row.provisioningStatus === 'READY' ? row : undefined;
    }, 15_000);
    // One account, one welcome credit: the job re-read what its first run did.
    expect(ready.accounts.map((account) => [account.currency, account.balance])).toEqual([['USD', 10_000n]]);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });

  it('leaves the rounds to the process that holds a sweeper\'s lock', async () => {
    const holder = new pg.Client({ connectionString: t.databaseUrl });
    await holder.connect();
    const key = sweeperLockKey('sweep-pending-provisioning');
    const skipped = async () =>
      (await t.app.metrics.sweeps.get()).values.find(
        (value) => value.labels.sweeper === 'sweep-pending-provisioning' && value.labels.outcome === 'skipped',
      )?.value ?? 0;
    let user: { id: string } | undefined;
    try {
      // Another process's round: this app's sweepers must not sweep meanwhile.
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
      const before = await skipped();
      user = await createUser(t.app.services, {
        email: `locked-${randomBytes(5).toString('hex')}@example.com`,
        name: 'Locked',
        passwordHash: '!',
      });
      await waitFor(async () => (await skipped()) >= before + 4, 15_000);
      // Rounds ran (and skipped) well past SWEEP_AFTER_MS: the row is still left to the lock's holder.
      expect((await t.app.db.user.findUniqueOrThrow({ where: { id: user.id } })).provisioningStatus).toBe('PENDING');
    } finally {
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
      await holder.end();
    }
    await waitFor(async () => {
      const row = await t.app.db.user.findUniqueOrThrow({ where: { id: user!.id } });
      return row.provisioningStatus === 'READY';
    }, 15_000);
  });

  it('settles a backlog with several processes sweeping at once, the effect of each row once', async () => {
    // 45 users committed PENDING and never enqueued.
    const users = await t.app.db.user.createManyAndReturn({
      data: Array.from({ length: 45 }, () => ({
        email: `backlog-${randomBytes(6).toString('hex')}@example.com`,
        name: 'Backlog',
        passwordHash: '!',
      })),
      select: { id: true },
    });
    // A second and a third process's sweepers on the same database: the advisory lock keeps it to one sweep at a time.
    const others = [1, 2].map(() => startSweepers(t.app.services, ALL_SWEEPERS));
    try {
      await waitFor(async () => {
        const open = await t.app.db.user.count({ where: { id: { in: users.map(({ id }) => id) }, provisioningStatus: { not: 'READY' } } });
        return open === 0;
      }, 60_000);
    } finally {
      await Promise.all(others.map((sweepers) => sweepers.close()));
    }
    const credits = await t.app.db.ledgerTransaction.count({ where: { idempotencyKey: { in: users.map(({ id }) => `welcome-${id}`) } } });
    expect(credits).toBe(45);
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });

  it('pages through the open rows oldest first, each once, whatever ties their creation times have', async () => {
    const createdAt = new Date(Date.now() - 3_600_000);
    // 25 rows of one creation time, so that only the id tells the pages apart.
    const { count } = await t.app.db.user.createMany({
      data: Array.from({ length: 25 }, () => ({
        email: `page-${randomBytes(6).toString('hex')}@example.com`,
        name: 'Page',
        passwordHash: '!',
        createdAt,
        provisioningStatus: 'FAILED' as const,
      })),
    });
    expect(count).toBe(25);
    const open = { provisioningStatus: 'FAILED' as const, createdAt };
    const seen: string[] = [];
    let after: { id: string; createdAt: Date } | undefined;
    for (let page = 0; page < 10; page += 1) {
      const rows = await t.app.db.user.findMany(stalePageQuery(open, { olderThan: new Date(), after, limit: 10 }));
      seen.push(...rows.map((row) => row.id));
      if (rows.length < 10) break;
      after = rows.at(-1);
    }
    const all = await t.app.db.user.findMany({ where: open, select: { id: true }, orderBy: { id: 'asc' } });
    expect(seen).toEqual(all.map((row) => row.id));
  });
});

describe('a queue store that is down when a transfer is accepted (Redis)', () => {
  // The app reaches Redis only through this proxy, so cutting it takes the store away from the API and its workers.
  const env: Record<string, string> = { ...SWEEP };
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  beforeAll(async () => {
    const redis = new URL(inject('redisUrl'));
    proxy = await tcpProxy(redis.hostname, Number(redis.port));
    redis.port = String(proxy.port);
    env.REDIS_URL = redis.toString();
  });
  afterAll(async () => {
    await proxy?.close();
  });
  const t = useTestApp(env, { workers: true });

  it('still answers PENDING, and the transfer settles once the store is back', async () => {
    const alice = await t.registerUser();
    const bob = await t.registerUser();
    const [from, to] = [await readyAccount(t, alice), await readyAccount(t, bob)];

    await proxy.cut();
    const accepted = await t.gql(
      SendMoney,
      { input: { fromAccountId: from, toAccountId: to, amount: '900', idempotencyKey: `down-${randomBytes(6).toString('hex')}` } },
      alice.accessToken,
    );
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data?.transfer.status).toBe('PENDING');
    const id = accepted.data!.transfer.id;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id } })).status).toBe('PENDING');

    await proxy.restore();
    const settled = await waitFor(async () => {
      const row = await t.app.db.ledgerTransaction.findUniqueOrThrow({ where: { id } });
      return row.status === 'PENDING' ? undefined : row;
    }, 20_000);
    expect(settled.status).toBe('COMPLETED');
    await checkLedgerInvariants(t.app.db, t.config.houseOpeningBalance);
  });
});
