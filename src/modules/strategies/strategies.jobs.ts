import { z } from 'zod';
import { defineJob, definePruner, defineSweeper } from '../../core/jobs.js';
import { deletePastQuotaUsage, executeBacktest, failBacktest, staleBacktests } from './backtests.service.js';

export const BACKTEST_FAILED = 'The backtest failed on the server after every retry; its quota unit was given back.';

/** Runs one backtest (see executeBacktest); re-delivery of a finished one is a no-op. */
export const runBacktestJob = defineJob({
  name: 'run-backtest',
  queue: 'backtests',
  payload: z.object({ backtestId: z.string().min(1).max(100) }),
  jobId: ({ backtestId }) => `backtest-${backtestId}`,
  attempts: 3,
  backoffMs: 500,
  process: ({ backtestId }, { services }) => executeBacktest(services, backtestId),
  onFinalFailure: async ({ backtestId }, _error, { services }) => {
    await failBacktest(services, backtestId, BACKTEST_FAILED);
  },
});

/** The run again for backtests left PENDING or RUNNING past SWEEP_AFTER_MS (see infra/jobs/sweeper.ts). */
const sweepOpenBacktests = defineSweeper({
  name: 'sweep-open-backtests',
  job: runBacktestJob,
  findStale: staleBacktests,
  payload: ({ id }) => ({ backtestId: id }),
});

/** Quota counters of days that are over (see deletePastQuotaUsage). */
const prunePastQuotaUsage = definePruner({ name: 'prune-past-quota-usage', prune: deletePastQuotaUsage });

export const STRATEGY_JOBS = [runBacktestJob];
export const STRATEGY_SWEEPERS = [sweepOpenBacktests, prunePastQuotaUsage];
