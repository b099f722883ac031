import { z } from 'zod';
import { isAdmin } from '../../core/access.js';
import type { AppServices, Viewer } from '../../core/context.js';
import {
  badUserInput,
  capacityReached,
  conflict,
  forbidden,
  insufficientPoints,
  noQuestionsLeft,
  notFound,
  quizNotLive,
  retryOnWriteConflict,
} from '../../core/errors.js';
import { type Page, type PageArgs, paginate } from '../../core/pagination.js';
import type { Prisma, QuestionAssignment, Quiz } from '../../generated/prisma/client.js';
import { coalescedAnnouncer } from '../../infra/events/announcer.js';
import { poolOf, preparedStatements } from '../../infra/db.js';
import type { AppEvents } from '../../core/events.js';

/*
 * Quizzes (docs/invariants.md, "Quizzes"). Opening, starting, registering,
 * taking a question, answering and ending are each one call of a SQL function
 * (migration 20261201030000_quizzes). A play takes its team's registration,
 * then an assignment or a question; a registration takes a free seat; no play
 * locks the quiz's row, which all of them read. The database holds every rule
 * that must survive concurrency: maxTeams seats taken once each, one OPEN
 * assignment per team and one team per question in unique indexes, points
 * never negative in a CHECK.
 */

export const DIFFICULTIES = ['EASY', 'MEDIUM', 'HARD'] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];
/** Points a question costs when assigned; a correct answer in time awards twice that. */
export const QUESTION_COST: Record<Difficulty, number> = { EASY: 10, MEDIUM: 20, HARD: 30 };

export const MAX_QUESTIONS_PER_CALL = 500;
export const MAX_LEADERBOARD_SIZE = 100;
/** myAssignments returns a team's first assignments of a quiz, oldest first, up to this many. */
export const MAX_ASSIGNMENTS_LISTED = 1000;

const between = (min: number, max: number, what: string) =>
  z
    .number()
    .int()
    .min(min, `${what} must be ${min.toLocaleString('en')} to ${max.toLocaleString('en')}.`)
    .max(max, `${what} must be ${min.toLocaleString('en')} to ${max.toLocaleString('en')}.`);

export const createQuizInputSchema = z.object({
  title: z.string().trim().min(3, 'Title must be 3 to 100 characters.').max(100, 'Title must be 3 to 100 characters.'),
  maxTeams: between(2, 10_000, 'maxTeams'),
  durationSeconds: between(5, 86_400, 'durationSeconds'),
  questionTimeLimitSeconds: between(1, 3600, 'questionTimeLimitSeconds').nullish(),
  startingPoints: between(0, 1_000_000, 'startingPoints').nullish(),
});
export type CreateQuizInput = z.infer<typeof createQuizInputSchema>;

const questionSchema = z
  .object({
    difficulty: z.enum(DIFFICULTIES),
    prompt: z.string().trim().min(1, 'A prompt must not be empty.').max(2000, 'A prompt must be at most 2,000 characters.'),
    choices: z
      .array(z.string().trim().min(1, 'A choice must not be empty.').max(500, 'A choice must be at most 500 characters.'))
      .min(2, 'A question has 2 to 6 choices.')
      .max(6, 'A question has 2 to 6 choices.'),
    answerIndex: z.number().int().min(0, 'answerIndex must be the index of one of the choices.'),
  })
  .refine((question) => question.answerIndex < question.choices.length, {
    message: 'answerIndex must be the index of one of the choices.',
    path: ['answerIndex'],
  });
export const quizQuestionsSchema = z
  .array(questionSchema)
  .min(1, 'Add at least one question.')
  .max(MAX_QUESTIONS_PER_CALL, `At most ${MAX_QUESTIONS_PER_CALL} questions a call.`);
export type QuizQuestionInput = z.infer<typeof questionSchema>;

export const leaderboardSizeSchema = z
  .number()
  .int()
  .min(1, `Must be between 1 and ${MAX_LEADERBOARD_SIZE}.`)
  .max(MAX_LEADERBOARD_SIZE, `Must be between 1 and ${MAX_LEADERBOARD_SIZE}.`);
export const choiceIndexSchema = z.number().int().min(0, 'choiceIndex must be the index of one of the choices.');

type QuizQuery = { select?: Prisma.QuizSelect; include?: Prisma.QuizInclude };
type AssignmentQuery = { select?: Prisma.QuestionAssignmentSelect; include?: Prisma.QuestionAssignmentInclude };

const prepared = preparedStatements('quizzes');

