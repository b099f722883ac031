import { randomBytes } from 'node:crypto';
import { type DocumentNode, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { graphql } from './gql/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { eventually, type LiveResult, sseSubscribe, subscriptionsRunning, wsClient } from './helpers/live.js';
import { type ListeningServer, type ServerProcess, spawnServer, stopAll } from './helpers/server-process.js';

/**
 * Events across processes, on both buses: two API processes (src/server.ts,
 * WORKERS=off) and a worker process (workers/index.ts), as production runs
 * them. A transfer made on API A is published PENDING by A, settled by the
 * worker process, which publishes COMPLETED; graphql-ws subscribers on A and
 * on B get both.
 */

const JWT_SECRET = 'cross-process-events-secret-0123456789abcdef';

const Register = graphql(`
  mutation CrossRegister($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }
`);
const Me = graphql(`
  query CrossMe { me { provisioningStatus accounts { id } } }
`);
const CrossTransfer = graphql(`
  mutation CrossTransfer($input: TransferInput!) { transfer(input: $input) { id status } }
`);
const CrossTransactionUpdated = graphql(`
  subscription CrossTransactionUpdated { transactionUpdated { id status amount } }
`);

type Update = { transactionUpdated: { id: string; status: string; amount: string } };

/** POSTs an operation to a server process. */
async function post<T>(baseUrl: string, query: DocumentNode, variables: unknown, token?: string): Promise<T> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: print(query), variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(`request failed: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const statusesOf = (results: Array<LiveResult<Update>>, id: string) =>
  results.filter((result) => result.data?.transactionUpdated.id === id).map((result) => result.data!.transactionUpdated.status);

describe.each(['redis', 'postgres'] as const)('events across processes on the %s bus', (backend) => {
  let database: TestDatabase;
  let apiA: ListeningServer;
  let apiB: ListeningServer;
  const env = () => ({
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    ...(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}),
    JWT_SECRET,
    HOST: '127.0.0.1',
    WORKERS: 'off',
  });
  const startWorker = (): Promise<ServerProcess> =>
    spawnServer({
      entry: 'workers/index.ts',
      env: { ...env(), LOG_LEVEL: 'info' },
      waitForBanner: /"msg":"worker process ready"/,
      timeoutMs: 45_000,
    });

  beforeAll(async () => {
    database = await createTestDatabase();
    const api = () => spawnServer({ listen: true, env: { ...env(), LOG_LEVEL: 'warn' }, waitForBanner: true, timeoutMs: 45_000 });
    [apiA, apiB] = await Promise.all([api(), api()]);
  }, 90_000);

  afterAll(async () => {
    await stopAll({ graceMs: 5000 });
    await database?.drop();
  });

  it('a transfer on API A: its PENDING (from A) and COMPLETED (from the worker process) reach subscribers on A and B', async () => {
    // Provisioning (welcome credit) is a job: the first worker process runs it, then stops.
    const firstWorker = await startWorker();
    const register = (name: string) =>
      post<{ register: { accessToken: string; user: { id: string } } }>(apiA.url, Register, {
        input: { email: `${name}-${randomBytes(4).toString('hex')}@example.com`, password: 'cross process', name },
      });
    const [sender, receiver] = (await Promise.all([register('sender'), register('receiver')])).map((r) => r.register);
    const accountOf = async (token: string) => {
      let accountId = '';
      await eventually(async () => {
        const { me } = await post<{ me: { provisioningStatus: string; accounts: Array<{ id: string }> } }>(apiB.url, Me, {}, token);
        accountId = me.accounts[0]?.id ?? '';
        return me.provisioningStatus === 'READY';
      }, 'provisioning by the worker process', 20_000);
      return accountId;
    };
    const [senderAccount, receiverAccount] = await Promise.all([accountOf(sender!.accessToken), accountOf(receiver!.accessToken)]);
    firstWorker.child.kill('SIGTERM');
    expect(await firstWorker.closed).toEqual({ code: 0, signal: null });

    // The sender listens on A, the receiver on B.
    const onA = wsClient(apiA.url, `Bearer ${sender!.accessToken}`);
    const onB = wsClient(apiB.url, `Bearer ${receiver!.accessToken}`);
    try {
      const senderFeed = onA.subscribe(CrossTransactionUpdated);
      const receiverFeed = onB.subscribe(CrossTransactionUpdated);
      await subscriptionsRunning(apiA.url, 'ws', 1);
      await subscriptionsRunning(apiB.url, 'ws', 1);

      const { transfer } = await post<{ transfer: { id: string; status: string } }>(
        apiA.url,
        CrossTransfer,
        {
          input: { fromAccountId: senderAccount, toAccountId: receiverAccount, amount: '321', idempotencyKey: `x-${randomBytes(6).toString('hex')}` },
        },
        sender!.accessToken,
      );
      expect(transfer.status).toBe('PENDING');
      // No worker runs now: the transaction stays PENDING, and A's event reaches B's subscriber (and A's).
      await eventually(() => statusesOf(receiverFeed.results as Array<LiveResult<Update>>, transfer.id).includes('PENDING'), 'PENDING on B');
      await eventually(() => statusesOf(senderFeed.results as Array<LiveResult<Update>>, transfer.id).includes('PENDING'), 'PENDING on A');

      // A worker process settles it; its COMPLETED reaches both API processes' subscribers.
      await startWorker();
      for (const feed of [senderFeed, receiverFeed]) {
        await eventually(
          () => statusesOf(feed.results as Array<LiveResult<Update>>, transfer.id).includes('COMPLETED'),
          'COMPLETED from the worker process',
          20_000,
        );
        expect(statusesOf(feed.results as Array<LiveResult<Update>>, transfer.id)).toEqual(['PENDING', 'COMPLETED']);
        expect((feed.results as Array<LiveResult<Update>>).at(-1)?.data?.transactionUpdated.amount).toBe('321');
      }
    } finally {
      await Promise.all([onA.dispose(), onB.dispose()]);
    }
  }, 90_000);

  it('on a real server process, an anonymous SSE transactionUpdated is answered 200 with UNAUTHENTICATED', async () => {
    const feed = await sseSubscribe(apiB.url, CrossTransactionUpdated, {});
    expect(feed.status).toBe(200);
    expect(await feed.ended).toEqual({ completed: true });
    expect(feed.results.map((result) => result.errors?.map((error) => error.extensions?.code))).toEqual([['UNAUTHENTICATED']]);
  });
});
