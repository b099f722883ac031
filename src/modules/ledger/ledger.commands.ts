import type { AppServices, Viewer } from '../../core/context.js';
import type { LedgerTransaction } from '../../generated/prisma/client.js';
import { enqueueOrLeaveToSweeper } from '../../infra/jobs/producer.js';
import { settlePendingTransfersJob } from './ledger.jobs.js';
import { type Accepted, type DepositInput, deposit, type TransferInput, transfer } from './ledger.service.js';

/**
 * The row is the truth and the queue only the delivery: once the PENDING row is
 * committed, a failed enqueue is logged and left to the sweeper — the client
 * still gets its transaction. A retried request (same idempotency key) finding
 * the row still PENDING enqueues again. The job settles PENDING transfers in
 * batches; enqueues coalesce per lane (ledger.jobs.ts).
 */
async function settleLater(services: AppServices, accepted: Promise<Accepted>): Promise<LedgerTransaction> {
  const { transaction } = await accepted;
  if (transaction.status === 'PENDING') {
    await enqueueOrLeaveToSweeper(services, settlePendingTransfersJob, { transactionId: transaction.id });
  }
  return transaction;
}

export const submitTransfer = (services: AppServices, viewer: Viewer, input: TransferInput) =>
  settleLater(services, transfer(services, viewer, input));

export const submitDeposit = (services: AppServices, viewer: Viewer, input: DepositInput) =>
  settleLater(services, deposit(services, viewer, input));
