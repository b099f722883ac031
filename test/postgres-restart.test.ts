import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { App } from '../src/http/app.js';
import { migrate } from '../src/infra/migrate.js';
import { type Postgres, startPostgres } from './harness/postgres.js';
import { type Buyer, createBuyers } from './harness/users.js';
import { sleep } from './harness/wait.js';
import { codes, injectGraphQL, type RunningTestApp, startTestApp, testConfig } from './helpers/app.js';
import { checkLedgerInvariants, waitFor } from './helpers/ledger.js';

/**
 * PostgreSQL itself stopped (a fast shutdown, as a restart or failover does)
 * and started again while clients keep sending transfers: while it is down
 * every answer is UNAVAILABLE (never a masked internal error), the same app
 * answers again once it is back without a restart, every transfer it accepted
 * settles, and the ledger's invariants hold. The cluster is this file's own;
 * the queue store and the event bus are the shared Redis, under a namespace.
 */

const PASSWORD = 'postgres';
const TRANSFER = `mutation ($input: TransferInput!) { transfer(input: $input) { id status } }`;

let dir: string;
let cluster: Postgres;
let running: RunningTestApp;
let app: App;
let buyers: Buyer[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-pg-restart-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as `postgres` and must reach its data dir
  cluster = await startPostgres({ dir: join(dir, 'pg'), password: PASSWORD, flags: ['-c', 'fsync=off'] });
  const databaseUrl = await cluster.createDatabase('restart');
  await migrate(databaseUrl);
  const namespace = `test-${randomBytes(6).toString('hex')}`;
  const config = testConfig(databaseUrl, { REDIS_URL: inject('redisUrl'), SWEEP_AFTER_MS: '1000', SWEEP_INTERVAL_MS: '500' });
  running = await startTestApp(config, { queues: { namespace }, events: { namespace }, workers: true });
  ({ app } = running);
  buyers = await createBuyers(app.services, 10, 100_000n);
});

afterAll(async () => {
  await running?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Answer = { at: number; outcome: string };

it('answers UNAVAILABLE while PostgreSQL is stopped, recovers when it starts again, and loses nothing', async () => {
  const answers: Answer[] = [];
  let sending = true;
  // Five clients, each sending transfers one after another until told to stop.
  const clients = Array.from({ length: 5 }, async (_, client) => {
    for (let i = 0; sending; i += 1) {
      const from = buyers[(client * 2 + i) % buyers.length]!;
      const to = buyers[(client * 2 + i + 1) % buyers.length]!;
      const input = {
        fromAccountId: from.accountId,
        toAccountId: to.accountId,
        amount: String(1 + (i % 50)),
        idempotencyKey: `restart-${randomBytes(8).toString('hex')}`,
      };
      const result = await injectGraphQL<{ transfer: { status: string } }, unknown>(app, TRANSFER, { input }, from.accessToken);
      answers.push({ at: Date.now(), outcome: result.data?.transfer ? result.data.transfer.status : String(codes(result)[0]) });
      if (result.errors) await sleep(50);
    }
  });

  await sleep(1000);
  const stoppedAt = Date.now();
  await cluster.stop();
  await sleep(2000);
  const readyWhileDown = await app.fastify.inject({ method: 'GET', url: '/ready' });
  const { port } = cluster;
  cluster = await startPostgres({ dir: join(dir, 'pg'), password: PASSWORD, flags: ['-c', 'fsync=off'], port });
  const startedAt = Date.now();
  // Accepted again without a restart of the app: a transfer answered after PostgreSQL is back.
  await waitFor(async () => answers.some((answer) => answer.at > startedAt && answer.outcome === 'PENDING'), 15_000);
  await sleep(1000);
  sending = false;
  await Promise.all(clients);

  const during = answers.filter((answer) => answer.at > stoppedAt + 500 && answer.at < startedAt);
  expect(during.length).toBeGreaterThan(0);
  expect(new Set(during.map((answer) => answer.outcome))).toEqual(new Set(['UNAVAILABLE']));
  // Over the whole run, nothing but a transfer or UNAVAILABLE: no masked internal error, no other code.
  expect([...new Set(answers.map((answer) => answer.outcome))].sort()).toEqual(['PENDING', 'UNAVAILABLE']);
  expect(readyWhileDown.statusCode).toBe(503);
  expect((await app.fastify.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);

  // Every transfer committed — answered or not — settles: the workers retry, the sweepers deliver what they gave up on.
  await waitFor(async () => (await app.db.ledgerTransaction.count({ where: { status: 'PENDING' } })) === 0, 45_000);
  expect(await app.db.ledgerTransaction.count({ where: { status: 'FAILED' } })).toBe(0);
  await checkLedgerInvariants(app.db, app.services.config.houseOpeningBalance);
}, 90_000);
