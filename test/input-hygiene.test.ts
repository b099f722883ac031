import { randomBytes, randomUUID } from 'node:crypto';
import type { GraphQLArgument, GraphQLInputType } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { graphqlRuntime } from '../src/infra/graphql-runtime.js';
import { schema } from '../src/schema/index.js';
import { codes, type GraphQLResponse, type Session, useTestApp } from './helpers/app.js';
import { sseSubscribe, wsClient } from './helpers/live.js';

/**
 * PostgreSQL refuses NUL in text (SQLSTATE 22021). Every string a client can
 * send — as a variable or a literal, at any depth, on every transport — is
 * checked for NUL before any resolver runs (src/http/input-hygiene.ts), and
 * refused with BAD_USER_INPUT naming the argument path; nothing is written.
 * The schema is walked, so a new field with a string argument is covered here
 * without a line of its own.
 */

// The schema's own graphql build (see graphqlRuntime): its type predicates recognise the schema's types.
const { getNamedType, isEnumType, isInputObjectType, isListType, isNonNullType, isObjectType, isScalarType } = graphqlRuntime;
const NUL = 'Must not contain NUL characters.';
const t = useTestApp();
let admin: Session;
let baseUrl = '';
/** Real rows for the ids the hand table names, so that without the rule the resolvers would do real work. */
const ids: Record<string, string> = {};

beforeAll(async () => {
  baseUrl = await t.app.start();
  admin = await t.loginAdmin();
  const account = await t.gql<{ openAccount: { id: string } }, unknown>(
    `mutation { openAccount(input: { currency: "USD" }) { id } }`,
    {},
    admin.accessToken,
  );
  const item = await t.gql<{ createItem: { id: string } }, unknown>(
    `mutation { createItem(input: { sku: "NUL-TEST-1", name: "Probe", price: "100", currency: "USD", stock: 5 }) { id } }`,
    {},
    admin.accessToken,
  );
  expect(account.errors ?? item.errors).toBeUndefined();
  ids.accountId = ids.fromAccountId = ids.toAccountId = account.data!.openAccount.id;
  ids.itemId = item.data!.createItem.id;
});

/** Valid strings by input name; anything else gets a plain one. Unique where the schema wants unique values. */
const validString = (name: string): string => {
  const unique = randomBytes(4).toString('hex');
  const table: Record<string, string> = {
    email: `hygiene-${unique}@example.com`,
    password: 'correct horse battery',
    currency: 'USD',
    asset: 'BTC',
    sku: `NUL-${unique.toUpperCase()}`,
    idempotencyKey: `key-${unique}`,
  };
  return table[name] ?? 'valid text';
};

/** A valid value of `type` for the input called `name`: only the NUL the test places will be wrong. */
function validValue(type: GraphQLInputType, name: string): unknown {
  if (isNonNullType(type)) return validValue(type.ofType, name);
  if (isListType(type)) return [validValue(type.ofType, name)];
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isInputObjectType(type)) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields())) {
      if (isNonNullType(field.type)) value[field.name] = validValue(field.type, field.name);
    }
    return value;
  }
  const scalars: Record<string, unknown> = {
    String: validString(name),
    ID: ids[name] ?? randomUUID(),
    Int: 1,
    Float: 1,
    Boolean: true,
    BigInt: '1',
    DateTime: new Date().toISOString(),
    JSON: {},
  };
  if (!(type.name in scalars)) throw new Error(`no valid value for the scalar ${type.name}: add it to the table`);
  return scalars[type.name];
}

const STRINGY = new Set(['String', 'ID', 'JSON']);

/** Every position inside an argument's type where a string can go: its path below the argument. */
function stringPositions(type: GraphQLInputType, path: Array<string | number>, seen: Set<string>): Array<Array<string | number>> {
  if (isNonNullType(type)) return stringPositions(type.ofType, path, seen);
  if (isListType(type)) return stringPositions(type.ofType, [...path, 0], seen);
  if (isInputObjectType(type)) {
    if (seen.has(type.name)) return [];
    const inner = new Set(seen).add(type.name);
    return Object.values(type.getFields()).flatMap((field) => stringPositions(field.type, [...path, field.name], inner));
  }
  return isScalarType(type) && STRINGY.has(type.name) ? [path] : [];
}

/** `value` with `leaf` put at `path` (objects and lists created on the way). */
function placeAt(value: unknown, path: ReadonlyArray<string | number>, leaf: unknown): unknown {
  if (path.length === 0) return leaf;
  const [head, ...rest] = path;
  const container = (value ?? (typeof head === 'number' ? [] : {})) as Record<string | number, unknown>;
  const copy = (Array.isArray(container) ? [...container] : { ...container }) as Record<string | number, unknown>;
  copy[head!] = placeAt(container[head!], rest, leaf);
  return copy;
}

