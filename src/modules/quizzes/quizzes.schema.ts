import { builder } from '../../schema/builder.js';
import { rateLimited } from '../../schema/rate-limits.js';
import { connectionArgs, pageConnection, pageQuery } from '../../schema/connections.js';
import { listOf } from '../../schema/cost.js';
import { requireViewer } from '../../core/access.js';
import type { Context } from '../../core/context.js';
import { startQuizAndScheduleEnd } from './quizzes.commands.js';
import { type Board, LEADERBOARD_INTERVAL_MS, leaderboardUpdates } from './leaderboard-feed.js';
import {
  addQuizQuestions,
  assignmentStatus,
  choiceIndexSchema,
  createQuiz,
  createQuizInputSchema,
  DIFFICULTIES,
  endQuiz,
  getQuiz,
  leaderboardSizeSchema,
  listQuizzes,
  MAX_ASSIGNMENTS_LISTED,
  MAX_LEADERBOARD_SIZE,
  MAX_QUESTIONS_PER_CALL,
  myAssignments,
  myStanding,
  publishQuiz,
  QUESTION_COST,
  questionsLeft,
  quizQuestionsSchema,
  registerForQuiz,
  registeredTeams,
  requestQuestion,
  type StandingRow,
  standings,
  submitAnswer,
} from './quizzes.service.js';

const QuizStatusEnum = builder.enumType('QuizStatus', { values: ['DRAFT', 'OPEN', 'LIVE', 'ENDED'] as const });
const DifficultyEnum = builder.enumType('Difficulty', {
  values: DIFFICULTIES,
  description: `What a question costs when assigned: ${DIFFICULTIES.map((d) => `${d} ${QUESTION_COST[d]}`).join(', ')} points.`,
});
const AssignmentStatusEnum = builder.enumType('AssignmentStatus', {
  values: ['OPEN', 'CORRECT', 'WRONG', 'EXPIRED'] as const,
});

/** A team of the standings, by id: Prisma batches the calls of one tick into one statement. */
const teamById = (context: Pick<Context, 'db'>, teamId: string) => context.db.team.findUniqueOrThrow({ where: { id: teamId } });

const LeaderboardEntryType = builder.objectRef<StandingRow>('LeaderboardEntry').implement({
  fields: (t) => ({
    rank: t.exposeInt('rank', { description: '1, 2, 3… with no gaps.' }),
    team: t.prismaField({ type: 'Team', resolve: (_query, entry, _args, context) => teamById(context, entry.teamId) }),
    points: t.exposeInt('points'),
    correctAnswers: t.exposeInt('correctAnswers'),
    answered: t.exposeInt('answered', { description: 'CORRECT and WRONG answers.' }),
  }),
});

