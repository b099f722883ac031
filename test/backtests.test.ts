import { describe, expect, inject, it } from 'vitest';
import {
  crossover,
  dailyPrices,
  INITIAL_EQUITY,
  seriesDay,
  simulateBacktest,
} from '../src/modules/strategies/backtest-simulation.js';
import type { Viewer } from '../src/core/context.js';
import { failBacktest, startBacktest } from '../src/modules/strategies/backtests.service.js';
import { BACKTEST_FAILED, runBacktestJob } from '../src/modules/strategies/strategies.jobs.js';
import { graphql } from './gql/index.js';
import { codes, type TestApp, useTestApp } from './helpers/app.js';
import { waitFor } from './helpers/ledger.js';
import { wsClient } from './helpers/live.js';
import { type Buyer, createBuyers } from './helpers/shop.js';

const CreateStrategy = graphql(`
  mutation BacktestStrategy($input: CreateStrategyInput!) { createStrategy(input: $input) { id } }
`);
const RunBacktest = graphql(`
  mutation RunBacktest($strategyId: ID!, $from: DateTime!, $to: DateTime!) {
    runBacktest(strategyId: $strategyId, from: $from, to: $to) {
      id status from to result { trades } failureReason createdAt finishedAt strategy { id }
    }
  }
`);
const GetBacktest = graphql(`
  query GetBacktest($id: ID!) {
    backtest(id: $id) { id status result { trades returnPct maxDrawdownPct finalEquity } failureReason finishedAt }
  }
`);
const StrategyBacktests = graphql(`
  query StrategyBacktests($id: ID!, $first: Int, $after: String) {
    strategy(id: $id) {
      backtests(first: $first, after: $after) { totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } }
    }
  }
`);
const MyQuotas = graphql(`
  query MyQuotas { myQuotas { backtests { used limit resetsAt } } }
`);
const BacktestUpdated = `subscription($id: ID!) { backtestUpdated(backtestId: $id) { id status result { trades returnPct } } }`;

const FROM = '2015-01-01T00:00:00.000Z';
const TO = '2020-01-01T00:00:00.000Z';
const WINDOWS = { fast: 10, slow: 50 };

async function strategyOf(t: TestApp, owner: Buyer, params: unknown = WINDOWS, asset = 'BTC-USD'): Promise<string> {
  const result = await t.gql(CreateStrategy, { input: { name: 'Crossover', asset, params } }, owner.accessToken);
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.createStrategy.id;
}

const viewerOf = (user: Buyer): Viewer => ({ id: user.id, role: 'USER' });

const quotaUsed = async (t: TestApp, user: Buyer) =>
  (await t.app.db.quotaUsage.findMany({ where: { userId: user.id, quota: 'backtests' } })).reduce((sum, row) => sum + row.used, 0);

const nextMidnight = () => {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
};
/** Seconds from now to the next UTC midnight. */
const secondsToMidnight = () => (nextMidnight() - Date.now()) / 1000;

describe('the simulation', () => {
  it('prices are a function of the asset and the day: any range agrees on the days it shares', () => {
    const day = seriesDay(new Date('2018-03-01T00:00:00Z'));
    const long = dailyPrices('BTC-USD', day - 1000, day + 10);
    const short = dailyPrices('BTC-USD', day, day + 10);
    expect(Array.from(short)).toEqual(Array.from(long.subarray(1000)));
    expect(Array.from(dailyPrices('BTC-USD', day, day + 10))).toEqual(Array.from(short));
    expect(dailyPrices('ETH-USD', day, day)[0]).not.toBe(short[0]);
    expect(Array.from(long).every((price) => Number.isFinite(price) && price > 0)).toBe(true);
    // A day counts once its UTC day has begun, whatever the time of day.
    expect(seriesDay(new Date('2018-03-01T23:59:59.999Z'))).toBe(day);
  });

  it('the crossover, on closes worked through by hand', () => {
    // fast 2, slow 3; the first 2 closes are history. Buys at 12 (day 3), sells at 10 (day 6), buys at 12 (day 8).
    const outcome = crossover([10, 10, 10, 12, 14, 12, 10, 10, 12], 2, 3);
    expect(outcome).toEqual({
      trades: 2,
      // 10,000 / 12 units sold at 10, still flat-priced at the end: 8,333.33.
      finalEquity: 8333.33,
      returnPct: -16.6667,
      // From the peak of 11,666.67 (at 14) to 8,333.33: 2/7.
      maxDrawdownPct: 28.5714,
    });
    // Never long: the equity stays where it started.
    expect(crossover([5, 4, 3, 2, 1], 2, 3)).toEqual({ trades: 0, finalEquity: INITIAL_EQUITY, returnPct: 0, maxDrawdownPct: 0 });
  });

  it('the same spec gives the same result; the asset and the windows change it', () => {
    const spec = { asset: 'BTC-USD', fastWindow: 10, slowWindow: 50, from: new Date(FROM), to: new Date(TO) };
    const result = simulateBacktest(spec);
    expect(simulateBacktest({ ...spec })).toEqual(result);
    expect(result.trades).toBeGreaterThan(0);
    expect(simulateBacktest({ ...spec, asset: 'ETH-USD' })).not.toEqual(result);
    expect(simulateBacktest({ ...spec, fastWindow: 20 })).not.toEqual(result);
    expect(() => simulateBacktest({ ...spec, fastWindow: 50 })).toThrow(RangeError);
  });
});

