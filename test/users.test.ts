import { describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { codes, useTestApp } from './helpers/app.js';

const t = useTestApp();

const Users = graphql(`
  query Users($search: String, $first: Int, $after: String) {
    users(search: $search, first: $first, after: $after) {
      totalCount
      edges { node { id email name role } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const UserById = graphql(`
  query UserById($id: ID!) { user(id: $id) { id email name role createdAt provisioningStatus } }
`);

describe('users (admin)', () => {
  it('is FORBIDDEN to non-admins and UNAUTHENTICATED to anonymous callers', async () => {
    const user = await t.registerUser();
    expect(codes(await t.gql(Users, {}, user.accessToken))).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql(Users, {}))).toEqual(['UNAUTHENTICATED']);
  });

  it('searches email and name case-insensitively, with % and _ taken literally', async () => {
    const admin = await t.loginAdmin();
    const marker = `zq${Date.now()}`;
    await t.registerUser({ email: `${marker}.one@example.com`, name: 'Plain Name' });
    await t.registerUser({ email: `other-${marker}@example.com`, name: 'Under_Score' });
    await t.registerUser({ email: `third-${marker}@example.com`, name: '100% Sure' });
    const emails = async (search: string) => {
      const result = await t.gql(Users, { search, first: 100 }, admin.accessToken);
      return (result.data?.users.edges ?? []).map((edge) => edge.node.email).sort();
    };
    expect(await emails(marker.toUpperCase())).toHaveLength(3);
    expect(await emails('under_score')).toEqual([`other-${marker}@example.com`]);
    expect(await emails('%')).toEqual([`third-${marker}@example.com`]);
    expect(await emails('_')).toEqual([`other-${marker}@example.com`]);
  });

  it.each(["' OR '1'='1", "'; DROP TABLE users; --", '%%', '" OR ""="', '\\', "admin'--", '*)(uid=*'])(
    'returns nothing (not everything) for the injection string %s',
    async (search) => {
      const admin = await t.loginAdmin();
      const result = await t.gql(Users, { search }, admin.accessToken);
      expect(result.errors).toBeUndefined();
      expect(result.data?.users.totalCount).toBe(0);
      expect(await t.app.db.user.count()).toBeGreaterThan(0);
    },
  );

  it('pages through every user exactly once', async () => {
    const admin = await t.loginAdmin();
    const total = await t.app.db.user.count();
    const seen = new Set<string>();
    let after: string | null | undefined;
    do {
      const page = await t.gql(Users, { first: 3, after }, admin.accessToken);
      for (const edge of page.data!.users.edges) seen.add(edge.node.id);
      after = page.data!.users.pageInfo.hasNextPage ? page.data!.users.pageInfo.endCursor : null;
    } while (after);
    expect(seen.size).toBe(total);
  });

  it('refuses a search longer than 200 characters', async () => {
    const admin = await t.loginAdmin();
    expect(codes(await t.gql(Users, { search: 's'.repeat(201) }, admin.accessToken))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('user(id)', () => {
  it('shows yourself, hides others as NOT_FOUND, and shows anyone to admins', async () => {
    const alice = await t.registerUser();
    const bob = await t.registerUser();
    const self = await t.gql(UserById, { id: alice.user.id }, alice.accessToken);
    expect(self.data?.user).toMatchObject({ id: alice.user.id, email: alice.user.email, role: 'USER' });
    expect(codes(await t.gql(UserById, { id: bob.user.id }, alice.accessToken))).toEqual(['NOT_FOUND']);
    expect(codes(await t.gql(UserById, { id: 'no-such-user' }, alice.accessToken))).toEqual(['NOT_FOUND']);
    const admin = await t.loginAdmin();
    const seenByAdmin = await t.gql(UserById, { id: bob.user.id }, admin.accessToken);
    expect(seenByAdmin.data?.user?.email).toBe(bob.user.email);
    expect(codes(await t.gql(UserById, { id: bob.user.id }))).toEqual(['UNAUTHENTICATED']);
  });
});
