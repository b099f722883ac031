import type { AppServices, Viewer } from '../../core/context.js';
import type { Order } from '../../generated/prisma/client.js';
import { enqueueOrLeaveToSweeper } from '../../infra/jobs/producer.js';
import { fulfilOrderJob } from './inventory.jobs.js';
import { type PurchaseInput, purchase } from './inventory.service.js';

/**
 * A purchase commits its order (the stock already taken), then enqueues the
 * fulfilment; a failed enqueue is left to the sweeper — the client still gets
 * its order. A retried request (same idempotency key) finding the order still
 * open enqueues again; the job id keeps that to one job.
 */
export async function submitPurchase(services: AppServices, viewer: Viewer, input: PurchaseInput): Promise<Order> {
  const order = await purchase(services, viewer, input);
  if (order.status === 'RESERVED' || order.status === 'PAID') {
    await enqueueOrLeaveToSweeper(services, fulfilOrderJob, { orderId: order.id });
  }
  return order;
}
