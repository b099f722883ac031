import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { codes, type GraphQLResponse, useTestApp } from './helpers/app.js';
import { type Difficulty, insertTeams, type Player, players, questionsOf, sqlOn, type TestTeam } from './helpers/quizzes.js';
import { sleep } from './harness/wait.js';

/**
 * The quizzes domain through the in-process app: the lifecycle, registration,
 * question assignment, answers and the leaderboard, with every error of the
 * contract; who may do what; and the rules that must hold whatever runs at
 * once, proven with real parallel requests and checked in SQL afterwards.
 */

const t = useTestApp();

const CreateQuiz = graphql(`
  mutation QuizCreate($input: CreateQuizInput!) {
    createQuiz(input: $input) {
      id title status maxTeams registeredTeams durationSeconds questionTimeLimitSeconds startingPoints startedAt endsAt
    }
  }
`);
const AddQuestions = graphql(`
  mutation QuizAddQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) {
    addQuizQuestions(quizId: $quizId, questions: $questions) {
      id easy: questionsLeft(difficulty: EASY) medium: questionsLeft(difficulty: MEDIUM) all: questionsLeft
    }
  }
`);
const Publish = graphql(`mutation QuizPublish($id: ID!) { publishQuiz(id: $id) { id status } }`);
const Start = graphql(`mutation QuizStart($id: ID!) { startQuiz(id: $id) { id status startedAt endsAt } }`);
const End = graphql(`mutation QuizEnd($id: ID!) { endQuiz(id: $id) { id status endsAt } }`);
const Register = graphql(`
  mutation QuizRegister($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id registeredTeams } }
`);
const RequestQuestion = graphql(`
  mutation QuizRequest($quizId: ID!, $difficulty: Difficulty!) {
    requestQuestion(quizId: $quizId, difficulty: $difficulty) {
      id status cost pointsAwarded assignedAt deadline answeredAt
      quiz { id } team { id } question { id difficulty prompt choices }
    }
  }
`);
const Submit = graphql(`
  mutation QuizSubmit($assignmentId: ID!, $choiceIndex: Int!) {
    submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { id status cost pointsAwarded answeredAt }
  }
`);
const GetQuiz = graphql(`
  query QuizGet($id: ID!, $first: Int) {
    quiz(id: $id) {
      id status registeredTeams questionsLeft
      leaderboard(first: $first) { rank points correctAnswers answered team { id name } }
      myEntry { rank points correctAnswers answered team { id } }
    }
  }
`);
const ListQuizzes = graphql(`
  query QuizList($status: QuizStatus, $first: Int, $after: String) {
    quizzes(status: $status, first: $first, after: $after) {
      totalCount edges { node { id status } } pageInfo { hasNextPage endCursor }
    }
  }
`);
const MyAssignments = graphql(`
  query QuizMyAssignments($quizId: ID!) { myAssignments(quizId: $quizId) { id status cost pointsAwarded question { id } } }
`);
const Leave = graphql(`mutation QuizLeaveTeam($teamId: ID!) { leaveTeam(teamId: $teamId) }`);

function data<T>(result: GraphQLResponse<T>): T {
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data;
}
const fieldsOf = (result: GraphQLResponse<unknown>) => result.errors?.[0]?.extensions?.fields as Record<string, string> | undefined;

type Session = Player;
const users = (count: number) => players(t.app.services, count);
const sql = <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => sqlOn<T>(t.databaseUrl, text, values);
const teams = (count: number, size = 1) => insertTeams(t.app.services, t.databaseUrl, count, size);

let admin: Session | undefined;
const adminSession = async () => (admin ??= await t.loginAdmin());

interface QuizOptions {
  maxTeams?: number;
  durationSeconds?: number;
  questionTimeLimitSeconds?: number;
  startingPoints?: number;
  questions?: ReturnType<typeof questionsOf>;
}

async function draftQuiz(options: QuizOptions = {}) {
  const { questions = [...questionsOf('EASY', 5), ...questionsOf('MEDIUM', 3), ...questionsOf('HARD', 2)], ...input } = options;
  const token = (await adminSession()).accessToken;
  const quiz = data(
    await t.gql(CreateQuiz, { input: { title: 'Friday quiz', maxTeams: 10, durationSeconds: 600, ...input } }, token),
  ).createQuiz;
  if (questions.length > 0) data(await t.gql(AddQuestions, { quizId: quiz.id, questions }, token));
  return quiz;
}

async function openQuiz(options: QuizOptions = {}) {
  const quiz = await draftQuiz(options);
  data(await t.gql(Publish, { id: quiz.id }, (await adminSession()).accessToken));
  return quiz;
}

/** A LIVE quiz with `teams` registered through the API (their owners). */
async function liveQuiz(registered: TestTeam[], options: QuizOptions = {}) {
  const quiz = await openQuiz({ maxTeams: Math.max(2, registered.length), ...options });
  for (const team of registered) data(await t.gql(Register, { quizId: quiz.id, teamId: team.id }, team.owner.accessToken));
  data(await t.gql(Start, { id: quiz.id }, (await adminSession()).accessToken));
  return quiz;
}