describe('runBacktest', () => {
  const t = useTestApp();

  it('answers PENDING at once with the unit taken; input is checked before the quota is touched', async () => {
    const [ada] = await createBuyers(t, 1);
    const strategyId = await strategyOf(t, ada!);
    const started = await t.gql(RunBacktest, { strategyId, from: FROM, to: TO }, ada!.accessToken);
    expect(started.errors).toBeUndefined();
    expect(started.data?.runBacktest).toMatchObject({
      status: 'PENDING',
      from: FROM,
      to: TO,
      result: null,
      failureReason: null,
      finishedAt: null,
      strategy: { id: strategyId },
    });

    const refusals: [string, { strategyId: string; from: string; to: string }, string][] = [
      ['to', { strategyId, from: FROM, to: '2015-01-01T23:00:00.000Z' }, 'at least one day'],
      ['to', { strategyId, from: FROM, to: '2025-01-01T00:00:01.000Z' }, 'at most 10 years'],
      ['to', { strategyId, from: TO, to: FROM }, 'at least one day'],
      ['from', { strategyId, from: '1969-06-01T00:00:00.000Z', to: '1970-06-01T00:00:00.000Z' }, 'Must be from'],
      ['strategyId', { strategyId: await strategyOf(t, ada!, {}), from: FROM, to: TO }, 'fast and slow'],
      ['strategyId', { strategyId: await strategyOf(t, ada!, { fast: 50, slow: 10 }), from: FROM, to: TO }, 'fast and slow'],
      ['strategyId', { strategyId: await strategyOf(t, ada!, { fast: 1.5, slow: 10 }), from: FROM, to: TO }, 'fast and slow'],
      ['strategyId', { strategyId: await strategyOf(t, ada!, { fast: 2, slow: 501 }), from: FROM, to: TO }, 'fast and slow'],
    ];
    for (const [field, variables, message] of refusals) {
      const refused = await t.gql(RunBacktest, variables, ada!.accessToken);
      expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
      expect((refused.errors![0]!.extensions!.fields as Record<string, string>)[field]).toContain(message);
    }
    // Exactly ten years is allowed.
    const decade = await t.gql(RunBacktest, { strategyId, from: FROM, to: '2025-01-01T00:00:00.000Z' }, ada!.accessToken);
    expect(decade.errors).toBeUndefined();
    expect(await quotaUsed(t, ada!)).toBe(2);
    expect(await t.app.db.backtest.count({ where: { userId: ada!.id } })).toBe(2);

    const quotas = await t.gql(MyQuotas, {}, ada!.accessToken);
    expect(quotas.data?.myQuotas.backtests).toMatchObject({ used: 2, limit: 20 });
    const resetsAt = new Date(quotas.data!.myQuotas.backtests.resetsAt as string);
    expect(resetsAt.getTime()).toBe(nextMidnight());
  });

  it("only the strategy's owner or an admin sees its backtests; anyone else's is NOT_FOUND", async () => {
    const [ada, bob] = await createBuyers(t, 2);
    const strategyId = await strategyOf(t, ada!);
    const started = await t.gql(RunBacktest, { strategyId, from: FROM, to: TO }, ada!.accessToken);
    const id = started.data!.runBacktest.id;

    expect(codes(await t.gql(RunBacktest, { strategyId, from: FROM, to: TO }, bob!.accessToken))).toEqual(['NOT_FOUND']);
    expect(codes(await t.gql(GetBacktest, { id }, bob!.accessToken))).toEqual(['NOT_FOUND']);
    expect(codes(await t.gql(GetBacktest, { id }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await t.gql(RunBacktest, { strategyId: 'no-such-strategy', from: FROM, to: TO }, ada!.accessToken))).toEqual([
      'NOT_FOUND',
    ]);
    expect(await quotaUsed(t, bob!)).toBe(0);
    expect((await t.gql(GetBacktest, { id }, ada!.accessToken)).data?.backtest?.id).toBe(id);
    const admin = await t.loginAdmin();
    expect((await t.gql(GetBacktest, { id }, admin.accessToken)).data?.backtest?.id).toBe(id);
  });

  it('Strategy.backtests pages newest first', async () => {
    const [ada] = await createBuyers(t, 1);
    const strategyId = await strategyOf(t, ada!);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.gql(RunBacktest, { strategyId, from: FROM, to: TO }, ada!.accessToken)).data!.runBacktest.id);
    const first = await t.gql(StrategyBacktests, { id: strategyId, first: 2 }, ada!.accessToken);
    const page = first.data!.strategy!.backtests;
    expect(page.totalCount).toBe(3);
    expect(page.edges.map((edge) => edge.node.id)).toEqual([ids[2], ids[1]]);
    const second = await t.gql(StrategyBacktests, { id: strategyId, first: 2, after: page.pageInfo.endCursor }, ada!.accessToken);
    expect(second.data!.strategy!.backtests.edges.map((edge) => edge.node.id)).toEqual([ids[0]]);
    expect(second.data!.strategy!.backtests.pageInfo.hasNextPage).toBe(false);
  });

  it('200 concurrent first requests of one user against the quota of 20 admit exactly 20', async () => {
    const [ada] = await createBuyers(t, 1);
    const strategyId = await strategyOf(t, ada!);
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => t.gql(RunBacktest, { strategyId, from: FROM, to: TO }, ada!.accessToken)),
    );
    const started = answers.filter((answer) => answer.data?.runBacktest);
    const refused = answers.filter((answer) => codes(answer)[0] === 'QUOTA_EXCEEDED');
    expect({ started: started.length, refused: refused.length }).toEqual({ started: 20, refused: 180 });
    for (const answer of refused) {
      const { retryAfter } = answer.errors![0]!.extensions as { retryAfter: number };
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(Math.abs(retryAfter - secondsToMidnight())).toBeLessThanOrEqual(5);
    }
    expect(await t.app.db.backtest.count({ where: { userId: ada!.id } })).toBe(20);
    expect(await quotaUsed(t, ada!)).toBe(20);
    expect((await t.gql(MyQuotas, {}, ada!.accessToken)).data?.myQuotas.backtests).toMatchObject({ used: 20, limit: 20 });
  });

  it('a unit is given back once, however many times its backtest is failed at once', async () => {
    const [ada] = await createBuyers(t, 1);
    const strategyId = await strategyOf(t, ada!);
    const backtest = await startBacktest(t.app.services, viewerOf(ada!), {
      strategyId,
      from: new Date(FROM),
      to: new Date(TO),
    });
    await startBacktest(t.app.services, viewerOf(ada!), { strategyId, from: new Date(FROM), to: new Date(TO) });
    expect(await quotaUsed(t, ada!)).toBe(2);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => failBacktest(t.app.services, backtest.id, BACKTEST_FAILED)));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await quotaUsed(t, ada!)).toBe(1);
    expect(await t.app.db.backtest.findUniqueOrThrow({ where: { id: backtest.id } })).toMatchObject({
      status: 'FAILED',
      failureReason: BACKTEST_FAILED,
    });
  });
});

