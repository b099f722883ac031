import { randomBytes } from 'node:crypto';
import { type DocumentNode, parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createItem } from '../src/modules/inventory/inventory.service.js';
import { failTransaction } from '../src/modules/ledger/ledger.service.js';
import { STOCK_FEED_INTERVAL_MS } from '../src/modules/inventory/stock-feed.js';
import { graphql } from './gql/index.js';
import { signAccessToken } from '../src/modules/auth/auth.service.js';
import { type Buyer, createBuyers } from './harness/users.js';
import { insertTeams, questionsOf } from './helpers/quizzes.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { eventually, type LiveResult, sseSubscribe, subscriptionsRunning, wsClient } from './helpers/live.js';
import { type ListeningServer, type ServerProcess, spawnServer, stopAll } from './helpers/server-process.js';
import { type DatabaseServices, databaseServices, newKey, newSku } from './helpers/shop.js';
import { sleep } from './harness/wait.js';

/**
 * Events across processes, on both buses: two API processes (src/server.ts,
 * WORKERS=off) and a worker process (workers/index.ts), as production runs
 * them. A transfer made on API A is published PENDING by A, settled by the
 * worker process, which publishes COMPLETED; graphql-ws subscribers on A and
 * on B get both. Orders likewise: bought on A, fulfilled (or cancelled) by
 * the worker process, whose orderUpdated and stockChanged events reach
 * subscribers on B.
 *
 * The processes use the default queue prefix, and the Redis server is shared
 * by every test file (other files spawn worker processes on it too): their
 * queues live in a Redis database of their own, so that no other file's
 * worker takes (and loses) this file's jobs. Pub/sub channels span databases,
 * which is harmless: subscribers filter on ids of this file's rows.
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

// Plain strings (not graphql()): no codegen run needed for them.
const CrossPurchase = `mutation CrossPurchase($input: PurchaseInput!) { purchase(input: $input) { id status quantity } }`;
const CrossOrderUpdated = `subscription CrossOrderUpdated { orderUpdated { id status failureReason quantity buyer { id } } }`;
const CrossStockChanged = `subscription CrossStockChanged($itemId: ID!) { stockChanged(itemId: $itemId) { id sku stock price limitPerUser } }`;
type OrderUpdate = {
  orderUpdated: { id: string; status: string; failureReason: string | null; quantity: number; buyer: { id: string } };
};
const CrossCreateTeam = `mutation CrossCreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { id } }`;
const CrossRequestToJoin = `mutation CrossRequestToJoin($teamId: ID!) { requestToJoin(teamId: $teamId) { id } }`;
const CrossRespond = `mutation CrossRespond($requestId: ID!, $accept: Boolean!) { respondToJoinRequest(requestId: $requestId, accept: $accept) { id } }`;
const CrossTeamUpdated = `subscription CrossTeamUpdated($teamId: ID!) { teamUpdated(teamId: $teamId) { id memberCount } }`;
const CrossJoinRequestUpdated = `subscription CrossJoinRequestUpdated { joinRequestUpdated { id status } }`;
type TeamUpdate = { teamUpdated: { id: string; memberCount: number } };
const CrossCreateQuiz = `mutation CrossCreateQuiz($input: CreateQuizInput!) { createQuiz(input: $input) { id } }`;
const CrossAddQuestions = `mutation CrossAddQuestions($quizId: ID!, $questions: [QuizQuestionInput!]!) { addQuizQuestions(quizId: $quizId, questions: $questions) { id } }`;
const CrossPublish = `mutation CrossPublish($id: ID!) { publishQuiz(id: $id) { id } }`;
const CrossStart = `mutation CrossStart($id: ID!) { startQuiz(id: $id) { id } }`;
const CrossRegisterTeam = `mutation CrossRegisterTeam($quizId: ID!, $teamId: ID!) { registerForQuiz(quizId: $quizId, teamId: $teamId) { id } }`;
const CrossRequestQuestion = `mutation CrossRequestQuestion($quizId: ID!) { requestQuestion(quizId: $quizId, difficulty: EASY) { id } }`;
const CrossSubmit = `mutation CrossSubmit($assignmentId: ID!, $choiceIndex: Int!) { submitAnswer(assignmentId: $assignmentId, choiceIndex: $choiceIndex) { id } }`;
const CrossLeaderboard = `subscription CrossLeaderboard($quizId: ID!) { leaderboardUpdated(quizId: $quizId) { final quiz { status } entries { rank points team { id } } } }`;
type BoardUpdate = {
  leaderboardUpdated: { final: boolean; quiz: { status: string }; entries: Array<{ rank: number; points: number; team: { id: string } }> };
};
type RequestUpdate = { joinRequestUpdated: { id: string; status: string } };
type StockUpdate = { stockChanged: { id: string; sku: string; stock: number; price: string; limitPerUser: number | null } };

/** The shared test Redis, on a database of this file's own (see the file comment). */
const REDIS_DATABASE = 11;
const redisUrl = () => {
  const url = new URL(inject('redisUrl'));
  url.pathname = `/${REDIS_DATABASE}`;
  return url.toString();
};

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
const orderStatusesOf = (results: Array<LiveResult<OrderUpdate>>, id: string) =>
  results.filter((result) => result.data?.orderUpdated.id === id).map((result) => result.data!.orderUpdated.status);