const QUIZ_COLUMNS = `"id", "title", "status"::text AS "status", "max_teams" AS "maxTeams",
  "duration_seconds" AS "durationSeconds", "question_time_limit_seconds" AS "questionTimeLimitSeconds",
  "starting_points" AS "startingPoints", "started_at" AS "startedAt", "ends_at" AS "endsAt",
  "created_at" AS "createdAt", "updated_at" AS "updatedAt"`;
const ASSIGNMENT_COLUMNS = `"id", "quiz_id" AS "quizId", "team_id" AS "teamId", "question_id" AS "questionId",
  "status"::text AS "status", "cost", "points_awarded" AS "pointsAwarded", "choice_index" AS "choiceIndex",
  "assigned_at" AS "assignedAt", "deadline", "answered_at" AS "answeredAt"`;

/*
 * The plays' answers are read on the pool, every column as Prisma has them: through Prisma that read cost the
 * API more than the play's own call (bench/README.md, "The quiz scenario"). Relations under them load as
 * fields do anywhere (batched).
 */
async function quizRow(services: AppServices, quizId: string): Promise<Quiz> {
  const { rows } = await poolOf(services.db).query<Quiz>(prepared(`SELECT ${QUIZ_COLUMNS} FROM "quizzes" WHERE "id" = $1`, [quizId]));
  if (!rows[0]) throw notFound('Quiz');
  return rows[0];
}

async function assignmentRow(services: AppServices, assignmentId: string): Promise<QuestionAssignment> {
  const { rows } = await poolOf(services.db).query<QuestionAssignment>(
    prepared(`SELECT ${ASSIGNMENT_COLUMNS} FROM "question_assignments" WHERE "id" = $1`, [assignmentId]),
  );
  if (!rows[0]) throw notFound('Assignment');
  return rows[0];
}

