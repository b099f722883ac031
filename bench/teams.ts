/**
 * The `teams` scenario (issue 12, item 5): browsing, suggestions and join
 * requests on one API process, with the team invariants checked in SQL after.
 *
 * On an embedded PostgreSQL cluster of its own (pg_stat_statements loaded) it
 * starts a shop on the PostgreSQL backend (startShop: db:migrate, the API, a
 * worker; teams enqueue no job and publish on the PostgreSQL bus, so Redis
 * has nothing to add and the worker is stopped once the shop is up: its
 * pollers would only blur the statement and CPU figures). Then it seeds
 * straight into the database: BENCH_USERS users (insertUsers, no argon2;
 * tokens signed with the run's JWT_SECRET) with 2–6 skills of a vocabulary of
 * 40, BENCH_TEAMS teams of maxSize 2–10 and 1–5 skills, owned by the first
 * users, some full and the others partly filled, and a PENDING request or so
 * per open team — every row as the migration has it, member_count counted.
 *
 * A separate driver process (this file with `--driver <job.json>`) runs
 * BENCH_CLIENTS closed-loop clients on one keep-alive connection each, every
 * request signed in as the user it acts for:
 *   - 60% `teams(first: 20, filter)`: search, skill and hasOpenSeats drawn
 *     independently, the page's teams with owner and members, totalCount on
 *     a third of them;
 *   - 20% `suggestedTeams(first: 10)` for a random user;
 *   - 20% writes: a user in no team asks to join an open team
 *     (requestToJoin), an owner answers the oldest request it has (75%
 *     accepted), or a member leaves — more often when few users are left
 *     without a team, so requests keep flowing however long the run.
 * The driver keeps its own picture of who is where (from the answers), so it
 * asks as a client that reads the pages would; refusals that concurrency
 * makes inevitable (CAPACITY_REACHED, CONFLICT) are counted apart from
 * unexpected errors.
 *
 * Phases: a warm-up (BENCH_WARMUP s, not counted), the mix (BENCH_DURATION s:
 * the targets), then the browse query alone for BENCH_DURATION s on the API
 * and on the ceiling — teams-bare.ts, a bare Fastify route running the
 * browse page's SQL with pg — so the API's share of it is from the same run.
 * The invariants are checked after the seed, the mix and at the end. A miss
 * is printed, never an exit code.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { closeDb, createDb } from '../src/infra/db.js';
import { childEnv } from '../test/harness/processes.js';
import { insertUsers, signUserTokens } from '../test/harness/users.js';
import {
  benchFile,
  busyCores,
  type Child,
  envPositiveNumber,
  hostCpuTimes,
  loadavgNow,
  machineSummary,
  NODE,
  readCpuSeconds,
  readCpuSecondsWithReaped,
  readDescendantsCpuSeconds,
  runToCompletion,
  spawnListening,
  table,
  tail,
  TSX_IMPORT,
  waitForFile,
} from './lib.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { finishBenchRun, KeepAliveConnection, type Shop, startBenchRun, startShop } from './system.js';

const TARGETS = { opsPerSecond: 1500, p99Ms: 100 };

/** Skills users have and teams look for. */
const SKILLS = [
  'typescript', 'rust', 'go', 'python', 'java', 'kotlin', 'swift', 'c++', 'sql', 'graphql',
  'react', 'vue', 'svelte', 'css', 'figma', 'ux', 'devops', 'kubernetes', 'terraform', 'aws',
  'gcp', 'azure', 'security', 'ml', 'data', 'statistics', 'embedded', 'robotics', 'audio', 'video',
  'games', 'unity', 'blender', 'writing', 'marketing', 'sales', 'finance', 'legal', 'hardware', 'testing',
];
const ADJECTIVES = ['Swift', 'Quiet', 'Bright', 'Bold', 'Lucky', 'Brave', 'Clever', 'Rapid', 'Silent', 'Golden'];
const NOUNS = ['Falcons', 'Otters', 'Comets', 'Pixels', 'Rockets', 'Foxes', 'Builders', 'Wizards', 'Pilots', 'Makers'];
/** What people type into the search box: whole words, fragments, a word of the descriptions, and a miss. */
const SEARCH_WORDS = ['falcon', 'otter', 'comet', 'pixel', 'rocket', 'fox', 'build', 'wizard', 'pilot', 'maker',
  'swift', 'quiet', 'bright', 'lucky', 'brav', 'gold', 'hackathon', 'weekend', 'nothing-matches'];

const PAGE_FIELDS = 'edges { node { id name openSeats skills owner { name } members { role user { name } } } } pageInfo { hasNextPage endCursor }';
const TEAMS = `query Teams($filter: TeamFilter) { teams(first: 20, filter: $filter) { ${PAGE_FIELDS} } }`;
const TEAMS_COUNTED = `query Teams($filter: TeamFilter) { teams(first: 20, filter: $filter) { ${PAGE_FIELDS} totalCount } }`;
const SUGGESTED = 'query Suggested { suggestedTeams(first: 10) { id name skills openSeats } }';
const REQUEST = 'mutation Request($teamId: ID!, $message: String) { requestToJoin(teamId: $teamId, message: $message) { id status } }';
const RESPOND = 'mutation Respond($requestId: ID!, $accept: Boolean!) { respondToJoinRequest(requestId: $requestId, accept: $accept) { id status } }';
const LEAVE = 'mutation Leave($teamId: ID!) { leaveTeam(teamId: $teamId) }';