async function request(quizId: string, who: Session, difficulty: Difficulty = 'EASY') {
  return data(await t.gql(RequestQuestion, { quizId, difficulty }, who.accessToken)).requestQuestion;
}

/** What the leaderboard must say, recomputed from the assignments: startingPoints − Σ cost + Σ pointsAwarded. */
async function expectPointsRecomputed(quizId: string) {
  const rows = await sql<{ team_id: string; points: number; recomputed: number; correct: number; answered: number; c: number; a: number }>(
    `SELECT r.team_id, r.points, q.starting_points - coalesce(sum(a.cost), 0) + coalesce(sum(a.points_awarded), 0) AS recomputed,
            r.correct_answers AS c, r.answered AS a,
            count(*) FILTER (WHERE a.status = 'CORRECT') AS correct,
            count(*) FILTER (WHERE a.status IN ('CORRECT', 'WRONG')) AS answered
       FROM quiz_registrations r JOIN quizzes q ON q.id = r.quiz_id
       LEFT JOIN question_assignments a ON a.quiz_id = r.quiz_id AND a.team_id = r.team_id
      WHERE r.quiz_id = $1 GROUP BY r.team_id, r.points, q.starting_points, r.correct_answers, r.answered`,
    [quizId],
  );
  for (const row of rows) {
    expect(row.points).toBe(Number(row.recomputed));
    expect(row.points).toBeGreaterThanOrEqual(0);
    expect(row.c).toBe(Number(row.correct));
    expect(row.a).toBe(Number(row.answered));
  }
  return rows;
}

