import { z } from 'zod';
import { defineJob, defineSweeper } from '../../core/jobs.js';
import { abandonOrder, fulfilOrder, staleOrders } from './inventory.service.js';

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

/** Fulfilment again for orders left RESERVED or PAID past SWEEP_AFTER_MS (see infra/jobs/sweeper.ts). */
const sweepOpenOrders = defineSweeper({
  name: 'sweep-open-orders',
  job: fulfilOrderJob,
  findStale: staleOrders,
  payload: ({ id }) => ({ orderId: id }),
});

export const INVENTORY_JOBS = [fulfilOrderJob];
export const INVENTORY_SWEEPERS = [sweepOpenOrders];