const OPERATIONS = ['teams', 'suggestedTeams', 'requestToJoin', 'respondToJoinRequest', 'leaveTeam'] as const;
type Operation = (typeof OPERATIONS)[number];
/** Refusals the write mix runs into by design: a seat taken or a requester placed meanwhile. */
const EXPECTED: Record<Operation, string[]> = {
  teams: [],
  suggestedTeams: [],
  requestToJoin: ['CAPACITY_REACHED', 'CONFLICT'],
  respondToJoinRequest: ['CAPACITY_REACHED', 'CONFLICT'],
  leaveTeam: [],
};
const ACCEPT_SHARE = 0.75;

/** A small seeded PRNG (mulberry32): the same seed, the same data (the driver's choices also depend on timing). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(random: () => number, values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
const sample = <T>(random: () => number, values: readonly T[], count: number): T[] => {
  const copy = [...values];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, count);
};

// ---------------------------------------------------------------------------
// The driver (a separate process: `node --import tsx bench/teams.ts --driver <job.json>`)

export interface TeamsDriverJob {
  url: string;
  clients: number;
  durationSeconds: number;
  seed: number;
  /** Shares of browse, suggestions and writes; writes need the model below. */
  mix: { browse: number; suggest: number; write: number };
  users: { id: string; token: string }[];
  /** `owner` and `members` (the owner not among them) are indexes into `users`. */
  teams: { id: string; owner: number; maxSize: number; members: number[] }[];
  pending: { id: string; team: number; user: number }[];
}

interface OperationResult {
  answered: number;
  ok: number;
  p50: number;
  p99: number;
  max: number;
  expected: Record<string, number>;
  unexpected: Record<string, number>;
}

export interface TeamsDriverResult {
  wallSeconds: number;
  /** Over every operation answered. */
  overall: { p50: number; p99: number };
  operations: Record<Operation, OperationResult>;
  /** The first answer seen for each unexpected outcome, by `operation code`. */
  samples: Record<string, string>;
  /** Respond answers by decision; how many users were in no team at the end (the driver's picture). */
  decisions: { accepted: number; rejected: number };
  teamlessAtEnd: number;
  /** A write was due but nothing could be written (no teamless user free, no request to answer): a browse ran instead. */
  writesSkipped: number;
  driverCpuPercent: number;
}

