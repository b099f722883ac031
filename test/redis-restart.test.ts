import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../src/http/app.js';
import { startRedis, type Redis } from './harness/redis.js';
import { type Buyer, createBuyers } from './harness/users.js';
import { codes, injectGraphQL, type RunningTestApp, startTestApp, testConfig } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { checkLedgerInvariants, waitFor } from './helpers/ledger.js';

/**
 * A queue store that comes back empty — Redis restarted without persistence —
 * loses every job and every schedule it held. The sweepers run on the worker
 * process's own timer, so they go on and deliver every row accepted while it
 * was away (and every row whose job it lost) again. Bound: SWEEP_AFTER_MS + 30 s
 * (1 s + 30 s here; a few seconds in practice).
 */
const SWEEP_AFTER_MS = 1000;
const BOUND_MS = SWEEP_AFTER_MS + 30_000;

const TRANSFER = `mutation ($input: TransferInput!) { transfer(input: $input) { id status } }`;
const REGISTER = `mutation ($input: RegisterInput!) { register(input: $input) { user { id provisioningStatus } } }`;

let database: TestDatabase;
let redis: Redis;
let running: RunningTestApp;
let app: App;
let buyers: Buyer[];

beforeAll(async () => {
  database = await createTestDatabase();
  redis = await startRedis();
  const config = testConfig(database.url, {
    REDIS_URL: redis.url,
    SWEEP_AFTER_MS: String(SWEEP_AFTER_MS),
    SWEEP_INTERVAL_MS: '500',
  });
  running = await startTestApp(config, { workers: true });
  ({ app } = running);
  buyers = await createBuyers(app.services, 10, 100_000n);
});

afterAll(async () => {
  await running?.stop();
  await redis?.stop();
  await database?.drop();
});

const transfer = (from: Buyer, to: Buyer, amount: number) =>
  injectGraphQL<{ transfer: { id: string; status: string } }, unknown>(
    app,
    TRANSFER,
    { input: { fromAccountId: from.accountId, toAccountId: to.accountId, amount: String(amount), idempotencyKey: `k-${randomBytes(6).toString('hex')}` } },
    from.accessToken,
  );

it('settles everything accepted while Redis was away, after Redis comes back empty', async () => {
  // Before the outage: the store holds completed jobs (and nothing else the sweepers need).
  const before = await transfer(buyers[0]!, buyers[1]!, 100);
  expect(before.data?.transfer.status).toBe('PENDING');
  await waitFor(async () => (await app.db.ledgerTransaction.findUniqueOrThrow({ where: { id: before.data!.transfer.id } })).status === 'COMPLETED');

  const { port } = redis;
  redis.child.kill();
  await redis.child.exited;

  // While it is away every mutation still answers, with its row committed.
  const accepted = await Promise.all(
    Array.from({ length: 40 }, (_, i) => transfer(buyers[i % 10]!, buyers[(i + 3) % 10]!, 10 + i)),
  );
  expect(accepted.map(codes).flat()).toEqual([]);
  const ids = accepted.map((result) => result.data!.transfer.id);
  const signUp = await injectGraphQL<{ register: { user: { id: string; provisioningStatus: string } } }, unknown>(app, REGISTER, {
    input: { email: `outage-${randomBytes(5).toString('hex')}@example.com`, password: 'correct horse battery', name: 'Outage' },
  });
  expect(signUp.data?.register.user.provisioningStatus).toBe('PENDING');

  // An empty Redis on the same port: no job, no schedule survived.
  redis = await startRedis(undefined, port);
  const back = Date.now();
  await waitFor(async () => {
    const open = await app.db.ledgerTransaction.count({ where: { id: { in: ids }, status: 'PENDING' } });
    return open === 0;
  }, BOUND_MS);
  await waitFor(async () => {
    const user = await app.db.user.findUniqueOrThrow({ where: { id: signUp.data!.register.user.id } });
    return user.provisioningStatus === 'READY';
  }, BOUND_MS - (Date.now() - back));

  const settled = await app.db.ledgerTransaction.groupBy({ by: ['status'], where: { id: { in: ids } }, _count: true });
  expect(settled).toEqual([{ status: 'COMPLETED', _count: 40 }]);
  expect(running.sweepers?.overdue()).toEqual([]);
  await checkLedgerInvariants(app.db, app.services.config.houseOpeningBalance);
});