/** What the leaderboard says of one team. */
export interface StandingRow {
  rank: number;
  teamId: string;
  points: number;
  correctAnswers: number;
  answered: number;
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

/** A DRAFT is an admin's: for anyone else it does not exist. */
const visibleQuizzes = (viewer: Viewer): Prisma.QuizWhereInput => (isAdmin(viewer) ? {} : { status: { not: 'DRAFT' } });

export async function getQuiz(services: AppServices, viewer: Viewer, quizId: string, query: QuizQuery = {}): Promise<Quiz> {
  const quiz = await services.db.quiz.findFirst({ ...query, where: { id: quizId, ...visibleQuizzes(viewer) } });
  if (!quiz) throw notFound('Quiz');
  return quiz;
}

export function listQuizzes(
  services: AppServices,
  viewer: Viewer,
  args: PageArgs & { status?: Quiz['status'] | null },
  query: QuizQuery = {},
): Promise<Page<Quiz>> {
  const where: Prisma.QuizWhereInput = { AND: [visibleQuizzes(viewer), args.status ? { status: args.status } : {}] };
  return paginate(args, {
    count: () => services.db.quiz.count({ where }),
    fetch: (page) => services.db.quiz.findMany({ ...query, ...page, where: { AND: [where, page.where] } }),
  });
}

/** Teams registered: the seats taken (quiz_seats_quiz_id_team_id_key holds the taken ones). */
export async function registeredTeams(services: AppServices, quizId: string): Promise<number> {
  const { rows } = await poolOf(services.db).query<{ count: number }>(
    prepared('SELECT count(*)::int AS "count" FROM "quiz_registrations" WHERE "quiz_id" = $1', [quizId]),
  );
  return rows[0]!.count;
}

/** Questions of the quiz not given out yet, of one difficulty or all (the partial index of unassigned questions). */
export async function questionsLeft(services: AppServices, quizId: string, difficulty?: Difficulty | null): Promise<number> {
  const { rows } = await poolOf(services.db).query<{ count: number }>(
    difficulty
      ? prepared(
          'SELECT count(*)::int AS "count" FROM "quiz_questions" WHERE "quiz_id" = $1 AND "difficulty" = $2::"Difficulty" AND NOT "assigned"',
          [quizId, difficulty],
        )
      : prepared('SELECT count(*)::int AS "count" FROM "quiz_questions" WHERE "quiz_id" = $1 AND NOT "assigned"', [quizId]),
  );
  return rows[0]!.count;
}

/**
 * The first `first` of the standings: points descending, then whoever reached
 * their points earlier, then the earlier registration (the team id last, so
 * that the order is total). One range of quiz_registrations_standings_idx.
 */
export async function standings(services: Pick<AppServices, 'db'>, quizId: string, first: number): Promise<StandingRow[]> {
  const { rows } = await poolOf(services.db).query<Omit<StandingRow, 'rank'>>(
    prepared(
      `SELECT "team_id" AS "teamId", "points", "correct_answers" AS "correctAnswers", "answered"
         FROM "quiz_registrations" WHERE "quiz_id" = $1
        ORDER BY "points" DESC, "points_changed_at", "registered_at", "team_id" LIMIT $2`,
      [quizId, first],
    ),
  );
  return rows.map((row, i) => ({ ...row, rank: i + 1 }));
}

/** The viewer's team's line of the standings, when it is registered: its rank is 1 + the teams ranked before it. */
export async function myStanding(services: AppServices, viewer: Viewer, quizId: string): Promise<StandingRow | null> {
  const { rows } = await poolOf(services.db).query<StandingRow>(
    prepared(
      `SELECT r."team_id" AS "teamId", r."points", r."correct_answers" AS "correctAnswers", r."answered",
              1 + (SELECT count(*) FROM "quiz_registrations" o
                    WHERE o."quiz_id" = r."quiz_id"
                      AND (o."points" > r."points"
                           OR (o."points" = r."points"
                               AND (o."points_changed_at", o."registered_at", o."team_id")
                                 < (r."points_changed_at", r."registered_at", r."team_id"))))::int AS "rank"
         FROM "team_members" m JOIN "quiz_registrations" r ON r."team_id" = m."team_id" AND r."quiz_id" = $1
        WHERE m."user_id" = $2`,
      [quizId, viewer.id],
    ),
  );
  return rows[0] ?? null;
}

/** The viewer's team's assignments of a visible quiz, oldest first (none when the viewer is in no registered team). */
export async function myAssignments(
  services: AppServices,
  viewer: Viewer,
  quizId: string,
  query: AssignmentQuery = {},
): Promise<QuestionAssignment[]> {
  await getQuiz(services, viewer, quizId, { select: { id: true } });
  const membership = await services.db.teamMember.findUnique({ where: { userId: viewer.id }, select: { teamId: true } });
  if (!membership) return [];
  return services.db.questionAssignment.findMany({
    ...query,
    where: { quizId, teamId: membership.teamId },
    orderBy: [{ assignedAt: 'asc' }, { id: 'asc' }],
    take: MAX_ASSIGNMENTS_LISTED,
  });
}

/** An OPEN assignment past its deadline is EXPIRED, whether or not a write has recorded it yet. */
export function assignmentStatus(assignment: Pick<QuestionAssignment, 'status' | 'deadline'>, now = Date.now()) {
  return assignment.status === 'OPEN' && assignment.deadline.getTime() <= now ? 'EXPIRED' : assignment.status;
}

// ---------------------------------------------------------------------------
// The admin's lifecycle
// ---------------------------------------------------------------------------

export function createQuiz(services: AppServices, input: CreateQuizInput, query: QuizQuery = {}): Promise<Quiz> {
  return services.db.quiz.create({
    ...query,
    data: {
      title: input.title,
      maxTeams: input.maxTeams,
      durationSeconds: input.durationSeconds,
      questionTimeLimitSeconds: input.questionTimeLimitSeconds ?? 60,
      startingPoints: input.startingPoints ?? 100,
    },
  });
}

/** Questions go into a DRAFT or OPEN quiz only: under its row lock, so that they never land in one that started meanwhile. */
export async function addQuizQuestions(
  services: AppServices,
  quizId: string,
  questions: QuizQuestionInput[],
  query: QuizQuery = {},
): Promise<Quiz> {
  await services.db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ status: Quiz['status'] }[]>`
      SELECT "status"::text AS "status" FROM "quizzes" WHERE "id" = ${quizId} FOR SHARE`;
    const status = rows[0]?.status;
    if (!status) throw notFound('Quiz');
    if (status !== 'DRAFT' && status !== 'OPEN') throw conflict(`The quiz is ${status}: questions go into a DRAFT or OPEN quiz.`);
    await tx.quizQuestion.createMany({ data: questions.map((question) => ({ ...question, quizId })) });
  });
  return services.db.quiz.findUniqueOrThrow({ ...query, where: { id: quizId } });
}

