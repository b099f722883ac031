import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { App } from '../src/http/app.js';
import { rateLimitedSchema } from '../src/http/rate-limits.js';
import { HOLD_AFTER, RefusalHold } from '../src/http/refusal-hold.js';
import { poolOf } from '../src/infra/db.js';
import { graphqlRuntime } from '../src/infra/graphql-runtime.js';
import { createRateLimitStore, takePoint } from '../src/infra/rate-limit-store.js';
import { appBehindRedisProxy, startTestApp, testConfig, useTestApp } from './helpers/app.js';
import { createTestDatabase } from './helpers/database.js';
import { eventually, sseSubscribe, subscriptionsRunning, wsClient } from './helpers/live.js';

/**
 * The @rateLimit fields of the contract, on both stores: each really throttles
 * (a directive wired wrong applies to nothing, silently), keys are the user or
 * else the client IP plus the field, the count is shared by two API processes,
 * and a store outage degrades to per-process limits.
 */

const LIMITS = {
  RATE_LIMITS: 'on',
  // Each test speaks from addresses of its own (X-Forwarded-For), so that no count leaks between tests.
  TRUST_PROXY: 'true',
  RATE_LIMIT_LOGIN: '6/60',
  RATE_LIMIT_LOGIN_FAILURES: '3/900',
  RATE_LIMIT_ANONYMOUS: '12/60',
  RATE_LIMIT_USER: '20/60',
  RATE_LIMIT_REGISTER: '3/3600',
  RATE_LIMIT_REFRESH_TOKEN: '3/60',
  RATE_LIMIT_MUTATION: '2/60',
  RATE_LIMIT_HOLD_MS: '500',
};
const HOLD_MS = 500;

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string; retryAfter?: unknown } }>;
}

let lastIp = 0;
/** An address no other test of this file uses. */
const freshIp = () => `198.51.${Math.floor(++lastIp / 250)}.${(lastIp % 250) + 1}`;

async function post(app: App, query: string, variables: unknown, from: { ip: string; token?: string }): Promise<Answer> {
  const response = await app.fastify.inject({
    method: 'POST',
    url: '/graphql',
    headers: {
      'content-type': 'application/json',
      'x-forwarded-for': from.ip,
      ...(from.token ? { authorization: `Bearer ${from.token}` } : {}),
    },
    payload: JSON.stringify({ query, variables }),
  });
  return response.json() as Answer;
}

