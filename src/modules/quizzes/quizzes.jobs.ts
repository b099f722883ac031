import { z } from 'zod';
import { defineJob, defineSweeper } from '../../core/jobs.js';
import { endDueQuiz, overdueQuizzes } from './quizzes.service.js';

/**
 * Ends a LIVE quiz at its endsAt: enqueued by startQuiz with the delay to it
 * (quizzes.commands.ts). Whichever worker process runs it; a quiz already
 * ended (endQuiz, an earlier run) is left as it is.
 */
export const endQuizJob = defineJob({
  name: 'end-quiz',
  queue: 'quizzes',
  payload: z.object({ quizId: z.string().min(1).max(100) }),
  jobId: ({ quizId }) => `end-quiz-${quizId}`,
  attempts: 8,
  backoffMs: 1000,
  process: ({ quizId }, { services }) => endDueQuiz(services, quizId),
});

/** The end again for quizzes still LIVE SWEEP_AFTER_MS past their endsAt (the delayed job was lost, or failed). */
const sweepLiveQuizzes = defineSweeper({
  name: 'sweep-live-quizzes',
  job: endQuizJob,
  findStale: overdueQuizzes,
  payload: ({ id }) => ({ quizId: id }),
});

export const QUIZ_JOBS = [endQuizJob];
export const QUIZ_SWEEPERS = [sweepLiveQuizzes];
