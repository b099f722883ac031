import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../prisma/seed.js';
import { type App, buildApp } from '../src/http/app.js';
import { isPlainResult, negotiateMediaType } from '../src/http/fast-path.js';
import { graphqlRuntime } from '../src/infra/graphql-runtime.js';
import { schema } from '../src/schema/index.js';
import { createTestDatabase } from './helpers/database.js';
import { testConfig } from './helpers/app.js';

/**
 * The fast path must answer exactly as Yoga's own handler does. Two apps on
 * one database — with and without it — get the same requests, and their
 * status, content type and body are compared.
 */
let fast: App;
let yogaOnly: App;
let drop: () => Promise<void>;
let token: string;

beforeAll(async () => {
  const database = await createTestDatabase();
  drop = database.drop;
  const config = testConfig(database.url);
  fast = buildApp(config);
  yogaOnly = buildApp(config, { fastPath: false });
  await seed(fast.services, { demo: true });
  const login = await fast.fastify.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json' },
    payload: { query: 'mutation { login(input: { email: "demo@switchyard.local", password: "switchyard-demo" }) { accessToken } }' },
  });
  token = JSON.parse(login.body).data.login.accessToken;
});

afterAll(async () => {
  await fast?.stop();
  await yogaOnly?.stop();
  await drop?.();
});

const ACCEPTS = [
  undefined,
  '*/*',
  'application/json',
  'application/graphql-response+json',
  'application/graphql-response+json, application/json;q=0.9',
  'application/json, application/graphql-response+json',
  'application/json; charset=iso-8859-1',
  'text/event-stream',
  'text/html',
  'application/*',
];