describe('the quiz lifecycle (admins)', () => {
  it('creates a DRAFT with the defaults, then OPEN, LIVE with endsAt = startedAt + duration, ENDED', async () => {
    const token = (await adminSession()).accessToken;
    const quiz = data(await t.gql(CreateQuiz, { input: { title: '  Trivia night ', maxTeams: 2, durationSeconds: 60 } }, token)).createQuiz;
    expect(quiz).toMatchObject({
      title: 'Trivia night',
      status: 'DRAFT',
      maxTeams: 2,
      registeredTeams: 0,
      durationSeconds: 60,
      questionTimeLimitSeconds: 60,
      startingPoints: 100,
      startedAt: null,
      endsAt: null,
    });
    expect(data(await t.gql(Publish, { id: quiz.id }, token)).publishQuiz.status).toBe('OPEN');
    const started = data(await t.gql(Start, { id: quiz.id }, token)).startQuiz;
    expect(started.status).toBe('LIVE');
    expect(Date.parse(started.endsAt!) - Date.parse(started.startedAt!)).toBe(60_000);
    const ended = data(await t.gql(End, { id: quiz.id }, token)).endQuiz;
    expect(ended.status).toBe('ENDED');
    expect(Date.parse(ended.endsAt!)).toBeLessThanOrEqual(Date.now());
  });

  it('every wrong status step is CONFLICT, an unknown quiz NOT_FOUND', async () => {
    const token = (await adminSession()).accessToken;
    const quiz = await draftQuiz();
    expect(codes(await t.gql(Start, { id: quiz.id }, token))).toEqual(['CONFLICT']);
    expect(codes(await t.gql(End, { id: quiz.id }, token))).toEqual(['CONFLICT']);
    data(await t.gql(Publish, { id: quiz.id }, token));
    expect(codes(await t.gql(Publish, { id: quiz.id }, token))).toEqual(['CONFLICT']);
    expect(codes(await t.gql(End, { id: quiz.id }, token))).toEqual(['CONFLICT']);
    data(await t.gql(Start, { id: quiz.id }, token));
    expect(codes(await t.gql(Start, { id: quiz.id }, token))).toEqual(['CONFLICT']);
    expect(codes(await t.gql(Publish, { id: quiz.id }, token))).toEqual(['CONFLICT']);
    data(await t.gql(End, { id: quiz.id }, token));
    expect(codes(await t.gql(End, { id: quiz.id }, token))).toEqual(['CONFLICT']);
    for (const step of [Publish, Start, End]) expect(codes(await t.gql(step, { id: randomUUID() }, token))).toEqual(['NOT_FOUND']);
  });

  it('refuses every input outside its limits with the field that is wrong', async () => {
    const token = (await adminSession()).accessToken;
    const base = { title: 'Fine title', maxTeams: 10, durationSeconds: 60 };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ title: 'ab' }, 'input.title'],
      [{ title: 'x'.repeat(101) }, 'input.title'],
      [{ maxTeams: 1 }, 'input.maxTeams'],
      [{ maxTeams: 10_001 }, 'input.maxTeams'],
      [{ durationSeconds: 4 }, 'input.durationSeconds'],
      [{ durationSeconds: 86_401 }, 'input.durationSeconds'],
      [{ questionTimeLimitSeconds: 0 }, 'input.questionTimeLimitSeconds'],
      [{ questionTimeLimitSeconds: 3601 }, 'input.questionTimeLimitSeconds'],
      [{ startingPoints: -1 }, 'input.startingPoints'],
      [{ startingPoints: 1_000_001 }, 'input.startingPoints'],
    ];
    for (const [change, field] of cases) {
      const result = await t.gql(CreateQuiz, { input: { ...base, ...change } }, token);
      expect(codes(result), field).toEqual(['BAD_USER_INPUT']);
      expect(Object.keys(fieldsOf(result) ?? {}), field).toEqual([field]);
    }
    const quiz = await draftQuiz({ questions: [] });
    const question = { difficulty: 'EASY' as const, prompt: 'Why?', choices: ['a', 'b'], answerIndex: 0 };
    const bad: Array<[Partial<typeof question>, string]> = [
      [{ choices: ['only one'] }, 'questions.0.choices'],
      [{ choices: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] }, 'questions.0.choices'],
      [{ choices: ['a', ''] }, 'questions.0.choices.1'],
      [{ answerIndex: 2 }, 'questions.0.answerIndex'],
      [{ answerIndex: -1 }, 'questions.0.answerIndex'],
      [{ prompt: ' ' }, 'questions.0.prompt'],
      [{ prompt: 'x'.repeat(2001) }, 'questions.0.prompt'],
    ];
    for (const [change, field] of bad) {
      const result = await t.gql(AddQuestions, { quizId: quiz.id, questions: [{ ...question, ...change }] }, token);
      expect(codes(result), field).toEqual(['BAD_USER_INPUT']);
      expect(Object.keys(fieldsOf(result) ?? {}), field).toEqual([field]);
    }
    const tooMany = await t.gql(AddQuestions, { quizId: quiz.id, questions: questionsOf('EASY', 501) }, token);
    expect(codes(tooMany)).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(AddQuestions, { quizId: quiz.id, questions: [] }, token))).toEqual(['BAD_USER_INPUT']);
    // Nothing of a refused call was written.
    expect((await sql('SELECT id FROM quiz_questions WHERE quiz_id = $1', [quiz.id])).length).toBe(0);
    const added = data(await t.gql(AddQuestions, { quizId: quiz.id, questions: questionsOf('EASY', 500) }, token));
    expect(added.addQuizQuestions).toMatchObject({ easy: 500, medium: 0, all: 500 });
  });

  it('takes questions while DRAFT or OPEN only', async () => {
    const token = (await adminSession()).accessToken;
    const quiz = await openQuiz({ questions: questionsOf('MEDIUM', 1) });
    expect(data(await t.gql(AddQuestions, { quizId: quiz.id, questions: questionsOf('MEDIUM', 2) }, token)).addQuizQuestions.medium).toBe(3);
    data(await t.gql(Start, { id: quiz.id }, token));
    expect(codes(await t.gql(AddQuestions, { quizId: quiz.id, questions: questionsOf('EASY', 1) }, token))).toEqual(['CONFLICT']);
    expect(codes(await t.gql(AddQuestions, { quizId: randomUUID(), questions: questionsOf('EASY', 1) }, token))).toEqual(['NOT_FOUND']);
  });

  it('a DRAFT is NOT_FOUND for everyone but admins, and left out of their quizzes', async () => {
    const [user] = await users(1);
    const draft = await draftQuiz();
    const open = await openQuiz();
    expect(codes(await t.gql(GetQuiz, { id: draft.id }, user!.accessToken))).toEqual(['NOT_FOUND']);
    expect(data(await t.gql(GetQuiz, { id: draft.id }, (await adminSession()).accessToken)).quiz?.status).toBe('DRAFT');
    const listed = data(await t.gql(ListQuizzes, { first: 100 }, user!.accessToken)).quizzes.edges.map((edge) => edge.node);
    expect(listed.some((node) => node.id === open.id)).toBe(true);
    expect(listed.some((node) => node.status === 'DRAFT')).toBe(false);
    expect(data(await t.gql(ListQuizzes, { status: 'DRAFT' }, user!.accessToken)).quizzes.totalCount).toBe(0);
    const adminDrafts = data(await t.gql(ListQuizzes, { status: 'DRAFT', first: 100 }, (await adminSession()).accessToken));
    expect(adminDrafts.quizzes.edges.some((edge) => edge.node.id === draft.id)).toBe(true);
  });

  it('pages quizzes newest first', async () => {
    const token = (await adminSession()).accessToken;
    const made = [await draftQuiz(), await draftQuiz(), await draftQuiz()].map((quiz) => quiz.id).reverse();
    const first = data(await t.gql(ListQuizzes, { status: 'DRAFT', first: 2 }, token)).quizzes;
    const second = data(await t.gql(ListQuizzes, { status: 'DRAFT', first: 2, after: first.pageInfo.endCursor }, token)).quizzes;
    const seen = [...first.edges, ...second.edges].map((edge) => edge.node.id);
    expect(seen.slice(0, 3)).toEqual(made);
    expect(first.pageInfo.hasNextPage).toBe(true);
  });
});

