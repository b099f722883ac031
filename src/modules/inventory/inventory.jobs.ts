import { z } from 'zod';
import type { AppServices } from '../../core/context.js';
import type { Order } from '../../generated/prisma/client.js';
import { defineJob, defineSweeper, enqueueOrLeaveToSweeper } from '../../infra/queues.js';
import type { Viewer } from '../../core/context.js';
import { abandonOrder, fulfilOrder, type PurchaseInput, purchase, staleOrders } from './inventory.service.js';

export const FULFILMENT_FAILED = 'Fulfilment failed after every retry; the order was cancelled and nothing was charged.';

/** Takes an order's payment and fulfils it, or cancels it (see fulfilOrder); re-delivery of a finished order is a no-op. */
export const fulfilOrderJob = defineJob({
  name: 'fulfil-order',
  queue: 'orders',
  payload: z.object({ orderId: z.string().min(1).max(100) }),
  jobId: ({ orderId }) => `fulfil-${orderId}`,
  attempts: 5,
  backoffMs: 500,
  process: ({ orderId }, { services }) => fulfilOrder(services, orderId),
  onFinalFailure: async ({ orderId }, _error, { services }) => {
    await abandonOrder(services, orderId, FULFILMENT_FAILED);
  },
});

/**
 * The row is the truth and the queue only the delivery: once the order is
 * committed, a failed enqueue is logged and left to the sweeper — the client
 * still gets its order. A retried request (same idempotency key) finding the
 * order still open enqueues again; the job id keeps that to one job.
 */
export async function enqueueFulfilment(services: AppServices, order: Order): Promise<void> {
  if (order.status !== 'RESERVED' && order.status !== 'PAID') return;
  await enqueueOrLeaveToSweeper(services, fulfilOrderJob, { orderId: order.id });
}

export async function submitPurchase(services: AppServices, viewer: Viewer, input: PurchaseInput): Promise<Order> {
  const order = await purchase(services, viewer, input);
  await enqueueFulfilment(services, order);
  return order;
}

/** Fulfilment again for orders left RESERVED or PAID past SWEEP_AFTER_MS (see defineSweeper). */
export const sweepOpenOrdersJob = defineSweeper({
  name: 'sweep-open-orders',
  job: fulfilOrderJob,
  findStale: async (services, olderThan) => (await staleOrders(services, olderThan)).map(({ id }) => ({ orderId: id })),
});

export const INVENTORY_JOBS = [fulfilOrderJob, sweepOpenOrdersJob];
