import { z } from 'zod';
import { defineJob, defineSweeper } from '../../core/jobs.js';
import { failTransaction, settleTransaction, stalePendingTransactions } from './ledger.service.js';

const SETTLEMENT_FAILED = 'Settlement failed after every retry; nothing was moved and any hold was released.';

/** Posts one PENDING transaction (see settleTransaction); re-delivery of a settled one is a no-op. */
export const settleTransactionJob = defineJob({
  name: 'settle-transaction',
  queue: 'ledger',
  payload: z.object({ transactionId: z.string().min(1).max(100) }),
  jobId: ({ transactionId }) => `settle-${transactionId}`,
  attempts: 5,
  backoffMs: 500,
  process: ({ transactionId }, { services }) => settleTransaction(services, transactionId),
  onFinalFailure: async ({ transactionId }, _error, { services }) => {
    await failTransaction(services, transactionId, SETTLEMENT_FAILED);
  },
});

/** Settlement again for transactions left PENDING past SWEEP_AFTER_MS (see infra/jobs/sweeper.ts). */
const sweepPendingTransactions = defineSweeper({
  name: 'sweep-pending-transactions',
  job: settleTransactionJob,
  findStale: stalePendingTransactions,
  payload: ({ id }) => ({ transactionId: id }),
});

export const LEDGER_JOBS = [settleTransactionJob];
export const LEDGER_SWEEPERS = [sweepPendingTransactions];