const stocksOf = (results: Array<LiveResult<StockUpdate>>) => results.map((result) => result.data?.stockChanged.stock);

describe.each(['redis', 'postgres'] as const)('events across processes on the %s bus', (backend) => {
  let database: TestDatabase;
  let apiA: ListeningServer;
  let apiB: ListeningServer;
  /** The worker process running now, if any. */
  let worker: ServerProcess | undefined;
  /** The test's own view of the database (and signer of the processes' tokens). */
  let shop: DatabaseServices;
  const env = () => ({
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    ...(backend === 'redis' ? { REDIS_URL: redisUrl() } : {}),
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
  const stopWorker = async () => {
    if (!worker) return;
    worker.child.kill('SIGTERM');
    expect(await worker.closed).toEqual({ code: 0, signal: null });
    worker = undefined;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const api = () => spawnServer({ listen: true, env: { ...env(), LOG_LEVEL: 'warn' }, waitForBanner: true, timeoutMs: 45_000 });
    [apiA, apiB] = await Promise.all([api(), api()]);
    // After the processes seeded the database (the admin that funds buyers).
    shop = databaseServices(database.url, JWT_SECRET);
  }, 90_000);

  afterAll(async () => {
    await stopAll({ graceMs: 5000 });
    await shop?.close();
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
      worker = await startWorker();
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

  it('an order bought on API A and fulfilled or cancelled by the worker process: orderUpdated and stockChanged on B follow it', async () => {
    const { db } = shop.services;
    // No worker at first: what B sees then came from A.
    await stopWorker();
    const [buyer, other, outsider] = await createBuyers(shop.services, 3, 10_000n);
    // Their payment will have failed (the ledger gave up on it) by the time the worker takes the order.
    const [broke] = await createBuyers(shop.services, 1, 10_000n);
    const item = await createItem(shop.services, {
      sku: newSku(),
      name: 'Cross-process item',
      price: 100n,
      currency: 'USD',
      stock: 10,
      limitPerUser: null,
    });
    const stockInDatabase = async () => (await db.inventoryItem.findUniqueOrThrow({ where: { id: item.id } })).stock;
    const bearer = (who: Buyer) => `Bearer ${who.accessToken}`;
    const buy = async (who: Buyer, quantity: number) =>
      (
        await post<{ purchase: { id: string; status: string; quantity: number } }>(
          apiA.url,
          parse(CrossPurchase),
          { input: { itemId: item.id, quantity, accountId: who.accountId, idempotencyKey: newKey() } },
          who.accessToken,
        )
      ).purchase;

    // The buyer, someone who cannot pay and an outsider listen on B; the outsider on A too; anyone watches the stock on B.
    const clients = {
      buyer: wsClient(apiB.url, bearer(buyer!)),
      broke: wsClient(apiB.url, bearer(broke!)),
      outsiderOnB: wsClient(apiB.url, bearer(outsider!)),
      outsiderOnA: wsClient(apiA.url, bearer(outsider!)),
      watcher: wsClient(apiB.url),
    };
    try {
      const buyerFeed = clients.buyer.subscribe<OrderUpdate, Record<string, never>>(CrossOrderUpdated);
      const brokeFeed = clients.broke.subscribe<OrderUpdate, Record<string, never>>(CrossOrderUpdated);
      const outsiderFeeds = [clients.outsiderOnB, clients.outsiderOnA].map((client) =>
        client.subscribe<OrderUpdate, Record<string, never>>(CrossOrderUpdated),
      );
      const stock = clients.watcher.subscribe<StockUpdate, { itemId: string }>(CrossStockChanged, { itemId: item.id });
      // The first stockChanged event is the item as it is.
      const [first] = await stock.waitForResults(1);
      expect(first!.data).toEqual({ stockChanged: { id: item.id, sku: item.sku, stock: 10, price: '100', limitPerUser: null } });
      await subscriptionsRunning(apiB.url, 'ws', 4);
      await subscriptionsRunning(apiA.url, 'ws', 1);

      // Bought through A: 2 + 1 + 1 units, the last order unpayable.
      const [order, otherOrder, brokeOrder] = await Promise.all([buy(buyer!, 2), buy(other!, 1), buy(broke!, 1)]);
      expect([order, otherOrder, brokeOrder].map((o) => o!.status)).toEqual(['RESERVED', 'RESERVED', 'RESERVED']);
      expect(await stockInDatabase()).toBe(6);
      const { paymentTransactionId } = await db.order.findUniqueOrThrow({ where: { id: brokeOrder!.id } });
      expect(await failTransaction(shop.services, paymentTransactionId!, 'the card was declined')).toBe(true);

      // A's events reach B: the RESERVED orders, and the stock after the reservations.
      await eventually(() => orderStatusesOf(buyerFeed.results, order!.id).includes('RESERVED'), 'RESERVED on B');
      await eventually(() => orderStatusesOf(brokeFeed.results, brokeOrder!.id).includes('RESERVED'), 'the unpayable order RESERVED on B');
      await eventually(() => stocksOf(stock.results).at(-1) === 6, 'the stock after the reservations (6) on B');

      // The worker process takes the payments: FULFILLED, or CANCELLED with the stock back — its events alone from here on.
      worker = await startWorker();
      await eventually(() => orderStatusesOf(buyerFeed.results, order!.id).includes('FULFILLED'), 'FULFILLED on B', 20_000);
      await eventually(() => orderStatusesOf(brokeFeed.results, brokeOrder!.id).includes('CANCELLED'), 'CANCELLED on B', 20_000);
      await eventually(
        async () => (await db.order.count({ where: { itemId: item.id, status: { in: ['RESERVED', 'PAID'] } } })) === 0,
        'every order of the item settled',
        20_000,
      );
      const orders = await db.order.findMany({ where: { itemId: item.id }, select: { id: true, status: true } });
      expect(new Map(orders.map((row) => [row.id, row.status]))).toEqual(
        new Map([
          [order!.id, 'FULFILLED'],
          [otherOrder!.id, 'FULFILLED'],
          [brokeOrder!.id, 'CANCELLED'],
        ]),
      );
      // The cancelled unit came back: 10 - 2 - 1.
      const finalStock = await stockInDatabase();
      expect(finalStock).toBe(7);
      await eventually(() => stocksOf(stock.results).at(-1) === finalStock, `the final stock (${finalStock}) on B`);

      // The buyer saw their one order only, in lifecycle order (an event superseded before delivery may be skipped).
      const statuses = orderStatusesOf(buyerFeed.results, order!.id);
      const lifecycle = ['RESERVED', 'PAID', 'FULFILLED'];
      expect(statuses[0]).toBe('RESERVED');
      expect(statuses.at(-1)).toBe('FULFILLED');
      expect(statuses).toEqual(lifecycle.filter((status) => statuses.includes(status)));
      expect(buyerFeed.results.every((result) => result.data?.orderUpdated.id === order!.id && result.data.orderUpdated.buyer.id === buyer!.id)).toBe(true);
      expect(buyerFeed.results.at(-1)!.data!.orderUpdated.quantity).toBe(2);
      // The one who could not pay: RESERVED then CANCELLED, with the reason.
      expect(orderStatusesOf(brokeFeed.results, brokeOrder!.id)).toEqual(['RESERVED', 'CANCELLED']);
      expect(brokeFeed.results).toHaveLength(2);
      expect(brokeFeed.results.at(-1)!.data!.orderUpdated.failureReason).toBe('Payment failed: the card was declined');

      // Nothing more arrives after the final values (a quiet period well past the coalescing window).
      const seen = { buyer: buyerFeed.results.length, stock: stock.results.length };
      await sleep(STOCK_FEED_INTERVAL_MS * 5);
      expect({ buyer: buyerFeed.results.length, stock: stock.results.length }).toEqual(seen);
      const stocks = stocksOf(stock.results);
      expect(stocks.at(-1)).toBe(await stockInDatabase());
      // Every value shown was a real state: 10 at first, 6 after the reservations (some coalesced away), 7 at the end.
      expect(stocks.every((value) => value !== undefined && value >= 6 && value <= 10)).toBe(true);
      // The outsider, on either process, heard of none of these orders.
      for (const feed of outsiderFeeds) expect(feed.results).toEqual([]);
      for (const feed of [buyerFeed, brokeFeed, stock, ...outsiderFeeds]) {
        expect(feed.results.every((result) => result.errors === undefined)).toBe(true);
      }
    } finally {
      await Promise.all(Object.values(clients).map((client) => client.dispose()));
    }
  }, 90_000);

  it('a team changed through API A reaches its members’ teamUpdated and joinRequestUpdated on B', async () => {
    const [owner, joiner] = await createBuyers(shop.services, 2);
    const bearer = (who: Buyer) => `Bearer ${who.accessToken}`;
    const { createTeam } = await post<{ createTeam: { id: string } }>(
      apiA.url,
      parse(CrossCreateTeam),
      { input: { name: `Cross ${backend} ${randomBytes(4).toString('hex')}`, maxSize: 3 } },
      owner!.accessToken,
    );
    // The earlier tests' subscriptions on B are gone first: then "exactly 2" can only be these two.
    await subscriptionsRunning(apiB.url, 'ws', 0);
    const onB = wsClient(apiB.url, bearer(owner!));
    try {
      const teamFeed = onB.subscribe<TeamUpdate, unknown>(CrossTeamUpdated, { teamId: createTeam.id });
      const requestFeed = onB.subscribe<RequestUpdate, unknown>(CrossJoinRequestUpdated, {});
      await teamFeed.waitForResults(1);
      await subscriptionsRunning(apiB.url, 'ws', 2);

      const { requestToJoin } = await post<{ requestToJoin: { id: string } }>(
        apiA.url,
        parse(CrossRequestToJoin),
        { teamId: createTeam.id },
        joiner!.accessToken,
      );
      // A status superseded by the time a subscriber reads the row is skipped (the contract): PENDING first, then the answer.
      await eventually(() => requestFeed.results.length >= 1, 'PENDING on B', 20_000);
      await post(apiA.url, parse(CrossRespond), { requestId: requestToJoin.id, accept: true }, owner!.accessToken);
      await eventually(
        () => teamFeed.results.some((result) => result.data?.teamUpdated.memberCount === 2),
        'the accepted member on B',
        20_000,
      );
      await eventually(() => requestFeed.results.length >= 2, 'PENDING and ACCEPTED on B', 20_000);
      expect(requestFeed.results.map((result) => result.data?.joinRequestUpdated)).toEqual([
        { id: requestToJoin.id, status: 'PENDING' },
        { id: requestToJoin.id, status: 'ACCEPTED' },
      ]);
      expect(teamFeed.results[0]!.data?.teamUpdated).toEqual({ id: createTeam.id, memberCount: 1 });
    } finally {
      await onB.dispose();
    }
  }, 60_000);

  it('a quiz played through API A moves the leaderboard watched on B; the worker process ends it: final, then complete', async () => {
    const { db } = shop.services;
    worker ??= await startWorker();
    const adminRow = await db.user.findFirstOrThrow({ where: { role: 'ADMIN' }, select: { id: true } });
    const adminToken = await signAccessToken(shop.services, { id: adminRow.id, role: 'ADMIN' });
    const [leader, other] = await insertTeams(shop.services, database.url, 2);
    const play = <T,>(query: string, variables: unknown, token: string) => post<T>(apiA.url, parse(query), variables, token);
    const { createQuiz } = await play<{ createQuiz: { id: string } }>(
      CrossCreateQuiz,
      { input: { title: 'Cross-process quiz', maxTeams: 2, durationSeconds: 5 } },
      adminToken,
    );
    await play(CrossAddQuestions, { quizId: createQuiz.id, questions: questionsOf('EASY', 3) }, adminToken);
    await play(CrossPublish, { id: createQuiz.id }, adminToken);
    for (const team of [leader!, other!]) await play(CrossRegisterTeam, { quizId: createQuiz.id, teamId: team.id }, team.owner.accessToken);
    await play(CrossStart, { id: createQuiz.id }, adminToken);

    const onB = wsClient(apiB.url, `Bearer ${other!.owner.accessToken}`);
    try {
      const board = onB.subscribe<BoardUpdate, unknown>(CrossLeaderboard, { quizId: createQuiz.id });
      await board.waitForResults(1);
      const { requestQuestion } = await play<{ requestQuestion: { id: string } }>(
        CrossRequestQuestion,
        { quizId: createQuiz.id },
        leader!.owner.accessToken,
      );
      await play(CrossSubmit, { assignmentId: requestQuestion.id, choiceIndex: 1 }, leader!.owner.accessToken);
      await eventually(
        () => board.results.some((result) => result.data?.leaderboardUpdated.entries[0]?.points === 110),
        'the answer on B',
        20_000,
      );
      // No endQuiz: the end job, delayed to endsAt, runs in the worker process.
      expect(await board.ended).toEqual({ completed: true });
      const last = board.results.at(-1)!.data!.leaderboardUpdated;
      expect(last).toEqual({
        final: true,
        quiz: { status: 'ENDED' },
        entries: [
          { rank: 1, points: 110, team: { id: leader!.id } },
          { rank: 2, points: 100, team: { id: other!.id } },
        ],
      });
    } finally {
      await onB.dispose();
    }
  }, 60_000);

  it('on a real server process, an anonymous SSE transactionUpdated is answered 200 with UNAUTHENTICATED', async () => {
    const feed = await sseSubscribe(apiB.url, CrossTransactionUpdated, {});
    expect(feed.status).toBe(200);
    expect(await feed.ended).toEqual({ completed: true });
    expect(feed.results.map((result) => result.errors?.map((error) => error.extensions?.code))).toEqual([['UNAUTHENTICATED']]);
  });
});
