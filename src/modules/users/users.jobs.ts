import { z } from 'zod';
import type { AppServices } from '../../context.js';
import { defineJob } from '../../infra/queues.js';
import { markProvisioningFailed, provisionUser, stalePendingUsers } from './users.service.js';

/** Opens a new user's USD account and pays the welcome credit; then READY (FAILED after the last attempt). */
export const provisionUserJob = defineJob({
  name: 'provision-user',
  queue: 'provisioning',
  payload: z.object({ userId: z.string().min(1).max(100) }),
  jobId: ({ userId }) => `provision-${userId}`,
  attempts: 5,
  backoffMs: 1000,
  process: ({ userId }, { services }) => provisionUser(services, userId),
  onFinalFailure: ({ userId }, _error, { services }) => markProvisioningFailed(services, userId),
});

/** Called after the user row is committed; a failed enqueue is left to the sweeper. */
export async function enqueueProvisioning(services: AppServices, userId: string): Promise<void> {
  try {
    await services.queues.enqueue(provisionUserJob, { userId });
  } catch (error) {
    services.log.warn({ err: error, userId }, 'could not enqueue provisioning; the sweeper will');
  }
}

/** Delivers provisioning again for users left PENDING past SWEEP_AFTER_MS (see the ledger's sweeper). */
export const sweepPendingProvisioningJob = defineJob({
  name: 'sweep-pending-provisioning',
  queue: 'provisioning',
  payload: z.object({}),
  attempts: 1,
  repeat: { everyMs: (config) => config.sweepIntervalMs, payload: {} },
  process: async (_payload, { services }) => {
    const stale = await stalePendingUsers(services, new Date(Date.now() - services.config.sweepAfterMs));
    for (const { id } of stale) await services.queues.redeliver(provisionUserJob, { userId: id });
    if (stale.length > 0) services.log.warn({ count: stale.length }, 'pending provisionings delivered again');
    return stale.length;
  },
});

export const USERS_JOBS = [provisionUserJob, sweepPendingProvisioningJob];
