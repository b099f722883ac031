import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { seed } from '../prisma/seed.js';
import { buildApp } from '../src/http/app.js';
import type { OrderUpdatedEvent } from '../src/modules/inventory/inventory.events.js';
import { signAccessToken } from '../src/modules/auth/auth.service.js';
import { failTransaction, transfer } from '../src/modules/ledger/ledger.service.js';
import { graphql } from './gql/index.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, appBehindRedisProxy, injectGraphQL, type Session, testConfig, useTestApp } from './helpers/app.js';
import { createTestDatabase } from './helpers/database.js';
import { readyUser } from './helpers/ledger.js';
import { eventually, killListeningConnection, type LiveResult, metric, sseSubscribe, subscriptionsRunning, wsClient } from './helpers/live.js';
import { sleep } from './harness/wait.js';

/**
 * Live updates against a real listening server: graphql-ws's own client over
 * `ws`, and GraphQL over SSE read from a fetch stream; on both event buses
 * (Redis pub/sub with REDIS_URL, PostgreSQL LISTEN/NOTIFY without).
 */

const Transfer = graphql(`
  mutation LiveTransfer($input: TransferInput!) { transfer(input: $input) { id status } }
`);
const TransactionUpdated = graphql(`
  subscription TransactionUpdated($accountId: ID) {
    transactionUpdated(accountId: $accountId) { id status amount from { id } to { id } settledAt }
  }
`);

type Party = { accessToken: string; accountId: string };
type Update = { transactionUpdated: { id: string; status: string; amount: string; settledAt: string | null } };