const QuizType = builder.prismaObject('Quiz', {
  fields: (t) => ({
    id: t.exposeID('id'),
    title: t.exposeString('title'),
    status: t.expose('status', { type: QuizStatusEnum }),
    maxTeams: t.exposeInt('maxTeams'),
    registeredTeams: t.int({ resolve: (quiz, _args, context) => registeredTeams(context, quiz.id) }),
    durationSeconds: t.exposeInt('durationSeconds', { description: 'How long it stays LIVE.' }),
    questionTimeLimitSeconds: t.exposeInt('questionTimeLimitSeconds', { description: 'Time to answer an assigned question.' }),
    startingPoints: t.exposeInt('startingPoints', { description: 'Each team’s points when it registers.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    endsAt: t.expose('endsAt', { type: 'DateTime', nullable: true, description: 'When it ends (or ended).' }),
    questionsLeft: t.int({
      description: 'Questions not yet assigned.',
      args: { difficulty: t.arg({ type: DifficultyEnum }) },
      resolve: (quiz, args, context) => questionsLeft(context, quiz.id, args.difficulty),
    }),
    leaderboard: t.field({
      type: [LeaderboardEntryType],
      description:
        'Points descending; ties go to the team whose points last changed earlier, then to the earlier registration.',
      args: { first: t.arg.int({ defaultValue: 10, validate: leaderboardSizeSchema.nullish() }) },
      resolve: (quiz, args, context) => standings(context, quiz.id, args.first ?? 10),
    }),
    myEntry: t.field({
      type: LeaderboardEntryType,
      nullable: true,
      description: 'Your team’s entry, when it is registered.',
      // Depends on the viewer: a leaderboardUpdated document selecting it is executed per subscriber.
      authScopes: { loggedIn: true },
      resolve: (quiz, _args, context) => myStanding(context, requireViewer(context), quiz.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.prismaObject('QuizQuestion', {
  description: 'The answer is never exposed.',
  fields: (t) => ({
    id: t.exposeID('id'),
    difficulty: t.expose('difficulty', { type: DifficultyEnum }),
    prompt: t.exposeString('prompt'),
    choices: t.exposeStringList('choices'),
  }),
});

builder.prismaObject('QuestionAssignment', {
  fields: (t) => ({
    id: t.exposeID('id'),
    quiz: t.prismaField({
      type: 'Quiz',
      select: { quizId: true },
      // Prisma batches the findUnique calls of one tick into one statement.
      resolve: (query, assignment, _args, context) => context.db.quiz.findUniqueOrThrow({ ...query, where: { id: assignment.quizId } }),
    }),
    team: t.prismaField({
      type: 'Team',
      select: { teamId: true },
      resolve: (_query, assignment, _args, context) => teamById(context, assignment.teamId),
    }),
    question: t.relation('question'),
    status: t.field({
      type: AssignmentStatusEnum,
      description: 'An OPEN assignment past its deadline is EXPIRED.',
      select: { status: true, deadline: true },
      resolve: (assignment) => assignmentStatus(assignment),
    }),
    cost: t.exposeInt('cost'),
    pointsAwarded: t.exposeInt('pointsAwarded', { description: '0 unless CORRECT: then twice the cost.' }),
    assignedAt: t.expose('assignedAt', { type: 'DateTime' }),
    deadline: t.expose('deadline', { type: 'DateTime', description: 'assignedAt + questionTimeLimitSeconds.' }),
    answeredAt: t.expose('answeredAt', { type: 'DateTime', nullable: true }),
  }),
});

const LeaderboardType = builder.objectRef<Board>('Leaderboard').implement({
  fields: (t) => ({
    quiz: t.field({ type: QuizType, resolve: (board) => board.quiz }),
    entries: t.field({
      type: [LeaderboardEntryType],
      complexity: listOf(MAX_LEADERBOARD_SIZE),
      resolve: (board) => board.entries,
    }),
    final: t.exposeBoolean('final', { description: 'The quiz has ended: these are its final standings.' }),
  }),
});

const QuizConnection = pageConnection('QuizConnection', QuizType);

const CreateQuizInput = builder
  .inputType('CreateQuizInput', {
    fields: (t) => ({
      title: t.string({ required: true, description: '3–100 characters.' }),
      maxTeams: t.int({ required: true, description: '2–10,000.' }),
      durationSeconds: t.int({ required: true, description: '5–86,400: how long it stays LIVE.' }),
      questionTimeLimitSeconds: t.int({ defaultValue: 60, description: '1–3,600.' }),
      startingPoints: t.int({ defaultValue: 100, description: '0–1,000,000.' }),
    }),
  })
  .validate(createQuizInputSchema);

const QuizQuestionInput = builder.inputType('QuizQuestionInput', {
  fields: (t) => ({
    difficulty: t.field({ type: DifficultyEnum, required: true }),
    prompt: t.string({ required: true, description: '1–2,000 characters.' }),
    choices: t.stringList({ required: true, description: '2–6 choices, each 1–500 characters.' }),
    answerIndex: t.int({ required: true, description: 'The index of the correct choice; never exposed.' }),
  }),
});

builder.queryFields((t) => ({
  quiz: t.prismaField({
    type: 'Quiz',
    nullable: true,
    description: 'Signed in; a DRAFT is NOT_FOUND except for admins.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => getQuiz(context, requireViewer(context), String(args.id), query),
  }),
  quizzes: t.field({
    type: QuizConnection,
    description: 'Signed in; newest first; DRAFTs for admins only.',
    authScopes: { loggedIn: true },
    args: { ...connectionArgs(t), status: t.arg({ type: QuizStatusEnum }) },
    resolve: (_root, args, context, info) =>
      listQuizzes(context, requireViewer(context), args, pageQuery(context, info)),
  }),
  myAssignments: t.prismaField({
    type: ['QuestionAssignment'],
    description: `Your team’s assignments in the quiz, oldest first (the first ${MAX_ASSIGNMENTS_LISTED.toLocaleString('en')}).`,
    authScopes: { loggedIn: true },
    args: { quizId: t.arg.id({ required: true }) },
    complexity: listOf(MAX_ASSIGNMENTS_LISTED),
    resolve: (query, _root, args, context) => myAssignments(context, requireViewer(context), String(args.quizId), query),
  }),
}));

builder.mutationFields((t) => ({
  createQuiz: t.prismaField({
    type: 'Quiz',
    description: 'Admins only; the quiz starts as a DRAFT.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateQuizInput, required: true }) },
    resolve: (query, _root, { input }, context) => createQuiz(context, input, query),
  }),
  addQuizQuestions: t.prismaField({
    type: 'Quiz',
    description: `Admins only; a DRAFT or OPEN quiz (else CONFLICT); 1 to ${MAX_QUESTIONS_PER_CALL} questions a call.`,
    authScopes: { admin: true },
    args: {
      quizId: t.arg.id({ required: true }),
      questions: t.arg({ type: [QuizQuestionInput], required: true, validate: quizQuestionsSchema }),
    },
    resolve: (query, _root, args, context) => addQuizQuestions(context, String(args.quizId), args.questions, query),
  }),
  publishQuiz: t.prismaField({
    type: 'Quiz',
    description: 'Admins only; DRAFT → OPEN: registration opens (else CONFLICT).',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => publishQuiz(context, String(args.id), query),
  }),
  startQuiz: t.prismaField({
    type: 'Quiz',
    description: 'Admins only; OPEN → LIVE (else CONFLICT); endsAt = now + durationSeconds, when it ends by itself.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, context) => {
      await startQuizAndScheduleEnd(context, String(args.id));
      return context.db.quiz.findUniqueOrThrow({ ...query, where: { id: String(args.id) } });
    },
  }),
  endQuiz: t.prismaField({
    type: 'Quiz',
    description: 'Admins only; LIVE → ENDED now (else CONFLICT); OPEN assignments become EXPIRED.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => endQuiz(context, String(args.id), query),
  }),
  registerForQuiz: t.prismaField({
    type: 'Quiz',
    description:
      'The team’s owner; the quiz OPEN and the team not registered yet (else CONFLICT), with room (else CAPACITY_REACHED).',
    authScopes: { loggedIn: true },
    args: { quizId: t.arg.id({ required: true }), teamId: t.arg.id({ required: true }) },
    resolve: (_query, _root, args, context) =>
      registerForQuiz(context, requireViewer(context), String(args.quizId), String(args.teamId)),
  }),
  requestQuestion: t.prismaField({
    ...rateLimited('mutation'),
    type: 'QuestionAssignment',
    description:
      'Any member of a registered team, while the quiz is LIVE (else QUIZ_NOT_LIVE); one OPEN assignment at a time ' +
      '(else CONFLICT); the cost is taken now (INSUFFICIENT_POINTS); NO_QUESTIONS_LEFT when none of that difficulty is left.',
    authScopes: { loggedIn: true },
    args: { quizId: t.arg.id({ required: true }), difficulty: t.arg({ type: DifficultyEnum, required: true }) },
    resolve: (_query, _root, args, context) => requestQuestion(context, requireViewer(context), String(args.quizId), args.difficulty),
  }),
  submitAnswer: t.prismaField({
    ...rateLimited('mutation'),
    type: 'QuestionAssignment',
    description:
      'Any member of the team, once per assignment (else CONFLICT): before the deadline CORRECT (2 × cost) or ' +
      'WRONG; at or after it EXPIRED. QUIZ_NOT_LIVE after the end.',
    authScopes: { loggedIn: true },
    args: {
      assignmentId: t.arg.id({ required: true }),
      choiceIndex: t.arg.int({ required: true, validate: choiceIndexSchema }),
    },
    resolve: (_query, _root, args, context) =>
      submitAnswer(context, requireViewer(context), String(args.assignmentId), args.choiceIndex),
  }),
}));

builder.subscriptionFields((t) => ({
  leaderboardUpdated: t.field({
    type: LeaderboardType,
    description:
      'Any signed-in viewer: the standings now, then while points change at most one event per ' +
      `${LEADERBOARD_INTERVAL_MS} ms, never skipping the latest; when the quiz ends, one event with final: true, ` +
      'then the subscription completes.',
    authScopes: { loggedIn: true },
    args: {
      quizId: t.arg.id({ required: true }),
      first: t.arg.int({ defaultValue: 10, description: `At most ${MAX_LEADERBOARD_SIZE}.`, validate: leaderboardSizeSchema.nullish() }),
    },
    subscribe: (_root, args, context) => leaderboardUpdates(context, requireViewer(context), String(args.quizId)),
    resolve: (board, args): Board => ({ ...board, entries: board.entries.slice(0, args.first ?? 10) }),
  }),
}));
