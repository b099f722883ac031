/**
 * The `quiz` scenario (issue 13, item 7), on one API process and an embedded
 * PostgreSQL cluster of its own (pg_stat_statements loaded), PostgreSQL
 * backend (quizzes publish on the bus and enqueue one delayed job per quiz:
 * Redis has nothing to add; the worker is stopped once the shop is up).
 *
 *   (a) registrations: BENCH_TEAMS teams (one owner each) register for one
 *       OPEN quiz from BENCH_CLIENTS closed-loop clients — registrations/s,
 *       p50/p95/p99; then the same through `quiz_register` called straight
 *       on a pg pool of 10 (the API's), no HTTP or GraphQL: the ceiling;
 *   (b) question requests: BENCH_PLAY_TEAMS teams × 3 members request a
 *       question and answer it, for BENCH_DURATION s, from BENCH_CLIENTS
 *       clients — assignments/s, p99 per operation, and the no-duplicate
 *       check in SQL; then the same two functions on the pool: the ceiling;
 *   (c) fan-out: BENCH_WATCHERS graphql-ws watchers of the quiz of (b)
 *       (leaderboardUpdated, first: 10), opened by BENCH_DRIVERS driver
 *       processes, while a few clients keep answering; then endQuiz — the
 *       time from sending it to the final standings at every watcher
 *       (p50/p99/max), and the API's RSS per watcher.
 * The HTTP drivers are this file with `--driver <job.json>`; the WebSocket
 * ones ws-watchers.ts, shared with `fanout`. Users are inserted straight into the database
 * (insertUsers, no argon2) with tokens signed by the run's JWT_SECRET.
 * Misses are printed, never an exit code.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { AppServices } from '../src/core/context.js';
import { closeDb, createDb } from '../src/infra/db.js';
import { signAccessToken } from '../src/modules/auth/auth.service.js';
import { insertUsers, signUserTokens } from '../test/harness/users.js';
import { sleep } from '../test/harness/wait.js';
import {
  benchFile,
  busyCores,
  type Child,
  envPositiveNumber,
  hostCpuTimes,
  machineSummary,
  NODE,
  readCpuSeconds,
  readCpuSecondsWithReaped,
  readDescendantsCpuSeconds,
  readRss,
  runToCompletion,
  table,
  tail,
  TSX_IMPORT,
  waitForFile,
} from './lib.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { epochMs, startWatchers, type WatchersResult } from './ws-watchers.js';
import { finishBenchRun, graphql, KeepAliveConnection, type Shop, startBenchRun, startShop } from './system.js';

const TARGETS = { registrationsPerSecond: 1500, registrationP95Ms: 100, assignmentsPerSecond: 1000, assignmentP99Ms: 100, finalP99Ms: 1000 };
/** The published quiz backend this scenario is compared with (issue 13). */
const REFERENCE = { registrationsPerSecond: 272, registrationP95Ms: 499 };

const REGISTER = 'mutation ($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id } }';
const REQUEST = 'mutation ($quizId: ID!) { requestQuestion(quizId: $quizId, difficulty: EASY) { id } }';
const SUBMIT = 'mutation ($id: ID!, $choice: Int!) { submitAnswer(assignmentId: $id, choiceIndex: $choice) { status } }';
const WATCH = 'subscription ($quizId: ID!) { leaderboardUpdated(quizId: $quizId, first: 10) { final entries { rank points team { id } } } }';

// ---------------------------------------------------------------------------
// The HTTP driver (`node --import tsx bench/quiz.ts --driver <job.json>`)

interface PlayTeam {
  id: string;
  /** The owner's token first, then the members'. */
  tokens: string[];
}

interface DriverJob {
  url: string;
  kind: 'register' | 'play';
  quizId: string;
  clients: number;
  teams: PlayTeam[];
  /** play: how long. */
  durationSeconds: number;
}

interface OperationStats {
  latencies: number[];
  ok: number;
  codes: Record<string, number>;
}

export interface DriverResult {
  wallSeconds: number;
  operations: Record<string, OperationStats>;
  driverCpuPercent: number;
}