const LIMITS = { WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3', WS_MAX_CONNECTIONS_PER_USER: '2' };
const bearer = (session: { accessToken: string }) => `Bearer ${session.accessToken}`;
const key = () => `key-${randomBytes(8).toString('hex')}`;

/** The updates of one transaction among a subscription's results. */
const updatesOf = (results: Array<LiveResult<Update>>, id: string) =>
  results.filter((result) => result.data?.transactionUpdated.id === id).map((result) => result.data!.transactionUpdated);

/** Waits until the results hold an update of transaction `id` with `status`. */
const waitForStatus = (results: Array<LiveResult<Update>>, id: string, status: string) =>
  eventually(() => updatesOf(results, id).some((update) => update.status === status), `${status} of ${id}`, 20_000);

const codesOf = (error: unknown) => (error as Array<{ extensions?: { code?: string } }>).map((e) => e.extensions?.code);

describe.each(['redis', 'postgres'] as const)('live updates on the %s event bus', (backend) => {
  const t = useTestApp({ ...(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}), ...LIMITS }, { workers: true });
  let baseUrl = '';
  beforeAll(async () => {
    baseUrl = await t.app.start();
  });

  /** `from` transfers `amount` to `to` through the API: accepted PENDING; returns its id. */
  const sendTransfer = async (from: Party, to: Party, amount: string) => {
    const sent = await t.gql(
      Transfer,
      { input: { fromAccountId: from.accountId, toAccountId: to.accountId, amount, idempotencyKey: key() } },
      from.accessToken,
    );
    expect(sent.data?.transfer.status).toBe('PENDING');
    return sent.data!.transfer.id;
  };

  it('uses the bus the configuration names', () => {
    expect(t.app.services.pubsub.backend).toBe(backend);
  });

  it('weighs a subscription with its variables: a large page given in a variable is QUERY_TOO_COMPLEX', async () => {
    const [sender, receiver] = await Promise.all([readyUser(t), readyUser(t)]);
    const client = wsClient(baseUrl, bearer(sender));
    try {
      const aliases = Array.from(
        { length: 10 },
        (_, i) => `a${i}: from { owner { accounts { transactions(first: $n) { edges { node { id amount } } } } } }`,
      ).join(' ');
      const document = `subscription Heavy($n: Int) { transactionUpdated { id ${aliases} } }`;
      // Refused before it starts: one result with the error, then the end of the stream.
      const heavy = client.subscribe(document, { n: 100 });
      expect(await heavy.ended).toEqual({ completed: true });
      expect(heavy.results.map((result) => codesOf(result.errors))).toEqual([['QUERY_TOO_COMPLEX']]);
      // The same document with a small page is subscribed, and delivers.
      const before = await metric(baseUrl, 'switchyard_subscriptions{transport="ws"}');
      const light = client.subscribe<{ transactionUpdated: { id: string } }, { n: number }>(document, { n: 1 });
      await subscriptionsRunning(baseUrl, 'ws', before + 1);
      const id = await sendTransfer(sender, receiver, '1');
      const [first] = await light.waitForResults(1, 20_000);
      expect(first?.errors).toBeUndefined();
      expect(first?.data?.transactionUpdated.id).toBe(id);
    } finally {
      await client.dispose();
    }
  });
  it('a settled transfer reaches the sender and the receiver (graphql-ws), and no one else', async () => {
    const [sender, receiver, outsider] = await Promise.all([readyUser(t), readyUser(t), readyUser(t)]);
    const clients = [wsClient(baseUrl, bearer(sender)), wsClient(baseUrl, bearer(receiver)), wsClient(baseUrl, bearer(outsider))];
    try {
      const before = await metric(baseUrl, 'switchyard_subscriptions{transport="ws"}');
      const [senderFeed, receiverFeed, outsiderFeed] = [
        clients[0]!.subscribe(TransactionUpdated, {}),
        // The receiver narrows the feed to its account.
        clients[1]!.subscribe(TransactionUpdated, { accountId: receiver.accountId }),
        clients[2]!.subscribe(TransactionUpdated, {}),
      ];
      await subscriptionsRunning(baseUrl, 'ws', before + 3);

      const id = await sendTransfer(sender, receiver, '250');

      await waitForStatus(senderFeed.results, id, 'COMPLETED');
      await waitForStatus(receiverFeed.results, id, 'COMPLETED');
      for (const feed of [senderFeed, receiverFeed]) {
        const updates = updatesOf(feed.results as Array<LiveResult<Update>>, id);
        // PENDING is published before the settlement is enqueued; it is skipped only when the
        // worker had already settled it by the time it was delivered. Never twice, never after.
        expect(updates.map((update) => update.status)).toEqual(
          updates.length === 2 ? ['PENDING', 'COMPLETED'] : ['COMPLETED'],
        );
        expect(updates.at(-1)).toMatchObject({
          id,
          status: 'COMPLETED',
          amount: '250',
          from: { id: sender.accountId },
          to: { id: receiver.accountId },
        });
        expect(updates.at(-1)!.settledAt).not.toBeNull();
      }
      // A grace period after the parties got theirs: the outsider got nothing of it.
      await sleep(300);
      expect(updatesOf(outsiderFeed.results as Array<LiveResult<Update>>, id)).toEqual([]);
      expect(outsiderFeed.results.flatMap((result) => result.errors ?? [])).toEqual([]);
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });

  it('a transaction given up on is delivered FAILED', async () => {
    const [sender, receiver] = await Promise.all([readyUser(t), readyUser(t)]);
    const client = wsClient(baseUrl, bearer(sender));
    try {
      const before = await metric(baseUrl, 'switchyard_subscriptions{transport="ws"}');
      const feed = client.subscribe(TransactionUpdated, { accountId: sender.accountId });
      await subscriptionsRunning(baseUrl, 'ws', before + 1);
      // Recorded PENDING but never enqueued (no worker takes it), then failed as the last retry would.
      const { transaction } = await transfer(t.app.services, { id: sender.user.id, role: 'USER' }, {
        fromAccountId: sender.accountId,
        toAccountId: receiver.accountId,
        amount: 10n,
        idempotencyKey: key(),
      });
      expect(await failTransaction(t.app.services, transaction.id, 'test: gave up')).toBe(true);
      await waitForStatus(feed.results as Array<LiveResult<Update>>, transaction.id, 'FAILED');
      expect(updatesOf(feed.results as Array<LiveResult<Update>>, transaction.id).map((u) => u.status)).toEqual(
        expect.arrayContaining(['FAILED']),
      );
    } finally {
      await client.dispose();
    }
  });

  it("an accountId that is someone else's is NOT_FOUND at subscribe time", async () => {
    const [viewer, other] = await Promise.all([readyUser(t), readyUser(t)]);
    const client = wsClient(baseUrl, bearer(viewer));
    try {
      const feed = client.subscribe(TransactionUpdated, { accountId: other.accountId });
      expect(await feed.ended).toEqual({ completed: true });
      expect(feed.results).toHaveLength(1);
      expect(feed.results[0]!.errors?.map((error) => error.extensions?.code)).toEqual(['NOT_FOUND']);
      expect(feed.results[0]!.data ?? null).toBeNull();
    } finally {
      await client.dispose();
    }
  });

  it('an anonymous connection may connect, but transactionUpdated is UNAUTHENTICATED', async () => {
    const client = wsClient(baseUrl);
    try {
      await client.connected;
      const feed = client.subscribe(TransactionUpdated, {});
      expect(await feed.ended).toEqual({ completed: true });
      expect(feed.results[0]!.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    } finally {
      await client.dispose();
    }
  });

  /** Collects this process's orderUpdated events from the bus (no GraphQL in between). */
  const listen = () => {
    const received: OrderUpdatedEvent[] = [];
    const events = t.app.services.pubsub.subscribe('orderUpdated');
    void (async () => {
      for await (const event of events) received.push(event);
    })();
    return { received, stop: () => void events.return() };
  };
  const order = (): OrderUpdatedEvent => ({ id: randomBytes(6).toString('hex'), buyerId: 'nobody', status: 'PAID' });

  it('500 events published at once all arrive, in the order published, identical ones too', async () => {
    const { received, stop } = listen();
    try {
      const marker = order();
      await eventually(async () => {
        await t.app.services.pubsub.publish('orderUpdated', marker);
        return received.some((event) => event.id === marker.id);
      }, 'the bus to deliver');
      // Every fifth event repeats the one before it: PostgreSQL would deliver a payload repeated in one NOTIFY batch once.
      const events = Array.from({ length: 500 }, (_, i) => ({ ...order(), buyerId: `burst-${Math.floor(i / 5)}` }));
      for (let i = 4; i < events.length; i += 5) events[i] = events[i - 1]!;
      const outcomes = await Promise.all(events.map((event) => t.app.services.pubsub.publish('orderUpdated', event)));
      expect(outcomes.every(Boolean)).toBe(true);
      const burst = () => received.filter((event) => event.buyerId.startsWith('burst-'));
      await eventually(() => burst().length >= events.length, 'all 500 events', 10_000);
      await sleep(100);
      expect(burst()).toEqual(events);
    } finally {
      stop();
    }
  });

  it('the bus listens again after its connection is killed', async () => {
    const { received, stop } = listen();
    try {
      const before = order();
      await eventually(async () => {
        await t.app.services.pubsub.publish('orderUpdated', before);
        return received.some((event) => event.id === before.id);
      }, 'an event before the kill');
      await killListeningConnection(t, inject('redisUrl'));
      // Events published from now on arrive again once it is back (at most once: some may be lost meanwhile).
      const after = order();
      await eventually(async () => {
        await t.app.services.pubsub.publish('orderUpdated', { ...after });
        return received.some((event) => event.id === after.id);
      }, 'an event after the kill');
    } finally {
      stop();
    }
  });

  it('refuses a payload over MAX_EVENT_BYTES, and counts it', async () => {
    const { received, stop } = listen();
    try {
      const series = 'switchyard_events_published_total{topic="orderUpdated",outcome="too_large"}';
      const before = await metric(baseUrl, series);
      const large = { ...order(), buyerId: 'x'.repeat(8000) };
      expect(await t.app.services.pubsub.publish('orderUpdated', large)).toBe(false);
      expect(await metric(baseUrl, series)).toBe(before + 1);
      // A normal event after it arrives; the large one never does.
      const small = order();
      await eventually(async () => {
        await t.app.services.pubsub.publish('orderUpdated', small);
        return received.some((event) => event.id === small.id);
      }, 'the event after the refused one');
      expect(received.some((event) => event.id === large.id)).toBe(false);
    } finally {
      stop();
    }
  });

  it('SSE: transactionUpdated with the Authorization header receives the COMPLETED event', async () => {
    const [sender, receiver] = await Promise.all([readyUser(t), readyUser(t)]);
    const before = await metric(baseUrl, 'switchyard_subscriptions{transport="sse"}');
    const feed = await sseSubscribe(baseUrl, TransactionUpdated, {}, bearer(receiver));
    try {
      expect(feed.status).toBe(200);
      expect(feed.contentType).toMatch(/^text\/event-stream/);
      await subscriptionsRunning(baseUrl, 'sse', before + 1);
      const id = await sendTransfer(sender, receiver, '75');
      await waitForStatus(feed.results as Array<LiveResult<Update>>, id, 'COMPLETED');
      expect(updatesOf(feed.results as Array<LiveResult<Update>>, id).at(-1)).toMatchObject({ status: 'COMPLETED', amount: '75' });
    } finally {
      feed.stop();
    }
    // The client went away: the server ended the subscription.
    await subscriptionsRunning(baseUrl, 'sse', before);
  });
});

describe('the WebSocket and SSE transports', () => {
  // No workers: nothing publishes here but the tests themselves.
  const t = useTestApp({ ...LIMITS, WS_KEEPALIVE_MS: '300' });
  let baseUrl = '';
  beforeAll(async () => {
    baseUrl = await t.app.start();
  });

  /** An access token of `session`'s user that expires in `seconds`. */
  const shortLivedToken = (session: Session, seconds: number) =>
    signAccessToken(
      { ...t.app.services, config: { ...t.app.services.config, accessTokenTtlSeconds: seconds } },
      { id: session.user.id, role: 'USER' },
    );

  it('runs queries and mutations too, with the connection viewer', async () => {
    const user = await t.registerUser();
    const client = wsClient(baseUrl, bearer(user));
    try {
      const me = client.subscribe('{ me { id } }');
      expect(await me.ended).toEqual({ completed: true });
      expect(me.results).toEqual([{ data: { me: { id: user.user.id } } }]);
    } finally {
      await client.dispose();
    }
  });

  it.each([
    ['a forged token', 'Bearer not-a-jwt'],
    ['a malformed header', 'Token abc'],
  ])('closes the socket with 4403 for %s', async (_name, authorization) => {
    const client = wsClient(baseUrl, authorization);
    try {
      expect(await client.closed).toEqual({ code: 4403, reason: 'Forbidden' });
    } finally {
      await client.dispose();
    }
  });

  it('closes the socket with 4403 when its token expires, ending its subscriptions', async () => {
    const user = await t.registerUser();
    const token = await shortLivedToken(user, 2);
    const client = wsClient(baseUrl, `Bearer ${token}`);
    try {
      const before = await metric(baseUrl, 'switchyard_subscriptions{transport="ws"}');
      const feed = client.subscribe(TransactionUpdated, {});
      await subscriptionsRunning(baseUrl, 'ws', before + 1);
      const opened = Date.now();
      expect(await client.closed).toEqual({ code: 4403, reason: 'Token expired' });
      // exp has whole seconds: it is 1 to 2 s after the token was signed.
      expect(Date.now() - opened).toBeLessThan(3000);
      expect(await feed.ended).toMatchObject({ error: { code: 4403 } });
      await subscriptionsRunning(baseUrl, 'ws', before);
    } finally {
      await client.dispose();
    }
  });

  it('SSE: the stream ends at token expiry with an UNAUTHENTICATED result', async () => {
    const user = await t.registerUser();
    const token = await shortLivedToken(user, 2);
    const feed = await sseSubscribe(baseUrl, TransactionUpdated, {}, `Bearer ${token}`);
    const opened = Date.now();
    expect(await feed.ended).toEqual({ completed: true });
    expect(Date.now() - opened).toBeLessThan(3000);
    expect(feed.results).toEqual([
      { errors: [expect.objectContaining({ message: 'Access token expired.', extensions: { code: 'UNAUTHENTICATED' } })] },
    ]);
  });

  it('SSE: an anonymous transactionUpdated is UNAUTHENTICATED', async () => {
    const feed = await sseSubscribe(baseUrl, TransactionUpdated, {});
    expect(await feed.ended).toEqual({ completed: true });
    expect(feed.results.map((result) => result.errors?.map((error) => error.extensions?.code))).toEqual([
      ['UNAUTHENTICATED'],
    ]);
  });

  it('SSE over GET (as curl sends it) needs a CSRF header, like any GET', async () => {
    const user = await t.registerUser();
    const url = `${baseUrl}/graphql?query=${encodeURIComponent('subscription { transactionUpdated { id status } }')}`;
    const headers = { accept: 'text/event-stream', authorization: bearer(user) };
    const refused = await fetch(url, { headers });
    expect(refused.status).toBe(403);
    await refused.body?.cancel();

    const before = await metric(baseUrl, 'switchyard_subscriptions{transport="sse"}');
    const abort = new AbortController();
    const response = await fetch(url, { headers: { ...headers, 'x-graphql-yoga-csrf': '1' }, signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await subscriptionsRunning(baseUrl, 'sse', before + 1);
    abort.abort();
    await subscriptionsRunning(baseUrl, 'sse', before);
  });

  it('refuses a subscription past WS_MAX_SUBSCRIPTIONS_PER_CONNECTION with RATE_LIMITED', async () => {
    const user = await t.registerUser();
    const client = wsClient(baseUrl, bearer(user));
    try {
      const before = await metric(baseUrl, 'switchyard_subscriptions{transport="ws"}');
      const feeds = [1, 2, 3].map(() => client.subscribe(TransactionUpdated, {}));
      await subscriptionsRunning(baseUrl, 'ws', before + 3);
      const refused = client.subscribe(TransactionUpdated, {});
      const outcome = (await refused.ended) as { error: unknown };
      expect(codesOf(outcome.error)).toEqual(['RATE_LIMITED']);
      expect((outcome.error as Array<{ message: string }>)[0]!.message).toMatch(/Too many operations on this connection at once \(at most 3\)/);
      expect((outcome.error as Array<{ extensions: { retryAfter: number } }>)[0]!.extensions.retryAfter).toBe(5);
      // Completing one makes room again.
      feeds[0]!.stop();
      await subscriptionsRunning(baseUrl, 'ws', before + 2);
      client.subscribe(TransactionUpdated, {});
      await subscriptionsRunning(baseUrl, 'ws', before + 3);
    } finally {
      await client.dispose();
    }
  });

  it('closes a connection past WS_MAX_CONNECTIONS_PER_USER with 4429', async () => {
    const user = await t.registerUser();
    const first = wsClient(baseUrl, bearer(user));
    const second = wsClient(baseUrl, bearer(user));
    const anonymous = wsClient(baseUrl);
    try {
      await Promise.all([first.connected, second.connected, anonymous.connected]);
      const third = wsClient(baseUrl, bearer(user));
      expect(await third.closed).toEqual({ code: 4429, reason: 'Too many connections' });
      await third.dispose();
      // Another user is not affected; and once one closes, the user may connect again.
      const other = await t.registerUser();
      const otherClient = wsClient(baseUrl, bearer(other));
      await otherClient.connected;
      await otherClient.dispose();
      await first.dispose();
      await first.closed;
      const again = wsClient(baseUrl, bearer(user));
      await again.connected;
      await again.dispose();
    } finally {
      await Promise.all([first.dispose(), second.dispose(), anonymous.dispose()]);
    }
  });

  /** The sockets of earlier tests close asynchronously after their clients are disposed. */
  const earlierSocketsClosed = () =>
    eventually(async () => (await metric(baseUrl, 'switchyard_ws_connections')) === 0, 'earlier sockets closed');

  it('counts open connections on /metrics', async () => {
    await earlierSocketsClosed();
    const before = 0;
    const clients = [wsClient(baseUrl), wsClient(baseUrl)];
    await Promise.all(clients.map((client) => client.connected));
    expect(await metric(baseUrl, 'switchyard_ws_connections')).toBe(before + 2);
    await Promise.all(clients.map((client) => client.dispose()));
    await eventually(async () => (await metric(baseUrl, 'switchyard_ws_connections')) === before, 'connections down');
  });

  it('applies the query limits: a too-deep subscription is QUERY_TOO_COMPLEX', async () => {
    const user = await t.registerUser();
    const client = wsClient(baseUrl, bearer(user));
    try {
      const deep = client.subscribe(`subscription {
        transactionUpdated { from { owner { accounts { owner { accounts { owner { accounts { owner { accounts {
          owner { accounts { id } } } } } } } } } } } }
      }`);
      const outcome = (await deep.ended) as { error: unknown };
      expect(codesOf(outcome.error)).toContain('QUERY_TOO_COMPLEX');
      expect(JSON.stringify(outcome.error)).not.toContain('"http"');
      // A plain validation error carries the contract's code, without Yoga's HTTP details.
      const invalid = client.subscribe('subscription { noSuchField }');
      const refused = (await invalid.ended) as { error: unknown };
      expect(refused.error).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
    } finally {
      await client.dispose();
    }
  });



  it('reaps a peer that stops answering pings (WS_KEEPALIVE_MS)', async () => {
    await earlierSocketsClosed();
    const before = 0;
    // A raw socket that never answers the server's pings.
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { autoPong: false });
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'connection_init' }));
    expect(await metric(baseUrl, 'switchyard_ws_connections')).toBe(before + 1);
    const started = Date.now();
    // Terminated (no close frame: 1006) once a ping went unanswered for a whole interval.
    expect(await closed).toBe(1006);
    expect(Date.now() - started).toBeLessThan(3000);
    await eventually(async () => (await metric(baseUrl, 'switchyard_ws_connections')) === before, 'the reaped connection');
  });

  it('refuses upgrades on other paths', async () => {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/elsewhere`, 'graphql-transport-ws');
    const status = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('error', () => resolve(-1));
    });
    expect(status).toBe(404);
  });
});

describe('transport edge cases on an app of their own', () => {
  /** An app on a database of its own, listening, with one registered user; `close` stops it and drops the database. */
  async function ownApp() {
    const database = await createTestDatabase();
    const app = buildApp(testConfig(database.url));
    const baseUrl = await app.start();
    const registered = await injectGraphQL<{ register: { accessToken: string } }, unknown>(
      app,
      'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }',
      { input: { email: `own-${randomBytes(4).toString('hex')}@example.com`, password: 'own app password', name: 'O' } },
    );
    const close = async () => {
      await app.stop();
      await database.drop();
    };
    return { app, baseUrl, database, bearer: `Bearer ${registered.data!.register.accessToken}`, close };
  }

  it('masks unexpected errors on WebSocket operations: no stack, no details', async () => {
    const own = await ownApp();
    try {
      const client = wsClient(own.baseUrl, own.bearer);
      await client.connected;
      await own.database.drop();
      const me = client.subscribe('{ me { id email } }');
      expect(await me.ended).toEqual({ completed: true });
      expect(me.results).toHaveLength(1);
      expect(me.results[0]!.errors).toEqual([
        expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
      ]);
      expect(JSON.stringify(me.results)).not.toMatch(/stack|at \w+ \(|\.ts:\d|SELECT|prisma|postgres|database/i);
      await client.dispose();
    } finally {
      await own.close();
    }
  });

  it('stop() closes WebSockets with 1001 and ends SSE streams, then finishes promptly', async () => {
    const own = await ownApp();
    try {
      const client = wsClient(own.baseUrl, own.bearer);
      const feed = client.subscribe(TransactionUpdated, {});
      const sse = await sseSubscribe(own.baseUrl, TransactionUpdated, {}, own.bearer);
      await subscriptionsRunning(own.baseUrl, 'ws', 1);
      await subscriptionsRunning(own.baseUrl, 'sse', 1);

      const started = Date.now();
      await own.app.stop();
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await client.closed).toEqual({ code: 1001, reason: 'Server shutting down' });
      expect(await feed.ended).toMatchObject({ error: { code: 1001 } });
      expect(await sse.ended).toEqual({ completed: true });
      await client.dispose();
    } finally {
      // stop() runs once: a second call returns the first one's promise.
      await own.close();
    }
  });
});

describe('publishing while the Redis bus is unreachable', () => {
  it('a mutation still answers at once; the failed publish is counted; publishing works again once Redis is back', async () => {
    const { app, proxy, namespace, close } = await appBehindRedisProxy();
    try {
      await app.ready();
      await seed(app.services, { demo: false });
      const login = await injectGraphQL<{ login: { accessToken: string } }, unknown>(
        app,
        'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
        { input: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } },
      );
      const admin = login.data!.login.accessToken;
      const opened = await injectGraphQL<{ openAccount: { id: string } }, unknown>(
        app,
        'mutation { openAccount(input: { currency: "EUR" }) { id } }',
        {},
        admin,
      );
      const accountId = opened.data!.openAccount.id;
      const failed = 'switchyard_events_published_total{topic="transactionUpdated",outcome="failed"}';
      const scrape = async (series: string) => {
        const text = (await app.fastify.inject({ method: 'GET', url: '/metrics' })).body;
        const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
        return line ? Number(line.slice(series.length + 1)) : 0;
      };

      await proxy.cut();
      const started = Date.now();
      const deposit = await injectGraphQL<{ deposit: { status: string } }, unknown>(
        app,
        'mutation($input: DepositInput!) { deposit(input: $input) { status } }',
        { input: { accountId, amount: '500', idempotencyKey: `bus-down-${namespace}` } },
        admin,
      );
      expect(deposit.errors).toBeUndefined();
      expect(deposit.data?.deposit.status).toBe('PENDING');
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await scrape(failed)).toBe(1);

      await proxy.restore();
      await eventually(
        () => app.services.pubsub.publish('orderUpdated', { id: 'o', buyerId: 'b', status: 'PAID' }),
        'a publish once Redis is back',
      );
    } finally {
      await close();
    }
  });
});