/** DRAFT → OPEN with its maxTeams seats, in one call (quiz_open); a quiz in another status is CONFLICT. */
export async function publishQuiz(services: AppServices, quizId: string, query: QuizQuery = {}): Promise<Quiz> {
  const { rows } = await poolOf(services.db).query<{ opened: boolean }>(prepared('SELECT quiz_open($1) AS "opened"', [quizId]));
  if (!rows[0]!.opened) await wrongStep(services, quizId, 'published', 'DRAFT');
  return services.db.quiz.findUniqueOrThrow({ ...query, where: { id: quizId } });
}

/** NOT_FOUND for no quiz; CONFLICT naming the status it is in. */
async function wrongStep(services: AppServices, quizId: string, step: string, from: string): Promise<never> {
  const quiz = await services.db.quiz.findUnique({ where: { id: quizId }, select: { status: true } });
  if (!quiz) throw notFound('Quiz');
  throw conflict(`The quiz is ${quiz.status}: only a ${from} quiz can be ${step}.`);
}

/**
 * OPEN → LIVE: endsAt = now + durationSeconds (the caller schedules the end,
 * quizzes.commands.ts). Answers the quiz's endsAt.
 */
export async function startQuiz(services: AppServices, quizId: string): Promise<Date> {
  // quiz_start locks every seat first: registrations in flight finish before it, later ones read LIVE.
  const { rows } = await poolOf(services.db).query<{ endsAt: Date | null }>(prepared('SELECT quiz_start($1) AS "endsAt"', [quizId]));
  const { endsAt } = rows[0]!;
  if (!endsAt) return wrongStep(services, quizId, 'started', 'OPEN');
  return endsAt;
}

type EndOutcome = 'ended' | 'not_found' | 'already' | 'not_live' | 'not_due';

async function callEnd(services: AppServices, quizId: string, dueOnly: boolean): Promise<EndOutcome> {
  const { rows } = await retryOnWriteConflict(() =>
    poolOf(services.db).query<{ outcome: EndOutcome }>(prepared('SELECT quiz_end($1, $2) AS "outcome"', [quizId, dueOnly])),
  );
  const { outcome } = rows[0]!;
  // Once, by whoever ended it: the watchers read the final standings.
  if (outcome === 'ended') announceLeaderboard(services, quizId);
  return outcome;
}

/** LIVE → ENDED now (the admin's endQuiz); any other status is CONFLICT. */
export async function endQuiz(services: AppServices, quizId: string, query: QuizQuery = {}): Promise<Quiz> {
  const outcome = await callEnd(services, quizId, false);
  if (outcome === 'not_found') throw notFound('Quiz');
  if (outcome !== 'ended') await wrongStep(services, quizId, 'ended', 'LIVE');
  return services.db.quiz.findUniqueOrThrow({ ...query, where: { id: quizId } });
}

/** Early by this much at most, the end job waits for endsAt instead of failing (clocks of two machines). */
const END_EARLY_WAIT_MS = 30_000;

/**
 * The end job's work: ends the quiz if it is LIVE and due; a quiz that has
 * ended (by endQuiz, or an earlier run) or is gone is done. Run more than once,
 * it ends the quiz once.
 */
export async function endDueQuiz(services: AppServices, quizId: string): Promise<EndOutcome> {
  let outcome = await callEnd(services, quizId, true);
  if (outcome === 'not_due') {
    const quiz = await services.db.quiz.findUnique({ where: { id: quizId }, select: { endsAt: true } });
    const early = (quiz?.endsAt?.getTime() ?? 0) - Date.now();
    if (early > END_EARLY_WAIT_MS) throw new Error(`end-quiz ran ${early} ms before endsAt`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, early) + 10));
    outcome = await callEnd(services, quizId, true);
    if (outcome === 'not_due') throw new Error('end-quiz ran before endsAt');
  }
  return outcome;
}

/** LIVE quizzes whose end is SWEEP_AFTER_MS past (`olderThan`) and that are still LIVE: their end job was lost or failed. */
export function overdueQuizzes(services: AppServices, page: { olderThan: Date; after?: { id: string; createdAt: Date }; limit: number }) {
  const { after } = page;
  return services.db.quiz.findMany({
    where: {
      AND: [
        { status: 'LIVE', endsAt: { lt: page.olderThan } },
        after ? { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] } : {},
      ],
    },
    select: { id: true, createdAt: true },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: page.limit,
  });
}

// ---------------------------------------------------------------------------
// The teams' play
// ---------------------------------------------------------------------------

const announce = coalescedAnnouncer<AppEvents, 'leaderboardChanged'>('leaderboardChanged', (quizId) => ({ quizId }));