const code = (answer: Answer) => answer.errors?.[0]?.extensions?.code ?? 'OK';

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken } }`;
const REFRESH = `mutation($token: String!) { refreshToken(refreshToken: $token) { refreshToken } }`;

const newUser = () => ({ email: `rl-${randomBytes(5).toString('hex')}@example.com`, password: 'correct horse battery', name: 'Limited' });

async function register(app: App, ip = freshIp()) {
  const answer = await post(app, REGISTER, { input: newUser() }, { ip });
  const session = answer.data?.register as { accessToken: string; refreshToken: string; user: { id: string } } | undefined;
  if (!session) throw new Error(`register failed: ${JSON.stringify(answer.errors)}`);
  return session;
}

/** Calls of each expensive mutation that reach its resolver (they fail there: nothing by these ids exists). */
const MUTATIONS: Record<string, [string, unknown]> = {
  purchase: [
    `mutation($input: PurchaseInput!) { purchase(input: $input) { id } }`,
    { input: { itemId: 'no-item', accountId: 'no-account', quantity: 1, idempotencyKey: 'rate-limit-test' } },
  ],
  transfer: [
    `mutation($input: TransferInput!) { transfer(input: $input) { id } }`,
    { input: { fromAccountId: 'no-account', toAccountId: 'nor-this', amount: '1', idempotencyKey: 'rate-limit-test' } },
  ],
  requestQuestion: [`mutation { requestQuestion(quizId: "no-quiz", difficulty: EASY) { id } }`, {}],
  submitAnswer: [`mutation { submitAnswer(assignmentId: "no-assignment", choiceIndex: 0) { id } }`, {}],
  runBacktest: [
    `mutation { runBacktest(strategyId: "no-strategy", from: "2020-01-01T00:00:00Z", to: "2021-01-01T00:00:00Z") { id } }`,
    {},
  ],
};

describe.each(['redis', 'postgres'] as const)('rate limits with the %s store', (backend) => {
  const t = useTestApp({ ...LIMITS, ...(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}) });
  let baseUrl: string | undefined;
  const started = async () => (baseUrl ??= await t.app.start());

  it('keeps its counters in the store the configuration names', async () => {
    const email = newUser().email;
    await post(t.app, LOGIN, { input: { email, password: 'wrong password' } }, { ip: freshIp() });
    const rows = await poolOf(t.app.db).query<{ key: string }>('SELECT key FROM rate_limits');
    const redis = new Redis(inject('redisUrl'));
    try {
      const keys = await redis.keys(`${t.namespace ?? 'none'}:*`);
      if (backend === 'postgres') {
        expect(rows.rows.map((row) => row.key)).toContainEqual(expect.stringMatching(/Mutation\.login$/));
      } else {
        expect(rows.rows).toEqual([]);
        expect(keys).toContainEqual(expect.stringMatching(/Mutation\.login$/));
      }
    } finally {
      redis.disconnect();
    }
  });

  it('register: 3 per IP, then RATE_LIMITED with a whole retryAfter; another IP is not affected', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++) await register(t.app, ip);
    const refused = await post(t.app, REGISTER, { input: newUser() }, { ip });
    expect(code(refused)).toBe('RATE_LIMITED');
    const retryAfter = refused.errors?.[0]?.extensions?.retryAfter;
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(3590);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    await register(t.app, freshIp());
  });

  it('login: 6 per IP, right and wrong passwords alike', async () => {
    const user = newUser();
    await post(t.app, REGISTER, { input: user }, { ip: freshIp() });
    const ip = freshIp();
    const codes = [];
    for (const password of ['wrong', user.password, user.password, 'wrong', user.password, user.password, user.password]) {
      codes.push(code(await post(t.app, LOGIN, { input: { email: user.email, password } }, { ip })));
    }
    expect(codes).toEqual(['UNAUTHENTICATED', 'OK', 'OK', 'UNAUTHENTICATED', 'OK', 'OK', 'RATE_LIMITED']);
  });

  it('login failures: 3 per email and IP, then even the right password is refused there until the window ends', async () => {
    const user = newUser();
    await post(t.app, REGISTER, { input: user }, { ip: freshIp() });
    const ip = freshIp();
    const attempt = (password: string, from = ip) => post(t.app, LOGIN, { input: { email: user.email, password } }, { ip: from });
    for (let i = 0; i < 3; i++) expect(code(await attempt('wrong password'))).toBe('UNAUTHENTICATED');
    const locked = await attempt(user.password);
    expect(code(locked)).toBe('RATE_LIMITED');
    expect(locked.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(890);
    expect(locked.errors?.[0]?.extensions?.retryAfter).toBeLessThanOrEqual(900);
    // The same email from another address, and another email from this one, are not locked.
    expect(code(await attempt(user.password, freshIp()))).toBe('OK');
    const other = newUser();
    await post(t.app, REGISTER, { input: other }, { ip: freshIp() });
    expect(code(await post(t.app, LOGIN, { input: { email: other.email, password: other.password } }, { ip }))).toBe('OK');
  });

  it('login failures: a success gives the budget back', async () => {
    const user = newUser();
    await post(t.app, REGISTER, { input: user }, { ip: freshIp() });
    const ip = freshIp();
    const codes = [];
    for (const password of ['wrong', 'wrong', user.password, 'wrong', 'wrong', user.password]) {
      codes.push(code(await post(t.app, LOGIN, { input: { email: user.email, password } }, { ip })));
    }
    expect(codes).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'OK', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'OK']);
  });

  it('login failures are exact under concurrent wrong attempts: 3 are checked, the rest refused', async () => {
    const user = newUser();
    await post(t.app, REGISTER, { input: user }, { ip: freshIp() });
    // One email from one address: 6 at once, the most the per-IP login limit lets through.
    const ip = freshIp();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => post(t.app, LOGIN, { input: { email: user.email, password: 'wrong password' } }, { ip })),
    );
    expect(answers.map(code).sort()).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
  });

  it('anonymous operations: 12 per IP, then RATE_LIMITED and nothing runs', async () => {
    const ip = freshIp();
    for (let i = 0; i < 12; i++) expect(code(await post(t.app, '{ __typename }', {}, { ip }))).toBe('OK');
    const refused = await post(t.app, '{ __typename }', {}, { ip });
    expect(code(refused)).toBe('RATE_LIMITED');
    expect(refused.data ?? null).toBeNull();
    // Refused before GraphQL, over HTTP: 429 with Retry-After, the same seconds as the error's retryAfter; counted.
    const refusals = async () => {
      const text = (await t.app.fastify.inject({ method: 'GET', url: '/metrics' })).body;
      return Number(/graphql_errors_total\{code="RATE_LIMITED"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await refusals();
    const raw = await t.app.fastify.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      payload: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(raw.statusCode).toBe(429);
    const retryAfter = (raw.json() as Answer).errors?.[0]?.extensions?.retryAfter;
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(raw.headers['retry-after']).toBe(String(retryAfter));
    expect(await refusals()).toBe(before + 1);
    expect(code(await post(t.app, '{ __typename }', {}, { ip: freshIp() }))).toBe('OK');
  });

  it('a client that keeps sending past its Retry-After gets its refusals late; others are answered at once', async () => {
    const ip = freshIp();
    for (let i = 0; i < 12; i++) expect(code(await post(t.app, '{ __typename }', {}, { ip }))).toBe('OK');
    const timed = async (from: string) => {
      const started = performance.now();
      const answer = await post(t.app, '{ __typename }', {}, { ip: from });
      return { code: code(answer), ms: performance.now() - started, retryAfter: answer.errors?.[0]?.extensions?.retryAfter };
    };
    const refusals = [];
    for (let i = 0; i < HOLD_AFTER + 2; i++) refusals.push(await timed(ip));
    expect(refusals.map((refusal) => refusal.code)).toEqual(Array(HOLD_AFTER + 2).fill('RATE_LIMITED'));
    expect(refusals.slice(0, HOLD_AFTER).map((refusal) => refusal.ms < HOLD_MS)).toEqual(Array(HOLD_AFTER).fill(true));
    for (const held of refusals.slice(HOLD_AFTER)) {
      expect(held.ms).toBeGreaterThanOrEqual(HOLD_MS - 20);
      // Still a whole number of seconds within the window.
      expect(Number.isInteger(held.retryAfter)).toBe(true);
      expect(held.retryAfter).toBeGreaterThanOrEqual(1);
      expect(held.retryAfter).toBeLessThanOrEqual(60);
    }
    // Another client is neither refused nor held meanwhile.
    const other = await timed(freshIp());
    expect(other.code).toBe('OK');
    expect(other.ms).toBeLessThan(HOLD_MS);
  });

  it('a flood from one IP is admitted exactly to its budget while 10 other IPs are not throttled at all', async () => {
    const flooder = freshIp();
    const others = Array.from({ length: 10 }, freshIp);
    const query = '{ items(first: 5) { edges { node { id } } } }';
    const [flood, legit] = await Promise.all([
      Promise.all(Array.from({ length: 120 }, () => post(t.app, query, {}, { ip: flooder }))),
      Promise.all(others.flatMap((ip) => Array.from({ length: 5 }, () => post(t.app, query, {}, { ip })))),
    ]);
    const floodCodes = flood.map(code);
    expect(floodCodes.filter((each) => each === 'OK')).toHaveLength(12);
    expect(floodCodes.filter((each) => each === 'RATE_LIMITED')).toHaveLength(108);
    expect(legit.map(code)).toEqual(Array(50).fill('OK'));
  });

  it('signed-in operations: 20 per user from any address, a subscription counted once when subscribed', async () => {
    const session = await register(t.app);
    const baseUrl = await started();
    const client = wsClient(baseUrl, `Bearer ${session.accessToken}`);
    try {
      // The first point: one subscription, whatever it delivers afterwards.
      const feed = client.subscribe(`subscription { joinRequestUpdated { id } }`);
      await subscriptionsRunning(baseUrl, 'ws', 1);
      for (let i = 0; i < 19; i++) {
        expect(code(await post(t.app, '{ me { id } }', {}, { ip: freshIp(), token: session.accessToken }))).toBe('OK');
      }
      expect(code(await post(t.app, '{ me { id } }', {}, { ip: freshIp(), token: session.accessToken }))).toBe('RATE_LIMITED');
      // Over the WebSocket too: the budget is the user's, whatever the transport.
      const refused = client.subscribe(`subscription { joinRequestUpdated { id } }`);
      expect(await refused.ended).toEqual({ completed: true });
      expect(refused.results.map((result) => result.errors?.[0]?.extensions?.code)).toEqual(['RATE_LIMITED']);
      feed.stop();
    } finally {
      await client.dispose();
    }
  });

  it('refreshToken: 3 per IP', async () => {
    let { refreshToken } = await register(t.app);
    const ip = freshIp();
    for (let i = 0; i < 3; i++) {
      const answer = await post(t.app, REFRESH, { token: refreshToken }, { ip });
      expect(code(answer)).toBe('OK');
      refreshToken = (answer.data?.refreshToken as { refreshToken: string }).refreshToken;
    }
    expect(code(await post(t.app, REFRESH, { token: refreshToken }, { ip }))).toBe('RATE_LIMITED');
  });

  it('purchase, transfer, requestQuestion, submitAnswer and runBacktest: 2 per user, each field counted apart', async () => {
    const [ada, bob] = [await register(t.app), await register(t.app)];
    for (const [field, [query, variables]] of Object.entries(MUTATIONS)) {
      // From a new address each time: the count is the user's, not the address's.
      const calls = [];
      for (let i = 0; i < 3; i++) calls.push(code(await post(t.app, query, variables, { ip: freshIp(), token: ada.accessToken })));
      expect({ field, calls }).toEqual({ field, calls: [expect.not.stringMatching('RATE_LIMITED'), expect.not.stringMatching('RATE_LIMITED'), 'RATE_LIMITED'] });
      // Another user has a budget of their own.
      expect(code(await post(t.app, query, variables, { ip: freshIp(), token: bob.accessToken }))).not.toBe('RATE_LIMITED');
    }
  });
});

describe('RefusalHold', () => {
  it('holds from the refusal after HOLD_AFTER in a window, never past its last second, and starts over with the next window', () => {
    const hold = new RefusalHold(1000);
    const now = 1_000_000;
    const delays = Array.from({ length: HOLD_AFTER + 1 }, () => hold.delayFor('ip:a', 30_000, now));
    expect(delays).toEqual([...Array(HOLD_AFTER).fill(0), 1000]);
    expect(hold.delayFor('ip:a', 1_500, now)).toBe(500);
    expect(hold.delayFor('ip:a', 900, now)).toBe(0);
    expect(hold.delayFor('ip:b', 30_000, now)).toBe(0);
    // The window ended: the client starts over.
    expect(hold.delayFor('ip:a', 30_000, now + 30_000)).toBe(0);
    expect(new RefusalHold(0).delayFor('ip:c', 30_000, now)).toBe(0);
  });
});

describe('RATE_LIMITS=off', () => {
  const t = useTestApp({ ...LIMITS, RATE_LIMITS: 'off' });

  it('limits nothing', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) await register(t.app, ip);
  });

  it('a subscription field may not carry @rateLimit: its resolver runs per event', async () => {
    const { GraphQLInt, GraphQLObjectType, GraphQLSchema } = graphqlRuntime;
    const store = createRateLimitStore({ redisUrl: undefined, pool: poolOf(t.app.db), log: t.app.services.log });
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
      subscription: new GraphQLObjectType({
        name: 'Subscription',
        fields: { ticks: { type: GraphQLInt, extensions: { rateLimitName: 'mutation' } } },
      }),
    });
    const enabled = { ...t.config, rateLimitsEnabled: true };
    expect(() => rateLimitedSchema(schema, enabled, store)).toThrow(/Subscription\.ticks: @rateLimit would count every event/);
  });
});

/** Two API apps on one database and (on the Redis store) one namespace of their own: two processes sharing one store. */
function useTwoApiProcesses(backend: 'redis' | 'postgres', env: Record<string, string>): () => App[] {
  let apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    const config = testConfig(database.url, { ...env, ...(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {}) });
    const namespace = backend === 'redis' ? `test-${randomBytes(6).toString('hex')}` : undefined;
    const options = { queues: { namespace }, events: { namespace }, rateLimits: { namespace } };
    apps = [await startTestApp(config, options), await startTestApp(config, options)];
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await drop?.();
  });
  return () => apps.map((running) => running.app);
}

describe.each(['redis', 'postgres'] as const)('two API processes on the %s store', (backend) => {
  const apps = useTwoApiProcesses(backend, LIMITS);

  it('share one count: registrations from one IP across both are refused past the limit', async () => {
    const ip = freshIp();
    const [first, second] = apps();
    await register(first!, ip);
    await register(second!, ip);
    await register(first!, ip);
    expect(code(await post(second!, REGISTER, { input: newUser() }, { ip }))).toBe('RATE_LIMITED');
    expect(code(await post(first!, REGISTER, { input: newUser() }, { ip }))).toBe('RATE_LIMITED');
  });
});

describe.each(['redis', 'postgres'] as const)('a burst of one key on the %s store', (backend) => {
  const t = useTestApp(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {});

  it('200 points asked at once of a budget of 50: exactly 50 admitted, the first 50 asked; another process sees it spent', async () => {
    const namespace = t.namespace ?? 'burst';
    const stores = [0, 1].map(() =>
      createRateLimitStore({
        redisUrl: backend === 'redis' ? inject('redisUrl') : undefined,
        pool: poolOf(t.app.db),
        log: t.app.services.log,
        namespace,
      }),
    );
    for (const store of stores) store.start();
    try {
      // Until Redis is connected, each store counts in its own memory (the insurance).
      await eventually(() => stores.every((store) => store.connected), 'the stores connected');
      const options = { points: 50, duration: 60, keyPrefix: `burst-${randomBytes(4).toString('hex')}` };
      const [first, second] = stores.map((store) => store.limiter(options));
      // Another key's takes run alongside, in batches of their own.
      const [hot, other] = await Promise.all([
        Promise.all(Array.from({ length: 200 }, () => takePoint(first!, 'ip:hot'))),
        Promise.all(Array.from({ length: 30 }, () => takePoint(first!, 'ip:other'))),
      ]);
      expect(hot.slice(0, 50)).toEqual(Array(50).fill(null));
      expect(hot.slice(50).every((ms) => typeof ms === 'number' && ms > 0 && ms <= 60_000)).toBe(true);
      expect(other).toEqual(Array(30).fill(null));
      // A second process on the same store: the key's budget is spent there too; 20 left of the other's.
      const later = await Promise.all(Array.from({ length: 25 }, () => takePoint(second!, 'ip:other')));
      expect(later.filter((ms) => ms === null)).toHaveLength(20);
      expect(await takePoint(second!, 'ip:hot')).toBeGreaterThan(0);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});

describe.each(['redis', 'postgres'] as const)('places at once on the %s store', (backend) => {
  const t = useTestApp(backend === 'redis' ? { REDIS_URL: inject('redisUrl') } : {});
  const storeOf = (leaseTtlMs?: number) => {
    const store = createRateLimitStore({
      redisUrl: backend === 'redis' ? inject('redisUrl') : undefined,
      pool: poolOf(t.app.db),
      log: t.app.services.log,
      namespace: t.namespace ?? 'places',
      leaseTtlMs,
    });
    store.start();
    return store;
  };

  it('a place of a process that died frees itself when its lease ends; a live process keeps its places', async () => {
    const [living, dying, other] = [storeOf(600), storeOf(600), storeOf(600)];
    try {
      await eventually(() => [living, dying, other].every((store) => store.connected), 'the stores connected');
      const name = `test-${randomBytes(4).toString('hex')}`;
      const [kept, lost, third] = [living, dying, other].map((store) => store.concurrencyLimit(name, 2));
      expect(await kept!.tryTake('user:a')).not.toBeNull();
      expect(await lost!.tryTake('user:a')).not.toBeNull();
      expect(await third!.tryTake('user:a')).toBeNull();
      // The second process stops without giving its place back.
      await dying.close();
      await eventually(async () => {
        const place = await third!.tryTake('user:a');
        place?.();
        return place !== null;
      }, 'the dead lease expired');
      // The living process's place was renewed past several lease lives.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const again = await third!.tryTake('user:a');
      expect(again).not.toBeNull();
      expect(await third!.tryTake('user:a')).toBeNull();
      again!();
      // Given back, it is free at once for this process.
      expect(await third!.tryTake('user:a')).not.toBeNull();
    } finally {
      await Promise.all([living.close(), other.close()]);
    }
  });
});

describe.each(['redis', 'postgres'] as const)('subscriptions at once across two API processes on the %s store', (backend) => {
  const apps = useTwoApiProcesses(backend, { RATE_LIMITS: 'on', MAX_SUBSCRIPTIONS_PER_USER: '3' });

  it('count one user’s subscriptions on both: the fourth is refused on either, and one ended on A frees a place on B', async () => {
    const [a, b] = apps();
    const [urlA, urlB] = [await a!.start(), await b!.start()];
    const session = await register(a!);
    const bearer = `Bearer ${session.accessToken}`;
    const FEED = 'subscription { joinRequestUpdated { id } }';
    const [onA, onB] = [wsClient(urlA, bearer), wsClient(urlB, bearer)];
    const streams = [];
    try {
      const first = onA.subscribe(FEED);
      onA.subscribe(FEED);
      streams.push(await sseSubscribe(urlB, FEED, {}, bearer));
      await subscriptionsRunning(urlA, 'ws', 2);
      await subscriptionsRunning(urlB, 'sse', 1);
      const refused = onB.subscribe(FEED);
      expect(await refused.ended).toEqual({ completed: true });
      expect(refused.results.map((result) => result.errors?.[0]?.extensions?.code)).toEqual(['RATE_LIMITED']);
      first.stop();
      await subscriptionsRunning(urlA, 'ws', 1);
      await eventually(async () => {
        const attempt = onB.subscribe(FEED);
        const outcome = await Promise.race([attempt.ended.then(() => 'ended'), subscriptionsRunning(urlB, 'ws', 1).then(() => 'running')]);
        return outcome === 'running';
      }, 'a place free on B');
    } finally {
      for (const stream of streams) stream.stop();
      await Promise.all([onA.dispose(), onB.dispose()]);
    }
  });
});

describe('the Redis store unreachable', () => {
  it('limits each process on its own (the insurance limiter) instead of failing requests', async () => {
    const { app, proxy, close } = await appBehindRedisProxy({ env: { ...LIMITS, RATE_LIMIT_LOGIN: '2/60' } });
    try {
      await app.ready();
      await proxy.cut();
      const ip = freshIp();
      const codes = [];
      for (let i = 0; i < 3; i++) {
        codes.push(code(await post(app, LOGIN, { input: { email: 'nobody@example.com', password: 'wrong password' } }, { ip })));
      }
      expect(codes).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'RATE_LIMITED']);
    } finally {
      await proxy.restore();
      // Connected again before it stops: a queue or bus client stopped while it reconnects keeps retrying.
      await eventually(async () => (await app.fastify.inject({ method: 'GET', url: '/ready' })).statusCode === 200, 'ready again');
      await close();
    }
  });
});


describe('subscriptions and connections at once', () => {
  const t = useTestApp({ RATE_LIMITS: 'on', MAX_SUBSCRIPTIONS_PER_USER: '3', MAX_ANONYMOUS_CONNECTIONS_PER_IP: '2' });
  let baseUrl = '';
  beforeAll(async () => {
    baseUrl = await t.app.start();
  });
  const FEED = 'subscription { joinRequestUpdated { id } }';

  it('caps a user’s subscriptions over WebSocket and SSE together, and frees a place when one ends', async () => {
    const session = await t.registerUser();
    const bearer = `Bearer ${session.accessToken}`;
    const client = wsClient(baseUrl, bearer);
    const streams = [];
    try {
      const first = client.subscribe(FEED);
      client.subscribe(FEED);
      streams.push(await sseSubscribe(baseUrl, FEED, {}, bearer));
      await subscriptionsRunning(baseUrl, 'ws', 2);
      await subscriptionsRunning(baseUrl, 'sse', 1);
      const overWs = client.subscribe(FEED);
      expect(await overWs.ended).toEqual({ completed: true });
      expect(overWs.results.map((result) => result.errors?.[0]?.extensions)).toEqual([
        expect.objectContaining({ code: 'RATE_LIMITED', retryAfter: 5 }),
      ]);
      const overSse = await sseSubscribe(baseUrl, FEED, {}, bearer);
      streams.push(overSse);
      await overSse.ended;
      expect(overSse.results.map((result) => result.errors?.[0]?.extensions?.code)).toEqual(['RATE_LIMITED']);
      // Another user is not affected.
      const other = await t.registerUser();
      const theirs = await sseSubscribe(baseUrl, FEED, {}, `Bearer ${other.accessToken}`);
      streams.push(theirs);
      await subscriptionsRunning(baseUrl, 'sse', 2);
      first.stop();
      await subscriptionsRunning(baseUrl, 'ws', 1);
      client.subscribe(FEED);
      await subscriptionsRunning(baseUrl, 'ws', 2);
    } finally {
      for (const stream of streams) stream.stop();
      await client.dispose();
    }
  });

  it('without TRUST_PROXY, ignores X-Forwarded-For: the peer is the client', async () => {
    await post(t.app, '{ __typename }', {}, { ip: '203.0.113.77' });
    const { rows } = await poolOf(t.app.db).query<{ key: string }>('SELECT key FROM rate_limits');
    expect(rows.map((row) => row.key)).toContain('anonymous:ip:127.0.0.1');
    expect(rows.map((row) => row.key).join()).not.toContain('203.0.113.77');
  });

  it('caps anonymous WebSocket connections and SSE streams per client IP together', async () => {
    const admin = await t.loginAdmin();
    const created = await t.gql<{ createItem: { id: string } }, unknown>(
      `mutation { createItem(input: { sku: "CAP-1", name: "Cap", price: "1", currency: "USD", stock: 5 }) { id } }`,
      {},
      admin.accessToken,
    );
    const itemId = created.data!.createItem.id;
    const anonymous = wsClient(baseUrl);
    const stream = await sseSubscribe(baseUrl, `subscription($id: ID!) { stockChanged(itemId: $id) { id stock } }`, { id: itemId });
    try {
      await anonymous.connected;
      await stream.waitForResults(1);
      // Both places of 127.0.0.1 are taken: the next anonymous connection is closed with 4429.
      const third = wsClient(baseUrl);
      expect((await third.closed).code).toBe(4429);
      // A signed-in connection is not anonymous.
      const session = await t.registerUser();
      const signedIn = wsClient(baseUrl, `Bearer ${session.accessToken}`);
      await signedIn.connected;
      await signedIn.dispose();
      stream.stop();
      await subscriptionsRunning(baseUrl, 'sse', 0);
      const again = wsClient(baseUrl);
      await again.connected;
      await again.dispose();
    } finally {
      stream.stop();
      await anonymous.dispose();
    }
  });
});