describe('registerForQuiz', () => {
  it('the owner registers the team with startingPoints; again is CONFLICT; past maxTeams CAPACITY_REACHED', async () => {
    const [a, b, c] = await teams(3, 2);
    const quiz = await openQuiz({ maxTeams: 2, startingPoints: 40 });
    expect(data(await t.gql(Register, { quizId: quiz.id, teamId: a!.id }, a!.owner.accessToken)).registerForQuiz.registeredTeams).toBe(1);
    expect(codes(await t.gql(Register, { quizId: quiz.id, teamId: a!.id }, a!.owner.accessToken))).toEqual(['CONFLICT']);
    data(await t.gql(Register, { quizId: quiz.id, teamId: b!.id }, b!.owner.accessToken));
    expect(codes(await t.gql(Register, { quizId: quiz.id, teamId: c!.id }, c!.owner.accessToken))).toEqual(['CAPACITY_REACHED']);
    const entry = data(await t.gql(GetQuiz, { id: quiz.id }, a!.members[0]!.accessToken)).quiz!.myEntry;
    expect(entry).toEqual({ rank: 1, points: 40, correctAnswers: 0, answered: 0, team: { id: a!.id } });
    expect(data(await t.gql(GetQuiz, { id: quiz.id }, c!.owner.accessToken)).quiz!.myEntry).toBeNull();
  });

  it('only while OPEN: a DRAFT is NOT_FOUND (CONFLICT for an admin’s team), LIVE and ENDED are CONFLICT', async () => {
    const [team] = await teams(1);
    const draft = await draftQuiz();
    expect(codes(await t.gql(Register, { quizId: draft.id, teamId: team!.id }, team!.owner.accessToken))).toEqual(['NOT_FOUND']);
    const live = await liveQuiz([]);
    expect(codes(await t.gql(Register, { quizId: live.id, teamId: team!.id }, team!.owner.accessToken))).toEqual(['CONFLICT']);
    data(await t.gql(End, { id: live.id }, (await adminSession()).accessToken));
    expect(codes(await t.gql(Register, { quizId: live.id, teamId: team!.id }, team!.owner.accessToken))).toEqual(['CONFLICT']);
    expect(codes(await t.gql(Register, { quizId: randomUUID(), teamId: team!.id }, team!.owner.accessToken))).toEqual(['NOT_FOUND']);
  });

  it('a member or a stranger is FORBIDDEN, an unknown team NOT_FOUND', async () => {
    const [team] = await teams(1, 2);
    const [stranger] = await users(1);
    const quiz = await openQuiz();
    expect(codes(await t.gql(Register, { quizId: quiz.id, teamId: team!.id }, team!.members[0]!.accessToken))).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql(Register, { quizId: quiz.id, teamId: team!.id }, stranger!.accessToken))).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql(Register, { quizId: quiz.id, teamId: randomUUID() }, stranger!.accessToken))).toEqual(['NOT_FOUND']);
    expect(data(await t.gql(GetQuiz, { id: quiz.id }, stranger!.accessToken)).quiz!.registeredTeams).toBe(0);
  });

  it('a registered team cannot be disbanded: its last member leaving is CONFLICT', async () => {
    const [team] = await teams(1);
    const quiz = await openQuiz();
    data(await t.gql(Register, { quizId: quiz.id, teamId: team!.id }, team!.owner.accessToken));
    expect(codes(await t.gql(Leave, { teamId: team!.id }, team!.owner.accessToken))).toEqual(['CONFLICT']);
    expect((await sql('SELECT id FROM teams WHERE id = $1', [team!.id])).length).toBe(1);
  });

  it('45 teams registering at once for 30 places: exactly 30 registered, 15 CAPACITY_REACHED', async () => {
    const racing = await teams(45);
    const quiz = await openQuiz({ maxTeams: 30 });
    const results = await Promise.all(
      racing.map((team) => t.gql(Register, { quizId: quiz.id, teamId: team.id }, team.owner.accessToken)),
    );
    expect(results.filter((result) => result.data?.registerForQuiz).length).toBe(30);
    expect(results.flatMap(codes).sort()).toEqual(Array(15).fill('CAPACITY_REACHED'));
    const [row] = await sql<{ rows: number; taken: number; seats: number }>(
      `SELECT (SELECT count(*)::int FROM quiz_registrations WHERE quiz_id = $1) AS rows,
              (SELECT count(*)::int FROM quiz_seats WHERE quiz_id = $1 AND team_id IS NOT NULL) AS taken,
              (SELECT count(*)::int FROM quiz_seats WHERE quiz_id = $1) AS seats`,
      [quiz.id],
    );
    expect(row).toEqual({ rows: 30, taken: 30, seats: 30 });
    expect(data(await t.gql(GetQuiz, { id: quiz.id }, racing[0]!.owner.accessToken)).quiz!.registeredTeams).toBe(30);
  });

  it('registrations racing startQuiz: each one lands before the start or is CONFLICT, none after it', async () => {
    const racing = await teams(40);
    const quiz = await openQuiz({ maxTeams: 40 });
    const registering = racing.map((team) => t.gql(Register, { quizId: quiz.id, teamId: team.id }, team.owner.accessToken));
    const started = t.gql(Start, { id: quiz.id }, (await adminSession()).accessToken);
    const results = await Promise.all(registering);
    expect(data(await started).startQuiz.status).toBe('LIVE');
    expect(results.flatMap(codes).every((code) => code === 'CONFLICT')).toBe(true);
    // Stamps are whole milliseconds (timestamptz(3)): one in the start's own millisecond cannot be told apart.
    const [row] = await sql<{ registered: number; after: number }>(
      `SELECT count(*)::int AS registered, count(*) FILTER (WHERE r.registered_at > q.started_at)::int AS after
         FROM quiz_registrations r JOIN quizzes q ON q.id = r.quiz_id WHERE r.quiz_id = $1`,
      [quiz.id],
    );
    expect(row!.after).toBe(0);
    expect(row!.registered).toBe(results.filter((result) => result.data).length);
  });
});

