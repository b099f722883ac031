import type { AppJob, AppPruner, AppSweeper } from './core/jobs.js';
import { INVENTORY_JOBS, INVENTORY_SWEEPERS } from './modules/inventory/inventory.jobs.js';
import { LEDGER_JOBS, LEDGER_SWEEPERS } from './modules/ledger/ledger.jobs.js';
import { QUIZ_JOBS, QUIZ_SWEEPERS } from './modules/quizzes/quizzes.jobs.js';
import { STRATEGY_JOBS, STRATEGY_SWEEPERS } from './modules/strategies/strategies.jobs.js';
import { USERS_JOBS, USERS_SWEEPERS } from './modules/users/users.jobs.js';

/**
 * Every job the worker processes run: `npm run start:worker` (workers/index.ts)
 * and the inline workers of `npm start` / WORKERS=inline start the processors
 * of exactly this list. Each module declares its jobs in <domain>.jobs.ts.
 */
export const ALL_JOBS: readonly AppJob<unknown>[] = [
  ...USERS_JOBS,
  ...LEDGER_JOBS,
  ...INVENTORY_JOBS,
  ...QUIZ_JOBS,
  ...STRATEGY_JOBS,
];

/** Every sweeper and pruner: the processes that run ALL_JOBS run these too (startSweepers). */
export const ALL_SWEEPERS: readonly (AppSweeper<unknown> | AppPruner)[] = [
  ...USERS_SWEEPERS,
  ...LEDGER_SWEEPERS,
  ...INVENTORY_SWEEPERS,
  ...QUIZ_SWEEPERS,
  ...STRATEGY_SWEEPERS,
];

/** The queues those jobs use: the producer opens one BullMQ Queue each. */
export const QUEUE_NAMES: readonly string[] = [...new Set(ALL_JOBS.map((job) => job.queue))];
