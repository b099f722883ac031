import { z } from 'zod';
import type { AppServices, Viewer } from '../../core/context.js';
import { badUserInput, fromZodIssues, isForeignKeyViolation, notFound, quotaExceeded } from '../../core/errors.js';
import { stalePageQuery } from '../../core/jobs.js';
import { type Page, type PageArgs, paginate } from '../../core/pagination.js';
import { visibleTo } from '../../core/access.js';
import type { Backtest, Prisma } from '../../generated/prisma/client.js';
import { liveRow } from '../../infra/events/bus.js';
import type { StalePage } from '../../infra/jobs/sweeper.js';
import {
  EARLIEST_BACKTEST_DATE,
  LATEST_BACKTEST_DATE,
  MAX_WINDOW,
  MIN_WINDOW,
  simulateBacktest,
} from './backtest-simulation.js';
import { getStrategy } from './strategies.service.js';
import type { BacktestUpdatedEvent } from './strategies.events.js';

/** The quota_usage name of the backtest quota. */
const BACKTEST_QUOTA = 'backtests';
const DAY_MS = 86_400_000;
const MAX_RANGE_YEARS = 10;

type BacktestQuery = { select?: Prisma.BacktestSelect; include?: Prisma.BacktestInclude };

export interface RunBacktestInput {
  strategyId: string;
  from: Date;
  to: Date;
}

/** `to - from`: at least a day, at most ten calendar years, inside the dates the price series covers. */
const backtestRangeSchema = z
  .object({ from: z.date(), to: z.date() })
  .superRefine(({ from, to }, issues) => {
    const outside = (date: Date) => date < EARLIEST_BACKTEST_DATE || date > LATEST_BACKTEST_DATE;
    const covered = `${EARLIEST_BACKTEST_DATE.toISOString()} to ${LATEST_BACKTEST_DATE.toISOString()}`;
    if (outside(from)) issues.addIssue({ code: 'custom', path: ['from'], message: `Must be from ${covered}.` });
    if (outside(to)) issues.addIssue({ code: 'custom', path: ['to'], message: `Must be from ${covered}.` });
    const latestTo = new Date(from);
    latestTo.setUTCFullYear(latestTo.getUTCFullYear() + MAX_RANGE_YEARS);
    if (to.getTime() - from.getTime() < DAY_MS) {
      issues.addIssue({ code: 'custom', path: ['to'], message: 'Must be at least one day after from.' });
    } else if (to > latestTo) {
      issues.addIssue({ code: 'custom', path: ['to'], message: `Must be at most ${MAX_RANGE_YEARS} years after from.` });
    }
  });

/** The strategy params a backtest reads: the two moving-average windows, in days. */
const windowsSchema = z
  .object({
    fast: z.number().int().min(MIN_WINDOW).max(MAX_WINDOW),
    slow: z.number().int().min(MIN_WINDOW).max(MAX_WINDOW),
  })
  .refine(({ fast, slow }) => fast < slow);
const WINDOWS_RULE = `The strategy's params need whole numbers fast and slow with ${MIN_WINDOW} ≤ fast < slow ≤ ${MAX_WINDOW}.`;

/** The first instant of the UTC day after `day` (a date at UTC midnight). */
const nextUtcDay = (day: Date) => new Date(day.getTime() + DAY_MS);

/**
 * Starts a backtest of a strategy the viewer may see: the row PENDING and one
 * unit of the viewer's daily quota, in one transaction (docs/invariants.md,
 * "Backtest quota"), or QUOTA_EXCEEDED with nothing written. The caller
 * enqueues the run (backtests.commands.ts). Input is checked before the quota
 * is touched, so a refused request costs no unit.
 */