async function driverMain(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[3] ?? '', 'utf8')) as DriverJob;
  const url = new URL(job.url);
  if (url.hostname !== '127.0.0.1') throw new Error('bench traffic must target 127.0.0.1');
  const operations: Record<string, OperationStats> = {};
  const stats = (name: string) => (operations[name] ??= { latencies: [], ok: 0, codes: {} });
  const call = async (connection: KeepAliveConnection, name: string, body: string, token: string) => {
    const started = performance.now();
    let text: string;
    try {
      text = (await connection.post(body, 30_000, token)).text;
    } catch (error) {
      const entry = stats(name);
      entry.codes[`transport: ${(error as Error).message}`] = (entry.codes[`transport: ${(error as Error).message}`] ?? 0) + 1;
      return undefined;
    }
    const entry = stats(name);
    entry.latencies.push(performance.now() - started);
    const answer = JSON.parse(text) as { data?: Record<string, { id?: string; status?: string } | null> | null; errors?: { extensions?: { code?: string } }[] };
    if (answer.errors?.length) {
      const code = answer.errors[0]!.extensions?.code ?? 'no code';
      entry.codes[code] = (entry.codes[code] ?? 0) + 1;
      return undefined;
    }
    entry.ok += 1;
    return answer.data;
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  if (job.kind === 'register') {
    let next = 0;
    await Promise.all(
      Array.from({ length: job.clients }, async () => {
        const connection = new KeepAliveConnection(url, '');
        while (next < job.teams.length) {
          const team = job.teams[next++]!;
          await call(connection, 'registerForQuiz', JSON.stringify({ query: REGISTER, variables: { quizId: job.quizId, teamId: team.id } }), team.tokens[0]!);
        }
        connection.close();
      }),
    );
  } else {
    const deadline = started + job.durationSeconds * 1000;
    let seed = 1;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    await Promise.all(
      Array.from({ length: job.clients }, async (_, client) => {
        const connection = new KeepAliveConnection(url, '');
        const mine = job.teams.filter((_team, i) => i % job.clients === client);
        for (let turn = 0; performance.now() < deadline && mine.length > 0; turn += 1) {
          const team = mine[turn % mine.length]!;
          // One member asks, another answers: any member may do either.
          const asker = team.tokens[Math.floor(random() * team.tokens.length)]!;
          const answerer = team.tokens[Math.floor(random() * team.tokens.length)]!;
          const data = await call(connection, 'requestQuestion', JSON.stringify({ query: REQUEST, variables: { quizId: job.quizId } }), asker);
          const id = data?.requestQuestion?.id;
          if (!id) continue;
          await call(connection, 'submitAnswer', JSON.stringify({ query: SUBMIT, variables: { id, choice: Math.floor(random() * 3) } }), answerer);
        }
        connection.close();
      }),
    );
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const result: DriverResult = { wallSeconds, operations, driverCpuPercent: ((cpu.user + cpu.system) / 1e6 / wallSeconds) * 100 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------
// The scenario

interface Settings {
  teams: number;
  playTeams: number;
  clients: number;
  durationSeconds: number;
  watchers: number;
  drivers: number;
  logLevel: string;
}

interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

interface Phase {
  name: string;
  perSecond: number;
  operations: Record<string, { ok: number; perSecond: number; latency: Latency; codes: Record<string, number> }>;
  cpu: { api: number; postgres: number; driver: number; hostBusyCores: number };
}

const percentiles = (values: number[]): Latency => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : NaN);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1) ?? NaN };
};

