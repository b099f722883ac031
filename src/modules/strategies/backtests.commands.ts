import type { AppServices, Viewer } from '../../core/context.js';
import type { Backtest } from '../../generated/prisma/client.js';
import { enqueueOrLeaveToSweeper } from '../../infra/jobs/producer.js';
import { type RunBacktestInput, startBacktest } from './backtests.service.js';
import { runBacktestJob } from './strategies.jobs.js';

/**
 * runBacktest: commits the backtest PENDING with its quota unit, then enqueues
 * the run; a failed enqueue is left to the sweeper — the client still gets its
 * backtest, and the row is the truth.
 */
export async function runBacktest(services: AppServices, viewer: Viewer, input: RunBacktestInput): Promise<Backtest> {
  const backtest = await startBacktest(services, viewer, input);
  await enqueueOrLeaveToSweeper(services, runBacktestJob, { backtestId: backtest.id });
  return backtest;
}