describe('requestQuestion and submitAnswer', () => {
  it('assigns a question of that difficulty, taking its cost, with deadline = assignedAt + the time limit', async () => {
    const [team] = await teams(1, 2);
    const quiz = await liveQuiz([team!], { questionTimeLimitSeconds: 90, startingPoints: 100 });
    const assignment = await request(quiz.id, team!.members[0]!, 'HARD');
    expect(assignment).toMatchObject({
      status: 'OPEN',
      cost: 30,
      pointsAwarded: 0,
      answeredAt: null,
      quiz: { id: quiz.id },
      team: { id: team!.id },
      question: { difficulty: 'HARD', choices: ['a', 'b', 'c'] },
    });
    expect(Date.parse(assignment.deadline) - Date.parse(assignment.assignedAt)).toBe(90_000);
    const board = data(await t.gql(GetQuiz, { id: quiz.id }, team!.owner.accessToken)).quiz!;
    expect(board.myEntry).toMatchObject({ points: 70 });
    expect(board.questionsLeft).toBe(9);
    expect(data(await t.gql(MyAssignments, { quizId: quiz.id }, team!.owner.accessToken)).myAssignments).toEqual([
      { id: assignment.id, status: 'OPEN', cost: 30, pointsAwarded: 0, question: { id: assignment.question.id } },
    ]);
  });

  it('never exposes the answer', async () => {
    const result = await t.gql('{ __type(name: "QuizQuestion") { fields { name } } }', {}, (await users(1))[0]!.accessToken);
    expect((result.data as { __type: { fields: { name: string }[] } }).__type.fields.map((field) => field.name).sort()).toEqual([
      'choices',
      'difficulty',
      'id',
      'prompt',
    ]);
  });

  it('a correct answer in time is CORRECT and awards twice the cost; a wrong one WRONG; a second answer CONFLICT', async () => {
    const [team] = await teams(1, 2);
    const quiz = await liveQuiz([team!]);
    const first = await request(quiz.id, team!.owner, 'MEDIUM');
    const correct = data(await t.gql(Submit, { assignmentId: first.id, choiceIndex: 1 }, team!.members[0]!.accessToken)).submitAnswer;
    expect(correct).toMatchObject({ status: 'CORRECT', cost: 20, pointsAwarded: 40 });
    expect(correct.answeredAt).not.toBeNull();
    expect(codes(await t.gql(Submit, { assignmentId: first.id, choiceIndex: 1 }, team!.owner.accessToken))).toEqual(['CONFLICT']);
    const second = await request(quiz.id, team!.owner, 'EASY');
    expect(data(await t.gql(Submit, { assignmentId: second.id, choiceIndex: 0 }, team!.owner.accessToken)).submitAnswer).toMatchObject({
      status: 'WRONG',
      pointsAwarded: 0,
    });
    const entry = data(await t.gql(GetQuiz, { id: quiz.id }, team!.owner.accessToken)).quiz!.myEntry;
    expect(entry).toMatchObject({ points: 100 - 20 + 40 - 10, correctAnswers: 1, answered: 2 });
    await expectPointsRecomputed(quiz.id);
  });

  it('one OPEN assignment per team: another request is CONFLICT until it is answered or past its deadline', async () => {
    const [team] = await teams(1, 2);
    const quiz = await liveQuiz([team!]);
    const open = await request(quiz.id, team!.owner);
    expect(codes(await t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'EASY' }, team!.members[0]!.accessToken))).toEqual([
      'CONFLICT',
    ]);
    // Past its deadline it counts as EXPIRED: read so, and the next request expires it and goes on.
    await sql(`UPDATE question_assignments SET deadline = now() - interval '1 second' WHERE id = $1`, [open.id]);
    expect(data(await t.gql(MyAssignments, { quizId: quiz.id }, team!.owner.accessToken)).myAssignments[0]!.status).toBe('EXPIRED');
    const next = await request(quiz.id, team!.members[0]!);
    expect(next.id).not.toBe(open.id);
    const [stored] = await sql<{ status: string }>('SELECT status FROM question_assignments WHERE id = $1', [open.id]);
    expect(stored!.status).toBe('EXPIRED');
    expect(codes(await t.gql(Submit, { assignmentId: open.id, choiceIndex: 1 }, team!.owner.accessToken))).toEqual(['CONFLICT']);
  });

  it('with a 2-second limit: answered within it counts, answered after it is EXPIRED and awards nothing', async () => {
    const [team] = await teams(1);
    const quiz = await liveQuiz([team!], { questionTimeLimitSeconds: 2 });
    const quick = await request(quiz.id, team!.owner);
    expect(data(await t.gql(Submit, { assignmentId: quick.id, choiceIndex: 1 }, team!.owner.accessToken)).submitAnswer.status).toBe(
      'CORRECT',
    );
    const slow = await request(quiz.id, team!.owner);
    await sleep(Date.parse(slow.deadline) - Date.now() + 50);
    const late = data(await t.gql(Submit, { assignmentId: slow.id, choiceIndex: 1 }, team!.owner.accessToken)).submitAnswer;
    expect(late).toMatchObject({ status: 'EXPIRED', pointsAwarded: 0 });
    expect(data(await t.gql(GetQuiz, { id: quiz.id }, team!.owner.accessToken)).quiz!.myEntry).toMatchObject({
      points: 100 - 10 + 20 - 10,
      correctAnswers: 1,
      answered: 1,
    });
  });

  it('INSUFFICIENT_POINTS when the team cannot pay; points never go negative', async () => {
    const [team] = await teams(1);
    const quiz = await liveQuiz([team!], { startingPoints: 25 });
    const first = await request(quiz.id, team!.owner, 'MEDIUM');
    data(await t.gql(Submit, { assignmentId: first.id, choiceIndex: 0 }, team!.owner.accessToken));
    expect(codes(await t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'MEDIUM' }, team!.owner.accessToken))).toEqual([
      'INSUFFICIENT_POINTS',
    ]);
    expect(codes(await t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'EASY' }, team!.owner.accessToken))).toEqual([
      'INSUFFICIENT_POINTS',
    ]);
    expect(data(await t.gql(GetQuiz, { id: quiz.id }, team!.owner.accessToken)).quiz!.myEntry!.points).toBe(5);
  });

  it('NO_QUESTIONS_LEFT once every question of that difficulty is assigned', async () => {
    const [a, b] = await teams(2);
    const quiz = await liveQuiz([a!, b!], { questions: [...questionsOf('HARD', 1), ...questionsOf('EASY', 1)] });
    await request(quiz.id, a!.owner, 'HARD');
    expect(codes(await t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'HARD' }, b!.owner.accessToken))).toEqual([
      'NO_QUESTIONS_LEFT',
    ]);
    expect((await request(quiz.id, b!.owner, 'EASY')).question.difficulty).toBe('EASY');
  });

  it('QUIZ_NOT_LIVE before the start and after the end; the end expires OPEN assignments', async () => {
    const [team] = await teams(1);
    const quiz = await openQuiz();
    data(await t.gql(Register, { quizId: quiz.id, teamId: team!.id }, team!.owner.accessToken));
    expect(codes(await t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'EASY' }, team!.owner.accessToken))).toEqual([
      'QUIZ_NOT_LIVE',
    ]);
    data(await t.gql(Start, { id: quiz.id }, (await adminSession()).accessToken));
    const open = await request(quiz.id, team!.owner);
    data(await t.gql(End, { id: quiz.id }, (await adminSession()).accessToken));
    expect(data(await t.gql(MyAssignments, { quizId: quiz.id }, team!.owner.accessToken)).myAssignments[0]!.status).toBe('EXPIRED');
    expect((await sql<{ status: string }>('SELECT status FROM question_assignments WHERE id = $1', [open.id]))[0]!.status).toBe(
      'EXPIRED',
    );
    expect(codes(await t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'EASY' }, team!.owner.accessToken))).toEqual([
      'QUIZ_NOT_LIVE',
    ]);
    expect(codes(await t.gql(Submit, { assignmentId: open.id, choiceIndex: 1 }, team!.owner.accessToken))).toEqual(['QUIZ_NOT_LIVE']);
  });

  it('at endsAt nothing more is accepted, even before the end job has run', async () => {
    const [team] = await teams(1);
    const quiz = await liveQuiz([team!]);
    const open = await request(quiz.id, team!.owner);
    await sql(`UPDATE quizzes SET ends_at = now() - interval '1 ms' WHERE id = $1`, [quiz.id]);
    expect(codes(await t.gql(Submit, { assignmentId: open.id, choiceIndex: 1 }, team!.owner.accessToken))).toEqual(['QUIZ_NOT_LIVE']);
    expect(codes(await t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'EASY' }, team!.owner.accessToken))).toEqual([
      'QUIZ_NOT_LIVE',
    ]);
  });

  it('a member of a team that is not registered, or of none, is FORBIDDEN; another team’s assignment NOT_FOUND', async () => {
    const [playing, other] = await teams(2);
    const [loner] = await users(1);
    const quiz = await liveQuiz([playing!]);
    for (const who of [other!.owner, loner!]) {
      expect(codes(await t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'EASY' }, who.accessToken))).toEqual(['FORBIDDEN']);
    }
    const assignment = await request(quiz.id, playing!.owner);
    for (const who of [other!.owner, loner!, await adminSession()]) {
      expect(codes(await t.gql(Submit, { assignmentId: assignment.id, choiceIndex: 1 }, who.accessToken))).toEqual(['NOT_FOUND']);
    }
    expect(codes(await t.gql(Submit, { assignmentId: assignment.id, choiceIndex: 3 }, playing!.owner.accessToken))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(await t.gql(Submit, { assignmentId: assignment.id, choiceIndex: -1 }, playing!.owner.accessToken))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(data(await t.gql(MyAssignments, { quizId: quiz.id }, other!.owner.accessToken)).myAssignments).toEqual([]);
  });
});

