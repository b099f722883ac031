import { z } from 'zod';
import { defineJob, defineSweeper } from '../../core/jobs.js';
import { enqueueOrLeaveToSweeper } from '../../infra/jobs/producer.js';
import { failTransaction, settlePendingTransfers, settleTransaction, stalePendingTransactions } from './ledger.service.js';

const SETTLEMENT_FAILED = 'Settlement failed after every retry; nothing was moved and any hold was released.';

/**
 * How many settlement batches may run at once: one job per lane runs and one
 * waits. Few, because every batch locks most of the hot accounts, one by one
 * in id order, and a batch waiting for the next of them holds the ones before
 * (which accepts then wait for too); two, so that one batch's commit (an
 * fsync) overlaps the next one's work.
 */
export const SETTLEMENT_LANES = 2;

const payload = z.object({ transactionId: z.string().min(1).max(100) });

/** The lane of a transaction: any lane settles any transfer; the id only spreads the enqueues. */
const lane = (transactionId: string) => {
  let hash = 0;
  for (let i = 0; i < transactionId.length; i++) hash = (hash * 31 + transactionId.charCodeAt(i)) | 0;
  return Math.abs(hash) % SETTLEMENT_LANES;
};

/**
 * What an accepted transfer or deposit enqueues: settle whatever transfers and
 * deposits are PENDING, in batches (settlePendingTransfers), so that the
 * queue's cost per job is shared by a batch. Enqueues coalesce per lane; one
 * made while the lane's job runs is kept and runs after it, so a transfer
 * committed after the running batch claimed its rows is never left behind. The
 * payload names the transfer that enqueued it (for logs). A run that found its
 * batches full delivers the lane's job again. When every attempt failed, the
 * rows stay PENDING: the sweeper delivers each one's own settleTransactionJob,
 * whose final failure fails it.
 */
export const settlePendingTransfersJob = defineJob({
  name: 'settle-transactions',
  queue: 'ledger',
  payload,
  coalesceId: ({ transactionId }) => `settle-lane-${lane(transactionId)}`,
  attempts: 5,
  backoffMs: 500,
  process: async (data, { services }) => {
    const { more } = await settlePendingTransfers(services);
    if (more) await enqueueOrLeaveToSweeper(services, settlePendingTransfersJob, data);
  },
});

/**
 * Posts one PENDING transaction (see settleTransaction); re-delivery of a
 * settled one is a no-op. The sweeper's delivery of a row left PENDING, of any
 * kind; after the last attempt the transaction is FAILED with its hold released.
 */
const settleTransactionJob = defineJob({
  name: 'settle-transaction',
  queue: 'ledger',
  payload,
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

export const LEDGER_JOBS = [settlePendingTransfersJob, settleTransactionJob];
export const LEDGER_SWEEPERS = [sweepPendingTransactions];