async function driverMain(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[3] ?? '', 'utf8')) as TeamsDriverJob;
  const target = new URL(job.url);
  if (target.hostname !== '127.0.0.1') throw new Error(`bench traffic must target 127.0.0.1, not ${target.hostname}`);
  const random = prng(job.seed);
  const users = job.users;
  const teams = job.teams.map((team) => ({ ...team, memberCount: team.members.length + 1, queue: [] as { id: string; user: number }[] }));

  // The driver's picture of who is where, kept from the answers.
  const teamOf = new Int32Array(users.length).fill(-1);
  const busy = new Uint8Array(users.length);
  const asked = users.map(() => new Set<number>());
  for (const [index, team] of teams.entries()) {
    teamOf[team.owner] = index;
    for (const member of team.members) teamOf[member] = index;
  }
  for (const request of job.pending) {
    teams[request.team]!.queue.push({ id: request.id, user: request.user });
    asked[request.user]!.add(request.team);
  }
  // Users in no team, as a set with O(1) pick and removal.
  const teamless: number[] = [];
  const slot = new Int32Array(users.length).fill(-1);
  const addTeamless = (user: number) => {
    if (slot[user]! >= 0) return;
    slot[user] = teamless.length;
    teamless.push(user);
  };
  const removeTeamless = (user: number) => {
    const at = slot[user]!;
    if (at < 0) return;
    const last = teamless.pop()!;
    if (last !== user) {
      teamless[at] = last;
      slot[last] = at;
    }
    slot[user] = -1;
  };
  for (let user = 0; user < users.length; user++) if (teamOf[user] === -1) addTeamless(user);
  const initialTeamless = teamless.length;

  const latencies = Object.fromEntries(OPERATIONS.map((op) => [op, [] as number[]])) as Record<Operation, number[]>;
  const outcomes = Object.fromEntries(OPERATIONS.map((op) => [op, { ok: 0, expected: {}, unexpected: {} }])) as Record<
    Operation,
    { ok: number; expected: Record<string, number>; unexpected: Record<string, number> }
  >;
  const samples: Record<string, string> = {};
  const decisions = { accepted: 0, rejected: 0 };
  let writesSkipped = 0;

  type Answer = { ok: true; data: Record<string, unknown> } | { ok: false; code: string };
  const send = async (connection: KeepAliveConnection, op: Operation, user: number, query: string, variables: object): Promise<Answer> => {
    const startedAt = performance.now();
    let answer: Answer;
    let text = '';
    try {
      const response = await connection.post(JSON.stringify({ query, variables }), 30_000, users[user]!.token);
      text = response.text;
      const json = JSON.parse(response.text) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
      if (response.status !== 200) answer = { ok: false, code: `HTTP_${response.status}` };
      else if (json.errors?.length || !json.data) answer = { ok: false, code: json.errors?.[0]?.extensions?.code ?? 'GRAPHQL_ERROR' };
      else answer = { ok: true, data: json.data };
    } catch (error) {
      answer = { ok: false, code: 'NETWORK' };
      text = String(error);
    }
    latencies[op].push(performance.now() - startedAt);
    const outcome = outcomes[op];
    if (answer.ok) outcome.ok += 1;
    else {
      const bucket = EXPECTED[op].includes(answer.code) ? outcome.expected : outcome.unexpected;
      bucket[answer.code] = (bucket[answer.code] ?? 0) + 1;
      samples[`${op} ${answer.code}`] ??= text.slice(0, 300);
    }
    return answer;
  };

  const browse = (connection: KeepAliveConnection) => {
    const filter: Record<string, unknown> = {};
    if (random() < 0.3) filter.search = pick(random, SEARCH_WORDS);
    if (random() < 0.4) filter.skill = pick(random, SKILLS);
    const seats = random();
    if (seats < 0.35) filter.hasOpenSeats = true;
    else if (seats < 0.45) filter.hasOpenSeats = false;
    const query = random() < 1 / 3 ? TEAMS_COUNTED : TEAMS;
    return send(connection, 'teams', Math.floor(random() * users.length), query, Object.keys(filter).length ? { filter } : {});
  };

  const suggest = (connection: KeepAliveConnection) => send(connection, 'suggestedTeams', Math.floor(random() * users.length), SUGGESTED, {});

  /** A user in no team asks an open team it has not asked yet. */
  const request = async (connection: KeepAliveConnection): Promise<boolean> => {
    let user = -1;
    for (let tries = 0; tries < 8 && teamless.length > 0; tries++) {
      const candidate = teamless[Math.floor(random() * teamless.length)]!;
      if (!busy[candidate]) {
        user = candidate;
        break;
      }
    }
    if (user < 0) return false;
    let team = -1;
    for (let tries = 0; tries < 20; tries++) {
      const candidate = Math.floor(random() * teams.length);
      const t = teams[candidate]!;
      if (t.memberCount < t.maxSize && !asked[user]!.has(candidate)) {
        team = candidate;
        break;
      }
    }
    if (team < 0) return false;
    busy[user] = 1;
    try {
      const answer = await send(connection, 'requestToJoin', user, REQUEST, { teamId: teams[team]!.id, message: 'Hi, can I join?' });
      if (!answer.ok && answer.code === 'CAPACITY_REACHED') teams[team]!.memberCount = teams[team]!.maxSize;
      if (answer.ok) {
        asked[user]!.add(team);
        // Placed in a team meanwhile: the server withdrew the request as it accepted the other.
        if (teamOf[user] === -1) teams[team]!.queue.push({ id: (answer.data.requestToJoin as { id: string }).id, user });
      }
    } finally {
      busy[user] = 0;
    }
    return true;
  };

  /** An owner answers the oldest request of its team. */
  const respond = async (connection: KeepAliveConnection): Promise<boolean> => {
    let team = -1;
    for (let tries = 0; tries < 20; tries++) {
      const candidate = Math.floor(random() * teams.length);
      const t = teams[candidate]!;
      if (t.queue.length > 0 && !busy[t.owner]) {
        team = candidate;
        break;
      }
    }
    if (team < 0) return false;
    const t = teams[team]!;
    const pending = t.queue.shift()!;
    // An owner whose team is full (as far as the driver has seen) turns the request down.
    const accept = t.memberCount < t.maxSize && random() < ACCEPT_SHARE;
    busy[t.owner] = 1;
    try {
      const answer = await send(connection, 'respondToJoinRequest', t.owner, RESPOND, { requestId: pending.id, accept });
      if (answer.ok) {
        const status = (answer.data.respondToJoinRequest as { status: string }).status;
        if (status === 'ACCEPTED') {
          decisions.accepted += 1;
          teamOf[pending.user] = team;
          removeTeamless(pending.user);
          t.members.push(pending.user);
          t.memberCount += 1;
          // The server withdrew the requester's other requests: their owners no longer see them.
          for (const other of asked[pending.user]!) {
            const queue = teams[other]!.queue;
            const at = queue.findIndex((q) => q.user === pending.user);
            if (at >= 0) queue.splice(at, 1);
          }
          asked[pending.user]!.clear();
        } else {
          decisions.rejected += 1;
          asked[pending.user]!.delete(team);
        }
      } else if (answer.code === 'CAPACITY_REACHED') {
        // The request stays PENDING: the owner will come back to it (and may reject it then).
        t.memberCount = t.maxSize;
        t.queue.push(pending);
      } else {
        asked[pending.user]!.delete(team);
      }
    } finally {
      busy[t.owner] = 0;
    }
    return true;
  };

  /** A member (never an owner) leaves its team. */
  const leave = async (connection: KeepAliveConnection): Promise<boolean> => {
    let team = -1;
    let member = -1;
    for (let tries = 0; tries < 20; tries++) {
      const candidate = Math.floor(random() * teams.length);
      const t = teams[candidate]!;
      if (t.members.length === 0) continue;
      const m = pick(random, t.members);
      if (!busy[m]) {
        team = candidate;
        member = m;
        break;
      }
    }
    if (team < 0) return false;
    const t = teams[team]!;
    busy[member] = 1;
    try {
      const answer = await send(connection, 'leaveTeam', member, LEAVE, { teamId: t.id });
      if (answer.ok) {
        t.members.splice(t.members.indexOf(member), 1);
        t.memberCount -= 1;
        teamOf[member] = -1;
        addTeamless(member);
      }
    } finally {
      busy[member] = 0;
    }
    return true;
  };

  const write = async (connection: KeepAliveConnection): Promise<boolean> => {
    // Members leave more often as users without a team run short, so requests keep coming.
    const leaveShare = teamless.length < initialTeamless / 2 ? 0.4 : 0.15;
    const r = random();
    const order = r < leaveShare ? [leave, request, respond] : r < leaveShare + (1 - leaveShare) / 2 ? [request, respond, leave] : [respond, request, leave];
    for (const action of order) if (await action(connection)) return true;
    return false;
  };

  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + job.durationSeconds * 1000;
  const total = job.mix.browse + job.mix.suggest + job.mix.write;
  const client = async () => {
    const connection = new KeepAliveConnection(target, users[0]!.token);
    try {
      while (performance.now() < end) {
        const r = random() * total;
        if (r < job.mix.browse) await browse(connection);
        else if (r < job.mix.browse + job.mix.suggest) await suggest(connection);
        else if (!(await write(connection))) {
          writesSkipped += 1;
          await browse(connection);
        }
      }
    } finally {
      connection.close();
    }
  };
  await Promise.all(Array.from({ length: job.clients }, client));
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);

  const percentile = (values: number[], p: number) =>
    values.length ? values[Math.min(values.length - 1, Math.ceil(p * values.length) - 1)]! : 0;
  const operations = {} as Record<Operation, OperationResult>;
  for (const op of OPERATIONS) {
    const values = latencies[op].sort((a, b) => a - b);
    operations[op] = { answered: values.length, ...outcomes[op], p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: values.at(-1) ?? 0 };
  }
  const everything = OPERATIONS.flatMap((op) => latencies[op]).sort((a, b) => a - b);
  const result: TeamsDriverResult = {
    wallSeconds,
    overall: { p50: percentile(everything, 0.5), p99: percentile(everything, 0.99) },
    operations,
    samples,
    decisions,
    teamlessAtEnd: teamless.length,
    writesSkipped,
    driverCpuPercent: ((cpu.user + cpu.system) / 1e6 / wallSeconds) * 100,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------
// The scenario

interface Settings {
  users: number;
  teams: number;
  clients: number;
  durationSeconds: number;
  warmupSeconds: number;
  logLevel: string;
  seed: number;
  /** BENCH_PROFILE=1: a CPU profile of the API during the mix. */
  profile: boolean;
}

interface Cpu {
  /** % of one core over the phase. */
  api: number;
  postgres: number;
  driver: number;
  hostBusyCores: number;
}

interface PhaseResult {
  name: string;
  server: 'API' | 'bare-pg';
  driver: TeamsDriverResult;
  answered: number;
  opsPerSecond: number;
  /** Over every operation of the phase. */
  p50: number;
  p99: number;
  cpu: Cpu;
  /** pg_stat_statements calls of the phase (this database), per operation answered. */
  statementsPerOperation: number;
  topStatements: string;
  loadavg: string;
}

interface Invariants {
  pass: boolean;
  problems: string[];
  counts: { teams: number; members: number; full: number; pending: number; teamless: number };
}

export interface TeamsResults {
  machine: ReturnType<typeof machineSummary>;
  settings: Settings;
  seed: Invariants;
  phases: PhaseResult[];
  invariants: { afterMix: Invariants; atEnd: Invariants };
  requests: Record<string, number>;
  targets: { name: string; measured: string; goal: string; pass: boolean }[];
  /** The first errors the API logged (level error or fatal). */
  apiErrors: string[];
  profile?: string;
}

export async function run(): Promise<TeamsResults> {
  const settings = readSettings();
  const machine = machineSummary();
  log(
    `teams: ${settings.users} users, ${settings.teams} teams, ${settings.clients} clients, ${settings.durationSeconds} s per phase, ` +
      `${settings.warmupSeconds} s warm-up, PostgreSQL backend, LOG_LEVEL=${settings.logLevel}`,
  );
  log(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}, load ${machine.loadavg}`);
  const { root, dist, cluster } = await startBenchRun('teams');
  const profileOut = settings.profile ? join(tmpdir(), `switchyard-bench-teams-${Date.now()}-api`) : undefined;
  const shop = await startShop({ cluster, root, name: 'teams', backend: 'postgres', logLevel: settings.logLevel, dist, profileOut });
  await shop.worker.stop();
  log(`API up (${dist ? 'compiled' : 'tsx'}, pid ${shop.api.pid}, log ${shop.apiLog}); the worker stopped: teams enqueue no job`);

  const model = await seed(shop, settings);
  const seedCheck = await checkInvariants(shop.db);
  log(
    `seeded ${settings.users} users, ${settings.teams} teams (${seedCheck.counts.full} full, ${seedCheck.counts.members} members), ` +
      `${seedCheck.counts.pending} PENDING requests, ${seedCheck.counts.teamless} users in no team; invariants ${seedCheck.pass ? 'intact' : 'BROKEN'}`,
  );
  if (!seedCheck.pass) throw new Error(`the seed breaks the invariants: ${seedCheck.problems.join('; ')}`);

  const mix = { browse: 60, suggest: 20, write: 20 };
  const browseOnly = { browse: 1, suggest: 0, write: 0 };
  const phases: PhaseResult[] = [];
  const processes = { postmasterPid: cluster.postmasterPid() };

  if (settings.warmupSeconds > 0) {
    log(`warm-up: the mix for ${settings.warmupSeconds} s …`);
    await measure('warm-up', 'API', shop, shop.api, shop.apiLog, { ...(await model()), mix, durationSeconds: settings.warmupSeconds }, processes);
  }
  log(`mix: ${settings.clients} clients for ${settings.durationSeconds} s …`);
  if (profileOut) process.kill(shop.api.pid, 'SIGUSR2');
  phases.push(await measure('mix', 'API', shop, shop.api, shop.apiLog, { ...(await model()), mix, durationSeconds: settings.durationSeconds }, processes));
  let profile: string | undefined;
  if (profileOut) {
    process.kill(shop.api.pid, 'SIGUSR2');
    const file = `${profileOut}-1.cpuprofile`;
    await waitForFile(file, 30_000);
    profile = `CPU profile of the API during the mix, ${file}\n${formatSummary(summarizeProfile(file, 25))}`;
  }
  const afterMix = await checkInvariants(shop.db);
  log(`invariants after the mix: ${afterMix.pass ? 'intact' : `BROKEN (${afterMix.problems.join('; ')})`}`);

  const browseJob = { ...(await model()), mix: browseOnly, durationSeconds: settings.durationSeconds };
  log(`browse only, API: ${settings.clients} clients for ${settings.durationSeconds} s …`);
  phases.push(await measure('browse only', 'API', shop, shop.api, shop.apiLog, browseJob, processes));

  const bareLog = join(shop.dir, 'teams-bare.log');
  const bare = await spawnListening('teams-bare', [...TSX_IMPORT, benchFile('teams-bare.ts')], {
    env: childEnv({ DATABASE_URL: shop.databaseUrl, PORT: '0' }),
    logFile: bareLog,
  });
  log(`browse only, bare-pg route (teams-bare.ts, pid ${bare.child.pid}): ${settings.clients} clients for ${settings.durationSeconds} s …`);
  const bareUrl = `http://127.0.0.1:${bare.port}/graphql`;
  // One short run first: the route's process is new, its code cold.
  await measure('bare warm-up', 'bare-pg', shop, bare.child, bareLog, { ...browseJob, url: bareUrl, durationSeconds: Math.min(5, settings.durationSeconds) }, processes);
  phases.push(await measure('browse only', 'bare-pg', shop, bare.child, bareLog, { ...browseJob, url: bareUrl }, processes));
  await bare.child.stop();

  const atEnd = await checkInvariants(shop.db);
  const { rows } = await shop.db.query<{ status: string; n: number }>('SELECT status::text, count(*)::int AS n FROM join_requests GROUP BY 1 ORDER BY 1');
  const requests = Object.fromEntries(rows.map((r) => [r.status, r.n]));

  const mixPhase = phases[0]!;
  const apiBrowse = phases[1]!;
  const bareBrowse = phases[2]!;
  const share = bareBrowse.opsPerSecond > 0 ? apiBrowse.opsPerSecond / bareBrowse.opsPerSecond : 0;
  const unexpected = Object.values(mixPhase.driver.operations).reduce((sum, op) => sum + Object.values(op.unexpected).reduce((a, b) => a + b, 0), 0);
  const targets = [
    {
      name: 'operations/s, the mix',
      measured: mixPhase.opsPerSecond.toFixed(0),
      goal: `≥ ${TARGETS.opsPerSecond}`,
      pass: mixPhase.opsPerSecond >= TARGETS.opsPerSecond,
    },
    {
      name: 'p99 over every operation, the mix (per operation in the table)',
      measured: `${mixPhase.p99.toFixed(0)} ms`,
      goal: `< ${TARGETS.p99Ms} ms`,
      pass: mixPhase.p99 < TARGETS.p99Ms,
    },
    { name: 'unexpected errors, the mix', measured: String(unexpected), goal: '0', pass: unexpected === 0 },
    {
      name: 'invariants after the mix and at the end',
      measured: afterMix.pass && atEnd.pass ? 'intact' : 'BROKEN',
      goal: 'intact',
      pass: afterMix.pass && atEnd.pass,
    },
    {
      name: 'browse req/s, API / bare-pg route (ceiling; no goal)',
      measured: `${apiBrowse.opsPerSecond.toFixed(0)} / ${bareBrowse.opsPerSecond.toFixed(0)} = ${(share * 100).toFixed(0)}%`,
      goal: 'reported',
      pass: true,
    },
  ];
  // An unexpected error's cause is in the API's log, which goes with the temp dir: its first few errors go in the report.
  const apiErrors = readFileSync(shop.apiLog, 'utf8')
    .split('\n')
    .filter((line) => /"level":(50|60)/.test(line))
    .slice(0, 3)
    .map((line) => (line.length > 2000 ? `${line.slice(0, 2000)}…` : line));
  const output: TeamsResults = { machine, settings, seed: seedCheck, phases, invariants: { afterMix, atEnd }, requests, targets, apiErrors, profile };
  print(output);
  await shop.stop();
  return finishBenchRun(output, cluster);
}

function readSettings(): Settings {
  return {
    users: Math.round(envPositiveNumber('BENCH_USERS', 2000)),
    teams: Math.round(envPositiveNumber('BENCH_TEAMS', 400)),
    clients: Math.round(envPositiveNumber('BENCH_CLIENTS', 100)),
    durationSeconds: envPositiveNumber('BENCH_DURATION', 30),
    warmupSeconds: process.env.BENCH_WARMUP === '0' ? 0 : envPositiveNumber('BENCH_WARMUP', 5),
    logLevel: process.env.BENCH_LOG_LEVEL || 'warn',
    seed: Math.round(envPositiveNumber('BENCH_SEED', 1)),
    profile: process.env.BENCH_PROFILE === '1',
  };
}

// ---------------------------------------------------------------------------
// The seed

/**
 * Users, teams, members and PENDING requests, straight into the database.
 * Returns a reader of the current state as the driver's job wants it (the
 * state moves on with every phase that writes).
 */
async function seed(shop: Shop, settings: Settings): Promise<() => Promise<Omit<TeamsDriverJob, 'mix' | 'durationSeconds'>>> {
  const random = prng(settings.seed);
  if (settings.teams * 2 > settings.users) throw new Error('BENCH_USERS must be at least twice BENCH_TEAMS');
  const prisma = createDb(shop.databaseUrl, 2);
  let ids: string[];
  try {
    ids = await insertUsers(prisma, settings.users, 'READY');
  } finally {
    await closeDb(prisma);
  }
  const tokens = await signUserTokens(shop.config, ids);
  const users = ids.map((id, i) => ({ id, token: tokens[i]! }));
  const profiles = ids.map((id, i) => ({ id, name: `User ${i + 1}`, skills: sample(random, SKILLS, 2 + Math.floor(random() * 5)) }));
  await shop.db.query(
    `UPDATE users u SET name = v.name, skills = v.skills
       FROM json_to_recordset($1::json) AS v(id text, name text, skills text[]) WHERE u.id = v.id`,
    [JSON.stringify(profiles)],
  );

  // Owners are the first users, members come from the rest in order; the rest of the rest is in no team.
  const now = Date.now();
  let next = settings.teams;
  const teams: { id: string; name: string; description: string; skills: string[]; maxSize: number; memberCount: number; createdAt: string }[] = [];
  const members: { teamId: string; userId: string; role: 'OWNER' | 'MEMBER'; joinedAt: string }[] = [];
  for (let i = 0; i < settings.teams; i++) {
    const maxSize = 2 + Math.floor(random() * 9);
    const full = random() < 0.15;
    const memberCount = full ? maxSize : 1 + Math.floor(random() * Math.max(1, Math.floor(maxSize / 2)));
    const skills = sample(random, SKILLS, 1 + Math.floor(random() * 5));
    const id = randomUUID();
    // Newest first is the list's order: teams created a minute apart.
    const createdAt = new Date(now - (settings.teams - i) * 60_000).toISOString();
    teams.push({
      id,
      name: `${pick(random, ADJECTIVES)} ${pick(random, NOUNS)} ${i + 1}`,
      description: `A ${pick(random, ['hackathon', 'weekend', 'side'])} project looking for ${skills.join(', ')}.`,
      skills,
      maxSize,
      memberCount,
      createdAt,
    });
    members.push({ teamId: id, userId: ids[i]!, role: 'OWNER', joinedAt: createdAt });
    for (let m = 1; m < memberCount; m++) members.push({ teamId: id, userId: ids[next++]!, role: 'MEMBER', joinedAt: new Date(now - (settings.teams - i) * 60_000 + m * 1000).toISOString() });
  }
  if (next > settings.users) throw new Error(`the seed needs ${next} users for its teams; raise BENCH_USERS`);
  await shop.db.query(
    `INSERT INTO teams (id, name, description, skills, max_size, member_count, created_at, updated_at)
     SELECT id, name, description, skills, "maxSize", "memberCount", "createdAt", "createdAt"
       FROM json_to_recordset($1::json) AS v(id text, name text, description text, skills text[], "maxSize" int, "memberCount" int, "createdAt" timestamptz)`,
    [JSON.stringify(teams)],
  );
  await shop.db.query(
    `INSERT INTO team_members (team_id, user_id, role, joined_at)
     SELECT "teamId", "userId", role::"TeamRole", "joinedAt" FROM json_to_recordset($1::json) AS v("teamId" text, "userId" text, role text, "joinedAt" timestamptz)`,
    [JSON.stringify(members)],
  );
  // About one PENDING request per open team, from users in no team, none twice to one team.
  const open = teams.flatMap((team, index) => (team.memberCount < team.maxSize ? [index] : []));
  const pending: { id: string; teamId: string; userId: string }[] = [];
  const seen = new Set<string>();
  for (let n = 0; n < open.length; n++) {
    const team = pick(random, open);
    const user = next + Math.floor(random() * (settings.users - next));
    if (seen.has(`${team}:${user}`)) continue;
    seen.add(`${team}:${user}`);
    pending.push({ id: randomUUID(), teamId: teams[team]!.id, userId: ids[user]! });
  }
  await shop.db.query(
    `INSERT INTO join_requests (id, team_id, user_id, message, status, created_at)
     SELECT id, "teamId", "userId", 'Hi, can I join?', 'PENDING', now() FROM json_to_recordset($1::json) AS v(id text, "teamId" text, "userId" text)`,
    [JSON.stringify(pending)],
  );
  await shop.db.query('ANALYZE');

  let phase = 0;
  const indexOfUser = new Map(ids.map((id, i) => [id, i]));
  const indexOfTeam = new Map(teams.map((team, i) => [team.id, i]));
  // The state as the database has it now: each phase's driver starts from the last one's outcome.
  return async () => {
    const { rows: teamRows } = await shop.db.query<{ id: string; maxSize: number; owner: string | null; members: string[] }>(
      `SELECT t.id, t.max_size AS "maxSize",
              (SELECT m.user_id FROM team_members m WHERE m.team_id = t.id AND m.role = 'OWNER') AS owner,
              ARRAY(SELECT m.user_id FROM team_members m WHERE m.team_id = t.id AND m.role = 'MEMBER' ORDER BY m.joined_at) AS members
         FROM teams t`,
    );
    const { rows: pendingRows } = await shop.db.query<{ id: string; teamId: string; userId: string }>(
      `SELECT id, team_id AS "teamId", user_id AS "userId" FROM join_requests WHERE status = 'PENDING' ORDER BY created_at, id`,
    );
    // Teams the mix disbanded (none: owners never leave) or made (none) would not be in the index.
    const known = teamRows.filter((row) => indexOfTeam.has(row.id) && row.owner);
    const byId = new Map(known.map((row) => [row.id, row]));
    const jobTeams = teams.map((team) => {
      const row = byId.get(team.id);
      if (!row) throw new Error(`team ${team.id} is gone or has no owner`);
      return { id: team.id, owner: indexOfUser.get(row.owner!)!, maxSize: row.maxSize, members: row.members.map((id) => indexOfUser.get(id)!) };
    });
    return {
      url: shop.graphqlUrl,
      clients: settings.clients,
      // Each phase draws its own sequence.
      seed: settings.seed * 1000 + ++phase,
      users,
      teams: jobTeams,
      pending: pendingRows.map((row) => ({ id: row.id, team: indexOfTeam.get(row.teamId)!, user: indexOfUser.get(row.userId)! })),
    };
  };
}

// ---------------------------------------------------------------------------
// Measuring a phase

async function measure(
  name: string,
  server: PhaseResult['server'],
  shop: Shop,
  child: Child,
  childLog: string,
  job: TeamsDriverJob,
  processes: { postmasterPid: number },
): Promise<PhaseResult> {
  const jobFile = join(shop.dir, `driver-${name.replace(/\W+/g, '-')}-${server}.json`);
  writeFileSync(jobFile, JSON.stringify(job));
  await shop.db.query('SELECT pg_stat_statements_reset()');
  const postgresCpu = () => (readCpuSecondsWithReaped(processes.postmasterPid) ?? 0) + readDescendantsCpuSeconds(processes.postmasterPid);
  const before = { server: readCpuSeconds(child.pid) ?? 0, postgres: postgresCpu(), host: hostCpuTimes() };
  const out = await runToCompletion('teams driver', NODE, [...TSX_IMPORT, benchFile('teams.ts'), '--driver', jobFile], {
    child,
    describe: () => `its log ends:\n${tail(childLog)}`,
  });
  const after = { server: readCpuSeconds(child.pid) ?? 0, postgres: postgresCpu(), host: hostCpuTimes() };
  const driver = JSON.parse(out.trim().split('\n').pop() ?? '') as TeamsDriverResult;
  const wall = driver.wallSeconds;
  const answered = Object.values(driver.operations).reduce((sum, op) => sum + op.answered, 0);
  const { rows } = await shop.db.query<{ query: string; calls: string; total: number; mean: number }>(
    `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls::text, total_exec_time::float8 AS total, mean_exec_time::float8 AS mean
       FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND query NOT LIKE '%pg_stat_statements%'
      ORDER BY total_exec_time DESC`,
  );
  const calls = rows.reduce((sum, row) => sum + Number(row.calls), 0);
  const topStatements = table(
    [
      ['total ms', 'calls', 'per op', 'mean ms', 'statement'],
      ...rows.slice(0, 12).map((r) => [
        r.total.toFixed(0),
        r.calls,
        (Number(r.calls) / Math.max(1, answered)).toFixed(2),
        r.mean.toFixed(3),
        r.query.length > 120 ? `${r.query.slice(0, 117)}...` : r.query,
      ]),
    ],
    1,
  ).replace(/^(.*)$/gm, '  $1');
  const result: PhaseResult = {
    name,
    server,
    driver,
    answered,
    opsPerSecond: answered / wall,
    p50: driver.overall.p50,
    p99: driver.overall.p99,
    cpu: {
      api: ((after.server - before.server) / wall) * 100,
      postgres: ((after.postgres - before.postgres) / wall) * 100,
      driver: driver.driverCpuPercent,
      hostBusyCores: busyCores(before.host, after.host),
    },
    statementsPerOperation: calls / Math.max(1, answered),
    topStatements,
    loadavg: loadavgNow(),
  };
  log(
    `${name} (${server}): ${answered} operations in ${wall.toFixed(1)} s = ${result.opsPerSecond.toFixed(0)}/s, ` +
      `${server} CPU ${result.cpu.api.toFixed(0)}%, PG CPU ${result.cpu.postgres.toFixed(0)}%, host busy ${result.cpu.hostBusyCores.toFixed(2)} cores`,
  );
  return result;
}

// ---------------------------------------------------------------------------
// The invariants, in SQL

async function checkInvariants(db: pg.Client): Promise<Invariants> {
  const one = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n;
  const problems: string[] = [];
  const miscounted = await one(
    'SELECT count(*)::int AS n FROM teams t WHERE t.member_count <> (SELECT count(*) FROM team_members m WHERE m.team_id = t.id)',
  );
  if (miscounted > 0) problems.push(`${miscounted} teams whose member_count is not their rows in team_members`);
  const over = await one(
    'SELECT count(*)::int AS n FROM teams t WHERE (SELECT count(*) FROM team_members m WHERE m.team_id = t.id) > t.max_size',
  );
  if (over > 0) problems.push(`${over} teams over maxSize`);
  const owners = await one(
    `SELECT count(*)::int AS n FROM teams t WHERE (SELECT count(*) FROM team_members m WHERE m.team_id = t.id AND m.role = 'OWNER') <> 1`,
  );
  if (owners > 0) problems.push(`${owners} teams without exactly one OWNER`);
  const twice = await one('SELECT count(*)::int AS n FROM (SELECT user_id FROM team_members GROUP BY user_id HAVING count(*) > 1) x');
  if (twice > 0) problems.push(`${twice} users in more than one team`);
  const memberPending = await one(
    `SELECT count(*)::int AS n FROM join_requests r JOIN team_members m ON m.user_id = r.user_id WHERE r.status = 'PENDING'`,
  );
  if (memberPending > 0) problems.push(`${memberPending} PENDING requests of users who are in a team`);
  const counts = (
    await db.query<Invariants['counts']>(
      `SELECT (SELECT count(*)::int FROM teams) AS teams,
              (SELECT count(*)::int FROM team_members) AS members,
              (SELECT count(*)::int FROM teams WHERE member_count >= max_size) AS full,
              (SELECT count(*)::int FROM join_requests WHERE status = 'PENDING') AS pending,
              (SELECT count(*)::int FROM users u WHERE u.role = 'USER' AND NOT EXISTS (SELECT 1 FROM team_members m WHERE m.user_id = u.id)) AS teamless`,
    )
  ).rows[0]!;
  return { pass: problems.length === 0, problems, counts };
}

// ---------------------------------------------------------------------------
// Report

/** Cores the host spent on anything but this phase's server, PostgreSQL and driver: the machine is shared. */
function others(phase: PhaseResult): number {
  return Math.max(0, phase.cpu.hostBusyCores - (phase.cpu.api + phase.cpu.postgres + phase.cpu.driver) / 100);
}

function print(results: TeamsResults): void {
  const { machine, settings } = results;
  const ms = (value: number) => (value < 10 ? value.toFixed(1) : value.toFixed(0));
  const codes = (counts: Record<string, number>) => Object.entries(counts).map(([code, n]) => `${code} ${n}`).join(', ') || '–';
  const lines = [
    '',
    `teams — ${settings.users} users, ${settings.teams} teams, ${settings.clients} clients, ${settings.durationSeconds} s per phase; ` +
      `PostgreSQL backend, API ${process.env.BENCH_SERVER === 'compiled' ? 'compiled' : 'run by tsx'}, LOG_LEVEL=${settings.logLevel}`,
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB RAM, node ${machine.node}; load average at the start ${machine.loadavg}`,
  ];
  for (const phase of results.phases) {
    const ops = OPERATIONS.filter((op) => phase.driver.operations[op].answered > 0);
    lines.push(
      '',
      `${phase.name} on the ${phase.server === 'API' ? 'API' : 'bare-pg route (teams-bare.ts)'}: ${phase.answered} operations in ` +
        `${phase.driver.wallSeconds.toFixed(1)} s = ${phase.opsPerSecond.toFixed(0)}/s; ${phase.server} CPU ${phase.cpu.api.toFixed(0)}% ` +
        `(${((phase.cpu.api * 10) / phase.opsPerSecond).toFixed(2)} ms/op), PG CPU ${phase.cpu.postgres.toFixed(0)}% ` +
        `(${((phase.cpu.postgres * 10) / phase.opsPerSecond).toFixed(2)} ms/op), driver CPU ${phase.cpu.driver.toFixed(0)}%, ` +
        `host busy ${phase.cpu.hostBusyCores.toFixed(2)} of ${machine.cpus} cores (${others(phase).toFixed(2)} of them other processes); ` +
        `${phase.statementsPerOperation.toFixed(2)} statements/op; ` +
        `load average after ${phase.loadavg}`,
      table([
        ['operation', 'answered', 'req/s', 'share', 'p50 ms', 'p99 ms', 'max ms', 'ok', 'expected refusals', 'unexpected errors'],
        ...ops.map((op) => {
          const o = phase.driver.operations[op];
          return [
            op,
            String(o.answered),
            (o.answered / phase.driver.wallSeconds).toFixed(0),
            `${((o.answered / phase.answered) * 100).toFixed(0)}%`,
            ms(o.p50),
            ms(o.p99),
            ms(o.max),
            String(o.ok),
            codes(o.expected),
            codes(o.unexpected),
          ];
        }),
        ['all', String(phase.answered), phase.opsPerSecond.toFixed(0), '100%', ms(phase.p50), ms(phase.p99), '', '', '', ''],
      ]),
    );
    if (phase.name === 'mix') {
      lines.push(
        `respond: ${phase.driver.decisions.accepted} accepted, ${phase.driver.decisions.rejected} rejected; ` +
          `${phase.driver.teamlessAtEnd} users in no team at the end (driver's picture); writes with nothing to do: ${phase.driver.writesSkipped}`,
      );
    }
    for (const [key, text] of Object.entries(phase.driver.samples)) {
      const [op, code] = key.split(' ') as [Operation, string];
      if (!EXPECTED[op].includes(code)) lines.push(`  first ${key}: ${text}`);
    }
    lines.push(`pg_stat_statements (${phase.name}, ${phase.server}), by total time:`, phase.topStatements);
  }
  const inv = (name: string, i: Invariants) =>
    `${name}: ${i.pass ? 'intact' : `BROKEN — ${i.problems.join('; ')}`} (${i.counts.teams} teams, ${i.counts.full} full, ` +
    `${i.counts.members} members, ${i.counts.pending} PENDING, ${i.counts.teamless} users in no team)`;
  lines.push(
    '',
    'invariants (SQL): member_count = rows in team_members ≤ max_size, one OWNER per team, no user in two teams, no member with a PENDING request',
    `  ${inv('after the seed', results.seed)}`,
    `  ${inv('after the mix', results.invariants.afterMix)}`,
    `  ${inv('at the end', results.invariants.atEnd)}`,
    `  join requests by status at the end: ${codes(results.requests)}`,
    '',
    'targets:',
    table([['', 'target', 'measured', 'goal'], ...results.targets.map((t) => [t.goal === 'reported' ? '' : t.pass ? 'PASS' : 'MISS', t.name, t.measured, t.goal])], 99),
  );
  if (results.apiErrors.length) lines.push('', 'the first errors in the API log:', ...results.apiErrors.map((line) => `  ${line}`));
  if (results.profile) lines.push('', results.profile);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function log(message: string): void {
  process.stderr.write(`[teams] ${message}\n`);
}

if (process.argv[2] === '--driver' && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  driverMain().catch((error: unknown) => {
    process.stderr.write(`teams driver: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