describe('the leaderboard', () => {
  it('ranks by points, then whoever reached them earlier, then the earlier registration', async () => {
    const [early, middle, late, idle] = await teams(4);
    const quiz = await liveQuiz([early!, middle!, late!, idle!], { startingPoints: 100 });
    // early and late end on 110 (late got there later); middle on 90; idle stays on 100, registered before late.
    for (const team of [early!, late!]) {
      const assignment = await request(quiz.id, team.owner, 'EASY');
      data(await t.gql(Submit, { assignmentId: assignment.id, choiceIndex: 1 }, team.owner.accessToken));
    }
    const wrong = await request(quiz.id, middle!.owner, 'EASY');
    data(await t.gql(Submit, { assignmentId: wrong.id, choiceIndex: 2 }, middle!.owner.accessToken));
    const board = data(await t.gql(GetQuiz, { id: quiz.id, first: 10 }, idle!.owner.accessToken)).quiz!;
    expect(board.leaderboard.map((entry) => [entry.rank, entry.team.id, entry.points])).toEqual([
      [1, early!.id, 110],
      [2, late!.id, 110],
      [3, idle!.id, 100],
      [4, middle!.id, 90],
    ]);
    expect(board.myEntry).toMatchObject({ rank: 3, points: 100, team: { id: idle!.id } });
    expect(data(await t.gql(GetQuiz, { id: quiz.id }, late!.owner.accessToken)).quiz!.myEntry!.rank).toBe(2);
    expect(data(await t.gql(GetQuiz, { id: quiz.id, first: 2 }, idle!.owner.accessToken)).quiz!.leaderboard.length).toBe(2);
    expect(codes(await t.gql(GetQuiz, { id: quiz.id, first: 101 }, idle!.owner.accessToken))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(GetQuiz, { id: quiz.id, first: 0 }, idle!.owner.accessToken))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('concurrency', () => {
  it('40 teams × 3 members requesting at the same moment: one assignment per team, all questions distinct', async () => {
    const racing = await teams(40, 3);
    const quiz = await liveQuiz(racing, { questions: questionsOf('EASY', 200) });
    const results = await Promise.all(
      racing.flatMap((team) =>
        [team.owner, ...team.members].map((who) => t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'EASY' }, who.accessToken)),
      ),
    );
    const assigned = results.flatMap((result) => (result.data ? [result.data.requestQuestion] : []));
    expect(assigned.length).toBe(40);
    expect(new Set(assigned.map((assignment) => assignment.team.id)).size).toBe(40);
    expect(new Set(assigned.map((assignment) => assignment.question.id)).size).toBe(40);
    expect(results.flatMap(codes)).toEqual(Array(80).fill('CONFLICT'));
    const perTeam = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM question_assignments WHERE quiz_id = $1 GROUP BY team_id`,
      [quiz.id],
    );
    expect(perTeam.map((row) => row.n)).toEqual(Array(40).fill(1));
    await expectPointsRecomputed(quiz.id);
  });

  it('the pool drained by racing teams: every question assigned exactly once, then NO_QUESTIONS_LEFT', async () => {
    const racing = await teams(30);
    const quiz = await liveQuiz(racing, { questions: questionsOf('EASY', 100), startingPoints: 1000 });
    // Each team takes and answers questions as fast as it can, until none is left.
    const drain = async (team: TestTeam) => {
      const taken: string[] = [];
      for (;;) {
        const result = await t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'EASY' }, team.owner.accessToken);
        if (!result.data) return { taken, code: codes(result)[0] };
        taken.push(result.data.requestQuestion.question.id);
        data(await t.gql(Submit, { assignmentId: result.data.requestQuestion.id, choiceIndex: taken.length % 3 }, team.owner.accessToken));
      }
    };
    const outcomes = await Promise.all(racing.map(drain));
    expect(outcomes.map((outcome) => outcome.code)).toEqual(Array(30).fill('NO_QUESTIONS_LEFT'));
    const all = outcomes.flatMap((outcome) => outcome.taken);
    expect(all.length).toBe(100);
    expect(new Set(all).size).toBe(100);
    const [row] = await sql<{ assignments: number; distinct: number; left: number }>(
      `SELECT count(*)::int AS assignments, count(DISTINCT question_id)::int AS distinct,
              (SELECT count(*)::int FROM quiz_questions WHERE quiz_id = $1 AND NOT assigned) AS left
         FROM question_assignments WHERE quiz_id = $1`,
      [quiz.id],
    );
    expect(row).toEqual({ assignments: 100, distinct: 100, left: 0 });
    await expectPointsRecomputed(quiz.id);
  });

  it('requests and answers racing endQuiz: nothing is assigned or scored after the end, no OPEN assignment left', async () => {
    const racing = await teams(40, 2);
    const quiz = await liveQuiz(racing, { questions: questionsOf('EASY', 200) });
    const opened = await Promise.all(racing.map((team) => request(quiz.id, team.owner)));
    const ending = t.gql(End, { id: quiz.id }, (await adminSession()).accessToken);
    const plays = await Promise.all([
      ...opened.map((assignment, i) => t.gql(Submit, { assignmentId: assignment.id, choiceIndex: 1 }, racing[i]!.members[0]!.accessToken)),
      ...racing.map((team) => t.gql(RequestQuestion, { quizId: quiz.id, difficulty: 'EASY' }, team.owner.accessToken)),
    ]);
    expect(data(await ending).endQuiz.status).toBe('ENDED');
    for (const result of plays) if (result.errors) expect(codes(result)).toSatisfy((c: string[]) => ['QUIZ_NOT_LIVE', 'CONFLICT'].includes(c[0]!));
    const [row] = await sql<{ open: number; after: number }>(
      `SELECT count(*) FILTER (WHERE a.status = 'OPEN')::int AS open,
              count(*) FILTER (WHERE a.assigned_at > q.ends_at OR a.answered_at > q.ends_at)::int AS after
         FROM question_assignments a JOIN quizzes q ON q.id = a.quiz_id WHERE a.quiz_id = $1`,
      [quiz.id],
    );
    expect(row).toEqual({ open: 0, after: 0 });
    await expectPointsRecomputed(quiz.id);
  });
});

describe('who may do what', () => {
  it('admin / team owner / member / other team / anonymous × every mutation and myAssignments', async () => {
    const [team, other] = await teams(2, 2);
    const roles: Record<string, string | undefined> = {
      admin: (await adminSession()).accessToken,
      owner: team!.owner.accessToken,
      member: team!.members[0]!.accessToken,
      otherTeam: other!.owner.accessToken,
      anonymous: undefined,
    };
    const live = await liveQuiz([team!]);
    const assignment = await request(live.id, team!.owner);
    const adminOnly = (code: string) => ({ admin: 'ok', owner: code, member: code, otherTeam: code, anonymous: 'UNAUTHENTICATED' });
    // Each case builds its own target, so that one role's success does not change what the next one meets.
    const cases: Array<[string, (token: string | undefined) => Promise<GraphQLResponse<unknown>>, Record<string, string>]> = [
      [
        'createQuiz',
        (token) => t.gql(CreateQuiz, { input: { title: 'Matrix', maxTeams: 2, durationSeconds: 60 } }, token),
        adminOnly('FORBIDDEN'),
      ],
      [
        'addQuizQuestions',
        async (token) => t.gql(AddQuestions, { quizId: (await draftQuiz({ questions: [] })).id, questions: questionsOf('EASY', 1) }, token),
        adminOnly('FORBIDDEN'),
      ],
      ['publishQuiz', async (token) => t.gql(Publish, { id: (await draftQuiz()).id }, token), adminOnly('FORBIDDEN')],
      ['startQuiz', async (token) => t.gql(Start, { id: (await openQuiz()).id }, token), adminOnly('FORBIDDEN')],
      ['endQuiz', async (token) => t.gql(End, { id: (await liveQuiz([])).id }, token), adminOnly('FORBIDDEN')],
      [
        'registerForQuiz',
        async (token) => t.gql(Register, { quizId: (await openQuiz()).id, teamId: team!.id }, token),
        { admin: 'FORBIDDEN', owner: 'ok', member: 'FORBIDDEN', otherTeam: 'FORBIDDEN', anonymous: 'UNAUTHENTICATED' },
      ],
      [
        'requestQuestion',
        async (token) => {
          await sql(`UPDATE question_assignments SET status = 'EXPIRED' WHERE quiz_id = $1 AND status = 'OPEN'`, [live.id]);
          return t.gql(RequestQuestion, { quizId: live.id, difficulty: 'EASY' }, token);
        },
        { admin: 'FORBIDDEN', owner: 'ok', member: 'ok', otherTeam: 'FORBIDDEN', anonymous: 'UNAUTHENTICATED' },
      ],
      [
        'submitAnswer',
        async (token) => {
          await sql(`UPDATE question_assignments SET status = 'OPEN', answered_at = NULL, points_awarded = 0 WHERE id = $1`, [
            assignment.id,
          ]);
          await sql(`UPDATE question_assignments SET status = 'EXPIRED' WHERE quiz_id = $1 AND status = 'OPEN' AND id <> $2`, [
            live.id,
            assignment.id,
          ]);
          return t.gql(Submit, { assignmentId: assignment.id, choiceIndex: 0 }, token);
        },
        { admin: 'NOT_FOUND', owner: 'ok', member: 'ok', otherTeam: 'NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
      ],
      [
        'myAssignments',
        (token) => t.gql(MyAssignments, { quizId: live.id }, token),
        { admin: 'ok', owner: 'ok', member: 'ok', otherTeam: 'ok', anonymous: 'UNAUTHENTICATED' },
      ],
    ];
    const seen: Record<string, Record<string, string>> = {};
    const expected: Record<string, Record<string, string>> = {};
    for (const [name, run, outcome] of cases) {
      seen[name] = {};
      expected[name] = outcome;
      for (const [role, token] of Object.entries(roles)) {
        const result = await run(token);
        seen[name][role] = result.errors ? codes(result).join(',') : 'ok';
      }
    }
    expect(seen).toEqual(expected);
  });
});