export async function startBacktest(services: AppServices, viewer: Viewer, input: RunBacktestInput): Promise<Backtest> {
  const range = backtestRangeSchema.safeParse({ from: input.from, to: input.to });
  if (!range.success) throw fromZodIssues(range.error.issues);
  const strategy = await getStrategy(services, viewer, input.strategyId, {
    select: { id: true, asset: true, params: true },
  });
  const windows = windowsSchema.safeParse(strategy.params);
  if (!windows.success) throw badUserInput({ strategyId: WINDOWS_RULE });
  const limit = services.config.backtestDailyQuota;
  try {
    return await services.db.$transaction(async (tx) => {
      // One conditional upsert: the day's first take inserts the row, later ones add
      // to it while it is below the limit (the conflicting row is locked and the
      // condition read again), so the count is exact however many arrive at once.
      const [taken] = await tx.$queryRaw<{ day: Date; used: number | null }[]>`
        WITH today AS (SELECT (now() AT TIME ZONE 'UTC')::date AS day),
        taken AS (
          INSERT INTO quota_usage (user_id, quota, day, used)
          SELECT ${viewer.id}, ${BACKTEST_QUOTA}, day, 1 FROM today
          ON CONFLICT (user_id, quota, day) DO UPDATE SET used = quota_usage.used + 1
            WHERE quota_usage.used < ${limit}
          RETURNING used
        )
        SELECT today.day, (SELECT used FROM taken) AS used FROM today`;
      if (taken!.used === null) {
        throw quotaExceeded(`You have started your ${limit} backtests of today (UTC).`, nextUtcDay(taken!.day));
      }
      return tx.backtest.create({
        data: {
          strategyId: strategy.id,
          userId: viewer.id,
          from: range.data.from,
          to: range.data.to,
          asset: strategy.asset,
          fastWindow: windows.data.fast,
          slowWindow: windows.data.slow,
          quotaDay: taken!.day,
        },
      });
    });
  } catch (error) {
    // The strategy was deleted after it was read.
    if (isForeignKeyViolation(error)) throw notFound('Strategy');
    throw error;
  }
}

export interface QuotaUsage {
  used: number;
  limit: number;
  resetsAt: Date;
}

/** The viewer's backtest quota today (UTC): units used, the limit, and when it resets. */
export async function backtestQuota(services: AppServices, viewer: Viewer): Promise<QuotaUsage> {
  const [today] = await services.db.$queryRaw<{ day: Date; used: number | null }[]>`
    WITH today AS (SELECT (now() AT TIME ZONE 'UTC')::date AS day)
    SELECT today.day, q.used FROM today
    LEFT JOIN quota_usage q ON q.user_id = ${viewer.id} AND q.quota = ${BACKTEST_QUOTA} AND q.day = today.day`;
  return { used: today!.used ?? 0, limit: services.config.backtestDailyQuota, resetsAt: nextUtcDay(today!.day) };
}

/** A backtest of a strategy the viewer may see (its owner, or an admin); else NOT_FOUND. */
export async function getBacktest(services: AppServices, viewer: Viewer, id: string, query: BacktestQuery = {}) {
  const backtest = await services.db.backtest.findFirst({ ...query, where: { id, strategy: visibleTo(viewer) } });
  if (!backtest) throw notFound('Backtest');
  return backtest;
}

/** A page of a strategy's backtests, newest first (the strategy is already visible to the viewer). */
export function listStrategyBacktests(
  services: AppServices,
  strategyId: string,
  args: PageArgs,
  query: BacktestQuery = {},
): Promise<Page<Backtest>> {
  const where: Prisma.BacktestWhereInput = { strategyId };
  return paginate(args, {
    count: () => services.db.backtest.count({ where }),
    fetch: (page) =>
      services.db.backtest.findMany({ ...query, ...page, where: { AND: [where, page.where] } }) as Promise<Backtest[]>,
  });
}

const TERMINAL = new Set<Backtest['status']>(['COMPLETED', 'FAILED']);

/**
 * backtestUpdated: the backtest now, then after each change of its status;
 * the stream completes with the COMPLETED or FAILED one.
 */