const printType = (type: GraphQLInputType) => String(type);

interface Case {
  name: string;
  query: string;
  variables: Record<string, unknown>;
  field: string;
}

/** One case per string position of every argument of every root field. */
function schemaCases(): Case[] {
  const cases: Case[] = [];
  const roots = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ] as const;
  for (const [operation, root] of roots) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      for (const argument of field.args) {
        for (const position of stringPositions(argument.type, [], new Set())) {
          const scalar = getNamedType(typeAt(argument, position)).name;
          // A JSON value gets the NUL one level down, in an object: the walk reaches into JSON values.
          const inner = scalar === 'JSON' ? ['note'] : [];
          const given = field.args.filter((other) => other === argument || isNonNullType(other.type));
          const variables = Object.fromEntries(given.map((other) => [other.name, validValue(other.type, other.name)]));
          variables[argument.name] = placeAt(variables[argument.name], [...position, ...inner], 'a\u0000b');
          const declared = given.map((other) => `$${other.name}: ${printType(other.type)}`).join(', ');
          const passed = given.map((other) => `${other.name}: $${other.name}`).join(', ');
          const selection = isObjectType(getNamedType(field.type)) ? ' { __typename }' : '';
          cases.push({
            name: `${operation} ${field.name}(${[argument.name, ...position, ...inner].join('.')})`,
            query: `${operation} (${declared}) { ${field.name}(${passed})${selection} }`,
            variables,
            field: [argument.name, ...position, ...inner].join('.'),
          });
        }
      }
    }
  }
  return cases;
}

/** The named type at `position` below an argument. */
function typeAt(argument: GraphQLArgument, position: ReadonlyArray<string | number>): GraphQLInputType {
  let type: GraphQLInputType = argument.type;
  for (const segment of position) {
    while (isNonNullType(type) || isListType(type)) type = type.ofType;
    if (typeof segment === 'string' && isInputObjectType(type)) type = type.getFields()[segment]!.type;
  }
  return type;
}

