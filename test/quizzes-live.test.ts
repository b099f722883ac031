import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LEADERBOARD_INTERVAL_MS } from '../src/modules/quizzes/leaderboard-feed.js';
import { graphql } from './gql/index.js';
import { type GraphQLResponse, useTestApp } from './helpers/app.js';
import { eventually, type LiveResult, sseSubscribe, wsClient } from './helpers/live.js';
import { insertTeams, type Player, questionsOf, sqlOn, type TestTeam } from './helpers/quizzes.js';

/**
 * leaderboardUpdated against a real listening server with its workers, over
 * graphql-ws and SSE, on both event buses: the first event, coalescing, the
 * final standings and completion — after endQuiz, and by the end job alone.
 */

const CreateQuiz = graphql(`mutation LiveQuizCreate($input: CreateQuizInput!) { createQuiz(input: $input) { id } }`);
const AddQuestions = graphql(`
  mutation LiveQuizQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) { addQuizQuestions(quizId: $quizId, questions: $questions) { id } }
`);
const Publish = graphql(`mutation LiveQuizPublish($id: ID!) { publishQuiz(id: $id) { id } }`);
const Start = graphql(`mutation LiveQuizStart($id: ID!) { startQuiz(id: $id) { id endsAt } }`);
const End = graphql(`mutation LiveQuizEnd($id: ID!) { endQuiz(id: $id) { id status } }`);
const Register = graphql(`mutation LiveQuizRegister($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id } }`);
const RequestQuestion = graphql(`
  mutation LiveQuizRequest($quizId: ID!) { requestQuestion(quizId: $quizId, difficulty: EASY) { id } }
`);
const Submit = graphql(`
  mutation LiveQuizSubmit($assignmentId: ID!, $choiceIndex: Int!) { submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { status } }
`);
const Watch = graphql(`
  subscription LiveLeaderboard($quizId: ID!, $first: Int) {
    leaderboardUpdated(quizId: $quizId, first: $first) { final quiz { id status } entries { rank points answered team { id } } }
  }
`);
const WatchMine = graphql(`
  subscription LiveLeaderboardMine($quizId: ID!) {
    leaderboardUpdated(quizId: $quizId) { final quiz { myEntry { rank points team { id } } } }
  }
`);

type Board = {
  leaderboardUpdated: { final: boolean; quiz: { id: string; status: string }; entries: Array<{ rank: number; points: number; answered: number; team: { id: string } }> };
};

function data<T>(result: GraphQLResponse<T>): T {
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data;
}
const bearer = (who: { accessToken: string }) => `Bearer ${who.accessToken}`;
const codesOf = (results: LiveResult[]) => results.flatMap((result) => result.errors ?? []).map((error) => error.extensions?.code);

