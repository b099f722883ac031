import type { AppServices } from '../../core/context.js';
import { enqueueOrLeaveToSweeper } from '../../infra/jobs/producer.js';
import { type RegisterInput, register as createAccount, type Session } from '../auth/auth.service.js';
import { provisionUserJob } from './users.jobs.js';

/**
 * Sign-up: the user (PENDING provisioning) and their first session are
 * committed, then provisioning is enqueued; a failed enqueue is left to the
 * sweeper, and the client gets its session either way.
 */
export async function register(services: AppServices, input: RegisterInput): Promise<Session> {
  const session = await createAccount(services, input);
  await enqueueOrLeaveToSweeper(services, provisionUserJob, { userId: session.user.id });
  return session;
}