/** After a commit that may have moved a quiz's standings: leaderboardChanged, coalesced per quiz (infra/events/announcer.ts). */
const announceLeaderboard = (services: AppServices, quizId: string) => announce(services.pubsub, quizId);

type RegisterOutcome = 'registered' | 'team_not_found' | 'forbidden' | 'not_found' | 'not_open' | 'already' | 'full';

/** The team's owner registers it for an OPEN quiz with room (quiz_register: exact under any concurrency). */
export async function registerForQuiz(
  services: AppServices,
  viewer: Viewer,
  quizId: string,
  teamId: string,
): Promise<Quiz> {
  const { rows } = await retryOnWriteConflict(() =>
    poolOf(services.db).query<{ outcome: RegisterOutcome }>(
      prepared('SELECT quiz_register($1, $2, $3, $4) AS "outcome"', [quizId, teamId, viewer.id, isAdmin(viewer)]),
    ),
  );
  switch (rows[0]!.outcome) {
    case 'team_not_found':
      throw notFound('Team');
    case 'forbidden':
      throw forbidden('Only the team’s owner may register it.');
    case 'not_found':
      throw notFound('Quiz');
    case 'not_open':
      throw conflict('Registration is closed: the quiz is not OPEN.');
    case 'already':
      throw conflict('The team is already registered for this quiz.');
    case 'full':
      throw capacityReached('The quiz has no room for another team.');
    default:
      break;
  }
  announceLeaderboard(services, quizId);
  return quizRow(services, quizId);
}

type RequestOutcome = 'assigned' | 'not_found' | 'not_live' | 'no_team' | 'open' | 'insufficient' | 'none_left';

/** A member of a registered team draws an unassigned question of `difficulty`, paying its cost (quiz_request_question). */
export async function requestQuestion(
  services: AppServices,
  viewer: Viewer,
  quizId: string,
  difficulty: Difficulty,
): Promise<QuestionAssignment> {
  const cost = QUESTION_COST[difficulty];
  const { rows } = await retryOnWriteConflict(() =>
    poolOf(services.db).query<{ outcome: RequestOutcome; assignmentId: string | null }>(
      prepared('SELECT * FROM quiz_request_question($1, $2, $3, $4::"Difficulty", $5)', [
        quizId,
        viewer.id,
        isAdmin(viewer),
        difficulty,
        cost,
      ]),
    ),
  );
  const { outcome, assignmentId } = rows[0]!;
  switch (outcome) {
    case 'not_found':
      throw notFound('Quiz');
    case 'not_live':
      throw quizNotLive();
    case 'no_team':
      throw forbidden('Only members of a team registered for this quiz may request questions.');
    case 'open':
      throw conflict('Your team already holds an OPEN question: answer it first, or wait for its deadline.');
    case 'insufficient':
      throw insufficientPoints(`A ${difficulty} question costs ${cost} points; your team has fewer.`);
    case 'none_left':
      throw noQuestionsLeft(`Every ${difficulty} question of this quiz is already assigned.`);
    default:
      break;
  }
  announceLeaderboard(services, quizId);
  return assignmentRow(services, assignmentId!);
}

type AnswerOutcome = 'judged' | 'not_found' | 'bad_choice' | 'not_live' | 'answered';

/** A member answers the team's assignment once, judged against the database's clock and the stored deadline (quiz_submit_answer). */
export async function submitAnswer(
  services: AppServices,
  viewer: Viewer,
  assignmentId: string,
  choiceIndex: number,
): Promise<QuestionAssignment> {
  const { rows } = await retryOnWriteConflict(() =>
    poolOf(services.db).query<{ outcome: AnswerOutcome; quizId: string | null; status: string | null }>(
      prepared('SELECT * FROM quiz_submit_answer($1, $2, $3)', [assignmentId, viewer.id, choiceIndex]),
    ),
  );
  const { outcome, quizId, status } = rows[0]!;
  switch (outcome) {
    case 'not_found':
      throw notFound('Assignment');
    case 'bad_choice':
      throw badUserInput({ choiceIndex: 'choiceIndex must be the index of one of the choices.' });
    case 'not_live':
      throw quizNotLive('The quiz has ended.');
    case 'answered':
      throw conflict(`The assignment is ${status}: it takes one answer, while OPEN.`);
    default:
      break;
  }
  // A WRONG answer moves `answered`, a CORRECT one the points; an EXPIRED one changes no standing.
  if (status !== 'EXPIRED') announceLeaderboard(services, quizId!);
  return assignmentRow(services, assignmentId);
}
