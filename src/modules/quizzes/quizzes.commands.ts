import type { AppServices } from '../../core/context.js';
import { enqueueOrLeaveToSweeper } from '../../infra/jobs/producer.js';
import { endQuizJob } from './quizzes.jobs.js';
import { startQuiz } from './quizzes.service.js';

/**
 * Starting a quiz commits LIVE and its endsAt, then enqueues the end job
 * delayed to endsAt. A failed enqueue is left to the sweeper
 * (sweep-live-quizzes): the quiz then ends SWEEP_AFTER_MS late in status, but
 * no question or answer is accepted past endsAt meanwhile.
 */
export async function startQuizAndScheduleEnd(services: AppServices, quizId: string): Promise<void> {
  const endsAt = await startQuiz(services, quizId);
  await enqueueOrLeaveToSweeper(services, endQuizJob, { quizId }, { delayMs: endsAt.getTime() - Date.now() });
}
