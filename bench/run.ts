/**
 * `npm run bench` runs every scenario; `npm run bench -- <name> [...]` runs the
 * named ones. Each scenario starts what it needs, drives load from separate
 * processes and prints its own table. Missed targets are reported, never a
 * failed exit: this is a benchmark, not a test. Children and temp dirs are
 * cleaned up on success, error, Ctrl-C and SIGTERM.
 */
import { runCleanups, runCleanupsSync } from './lib.js';

const SCENARIOS: Record<string, { describe: string; load: () => Promise<{ run: () => Promise<unknown> }> }> = {
  http: {
    describe: 'HTTP + GraphQL layer: { __typename }, me, strategies(first: 20) vs a bare Fastify route',
    load: () => import('./http.js'),
  },
  ledger: {
    describe: 'transfers through API + one worker process, on Redis and on PostgreSQL queues; invariants checked',
    load: () => import('./ledger.js'),
  },
  'flash-sale': {
    describe: '1,000 buyers purchasing at once through API + one worker process; the no-oversell invariant checked',
    load: () => import('./flash-sale.js'),
  },
  fanout: {
    describe: 'N graphql-ws subscribers to one stockChanged on one API process; delivery after a purchase burst, RSS per connection',
    load: () => import('./fanout.js'),
  },
  teams: {
    describe: 'teams browse / suggestions / join requests mix on one API, vs a bare-pg browse route; team invariants checked',
    load: () => import('./teams.js'),
  },
  quiz: {
    describe: 'quiz registrations, question requests and answers, and the final standings at thousands of watchers; vs the SQL functions on a pool',
    load: () => import('./quiz.js'),
  },
  flood: {
    describe: 'one IP flooding items(first: 5) while 10 IPs send a steady rate, rate limits on, Redis and PostgreSQL stores',
    load: () => import('./flood.js'),
  },
  backtest: {
    describe: 'the backtest simulation: ten years of daily prices at the far and middle dates, vs the price series alone',
    load: () => import('./backtest.js'),
  },
  peers: {
    describe: 'strategies(first: 20) on Switchyard vs PostGraphile 5, Mercurius + graphql-jit, bare pg and a bare route, same data',
    load: () => import('./peers.js'),
  },
};

function usage(): string {
  return [
    'usage: npm run bench [-- <scenario> ...]',
    '',
    'scenarios:',
    ...Object.entries(SCENARIOS).map(([name, s]) => `  ${name.padEnd(11)} ${s.describe}`),
    '',
    'environment: BENCH_DURATION (s per case, default 10), BENCH_CONNECTIONS (100), BENCH_WARMUP (s, 3),',
    '             BENCH_LOG_LEVEL (API LOG_LEVEL, default info), BENCH_PROFILE=1 (CPU profile of the API',
    '             under { __typename }; or a list: typename,me,strategies), BENCH_JSON=<file> (results as JSON),',
    '             BENCH_SERVER=tsx|compiled (run src/ with tsx, default, or compile it like the Docker image)',
    'ledger:      BENCH_CLIENTS (50), BENCH_BACKENDS (redis,postgres), BENCH_WORKER_CONCURRENCY (app default),',
    '             BENCH_PG_FSYNC=off, BENCH_LOG_LEVEL (default warn here), BENCH_PROFILE=1|api|worker',
    'flash-sale:  BENCH_BUYERS (1000), BENCH_ATTEMPTS (5 per buyer), BENCH_STOCK (100), BENCH_LIMIT (2),',
    '             BENCH_ROUNDS (3), BENCH_DURATION (sustained phase, 10 s), BENCH_BACKENDS (redis,postgres),',
    '             BENCH_BASELINE=<git revision> (measure that revision too, side by side in the same run)',
    'fanout:      BENCH_SUBSCRIBERS (10000), BENCH_DRIVERS (2), BENCH_BURST (100 purchases), BENCH_BACKENDS (redis,postgres)',
    'peers:       BENCH_DURATION, BENCH_CONNECTIONS, BENCH_WARMUP, BENCH_JSON; BENCH_LOG_LEVEL (Switchyard, default info);',
    '             Switchyard always compiled',
    'teams:       BENCH_USERS (2000), BENCH_TEAMS (400), BENCH_CLIENTS (100), BENCH_DURATION (s per phase, 30 here),',
    '             BENCH_WARMUP (5), BENCH_SEED (1), BENCH_LOG_LEVEL (default warn here), BENCH_SERVER, BENCH_PROFILE=1 (the API during the mix)',
    'quiz:        BENCH_TEAMS (5000 registering), BENCH_PLAY_TEAMS (1000, of 3), BENCH_CLIENTS (100), BENCH_DURATION (30),',
    '             BENCH_WATCHERS (5000), BENCH_DRIVERS (2), BENCH_LOG_LEVEL (default warn here), BENCH_SERVER',
    'flood:       BENCH_DURATION (20, < 60: one window of the anonymous budget), BENCH_CONNECTIONS (50 for the flood),',
    '             BENCH_LEGIT_RATE (4 requests/s per steady IP), BENCH_BACKENDS (redis,postgres), BENCH_SERVER',
    'backtest:    BENCH_RUNS (300 per case); in this process (a pure function)',
    'flash-sale and fanout also take BENCH_SERVER=tsx|compiled and BENCH_PROFILE=1 (the API during the last sale round / the burst)',
  ].join('\n');
}

let aborting = false;
let abortedAt = 0;
async function abort(signal: NodeJS.Signals): Promise<void> {
  // npm and tsx pass a terminal's Ctrl-C on as well: one press can arrive two or three times.
  if (aborting && Date.now() - abortedAt < 2000) return;
  if (aborting) {
    process.stderr.write(`\n[bench] ${signal} again: killing children now\n`);
    runCleanupsSync();
    process.exit(130);
  }
  aborting = true;
  abortedAt = Date.now();
  process.stderr.write(`\n[bench] ${signal}: stopping children and removing temp data …\n`);
  await runCleanups();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((arg) => arg !== '--');
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const unknown = args.filter((name) => !SCENARIOS[name]);
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario: ${unknown.join(', ')}\n\n${usage()}\n`);
    return 2;
  }
  const names = args.length > 0 ? args : Object.keys(SCENARIOS);

  process.on('SIGINT', () => void abort('SIGINT'));
  process.on('SIGTERM', () => void abort('SIGTERM'));
  process.on('exit', runCleanupsSync);

  let failed = false;
  for (const name of names) {
    try {
      const scenario = await SCENARIOS[name]!.load();
      await scenario.run();
    } catch (error) {
      if (aborting) break; // children were killed under it; abort() reports and exits
      failed = true;
      process.stderr.write(
        `[bench] ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    } finally {
      if (!aborting) await runCleanups();
    }
  }
  if (aborting) await new Promise(() => {}); // abort() is cleaning up and will exit
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`[bench] ${String(error)}\n`);
    await runCleanups();
    process.exit(1);
  },
);