export async function backtestUpdates(
  services: AppServices,
  viewer: Viewer,
  id: string,
  query: BacktestQuery = {},
): Promise<AsyncIterable<Backtest>> {
  await getBacktest(services, viewer, id, { select: { id: true } });
  const read = query.select ? { select: { ...query.select, status: true } } : query;
  const events = services.pubsub.subscribe('backtestUpdated', (event) => event.id === id);
  return liveRow(
    events,
    () => services.db.backtest.findUnique({ ...read, where: { id } }) as Promise<Backtest | null>,
    { last: (backtest) => TERMINAL.has(backtest.status) },
  );
}

async function publishBacktestUpdated(services: AppServices, event: BacktestUpdatedEvent): Promise<void> {
  await services.pubsub.publish('backtestUpdated', event);
}

interface ClaimedBacktest {
  id: string;
  asset: string;
  fast_window: number;
  slow_window: number;
  from_time: Date;
  to_time: Date;
}

/**
 * The worker's part: marks the backtest RUNNING, simulates it and stores the
 * result (COMPLETED). A re-delivery of a RUNNING one (its worker died) runs it
 * again — the simulation is deterministic, so the result is the same; one that
 * is COMPLETED or FAILED is left as it is. A throw leaves it RUNNING for the
 * job's next attempt.
 */
export async function executeBacktest(services: AppServices, id: string): Promise<void> {
  const [claimed] = await services.db.$queryRaw<ClaimedBacktest[]>`
    UPDATE backtests SET status = 'RUNNING', started_at = now()
    WHERE id = ${id} AND status IN ('PENDING', 'RUNNING')
    RETURNING id, asset, fast_window, slow_window, from_time, to_time`;
  if (!claimed) return;
  await publishBacktestUpdated(services, { id, status: 'RUNNING' });
  const outcome = simulateBacktest({
    asset: claimed.asset,
    fastWindow: claimed.fast_window,
    slowWindow: claimed.slow_window,
    from: claimed.from_time,
    to: claimed.to_time,
  });
  const { count } = await services.db.backtest.updateMany({
    where: { id, status: 'RUNNING' },
    data: { status: 'COMPLETED', ...outcome, finishedAt: new Date() },
  });
  if (count > 0) await publishBacktestUpdated(services, { id, status: 'COMPLETED' });
}

/**
 * FAILED for a server-side reason (the job's last attempt failed): the
 * backtest's quota unit goes back to the day it was taken from. One statement
 * does both, and only for a backtest still PENDING or RUNNING, so the unit
 * is given back once however often this runs. False when it was already finished.
 */
export async function failBacktest(services: AppServices, id: string, reason: string): Promise<boolean> {
  const failed = await services.db.$queryRaw<{ id: string }[]>`
    WITH failed AS (
      UPDATE backtests SET status = 'FAILED', failure_reason = ${reason}, finished_at = now()
      WHERE id = ${id} AND status IN ('PENDING', 'RUNNING')
      RETURNING id, user_id, quota_day
    ),
    given_back AS (
      UPDATE quota_usage q SET used = q.used - 1 FROM failed
      WHERE q.user_id = failed.user_id AND q.quota = ${BACKTEST_QUOTA} AND q.day = failed.quota_day AND q.used > 0
      RETURNING q.used
    )
    SELECT id FROM failed`;
  if (failed.length === 0) return false;
  await publishBacktestUpdated(services, { id, status: 'FAILED' });
  return true;
}

/**
 * Deletes at most `limit` quota counters of past UTC days (only today's is
 * read or taken from); resolves how many. A backtest of a past day failed
 * later finds no counter to give its unit back to, which is as it should be.
 */
export function deletePastQuotaUsage(services: AppServices, limit: number): Promise<number> {
  return services.db.$executeRaw`
    DELETE FROM quota_usage WHERE ctid IN (
      SELECT ctid FROM quota_usage WHERE day < (now() AT TIME ZONE 'UTC')::date LIMIT ${limit}
    )`;
}

/** The sweeper's page: backtests left PENDING or RUNNING. */
export function staleBacktests(services: AppServices, page: StalePage) {
  return services.db.backtest.findMany(stalePageQuery({ status: { in: ['PENDING' as const, 'RUNNING' as const] } }, page));
}
