import type { JobDefinition } from './infra/queues.js';
import { INVENTORY_JOBS } from './modules/inventory/inventory.jobs.js';
import { LEDGER_JOBS } from './modules/ledger/ledger.jobs.js';
import { USERS_JOBS } from './modules/users/users.jobs.js';

/**
 * Every job the worker processes run: `npm run start:worker` (workers/index.ts)
 * and the inline workers of `npm start` / WORKERS=inline start the processors
 * of exactly this list. Each module declares its jobs in <domain>.jobs.ts.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const ALL_JOBS: JobDefinition<any>[] = [...USERS_JOBS, ...LEDGER_JOBS, ...INVENTORY_JOBS];