export async function run(): Promise<unknown> {
  const settings: Settings = {
    teams: Math.round(envPositiveNumber('BENCH_TEAMS', 5000)),
    playTeams: Math.round(envPositiveNumber('BENCH_PLAY_TEAMS', 1000)),
    clients: Math.round(envPositiveNumber('BENCH_CLIENTS', 100)),
    durationSeconds: envPositiveNumber('BENCH_DURATION', 30),
    watchers: Math.round(envPositiveNumber('BENCH_WATCHERS', 5000)),
    drivers: Math.round(envPositiveNumber('BENCH_DRIVERS', 2)),
    logLevel: process.env.BENCH_LOG_LEVEL || 'warn',
  };
  const machine = machineSummary();
  log(`quiz: ${settings.teams} registering teams, ${settings.playTeams} × 3 playing, ${settings.clients} clients, ${settings.durationSeconds} s, ${settings.watchers} watchers`);
  log(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}, load ${machine.loadavg}`);
  const { root, dist, cluster } = await startBenchRun('quiz');
  // BENCH_PROFILE=a, b and/or c (comma-separated): a CPU profile of the API during those phases.
  const profiled = new Set((process.env.BENCH_PROFILE ?? '').split(',').filter(Boolean));
  const profileOut = profiled.size > 0 ? join(root, 'api-profile') : undefined;
  let profiles = 0;
  const profile = async <T>(phase: 'a' | 'b' | 'c', work: () => Promise<T>): Promise<T> => {
    if (!profileOut || !profiled.has(phase)) return work();
    process.kill(shop.api.pid, 'SIGUSR2');
    const result = await work();
    process.kill(shop.api.pid, 'SIGUSR2');
    const file = `${profileOut}-${++profiles}.cpuprofile`;
    await waitForFile(file, 30_000);
    process.stdout.write(`\nCPU profile of the API during (${phase}), ${file}\n${formatSummary(summarizeProfile(file, 25))}\n`);
    return result;
  };
  const shop = await startShop({ cluster, root, name: 'quiz', backend: 'postgres', logLevel: settings.logLevel, dist, profileOut });
  await shop.worker.stop();
  const postmasterPid = cluster.postmasterPid();
  const pool = new pg.Pool({ connectionString: shop.databaseUrl, max: 10 });
  // The cluster stops at the end with the pool's connections still open.
  pool.on('error', () => {});
  try {
    const seeded = await seed(shop, settings);
    const admin = seeded.adminToken;
    const newQuiz = async (title: string, maxTeams: number, status: 'OPEN' | 'LIVE') => {
      const { createQuiz } = await graphql<{ createQuiz: { id: string } }>(
        shop.graphqlUrl,
        'mutation ($input: CreateQuizInput!) { createQuiz(input: $input) { id } }',
        { input: { title, maxTeams, durationSeconds: 86_400, startingPoints: 1_000_000, questionTimeLimitSeconds: 600 } },
        admin,
      );
      await graphql(shop.graphqlUrl, 'mutation ($id: ID!) { publishQuiz(id: $id) { id } }', { id: createQuiz.id }, admin);
      if (status === 'LIVE') await graphql(shop.graphqlUrl, 'mutation ($id: ID!) { startQuiz(id: $id) { id } }', { id: createQuiz.id }, admin);
      return createQuiz.id;
    };
    const measure = async (name: string, job: Omit<DriverJob, 'url'>, child: Child | undefined = shop.api): Promise<Phase> => {
      const file = join(shop.dir, `driver-${name.replace(/\W+/g, '-')}.json`);
      writeFileSync(file, JSON.stringify({ ...job, url: shop.graphqlUrl }));
      const postgresCpu = () => (readCpuSecondsWithReaped(postmasterPid) ?? 0) + readDescendantsCpuSeconds(postmasterPid);
      const before = { api: readCpuSeconds(shop.api.pid) ?? 0, postgres: postgresCpu(), host: hostCpuTimes() };
      const out = await runToCompletion('quiz driver', NODE, [...TSX_IMPORT, benchFile('quiz.ts'), '--driver', file], {
        child: child ?? shop.api,
        describe: () => `its log ends:\n${tail(shop.apiLog)}`,
      });
      const after = { api: readCpuSeconds(shop.api.pid) ?? 0, postgres: postgresCpu(), host: hostCpuTimes() };
      const result = JSON.parse(out.trim().split('\n').pop() ?? '') as DriverResult;
      return phaseOf(name, result, before, after);
    };

    // (a) Registrations.
    const registrationQuiz = await newQuiz('Registrations', settings.teams, 'OPEN');
    log(`(a) ${settings.teams} registrations through the API from ${settings.clients} clients …`);
    const registration = await profile('a', () =>
      measure('registrations, API', { kind: 'register', quizId: registrationQuiz, clients: settings.clients, teams: seeded.registering, durationSeconds: 0 }),
    );
    const [registered] = (await shop.db.query<{ n: number; counter: number }>(
      `SELECT (SELECT count(*)::int FROM quiz_registrations WHERE quiz_id = $1) AS n,
              (SELECT count(*)::int FROM quiz_seats WHERE quiz_id = $1 AND team_id IS NOT NULL) AS counter`,
      [registrationQuiz],
    )).rows;
    const ceilingQuiz = await newQuiz('Registrations, ceiling', settings.teams, 'OPEN');
    log(`(a) ceiling: quiz_register on a pg pool of 10 …`);
    const registrationCeiling = await ceiling(settings.clients, seeded.registering.length, async (i) => {
      const team = seeded.registering[i]!;
      await pool.query('SELECT quiz_register($1, $2, $3, false)', [ceilingQuiz, team.id, seeded.registeringOwners[i]]);
    });

    // (b) Question requests and answers.
    const playQuiz = await newQuiz('Play', settings.playTeams, 'LIVE');
    await prepareQuestions(shop.db, playQuiz, seeded.playing, Math.ceil(settings.durationSeconds * 4000));
    log(`(b) ${settings.playTeams} teams × 3 requesting and answering for ${settings.durationSeconds} s …`);
    const play = await profile('b', () =>
      measure('requests, API', { kind: 'play', quizId: playQuiz, clients: settings.clients, teams: seeded.playing, durationSeconds: settings.durationSeconds }),
    );
    const duplicates = await noDuplicates(shop.db, playQuiz);
    const playCeilingQuiz = await newQuiz('Play, ceiling', settings.playTeams, 'LIVE');
    await prepareQuestions(shop.db, playCeilingQuiz, seeded.playing, Math.ceil(settings.durationSeconds * 4000));
    log(`(b) ceiling: quiz_request_question + quiz_submit_answer on a pg pool of 10 for ${settings.durationSeconds} s …`);
    const playCeiling = await timedCeiling(settings.clients, settings.durationSeconds, seeded.playingMembers, async (member) => {
      const { rows } = await pool.query<{ outcome: string; assignmentId: string }>('SELECT * FROM quiz_request_question($1, $2, false, $3, 10)', [playCeilingQuiz, member, 'EASY']);
      if (rows[0]!.outcome !== 'assigned') return false;
      await pool.query('SELECT * FROM quiz_submit_answer($1, $2, $3)', [rows[0]!.assignmentId, member, 1]);
      return true;
    });
    const ceilingDuplicates = await noDuplicates(shop.db, playCeilingQuiz);

    // (c) Fan-out of the final standings.
    const fanout = await watch(shop, settings, playQuiz, seeded, admin, (work) => profile('c', work));

    const output = { machine, settings, registration, registered, registrationCeiling, play, duplicates, playCeiling, ceilingDuplicates, fanout };
    print(output);
    await pool.end();
    await shop.stop();
    return await finishBenchRun(output, cluster);
  } catch (error) {
    await pool.end().catch(() => {});
    await shop.stop();
    throw error;
  }
}

function phaseOf(
  name: string,
  result: DriverResult,
  before: { api: number; postgres: number; host: ReturnType<typeof hostCpuTimes> },
  after: { api: number; postgres: number; host: ReturnType<typeof hostCpuTimes> },
): Phase {
  const wall = result.wallSeconds;
  const operations = Object.fromEntries(
    Object.entries(result.operations).map(([op, stats]) => [op, { ok: stats.ok, perSecond: stats.ok / wall, latency: percentiles(stats.latencies), codes: stats.codes }]),
  );
  const first = Object.values(operations)[0];
  const phase: Phase = {
    name,
    perSecond: first?.perSecond ?? 0,
    operations,
    cpu: {
      api: ((after.api - before.api) / wall) * 100,
      postgres: ((after.postgres - before.postgres) / wall) * 100,
      driver: result.driverCpuPercent,
      hostBusyCores: busyCores(before.host, after.host),
    },
  };
  log(`${name}: ${Object.entries(operations).map(([op, o]) => `${op} ${o.perSecond.toFixed(0)}/s p99 ${o.latency.p99.toFixed(0)} ms`).join(', ')}; API CPU ${phase.cpu.api.toFixed(0)}%, PG ${phase.cpu.postgres.toFixed(0)}%`);
  return phase;
}

/** `count` calls of `call` from `concurrency` loops: calls per second and their latencies. */
async function ceiling(concurrency: number, count: number, call: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await call(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const perSecond = count / ((performance.now() - started) / 1000);
  log(`  ceiling: ${perSecond.toFixed(0)}/s, p95 ${percentiles(latencies).p95.toFixed(1)} ms`);
  return { perSecond, latency: percentiles(latencies) };
}

/** `concurrency` loops calling `call(member)` for `seconds`, members in turn: successful calls per second. */
async function timedCeiling(concurrency: number, seconds: number, members: string[][], call: (member: string) => Promise<boolean>) {
  const latencies: number[] = [];
  let ok = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      const mine = members.filter((_team, i) => i % concurrency === client);
      for (let turn = 0; performance.now() < deadline && mine.length > 0; turn += 1) {
        const team = mine[turn % mine.length]!;
        const t0 = performance.now();
        if (await call(team[turn % team.length]!)) ok += 1;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const perSecond = ok / ((performance.now() - started) / 1000);
  log(`  ceiling: ${perSecond.toFixed(0)} assignments/s (each with its answer), p99 ${percentiles(latencies).p99.toFixed(1)} ms`);
  return { perSecond, latency: percentiles(latencies) };
}

interface Seeded {
  adminToken: string;
  registering: PlayTeam[];
  registeringOwners: string[];
  playing: PlayTeam[];
  /** The playing teams' user ids, owner first. */
  playingMembers: string[][];
  /** Tokens for the watchers. */
  watcherTokens: string[];
}

/** Users, teams of one for the registrations and of three for the play, straight into the database. */
async function seed(shop: Shop, settings: Settings): Promise<Seeded> {
  const prisma = createDb(shop.databaseUrl, 2);
  let ids: string[];
  try {
    ids = await insertUsers(prisma, settings.teams + settings.playTeams * 3, 'READY');
  } finally {
    await closeDb(prisma);
  }
  const tokens = await signUserTokens(shop.config, ids);
  const { rows: admins } = await shop.db.query<{ id: string }>(`SELECT id FROM users WHERE role = 'ADMIN' LIMIT 1`);
  // signAccessToken reads the config only.
  const adminToken = await signAccessToken({ config: shop.config } as AppServices, { id: admins[0]!.id, role: 'ADMIN' });
  const teams: { id: string; members: number[] }[] = [];
  for (let i = 0; i < settings.teams; i++) teams.push({ id: randomUUID(), members: [i] });
  for (let i = 0; i < settings.playTeams; i++) {
    const first = settings.teams + i * 3;
    teams.push({ id: randomUUID(), members: [first, first + 1, first + 2] });
  }
  await shop.db.query(
    `INSERT INTO teams (id, name, max_size, member_count, updated_at)
     SELECT id, 'Bench team ' || n, greatest(2, size), size, now() FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS v(id, size, n)`,
    [teams.map((team) => team.id), teams.map((team) => team.members.length)],
  );
  const rows = teams.flatMap((team) => team.members.map((member, i) => [team.id, ids[member]!, i === 0 ? 'OWNER' : 'MEMBER']));
  await shop.db.query(
    `INSERT INTO team_members (team_id, user_id, role) SELECT * FROM unnest($1::text[], $2::text[], $3::"TeamRole"[])`,
    [rows.map((row) => row[0]), rows.map((row) => row[1]), rows.map((row) => row[2])],
  );
  const toPlay = (team: { id: string; members: number[] }) => ({ id: team.id, tokens: team.members.map((member) => tokens[member]!) });
  const registering = teams.slice(0, settings.teams);
  const playing = teams.slice(settings.teams);
  log(`seeded ${ids.length} users, ${settings.teams} teams of 1, ${settings.playTeams} teams of 3`);
  return {
    adminToken,
    registering: registering.map(toPlay),
    registeringOwners: registering.map((team) => ids[team.members[0]!]!),
    playing: playing.map(toPlay),
    playingMembers: playing.map((team) => team.members.map((member) => ids[member]!)),
    watcherTokens: tokens,
  };
}

/** The playing teams registered (straight in SQL: (a) measures registering) and `count` EASY questions. */
async function prepareQuestions(db: pg.Client, quizId: string, teams: PlayTeam[], count: number): Promise<void> {
  // The quiz was opened with one seat per playing team.
  await db.query(
    `UPDATE quiz_seats s SET team_id = v.id FROM unnest($2::text[]) WITH ORDINALITY AS v(id, n)
      WHERE s.quiz_id = $1 AND s.seat = v.n`,
    [quizId, teams.map((team) => team.id)],
  );
  await db.query(
    `INSERT INTO quiz_registrations (quiz_id, team_id, seat, points, points_changed_at, registered_at)
     SELECT $1, id, n, 1000000, clock_timestamp(), clock_timestamp() FROM unnest($2::text[]) WITH ORDINALITY AS v(id, n)`,
    [quizId, teams.map((team) => team.id)],
  );
  await db.query(
    `INSERT INTO quiz_questions (id, quiz_id, difficulty, prompt, choices, answer_index)
     SELECT gen_random_uuid()::text, $1, 'EASY', 'Question ' || n, ARRAY['a', 'b', 'c'], 1 FROM generate_series(1, $2) AS n`,
    [quizId, count],
  );
  await db.query('ANALYZE');
}

async function noDuplicates(db: pg.Client, quizId: string) {
  const { rows } = await db.query<{ assignments: number; questions: number; flagged: number; openPerTeamMax: number }>(
    `SELECT count(*)::int AS assignments, count(DISTINCT question_id)::int AS questions,
            (SELECT count(*)::int FROM quiz_questions WHERE quiz_id = $1 AND assigned) AS flagged,
            coalesce((SELECT max(n)::int FROM (SELECT count(*) AS n FROM question_assignments
                       WHERE quiz_id = $1 AND status = 'OPEN' GROUP BY team_id) o), 0) AS "openPerTeamMax"
       FROM question_assignments WHERE quiz_id = $1`,
    [quizId],
  );
  const row = rows[0]!;
  return { ...row, pass: row.assignments === row.questions && row.questions === row.flagged && row.openPerTeamMax <= 1 };
}

/** (c): watchers, a trickle of answers, then endQuiz; the time to the final standings at each watcher. */
async function watch(
  shop: Shop,
  settings: Settings,
  quizId: string,
  seeded: Seeded,
  admin: string,
  profile: (work: () => Promise<void>) => Promise<void>,
) {
  const wsUrl = `${shop.apiUrl.replace(/^http/, 'ws')}/graphql`;
  const idleRss = readRss(shop.api.pid) ?? 0;
  const share = Math.ceil(settings.watchers / settings.drivers);
  log(`(c) ${settings.watchers} watchers from ${settings.drivers} drivers …`);
  const watchers = startWatchers(
    shop.dir,
    'quiz',
    Array.from({ length: settings.drivers }, (_, d) => ({
      url: wsUrl,
      query: WATCH,
      variables: { quizId },
      field: 'leaderboardUpdated',
      key: 'final',
      equals: true,
      // Each watcher a user of its own (WS_MAX_CONNECTIONS_PER_USER).
      authorizations: seeded.watcherTokens
        .slice(d * share, Math.min(settings.watchers, (d + 1) * share))
        .map((token) => `Bearer ${token}`),
      timeoutMs: 120_000,
    })),
  );
  try {
    const subscribed = await watchers.ready;
    await sleep(2000);
    const watchingRss = readRss(shop.api.pid) ?? 0;
    log(`(c) ${subscribed} subscribed; answers streaming for 10 s, then endQuiz …`);
    const trickleFile = join(shop.dir, 'driver-trickle.json');
    writeFileSync(trickleFile, JSON.stringify({ url: shop.graphqlUrl, kind: 'play', quizId, clients: 10, teams: seeded.playing, durationSeconds: 10 } satisfies DriverJob));
    const trickle = await runToCompletion('quiz trickle', NODE, [...TSX_IMPORT, benchFile('quiz.ts'), '--driver', trickleFile], {
      child: shop.api,
      describe: () => `its log ends:\n${tail(shop.apiLog)}`,
    });
    const answersPerSecond = (JSON.parse(trickle.trim().split('\n').pop() ?? '{}') as DriverResult).operations.submitAnswer?.ok ?? 0;
    let endSent = 0;
    let results: WatchersResult[] = [];
    await profile(async () => {
      endSent = epochMs();
      await graphql(shop.graphqlUrl, 'mutation ($id: ID!) { endQuiz(id: $id) { id } }', { id: quizId }, admin);
      log(`(c) endQuiz answered in ${(epochMs() - endSent).toFixed(0)} ms`);
      results = await watchers.results;
    });
    const delays: number[] = [];
    let missing = 0;
    const events: number[] = [];
    const failures: Record<string, number> = {};
    for (const result of results) {
      for (const final of result.arrivals) {
        if (final === null) missing += 1;
        else delays.push(final - endSent);
      }
      events.push(...result.events);
      for (const [reason, n] of Object.entries(result.failures)) failures[reason] = (failures[reason] ?? 0) + n;
    }
    const delivery = percentiles(delays);
    const sortedEvents = [...events].sort((a, b) => a - b);
    const out = {
      subscribed,
      missing,
      delivery,
      answers: answersPerSecond / 10,
      eventsPerWatcher: { median: sortedEvents[Math.floor(sortedEvents.length / 2)] ?? 0, max: sortedEvents.at(-1) ?? 0 },
      rssPerWatcherKb: (watchingRss - idleRss) / 1024 / Math.max(1, subscribed),
      idleRssMb: idleRss / 1024 / 1024,
      watchingRssMb: watchingRss / 1024 / 1024,
      failures,
    };
    log(`(c) final standings: p50 ${delivery.p50.toFixed(0)} ms, p99 ${delivery.p99.toFixed(0)} ms, max ${delivery.max.toFixed(0)} ms, missing ${missing}`);
    return out;
  } finally {
    await watchers.stop();
  }
}

function print(output: {
  machine: ReturnType<typeof machineSummary>;
  settings: Settings;
  registration: Phase;
  registered: { n: number; counter: number } | undefined;
  registrationCeiling: { perSecond: number; latency: Latency };
  play: Phase;
  duplicates: Awaited<ReturnType<typeof noDuplicates>>;
  playCeiling: { perSecond: number; latency: Latency };
  ceilingDuplicates: Awaited<ReturnType<typeof noDuplicates>>;
  fanout: Awaited<ReturnType<typeof watch>>;
}): void {
  const { machine, settings, registration, registrationCeiling, play, playCeiling, fanout, duplicates } = output;
  const reg = registration.operations.registerForQuiz!;
  const request = play.operations.requestQuestion!;
  const submit = play.operations.submitAnswer;
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const ops = (phase: Phase) =>
    Object.entries(phase.operations).map(([op, o]) => [
      `${phase.name}: ${op}`,
      `${o.perSecond.toFixed(0)}/s`,
      ms(o.latency.p50),
      ms(o.latency.p95),
      ms(o.latency.p99),
      Object.entries(o.codes).map(([code, n]) => `${code} ${n}`).join(', ') || '–',
    ]);
  const rows = [
    ['phase', 'ok/s', 'p50', 'p95', 'p99', 'refusals'],
    ...ops(registration),
    ['registrations, quiz_register on the pool (ceiling)', `${registrationCeiling.perSecond.toFixed(0)}/s`, ms(registrationCeiling.latency.p50), ms(registrationCeiling.latency.p95), ms(registrationCeiling.latency.p99), '–'],
    ...ops(play),
    ['requests + answers, the functions on the pool (ceiling)', `${playCeiling.perSecond.toFixed(0)}/s`, ms(playCeiling.latency.p50), ms(playCeiling.latency.p95), ms(playCeiling.latency.p99), '–'],
  ];
  const pass = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const targets = [
    ['target', 'measured', 'goal', ''],
    ['(a) registrations/s', reg.perSecond.toFixed(0), `≥ ${TARGETS.registrationsPerSecond} (reference ${REFERENCE.registrationsPerSecond})`, pass(reg.perSecond >= TARGETS.registrationsPerSecond)],
    ['(a) registration p95', ms(reg.latency.p95), `< ${TARGETS.registrationP95Ms} ms (reference ${REFERENCE.registrationP95Ms} ms)`, pass(reg.latency.p95 < TARGETS.registrationP95Ms)],
    ['(a) registrations = seats taken = teams', `${output.registered?.n} = ${output.registered?.counter}`, String(settings.teams), pass(output.registered?.n === settings.teams && output.registered.counter === settings.teams)],
    ['(a) API / ceiling', `${((reg.perSecond / registrationCeiling.perSecond) * 100).toFixed(0)}%`, 'reported', '–'],
    ['(b) assignments/s', request.perSecond.toFixed(0), `≥ ${TARGETS.assignmentsPerSecond}`, pass(request.perSecond >= TARGETS.assignmentsPerSecond)],
    ['(b) p99 (request, answer)', `${ms(request.latency.p99)}, ${ms(submit?.latency.p99 ?? NaN)}`, `< ${TARGETS.assignmentP99Ms} ms`, pass(Math.max(request.latency.p99, submit?.latency.p99 ?? 0) < TARGETS.assignmentP99Ms)],
    ['(b) duplicates (assignments / distinct questions / flagged)', `${duplicates.assignments} / ${duplicates.questions} / ${duplicates.flagged}`, 'all equal, ≤ 1 OPEN per team', pass(duplicates.pass && output.ceilingDuplicates.pass)],
    ['(b) API / ceiling', `${((request.perSecond / playCeiling.perSecond) * 100).toFixed(0)}%`, 'reported', '–'],
    ['(c) final standings at every watcher, p99', `${ms(fanout.delivery.p99)} (${fanout.subscribed} watchers, ${fanout.missing} missing)`, `< ${TARGETS.finalP99Ms} ms at ${settings.watchers}`, pass(fanout.delivery.p99 < TARGETS.finalP99Ms && fanout.missing === 0 && fanout.subscribed === settings.watchers)],
  ];
  const cpu = (phase: Phase) =>
    `${phase.name}: API CPU ${phase.cpu.api.toFixed(0)}%, PostgreSQL ${phase.cpu.postgres.toFixed(0)}%, driver ${phase.cpu.driver.toFixed(0)}%, host busy ${phase.cpu.hostBusyCores.toFixed(2)} of ${machine.cpus} cores`;
  process.stdout.write(
    [
      '',
      `quiz — ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}; ${settings.clients} clients`,
      table(rows),
      cpu(registration),
      cpu(play),
      `(c) ${fanout.subscribed} watchers: final standings p50 ${ms(fanout.delivery.p50)}, p99 ${ms(fanout.delivery.p99)}, max ${ms(fanout.delivery.max)}, ` +
        `${fanout.missing} missing; events per watcher during ~${fanout.answers.toFixed(0)} answers/s: median ${fanout.eventsPerWatcher.median}, max ${fanout.eventsPerWatcher.max}; ` +
        `API RSS ${fanout.idleRssMb.toFixed(0)} → ${fanout.watchingRssMb.toFixed(0)} MB (${fanout.rssPerWatcherKb.toFixed(1)} KB per watcher)`,
      ...(Object.keys(fanout.failures).length ? [`watcher failures: ${JSON.stringify(fanout.failures)}`] : []),
      '',
      table(targets),
      '',
    ].join('\n'),
  );
}

function log(message: string): void {
  process.stderr.write(`[quiz] ${message}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === '--driver') driverMain().catch((error: unknown) => {
    process.stderr.write(`quiz driver: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
