import { describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { codes, type Session, useTestApp } from './helpers/app.js';

const t = useTestApp();

const CreateStrategy = graphql(`
  mutation CreateStrategy($input: CreateStrategyInput!) {
    createStrategy(input: $input) { id name asset description params owner { id } createdAt updatedAt }
  }
`);
const UpdateStrategy = graphql(`
  mutation UpdateStrategy($id: ID!, $input: UpdateStrategyInput!) {
    updateStrategy(id: $id, input: $input) { id name asset description params }
  }
`);
const DeleteStrategy = graphql(`
  mutation DeleteStrategy($id: ID!) { deleteStrategy(id: $id) }
`);
const GetStrategy = graphql(`
  query GetStrategy($id: ID!) { strategy(id: $id) { id name owner { id email } } }
`);
const ListStrategies = graphql(`
  query ListStrategies($first: Int, $after: String, $filter: StrategyFilter) {
    strategies(first: $first, after: $after, filter: $filter) {
      totalCount
      edges { cursor node { id name asset owner { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

async function create(
  session: Session,
  input: { name: string; asset?: string; description?: string | null; params?: unknown },
) {
  const result = await t.gql(CreateStrategy, { input: { asset: 'BTC-USD', ...input } }, session.accessToken);
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.createStrategy;
}

describe('createStrategy', () => {
  it('creates a strategy owned by the viewer, params defaulting to {}', async () => {
    const owner = await t.registerUser();
    const strategy = await create(owner, { name: '  Trend  ', asset: 'ETH' });
    expect(strategy).toMatchObject({
      name: 'Trend',
      asset: 'ETH',
      description: null,
      params: {},
      owner: { id: owner.user.id },
    });
    expect(new Date(strategy.createdAt).toISOString()).toBe(strategy.createdAt);
  });

  it.each([
    ['input.name', 'empty', { name: '', asset: 'BTC' }],
    ['input.name', '101 chars', { name: 'n'.repeat(101), asset: 'BTC' }],
    ['input.asset', 'lower case', { name: 'ok', asset: 'btc' }],
    ['input.asset', 'too short', { name: 'ok', asset: 'B' }],
    ['input.asset', 'three parts', { name: 'ok', asset: 'BTC-USD-EUR' }],
    ['input.asset', 'underscore', { name: 'ok', asset: 'BTC_USD' }],
    ['input.description', '2001 chars', { name: 'ok', asset: 'BTC', description: 'd'.repeat(2001) }],
    ['input.params', 'an array', { name: 'ok', asset: 'BTC', params: [1, 2] }],
    ['input.params', 'a string', { name: 'ok', asset: 'BTC', params: 'text' }],
    ['input.params', 'over 16 KB', { name: 'ok', asset: 'BTC', params: { blob: 'x'.repeat(16 * 1024) } }],
  ])('rejects %s (%s) as BAD_USER_INPUT, writing nothing', async (field, _case, input) => {
    const owner = await t.registerUser();
    const result = await t.gql(CreateStrategy, { input }, owner.accessToken);
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.fields).toHaveProperty([field]);
    const list = await t.gql(ListStrategies, {}, owner.accessToken);
    expect(list.data?.strategies.totalCount).toBe(0);
  });

  it('accepts the limits themselves: 100-char name, 2000-char description, 12-char asset parts', async () => {
    const owner = await t.registerUser();
    const strategy = await create(owner, {
      name: 'n'.repeat(100),
      asset: 'ABCDEFGHIJKL-AB',
      description: 'd'.repeat(2000),
    });
    expect(strategy.name).toHaveLength(100);
  });

  it('caps a user at 1,000 strategies, also under concurrent creation', async () => {
    const owner = await t.registerUser();
    const { db } = t.app;
    await db.strategy.createMany({
      data: Array.from({ length: 990 }, (_, i) => ({ ownerId: owner.user.id, name: `s${i}`, asset: 'BTC' })),
    });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        t.gql(CreateStrategy, { input: { name: `c${i}`, asset: 'BTC' } }, owner.accessToken),
      ),
    );
    expect(results.filter((result) => result.data).length).toBe(10);
    expect(results.filter((result) => codes(result)[0] === 'BAD_USER_INPUT').length).toBe(20);
    expect(await db.strategy.count({ where: { ownerId: owner.user.id } })).toBe(1000);
  });
});

describe('authorization matrix', () => {
  // owner / other user / admin / anonymous × read / list / update / delete
  it.each([
    ['owner', { read: 'ok', list: 'ok', update: 'ok', delete: 'ok' }],
    ['other', { read: 'NOT_FOUND', list: 'absent', update: 'NOT_FOUND', delete: 'NOT_FOUND' }],
    ['admin', { read: 'ok', list: 'ok', update: 'ok', delete: 'ok' }],
    [
      'anonymous',
      { read: 'UNAUTHENTICATED', list: 'UNAUTHENTICATED', update: 'UNAUTHENTICATED', delete: 'UNAUTHENTICATED' },
    ],
  ] as const)('%s', async (who, expected) => {
    const owner = await t.registerUser();
    const strategy = await create(owner, { name: 'Guarded' });
    const token =
      who === 'owner'
        ? owner.accessToken
        : who === 'other'
          ? (await t.registerUser()).accessToken
          : who === 'admin'
            ? (await t.loginAdmin()).accessToken
            : undefined;

    const read = await t.gql(GetStrategy, { id: strategy.id }, token);
    if (expected.read === 'ok') expect(read.data?.strategy?.id).toBe(strategy.id);
    else expect(codes(read)).toEqual([expected.read]);

    const list = await t.gql(ListStrategies, { first: 100 }, token);
    const listed = list.data?.strategies.edges.some((edge) => edge.node.id === strategy.id);
    if (expected.list === 'ok') expect(listed).toBe(true);
    else if (expected.list === 'absent') expect(listed).toBe(false);
    else expect(codes(list)).toEqual([expected.list]);

    const update = await t.gql(UpdateStrategy, { id: strategy.id, input: { name: `by ${who}` } }, token);
    if (expected.update === 'ok') expect(update.data?.updateStrategy.name).toBe(`by ${who}`);
    else expect(codes(update)).toEqual([expected.update]);

    const remove = await t.gql(DeleteStrategy, { id: strategy.id }, token);
    if (expected.delete === 'ok') expect(remove.data?.deleteStrategy).toBe(strategy.id);
    else expect(codes(remove)).toEqual([expected.delete]);

    // A refused update or delete left the row exactly as it was.
    const after = await t.app.db.strategy.findUnique({ where: { id: strategy.id } });
    if (expected.delete === 'ok') expect(after).toBeNull();
    else expect(after?.name).toBe('Guarded');
  });

  it('a missing id is NOT_FOUND, the same answer as someone else’s', async () => {
    const viewer = await t.registerUser();
    const result = await t.gql(GetStrategy, { id: 'does-not-exist' }, viewer.accessToken);
    expect(codes(result)).toEqual(['NOT_FOUND']);
  });

  it('admins can list one owner’s strategies; the ownerId filter is ignored for others', async () => {
    const alice = await t.registerUser();
    const bob = await t.registerUser();
    await create(alice, { name: 'a1' });
    await create(bob, { name: 'b1' });
    const admin = await t.loginAdmin();
    const forAdmin = await t.gql(ListStrategies, { filter: { ownerId: alice.user.id } }, admin.accessToken);
    expect(forAdmin.data?.strategies.edges.map((edge) => edge.node.owner.id)).toEqual([alice.user.id]);
    const forBob = await t.gql(ListStrategies, { filter: { ownerId: alice.user.id } }, bob.accessToken);
    expect(forBob.data?.strategies.edges.map((edge) => edge.node.owner.id)).toEqual([bob.user.id]);
  });
});

describe('updateStrategy', () => {
  it('changes only the given fields; null description clears it; bad input is refused', async () => {
    const owner = await t.registerUser();
    const strategy = await create(owner, { name: 'Old', asset: 'BTC', description: 'desc', params: { a: 1 } });
    const renamed = await t.gql(UpdateStrategy, { id: strategy.id, input: { name: 'New' } }, owner.accessToken);
    expect(renamed.data?.updateStrategy).toMatchObject({
      name: 'New',
      asset: 'BTC',
      description: 'desc',
      params: { a: 1 },
    });
    const cleared = await t.gql(
      UpdateStrategy,
      { id: strategy.id, input: { description: null, params: { b: 2 } } },
      owner.accessToken,
    );
    expect(cleared.data?.updateStrategy).toMatchObject({ name: 'New', description: null, params: { b: 2 } });
    const bad = await t.gql(UpdateStrategy, { id: strategy.id, input: { asset: 'nope!' } }, owner.accessToken);
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    expect((await t.app.db.strategy.findUnique({ where: { id: strategy.id } }))?.asset).toBe('BTC');
  });
});

describe('strategies list', () => {
  it('pages newest first without gaps or repeats, with a stable order for equal timestamps', async () => {
    const owner = await t.registerUser();
    const sameInstant = new Date('2026-01-01T00:00:00.000Z');
    await t.app.db.strategy.createMany({
      data: Array.from({ length: 45 }, (_, i) => ({
        ownerId: owner.user.id,
        name: `p${i}`,
        asset: 'BTC',
        createdAt: i < 20 ? sameInstant : new Date(sameInstant.getTime() + i * 1000),
      })),
    });
    const seen: string[] = [];
    let after: string | null | undefined;
    let pages = 0;
    do {
      const page = await t.gql(ListStrategies, { first: 10, after }, owner.accessToken);
      const connection = page.data!.strategies;
      expect(connection.totalCount).toBe(45);
      seen.push(...connection.edges.map((edge) => edge.node.id));
      after = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
      pages += 1;
    } while (after);
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(45);
    const rows = await t.app.db.strategy.findMany({
      where: { ownerId: owner.user.id },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      select: { id: true },
    });
    expect(seen).toEqual(rows.map((row) => row.id));
  });

  it('defaults to 20, refuses more than 100 or less than 1, and refuses a forged cursor', async () => {
    const owner = await t.registerUser();
    await t.app.db.strategy.createMany({
      data: Array.from({ length: 25 }, (_, i) => ({ ownerId: owner.user.id, name: `d${i}`, asset: 'BTC' })),
    });
    const defaultPage = await t.gql(ListStrategies, {}, owner.accessToken);
    expect(defaultPage.data?.strategies.edges).toHaveLength(20);
    for (const first of [101, 0, -1]) {
      const result = await t.gql(ListStrategies, { first }, owner.accessToken);
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
      expect(result.errors?.[0]?.extensions?.fields).toHaveProperty(['first']);
    }
    const forged = await t.gql(ListStrategies, { after: 'not-a-cursor' }, owner.accessToken);
    expect(codes(forged)).toEqual(['BAD_USER_INPUT']);
  });

  it('filters by exact asset and by a case-insensitive search where % and _ are literal', async () => {
    const owner = await t.registerUser();
    await create(owner, { name: 'Alpha 50% off', asset: 'BTC' });
    await create(owner, { name: 'beta', asset: 'ETH', description: 'uses snake_case params' });
    await create(owner, { name: 'gamma', asset: 'BTC-USD', description: 'plain' });
    const names = async (filter: object) => {
      const result = await t.gql(ListStrategies, { filter }, owner.accessToken);
      return result.data!.strategies.edges.map((edge) => edge.node.name).sort();
    };
    expect(await names({ asset: 'BTC' })).toEqual(['Alpha 50% off']);
    expect(await names({ search: 'ALPHA' })).toEqual(['Alpha 50% off']);
    expect(await names({ search: '%' })).toEqual(['Alpha 50% off']);
    expect(await names({ search: '_' })).toEqual(['beta']);
    expect(await names({ search: 'PLAIN' })).toEqual(['gamma']);
    expect(await names({ search: '%%' })).toEqual([]);
    expect(await names({ search: "' OR 1=1 --" })).toEqual([]);
    expect(await names({ asset: 'BTC', search: 'gamma' })).toEqual([]);
  });
});
