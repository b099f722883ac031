import { z } from 'zod';
import type { AppServices } from '../../core/context.js';
import type { LedgerTransaction } from '../../generated/prisma/client.js';
import { defineJob, defineSweeper, enqueueOrLeaveToSweeper } from '../../infra/queues.js';
import type { Viewer } from '../../core/context.js';
import {
  type Accepted,
  type DepositInput,
  deposit,
  failTransaction,
  settleTransaction,
  stalePendingTransactions,
  type TransferInput,
  transfer,
} from './ledger.service.js';

export const SETTLEMENT_FAILED = 'Settlement failed after every retry; nothing was moved and any hold was released.';

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

/**
 * The row is the truth and the queue only the delivery: once the PENDING row is
 * committed, a failed enqueue is logged and left to the sweeper — the client
 * still gets its transaction. A retried request (same idempotency key) finding
 * the row still PENDING enqueues again; the job id keeps that to one job.
 */
export async function enqueueSettlement(services: AppServices, transaction: LedgerTransaction): Promise<void> {
  if (transaction.status !== 'PENDING') return;
  await enqueueOrLeaveToSweeper(services, settleTransactionJob, { transactionId: transaction.id });
}

async function settleLater(services: AppServices, accepted: Promise<Accepted>): Promise<LedgerTransaction> {
  const { transaction } = await accepted;
  await enqueueSettlement(services, transaction);
  return transaction;
}

export const submitTransfer = (services: AppServices, viewer: Viewer, input: TransferInput) =>
  settleLater(services, transfer(services, viewer, input));

export const submitDeposit = (services: AppServices, viewer: Viewer, input: DepositInput) =>
  settleLater(services, deposit(services, viewer, input));

/** Settlement again for transactions left PENDING past SWEEP_AFTER_MS (see defineSweeper). */
export const sweepPendingTransactionsJob = defineSweeper({
  name: 'sweep-pending-transactions',
  job: settleTransactionJob,
  findStale: async (services, olderThan) =>
    (await stalePendingTransactions(services, olderThan)).map(({ id }) => ({ transactionId: id })),
});

export const LEDGER_JOBS = [settleTransactionJob, sweepPendingTransactionsJob];