describe.each(['redis', 'postgres'] as const)('the backtest worker on the %s queue backend', (backend) => {
  const t = useTestApp(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}, { workers: true });
  let baseUrl: string | undefined;
  const listening = async () => (baseUrl ??= await t.app.start());

  it('completes a backtest with the simulation’s result; backtestUpdated pushes it, then completes', async () => {
    const [ada] = await createBuyers(t, 1);
    const strategyId = await strategyOf(t, ada!, { fast: 5, slow: 40 }, 'SOL');
    const expected = simulateBacktest({ asset: 'SOL', fastWindow: 5, slowWindow: 40, from: new Date(FROM), to: new Date(TO) });

    // Started without its run, so that the subscription sees it PENDING first.
    const viewer = viewerOf(ada!);
    const backtest = await startBacktest(t.app.services, viewer, { strategyId, from: new Date(FROM), to: new Date(TO) });
    const ws = wsClient(await listening(), `Bearer ${ada!.accessToken}`);
    try {
      const live = ws.subscribe<{ backtestUpdated: { id: string; status: string; result: { trades: number; returnPct: number } | null } }, unknown>(
        BacktestUpdated,
        { id: backtest.id },
      );
      const [first] = await live.waitForResults(1);
      expect(first?.data?.backtestUpdated).toEqual({ id: backtest.id, status: 'PENDING', result: null });
      await t.app.services.queues.enqueue(runBacktestJob, { backtestId: backtest.id });
      expect(await live.ended).toEqual({ completed: true });
      const statuses = live.results.map((result) => result.data?.backtestUpdated.status);
      expect(statuses.at(-1)).toBe('COMPLETED');
      expect(['PENDING,COMPLETED', 'PENDING,RUNNING,COMPLETED']).toContain(statuses.join(','));
      expect(live.results.at(-1)?.data?.backtestUpdated.result).toEqual({ trades: expected.trades, returnPct: expected.returnPct });
    } finally {
      await ws.dispose();
    }

    // Through the mutation: enqueued by it, run by the worker, the same result for the same strategy.
    const started = await t.gql(RunBacktest, { strategyId, from: FROM, to: TO }, ada!.accessToken);
    const id = started.data!.runBacktest.id;
    const done = await waitFor(async () => {
      const answer = await t.gql(GetBacktest, { id }, ada!.accessToken);
      return answer.data?.backtest?.status === 'COMPLETED' ? answer.data.backtest : undefined;
    });
    expect(done.result).toEqual(expected);
    expect(done.failureReason).toBeNull();
    expect(done.finishedAt).not.toBeNull();
  });

  it('subscribing to a finished backtest sends it and completes', async () => {
    const [ada] = await createBuyers(t, 1);
    const strategyId = await strategyOf(t, ada!);
    const started = await t.gql(RunBacktest, { strategyId, from: FROM, to: TO }, ada!.accessToken);
    const id = started.data!.runBacktest.id;
    await waitFor(async () => (await t.app.db.backtest.findUniqueOrThrow({ where: { id } })).status === 'COMPLETED');
    const ws = wsClient(await listening(), `Bearer ${ada!.accessToken}`);
    try {
      const live = ws.subscribe<{ backtestUpdated: { status: string } }, unknown>(BacktestUpdated, { id });
      expect(await live.ended).toEqual({ completed: true });
      expect(live.results.map((result) => result.data?.backtestUpdated.status)).toEqual(['COMPLETED']);
    } finally {
      await ws.dispose();
    }
  });

  it('a backtest the worker cannot run is FAILED after its retries, and its unit is given back', async () => {
    const [ada] = await createBuyers(t, 1);
    const strategyId = await strategyOf(t, ada!);
    const viewer = viewerOf(ada!);
    const backtest = await startBacktest(t.app.services, viewer, { strategyId, from: new Date(FROM), to: new Date(TO) });
    expect(await quotaUsed(t, ada!)).toBe(1);
    // A range the price series does not cover (the API refuses it; the row is the worker's input).
    await t.app.db.backtest.update({
      where: { id: backtest.id },
      data: { from: new Date('2200-01-01T00:00:00Z'), to: new Date('2201-01-01T00:00:00Z') },
    });
    await t.app.services.queues.enqueue(runBacktestJob, { backtestId: backtest.id });
    const failed = await waitFor(async () => {
      const row = await t.app.db.backtest.findUniqueOrThrow({ where: { id: backtest.id } });
      return row.status === 'FAILED' ? row : undefined;
    });
    expect(failed).toMatchObject({ failureReason: BACKTEST_FAILED, trades: null });
    expect(await quotaUsed(t, ada!)).toBe(0);
    const quotas = await t.gql(MyQuotas, {}, ada!.accessToken);
    expect(quotas.data?.myQuotas.backtests.used).toBe(0);
  });
});