/** The number of rows in every table of the test database. */
async function rowCounts(): Promise<Record<string, number>> {
  const tables = await t.app.db.$queryRawUnsafe<Array<{ name: string }>>(
    `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const [row] = await t.app.db.$queryRawUnsafe<Array<{ count: bigint }>>(`SELECT count(*) AS count FROM ${name}`);
    counts[name] = Number(row!.count);
  }
  return counts;
}

/** The response, expected to be one BAD_USER_INPUT naming exactly `fields`, and no data. */
function expectRefused(response: GraphQLResponse<unknown>, fields: Record<string, string>) {
  expect(codes(response), JSON.stringify(response)).toEqual(['BAD_USER_INPUT']);
  expect(response.errors![0]!.extensions!.fields).toEqual(fields);
  expect(response.data ?? null).toBeNull();
}

// t.gql POSTs JSON: the fast path (src/http/fast-path.ts). Yoga's own road, GET, SSE and graphql-ws are under "the transports".
describe('a NUL in any string argument, as a variable, found by walking the schema', () => {
  const cases = schemaCases();

  it('covers the string arguments of every root type', () => {
    const names = cases.map((one) => one.name);
    // A spot check that the walk reaches each kind of position.
    expect(names).toEqual(
      expect.arrayContaining([
        'mutation register(input.name)',
        'mutation login(input.email)',
        'mutation transfer(input.memo)',
        'mutation transfer(input.idempotencyKey)',
        'mutation createStrategy(input.params.note)',
        'query strategies(filter.search)',
        'query item(id)',
        'query items(after)',
        'subscription stockChanged(itemId)',
      ]),
    );
  });

  it.each(cases.map((one) => [one.name, one] as const))('%s is BAD_USER_INPUT and writes nothing', async (_name, one) => {
    const before = await rowCounts();
    const response = await t.gql(one.query, one.variables, admin.accessToken);
    expectRefused(response, { [one.field]: NUL });
    expect(response.status).toBe(400);
    expect(await rowCounts()).toEqual(before);
  });
});

describe('a NUL in a literal argument', () => {
  it.each([
    ['an ID', `{ item(id: "a\\u0000") { id } }`, { id: NUL }],
    ['a cursor', `{ items(first: 1, after: "\\u0000") { totalCount } }`, { after: NUL }],
    ['a nested field input', `mutation { register(input: { email: "x@example.com", password: "correct horse battery", name: "a\\u0000b" }) { accessToken } }`, { 'input.name': NUL }],
    ['a JSON value inside a literal', `mutation { createStrategy(input: { name: "s", asset: "BTC", params: { deep: ["ok", "\\u0000"] } }) { id } }`, { 'input.params.deep.1': NUL }],
    ['an argument of a nested field', `{ me { accounts { transactions(first: 1, after: "a\\u0000") { totalCount } } } }`, { after: NUL }],
    ['a variable default', `query ($id: ID! = "a\\u0000") { item(id: $id) { id } }`, { id: NUL }],
    ['a fragment', `query { ...F } fragment F on Query { strategies(filter: { search: "\\u0000" }) { totalCount } }`, { 'filter.search': NUL }],
  ])('%s is BAD_USER_INPUT naming its path', async (_what, query, fields) => {
    const before = await rowCounts();
    expectRefused(await t.gql(query, {}, admin.accessToken), fields);
    expect(await rowCounts()).toEqual(before);
  });

  it('names every offending argument of a field, and fields apart', async () => {
    const response = await t.gql(
      `query ($s: String) { a: users(search: $s, after: "\\u0000") { totalCount } b: item(id: "\\u0000") { id } }`,
      { s: 'x\u0000' },
      admin.accessToken,
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
    expect(response.errors!.map((error) => error.extensions!.fields)).toEqual([{ after: NUL, search: NUL }, { id: NUL }]);
  });

  it('anonymous callers get the same answer (login, register)', async () => {
    const login = await t.gql(`mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`, {
      input: { email: 'a\u0000@example.com', password: 'correct horse battery' },
    });
    expectRefused(login, { 'input.email': NUL });
    const register = await t.gql(`mutation ($input: RegisterInput!) { register(input: $input) { accessToken } }`, {
      input: { email: validString('email'), password: 'correct horse battery', name: 'a\u0000' },
    });
    expectRefused(register, { 'input.name': NUL });
  });

  it('a string without NUL passes (the rule refuses nothing else)', async () => {
    const response = await t.gql(`{ item(id: "no-nul-here") { id } }`, {}, admin.accessToken);
    expect(codes(response)).toEqual(['NOT_FOUND']);
  });
});

describe('a NUL in a JSON object key', () => {
  it('is BAD_USER_INPUT at the object holding the key, and writes nothing', async () => {
    const before = await rowCounts();
    const response = await t.gql(
      `mutation ($input: CreateStrategyInput!) { createStrategy(input: $input) { id } }`,
      { input: { name: 's', asset: 'BTC', params: { fast: 2, nested: { 'bad\u0000key': 1 } } } },
      admin.accessToken,
    );
    expectRefused(response, { 'input.params.nested': NUL });
    expect(await rowCounts()).toEqual(before);
  });
});

describe('the transports', () => {
  const ITEM = `query ($id: ID!) { item(id: $id) { id } }`;

  it('GET: a variable with a NUL is 400 BAD_USER_INPUT', async () => {
    const query = new URLSearchParams({ query: ITEM, variables: JSON.stringify({ id: 'a\u0000' }) });
    const response = await fetch(`${baseUrl}/graphql?${query}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(response.status).toBe(400);
    expectRefused({ status: response.status, ...((await response.json()) as object) }, { id: NUL });
  });

  it('POST on Yoga\'s road (not the fast path: a form body) is BAD_USER_INPUT too', async () => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-graphql-yoga-csrf': '1' },
      body: new URLSearchParams({ query: ITEM, variables: JSON.stringify({ id: 'a\u0000' }) }).toString(),
    });
    expect(response.status).toBe(400);
    expectRefused({ status: response.status, ...((await response.json()) as object) }, { id: NUL });
  });

  it('graphql-ws: a subscription with a NUL argument is BAD_USER_INPUT, and never starts', async () => {
    const client = wsClient(baseUrl, `Bearer ${admin.accessToken}`);
    try {
      const feed = client.subscribe(`subscription ($id: ID!) { stockChanged(itemId: $id) { id } }`, { id: `${ids.itemId}\u0000` });
      expect(await feed.ended).toEqual({ completed: true });
      expect(feed.results).toHaveLength(1);
      expect(feed.results[0]!.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(feed.results[0]!.errors?.[0]?.extensions?.fields).toEqual({ itemId: NUL });
      // A literal, and a query over the socket.
      const literal = client.subscribe(`{ item(id: "\\u0000") { id } }`);
      expect(await literal.ended).toEqual({ completed: true });
      expect(literal.results[0]!.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', fields: { id: NUL } });
    } finally {
      await client.dispose();
    }
  });

  it('SSE: a subscription with a NUL argument is BAD_USER_INPUT', async () => {
    const feed = await sseSubscribe(baseUrl, `subscription ($id: ID!) { stockChanged(itemId: $id) { id } }`, {
      id: `${ids.itemId}\u0000`,
    });
    expect(await feed.ended).toEqual({ completed: true });
    expect(feed.results[0]!.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(feed.results[0]!.errors?.[0]?.extensions?.fields).toEqual({ itemId: NUL });
  });
});

describe('cursors', () => {
  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const ITEMS = `query ($after: String) { items(first: 1, after: $after) { totalCount } }`;

  it.each([
    ['a NUL in the decoded id', cursor(['2026-01-01T00:00:00.000Z', 'a\u0000b'])],
    ['the year 300000', cursor(['+300000-01-01T00:00:00.000Z', randomUUID()])],
    ['the year 20000 (a valid date, past PostgreSQL-safe bounds)', cursor(['+020000-01-01T00:00:00.000Z', randomUUID()])],
    ['a year BC (before PostgreSQL\'s range)', cursor(['-010000-01-01T00:00:00.000Z', randomUUID()])],
    ['1969', cursor(['1969-12-31T23:59:59.999Z', randomUUID()])],
    ['an overlong id', cursor(['2026-01-01T00:00:00.000Z', 'x'.repeat(65)])],
    ['an empty id', cursor(['2026-01-01T00:00:00.000Z', ''])],
    ['a number for the id', cursor(['2026-01-01T00:00:00.000Z', 7])],
    ['three elements', cursor(['2026-01-01T00:00:00.000Z', randomUUID(), 'x'])],
    ['an object', cursor({ createdAt: '2026-01-01T00:00:00.000Z', id: randomUUID() })],
    ['malformed base64', '!!!not base64!!!'],
    ['base64 of no JSON', Buffer.from('not json').toString('base64url')],
  ])('%s is BAD_USER_INPUT {after: "Invalid cursor."}', async (_what, after) => {
    expectRefused(await t.gql(ITEMS, { after }), { after: 'Invalid cursor.' });
  });

  it('a cursor the server made still pages', async () => {
    const first = await t.gql<{ items: { pageInfo: { endCursor: string } } }, unknown>(
      `{ items(first: 1) { pageInfo { endCursor } } }`,
    );
    const response = await t.gql(ITEMS, { after: first.data!.items.pageInfo.endCursor });
    expect(response.errors).toBeUndefined();
  });
});

describe('GET with parameters that are not JSON', () => {
  it.each([
    ['variables', 'notjson'],
    ['extensions', 'notjson'],
    ['variables', '{"id": '],
  ])('%s=%s is 400 with a GraphQL error body', async (name, value) => {
    const query = new URLSearchParams({ query: '{ __typename }', [name]: value });
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const response = await fetch(`${baseUrl}/graphql?${query}`, { headers: { 'x-graphql-yoga-csrf': '1', accept } });
      expect(response.status, accept).toBe(400);
      const body = (await response.json()) as { data?: unknown; errors: Array<{ message: string; extensions?: Record<string, unknown> }> };
      expect(body.data).toBeUndefined();
      expect(body.errors).toEqual([expect.objectContaining({ message: `The "${name}" parameter is not valid JSON.` })]);
    }
  });

  it('a form POST with variables that are not JSON is 400 too', async () => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-graphql-yoga-csrf': '1' },
      body: new URLSearchParams({ query: '{ __typename }', variables: 'notjson' }).toString(),
    });
    expect(response.status).toBe(400);
  });

  it('GET with JSON parameters still works', async () => {
    const query = new URLSearchParams({ query: 'query ($id: ID!) { item(id: $id) { id } }', variables: '{"id":"x"}', extensions: '{}' });
    const response = await fetch(`${baseUrl}/graphql?${query}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe(
      'NOT_FOUND',
    );
  });
});

describe('a huge BigInt', () => {
  const digits = '9'.repeat(1_000_000);
  const DEPOSIT = `mutation ($input: DepositInput!) { deposit(input: $input) { id } }`;

  it('as a literal is BAD_USER_INPUT', async () => {
    const response = await t.gql(
      `mutation { deposit(input: { accountId: "${ids.accountId}", amount: ${digits}, idempotencyKey: "huge-bigint-1" }) { id } }`,
      {},
      admin.accessToken,
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
  });

  it.each([
    ['a string', digits],
    ['a string of 41 digits', '1'.repeat(41)],
  ])('as a variable, %s, is BAD_USER_INPUT', async (_what, amount) => {
    const before = await rowCounts();
    const response = await t.gql(DEPOSIT, { input: { accountId: ids.accountId, amount, idempotencyKey: 'huge-bigint-2' } }, admin.accessToken);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(await rowCounts()).toEqual(before);
  });
});
