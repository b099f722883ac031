import { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../../schema/builder.js';
import { connectionArgs, pageConnection, pageQuery } from '../../schema/connections.js';
import { rateLimited } from '../../schema/rate-limits.js';
import { requireViewer } from '../../core/access.js';
import { MAX_WINDOW, MIN_WINDOW } from './backtest-simulation.js';
import { runBacktest } from './backtests.commands.js';
import { backtestQuota, backtestUpdates, getBacktest, listStrategyBacktests, type QuotaUsage } from './backtests.service.js';

const BacktestStatusEnum = builder.enumType('BacktestStatus', {
  values: ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED'] as const,
});

interface BacktestResultShape {
  trades: number;
  returnPct: number;
  maxDrawdownPct: number;
  finalEquity: number;
}

const BacktestResultType = builder.objectRef<BacktestResultShape>('BacktestResult').implement({
  description: `A moving-average crossover from an equity of 10,000, long while the fast average is above the slow one.`,
  fields: (t) => ({
    trades: t.exposeInt('trades', { description: 'Positions opened (one still open at `to` counts).' }),
    returnPct: t.exposeFloat('returnPct', { description: 'Final equity against the start, in percent.' }),
    maxDrawdownPct: t.exposeFloat('maxDrawdownPct', { description: 'The largest fall from a previous peak, in percent.' }),
    finalEquity: t.exposeFloat('finalEquity', { description: 'Cash plus the open position at the close of `to`.' }),
  }),
});

const BacktestType = builder.prismaObject('Backtest', {
  fields: (t) => ({
    id: t.exposeID('id'),
    strategy: t.relation('strategy'),
    status: t.expose('status', { type: BacktestStatusEnum }),
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime' }),
    result: t.field({
      type: BacktestResultType,
      nullable: true,
      description: 'Set when COMPLETED.',
      select: { status: true, trades: true, returnPct: true, maxDrawdownPct: true, finalEquity: true },
      resolve: (backtest) =>
        backtest.status === 'COMPLETED'
          ? {
              trades: backtest.trades!,
              returnPct: backtest.returnPct!,
              maxDrawdownPct: backtest.maxDrawdownPct!,
              finalEquity: backtest.finalEquity!,
            }
          : null,
    }),
    failureReason: t.exposeString('failureReason', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

const BacktestConnection = pageConnection('BacktestConnection', BacktestType);

const QuotaUsageType = builder.objectRef<QuotaUsage>('QuotaUsage').implement({
  fields: (t) => ({
    used: t.exposeInt('used'),
    limit: t.exposeInt('limit'),
    resetsAt: t.expose('resetsAt', { type: 'DateTime', description: 'The next UTC midnight.' }),
  }),
});

const QuotasType = builder.objectRef<Record<string, never>>('Quotas').implement({
  fields: (t) => ({
    backtests: t.field({
      type: QuotaUsageType,
      description: 'Backtests started today (UTC); one that FAILED on the server is given back.',
      resolve: (_quotas, _args, context) => backtestQuota(context, requireViewer(context)),
    }),
  }),
});

builder.prismaObjectFields('Strategy', (t) => ({
  backtests: t.field({
    type: BacktestConnection,
    description: 'Its backtests, newest first.',
    args: connectionArgs(t),
    resolve: (strategy, args, context, info) => listStrategyBacktests(context, strategy.id, args, pageQuery(context, info)),
  }),
}));

builder.queryFields((t) => ({
  backtest: t.prismaField({
    type: 'Backtest',
    nullable: true,
    description: 'The strategy’s owner or an admin; otherwise NOT_FOUND.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => getBacktest(context, requireViewer(context), String(args.id), query),
  }),
  myQuotas: t.field({
    type: QuotasType,
    authScopes: { loggedIn: true },
    resolve: () => ({}),
  }),
}));

builder.mutationFields((t) => ({
  runBacktest: t.field({
    ...rateLimited('mutation'),
    type: BacktestType,
    description:
      `Starts a backtest of your strategy (admins: any) over its params' moving-average windows \`fast\` and \`slow\` ` +
      `(${MIN_WINDOW} ≤ fast < slow ≤ ${MAX_WINDOW}, else BAD_USER_INPUT), from 1 day to 10 years long: PENDING at once, ` +
      'a worker runs it. Takes one unit of your daily quota (QUOTA_EXCEEDED when none is left, with retryAfter ' +
      'until the next UTC midnight).',
    authScopes: { loggedIn: true },
    args: {
      strategyId: t.arg.id({ required: true }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
    },
    resolve: (_root, args, context) =>
      runBacktest(context, requireViewer(context), { strategyId: String(args.strategyId), from: args.from, to: args.to }),
  }),
}));

builder.subscriptionFields((t) => ({
  backtestUpdated: t.field({
    type: BacktestType,
    description:
      'The backtest now, then after each change of its status; completes after COMPLETED or FAILED. ' +
      'The strategy’s owner or an admin; otherwise NOT_FOUND.',
    authScopes: { loggedIn: true },
    args: { backtestId: t.arg.id({ required: true }) },
    subscribe: (_root, { backtestId }, context, info) =>
      backtestUpdates(context, requireViewer(context), String(backtestId), queryFromInfo({ context, info })),
    resolve: (backtest) => backtest,
  }),
}));
