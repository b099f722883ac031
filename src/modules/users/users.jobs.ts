import { z } from 'zod';
import { defineJob, definePruner, defineSweeper } from '../../core/jobs.js';
import { markProvisioningFailed, provisionUser, stalePendingUsers } from './users.service.js';
import { deleteExpiredRefreshTokens } from '../auth/auth.service.js';

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

/** Provisioning again for users left PENDING past SWEEP_AFTER_MS (see infra/jobs/sweeper.ts). */
const sweepPendingProvisioning = defineSweeper({
  name: 'sweep-pending-provisioning',
  job: provisionUserJob,
  findStale: stalePendingUsers,
  payload: ({ id }) => ({ userId: id }),
});

/**
 * Expired refresh tokens of users who never sign in again (a session that
 * starts deletes its user's own): an expired token is refused whether its row is there or not.
 */
const pruneExpiredRefreshTokens = definePruner({
  name: 'prune-expired-refresh-tokens',
  prune: deleteExpiredRefreshTokens,
});

export const USERS_JOBS = [provisionUserJob];
export const USERS_SWEEPERS = [sweepPendingProvisioning, pruneExpiredRefreshTokens];