describe.each(['redis', 'postgres'] as const)('the live leaderboard on the %s event bus', (backend) => {
  const t = useTestApp(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}, { workers: true });
  let baseUrl = '';
  let admin: Player;
  beforeAll(async () => {
    baseUrl = await t.app.start();
    admin = await t.loginAdmin();
  });

  const teams = (count: number, size = 1) => insertTeams(t.app.services, t.databaseUrl, count, size);

  /** A LIVE quiz of `registered` teams, 100 points each. */
  const liveQuiz = async (registered: TestTeam[], durationSeconds = 600) => {
    const { id } = data(
      await t.gql(CreateQuiz, { input: { title: 'Live quiz', maxTeams: Math.max(2, registered.length), durationSeconds } }, admin.accessToken),
    ).createQuiz;
    data(await t.gql(AddQuestions, { quizId: id, questions: questionsOf('EASY', 200) }, admin.accessToken));
    data(await t.gql(Publish, { id }, admin.accessToken));
    // One after another: the registration order breaks ties of the standings, which the tests read.
    for (const team of registered) data(await t.gql(Register, { quizId: id, teamId: team.id }, team.owner.accessToken));
    const { endsAt } = data(await t.gql(Start, { id }, admin.accessToken)).startQuiz;
    return { id, endsAt: Date.parse(endsAt!) };
  };

  /** One question taken and answered by `team` (right: +10 net, wrong: −10). */
  const play = async (quizId: string, team: TestTeam, right: boolean) => {
    const assignment = data(await t.gql(RequestQuestion, { quizId }, team.owner.accessToken)).requestQuestion;
    data(await t.gql(Submit, { assignmentId: assignment.id, choiceIndex: right ? 1 : 0 }, team.owner.accessToken));
  };

  const boards = (results: Array<LiveResult<Board>>) => results.map((result) => result.data!.leaderboardUpdated);

  it('the standings now, then after changes, then final: true and the stream completes (graphql-ws)', async () => {
    const [a, b] = await teams(2);
    const quiz = await liveQuiz([a!, b!]);
    const client = wsClient(baseUrl, bearer(b!.owner));
    try {
      const feed = client.subscribe(Watch, { quizId: quiz.id, first: 5 });
      const [first] = boards((await feed.waitForResults(1)) as Array<LiveResult<Board>>);
      expect(first).toMatchObject({ final: false, quiz: { id: quiz.id, status: 'LIVE' } });
      expect(first!.entries.map((entry) => [entry.rank, entry.team.id, entry.points])).toEqual([
        [1, a!.id, 100],
        [2, b!.id, 100],
      ]);
      await play(quiz.id, b!, true);
      await eventually(() => boards(feed.results as Array<LiveResult<Board>>).some((board) => board.entries[0]!.team.id === b!.id), 'b ahead');
      expect(boards(feed.results as Array<LiveResult<Board>>).at(-1)!.entries.map((entry) => entry.points)).toEqual([110, 100]);
      data(await t.gql(End, { id: quiz.id }, admin.accessToken));
      expect(await feed.ended).toEqual({ completed: true });
      const last = boards(feed.results as Array<LiveResult<Board>>).at(-1)!;
      expect(last).toMatchObject({ final: true, quiz: { status: 'ENDED' } });
      expect(last.entries.map((entry) => [entry.team.id, entry.points])).toEqual([
        [b!.id, 110],
        [a!.id, 100],
      ]);
      // One final event, and it is the last.
      expect(boards(feed.results as Array<LiveResult<Board>>).filter((board) => board.final).length).toBe(1);
    } finally {
      await client.dispose();
    }
  });

  it('coalesces a burst to at most one event per interval and ends on the latest standings', async () => {
    const racing = await teams(20);
    const quiz = await liveQuiz(racing);
    const client = wsClient(baseUrl, bearer(racing[0]!.owner));
    try {
      const feed = client.subscribe(Watch, { quizId: quiz.id, first: 20 });
      await feed.waitForResults(1);
      const started = Date.now();
      const seen = feed.results.length;
      // 20 teams × 3 rounds of a question and an answer: 120 changes of the standings.
      for (let round = 0; round < 3; round += 1) {
        await Promise.all(racing.map((team, i) => play(quiz.id, team, (i + round) % 2 === 0)));
      }
      const expected = await sqlOn<{ team_id: string; points: number }>(
        t.databaseUrl,
        `SELECT team_id, points FROM quiz_registrations WHERE quiz_id = $1
          ORDER BY points DESC, points_changed_at, registered_at, team_id`,
        [quiz.id],
      );
      const latest = () => boards(feed.results as Array<LiveResult<Board>>).at(-1)!;
      await eventually(
        () => latest().entries.every((entry, i) => entry.team.id === expected[i]!.team_id && entry.points === expected[i]!.points),
        'the latest standings',
      );
      const events = feed.results.length - seen;
      // Every event but the first of the window waits out the interval: at most one per interval (+1 for the edge).
      expect(events).toBeGreaterThan(0);
      expect(events).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / LEADERBOARD_INTERVAL_MS) + 1);
      expect(events).toBeLessThan(120);
    } finally {
      await client.dispose();
    }
  });

  it('ends by itself at endsAt (the delayed job, no endQuiz): final standings, then complete; OPEN assignments EXPIRED', async () => {
    const [team] = await teams(1);
    const other = (await teams(1))[0]!;
    const quiz = await liveQuiz([team!, other], 5);
    const open = data(await t.gql(RequestQuestion, { quizId: quiz.id }, team!.owner.accessToken)).requestQuestion;
    const feed = await sseSubscribe(baseUrl, Watch, { quizId: quiz.id }, bearer(other.owner));
    expect(feed.status).toBe(200);
    const outcome = await Promise.race([feed.ended, new Promise((resolve) => setTimeout(() => resolve('timeout'), 20_000))]);
    expect(outcome).toEqual({ completed: true });
    expect(Date.now()).toBeGreaterThanOrEqual(quiz.endsAt);
    const last = boards(feed.results as Array<LiveResult<Board>>).at(-1)!;
    expect(last).toMatchObject({ final: true, quiz: { status: 'ENDED' } });
    const [row] = await sqlOn<{ status: string }>(t.databaseUrl, 'SELECT status FROM question_assignments WHERE id = $1', [open.id]);
    expect(row!.status).toBe('EXPIRED');
  });

  it('an ENDED quiz: the final standings, then complete', async () => {
    const [team] = await teams(1);
    const quiz = await liveQuiz([team!]);
    data(await t.gql(End, { id: quiz.id }, admin.accessToken));
    const client = wsClient(baseUrl, bearer(team!.owner));
    try {
      const feed = client.subscribe(Watch, { quizId: quiz.id });
      expect(await feed.ended).toEqual({ completed: true });
      expect(boards(feed.results as Array<LiveResult<Board>>)).toEqual([
        { final: true, quiz: { id: quiz.id, status: 'ENDED' }, entries: [{ rank: 1, points: 100, answered: 0, team: { id: team!.id } }] },
      ]);
    } finally {
      await client.dispose();
    }
  });

  it('myEntry is each watcher’s own team, though the standings are shared', async () => {
    const [a, b] = await teams(2);
    const quiz = await liveQuiz([a!, b!]);
    await play(quiz.id, a!, true);
    const clients = [wsClient(baseUrl, bearer(a!.owner)), wsClient(baseUrl, bearer(b!.owner))];
    try {
      const feeds = clients.map((client) => client.subscribe(WatchMine, { quizId: quiz.id }));
      const firsts = await Promise.all(feeds.map(async (feed) => (await feed.waitForResults(1))[0]!.data!.leaderboardUpdated.quiz.myEntry));
      expect(firsts).toEqual([
        { rank: 1, points: 110, team: { id: a!.id } },
        { rank: 2, points: 100, team: { id: b!.id } },
      ]);
      await play(quiz.id, b!, true);
      await play(quiz.id, b!, true);
      await eventually(
        () => feeds.every((feed) => feed.results.at(-1)!.data!.leaderboardUpdated.quiz.myEntry!.rank === (feed === feeds[0] ? 2 : 1)),
        'b ahead, for each watcher',
      );
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });

  it('a DRAFT is NOT_FOUND for a non-admin; anonymous is UNAUTHENTICATED', async () => {
    const { id } = data(await t.gql(CreateQuiz, { input: { title: 'Draft quiz', maxTeams: 2, durationSeconds: 60 } }, admin.accessToken))
      .createQuiz;
    const [team] = await teams(1);
    const client = wsClient(baseUrl, bearer(team!.owner));
    const anonymous = wsClient(baseUrl);
    try {
      const refused = client.subscribe(Watch, { quizId: id });
      expect(await refused.ended).toEqual({ completed: true });
      expect(codesOf(refused.results)).toEqual(['NOT_FOUND']);
      const anon = anonymous.subscribe(Watch, { quizId: id });
      expect(await anon.ended).toEqual({ completed: true });
      expect(codesOf(anon.results)).toEqual(['UNAUTHENTICATED']);
    } finally {
      await Promise.all([client.dispose(), anonymous.dispose()]);
    }
  });
});