const BODIES: Record<string, unknown> = {
  typename: { query: '{ __typename }' },
  me: { query: 'query Me { me { id email name } }' },
  strategies: { query: '{ strategies(first: 2) { totalCount edges { node { name asset owner { name } } } } }' },
  fragments: {
    query: `query Page($first: Int) { strategies(first: $first) { ...Page } }
      fragment Page on StrategyConnection {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { ... on Strategy { id name __typename } createdAt owner { ...Owner } } }
      }
      fragment Owner on User { name email role }`,
    variables: { first: 3 },
  },
  namedFragments: {
    query: `{ strategies(first: 3) { edges { node { createdAt ...Names owner { ...Owner } asset } } } }
      fragment Names on Strategy { id name }
      fragment Owner on User { role name }`,
  },
  directives: {
    query: `query($withOwner: Boolean!) {
      strategies(first: 2) { edges { node { name owner @include(if: $withOwner) { name } params @skip(if: true) } } }
    }`,
    variables: { withOwner: true },
  },
  aliases: { query: '{ mine: strategies(first: 1) { totalCount } again: strategies(first: 1) { edges { node { n: name } } } }' },
  nullVariable: { query: 'query($after: String) { strategies(first: 2, after: $after) { totalCount } }', variables: { after: null } },
  forgedCursor: { query: '{ strategies(first: 2, after: "forged") { totalCount } }' },
  scalars: { query: '{ me { role createdAt provisioningStatus } }' },
  // A BigInt literal among the arguments: graphql-jit cannot compile it (the executor runs it); FORBIDDEN to non-admins.
  bigIntLiteral: {
    query: 'mutation { createItem(input: { sku: "JIT-1", name: "x", price: "100", currency: "USD", stock: 1 }) { id } }',
  },
  resolverError: { query: '{ users { totalCount } }' },
  partialData: { query: '{ __typename me { id } users { totalCount } }' },
  errorsInAList: { query: '{ a: users { totalCount } b: users { totalCount } }' },
  validationError: { query: '{ nope }' },
  syntaxError: { query: '{ me { ' },
  badVariables: { query: 'query($n: Int) { strategies(first: $n) { totalCount } }', variables: { n: 'abc' } },
  badInput: { query: 'mutation { createStrategy(input: { name: "", asset: "x" }) { id } }' },
  tooComplex: { query: `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: me { id }`).join(' ')} }` },
  twoOperationsNoName: { query: 'query A { me { id } } query B { me { name } }' },
  unknownOperationName: { query: 'query A { me { id } }', operationName: 'B' },
  withExtensions: { query: '{ __typename }', extensions: { trace: true } },
  extraKey: { query: '{ __typename }', unexpected: 1 },
  variablesNotObject: { query: '{ __typename }', variables: [1] },
  queryNotString: { query: 42 },
  batch: [{ query: '{ __typename }' }],
  subscription: { query: 'subscription { nope }' },
};

async function send(app: App, body: unknown, accept: string | undefined, authorization?: string) {
  const response = await app.fastify.inject({
    method: 'POST',
    url: '/graphql',
    headers: {
      'content-type': 'application/json',
      ...(accept ? { accept } : {}),
      ...(authorization ? { authorization } : {}),
    },
    payload: JSON.stringify(body),
  });
  return { status: response.statusCode, contentType: response.headers['content-type'], body: response.body };
}

describe('the fast path answers as Yoga does', () => {
  for (const [name, body] of Object.entries(BODIES)) {
    it(`${name}, for every Accept header, signed in and anonymous`, async () => {
      for (const accept of ACCEPTS) {
        for (const authorization of [undefined, `Bearer ${token}`, 'Bearer forged.token.here']) {
          const viaFastPath = await send(fast, body, accept, authorization);
          const viaYoga = await send(yogaOnly, body, accept, authorization);
          expect({ accept, authorization, ...viaFastPath }).toEqual({ accept, authorization, ...viaYoga });
        }
      }
    });
  }

  it('answers malformed JSON and other content types through Yoga too', async () => {
    for (const [contentType, payload] of [
      ['application/json', '{"query": '],
      ['application/graphql', '{ __typename }'],
      ['text/plain', '{"query":"{ __typename }"}'],
    ]) {
      const request = { method: 'POST' as const, url: '/graphql', headers: { 'content-type': contentType }, payload };
      const a = await fast.fastify.inject(request);
      const b = await yogaOnly.fastify.inject(request);
      expect([a.statusCode, a.headers['content-type'], a.body]).toEqual([b.statusCode, b.headers['content-type'], b.body]);
    }
  });
});

describe('media type negotiation', () => {
  it.each([
    [undefined, 'application/json'],
    ['*/*', 'application/json'],
    ['application/graphql-response+json', 'application/graphql-response+json'],
    ['application/json, application/graphql-response+json', 'application/json'],
    ['application/graphql-response+json, application/json', 'application/graphql-response+json'],
    ['text/event-stream', null],
    ['text/html', null],
    ['application/json; charset=latin1', null],
  ])('Accept %s → %s', (accept, expected) => {
    expect(negotiateMediaType(accept)).toBe(expected);
  });
});

describe('results the fast path renders itself', () => {
  const { GraphQLError } = graphqlRuntime;
  const refused = async (source: string) =>
    (await graphqlRuntime.execute({
      schema,
      document: graphqlRuntime.parse(source),
      contextValue: { viewer: null, authError: null },
    })) as Parameters<typeof isPlainResult>[0];
  const located = (options: { extensions?: Record<string, unknown>; originalError?: Error }) =>
    new GraphQLError('x', { path: ['field'], ...options });

  it('are answers, and answers with errors resolvers raised as GraphQL errors', async () => {
    expect(isPlainResult({ data: { __typename: 'Query' } })).toBe(true);
    const forbidden = await refused('{ users { totalCount } }');
    expect(forbidden.errors).toHaveLength(1);
    expect(isPlainResult(forbidden)).toBe(true);
    // A masked failure is a GraphQL error of its own, at its field.
    expect(isPlainResult({ data: null, errors: [located({ extensions: { code: 'INTERNAL_SERVER_ERROR' } })] })).toBe(true);
  });

  it('leave Yoga to render unexpected errors, request errors and HTTP directives', () => {
    const unexpected = located({ originalError: new Error('boom') });
    expect(isPlainResult({ data: null, errors: [unexpected] })).toBe(false);
    expect(isPlainResult({ errors: [new GraphQLError('Cannot query field "nope".')] })).toBe(false);
    expect(isPlainResult({ data: null, errors: [located({ extensions: { http: { status: 400 } } })] })).toBe(false);
    expect(isPlainResult({ data: null, errors: [located({ extensions: { unexpected: true } })] })).toBe(false);
    expect(isPlainResult({ data: {}, extensions: { http: { status: 202 } } })).toBe(false);
  });
});
