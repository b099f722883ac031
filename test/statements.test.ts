/**
 * What operations ask of PostgreSQL, read from pg_stat_statements (the test
 * cluster preloads it; with TEST_DATABASE_URL the server must too): how many
 * statements a page costs, which columns it reads, and that the password hash
 * is read only where a password is checked.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, type Session, useTestApp } from './helpers/app.js';

const t = useTestApp();
let stats: pg.Pool;

const THIS_DATABASE = '(SELECT oid FROM pg_database WHERE datname = current_database())';

beforeAll(async () => {
  stats = new pg.Pool({ connectionString: t.databaseUrl, max: 1 });
  await stats.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').catch((error: unknown) => {
    throw new Error(`pg_stat_statements is not available (shared_preload_libraries): ${String(error)}`);
  });
});

afterAll(async () => {
  await stats?.end();
});

interface Statement {
  query: string;
  calls: number;
}

/** The statements this database ran during `action` (the app's, not this file's own reads of the statistics). */
async function statementsOf(action: () => Promise<unknown>): Promise<Statement[]> {
  await stats.query(`SELECT pg_stat_statements_reset(0, ${THIS_DATABASE}, 0)`);
  await action();
  const { rows } = await stats.query<{ query: string; calls: string }>(
    `SELECT query, calls FROM pg_stat_statements
      WHERE dbid = ${THIS_DATABASE} AND query NOT ILIKE '%pg_stat_statements%'`,
  );
  return rows.map((row) => ({ query: row.query, calls: Number(row.calls) }));
}

const touching = (statements: Statement[], table: string) =>
  statements.filter((statement) => new RegExp(`\\b${table}\\b`, 'i').test(statement.query));
const callsOf = (statements: Statement[]) => statements.reduce((sum, statement) => sum + statement.calls, 0);

async function ok<T>(result: Promise<{ data?: T | null; errors?: unknown }>): Promise<T> {
  const { data, errors } = await result;
  if (!data || errors) throw new Error(JSON.stringify(errors));
  return data;
}

describe('a page of strategies', () => {
  let owner: Session;

  beforeAll(async () => {
    owner = await t.registerUser({ name: 'Page Owner' });
    for (let i = 0; i < 25; i++) {
      await ok(
        t.gql(
          'mutation C($input: CreateStrategyInput!) { createStrategy(input: $input) { id } }',
          { input: { name: `strategy ${i}`, asset: 'BTC-USD', description: 'never asked for', params: { i } } },
          owner.accessToken,
        ),
      );
    }
  });

  const PAGE = `query P($after: String) {
    strategies(first: 20, after: $after) {
      edges { node { id name asset params owner { name } } }
      pageInfo { endCursor }
      totalCount
    }
  }`;

  it('is two statements with its owners and totalCount, reading only the asked columns', async () => {
    type Page = { strategies: { edges: { node: { owner: { name: string } } }[]; pageInfo: { endCursor: string }; totalCount: number } };
    let first: Page | undefined;
    const statements = touching(await statementsOf(async () => (first = await ok(t.gql<Page, unknown>(PAGE, {}, owner.accessToken)))), 'strategies');
    expect(first!.strategies.edges).toHaveLength(20);
    expect(first!.strategies.totalCount).toBe(25);
    expect(first!.strategies.edges.every((edge) => edge.node.owner.name === 'Page Owner')).toBe(true);

    expect(callsOf(statements)).toBe(2);
    const page = statements.find((statement) => /\bjoin\b/i.test(statement.query));
    expect(page?.query).toMatch(/\bparams\b/);
    for (const unasked of ['description', 'updated_at', 'email', 'role', 'password_hash']) {
      expect(page?.query).not.toMatch(new RegExp(`\\b${unasked}\\b`));
    }

    // The next page is the same two statements, from the cursor on.
    let second: Page | undefined;
    const after = first!.strategies.pageInfo.endCursor;
    const next = touching(await statementsOf(async () => (second = await ok(t.gql<Page, unknown>(PAGE, { after }, owner.accessToken)))), 'strategies');
    expect(second!.strategies.edges).toHaveLength(5);
    expect(callsOf(next)).toBe(2);
  });

  it('is one statement without totalCount, and no join without the owner', async () => {
    const statements = touching(
      await statementsOf(() => ok(t.gql('{ strategies(first: 5) { edges { node { id name } } } }', {}, owner.accessToken))),
      'strategies',
    );
    expect(callsOf(statements)).toBe(1);
    expect(statements[0]!.query).not.toMatch(/\bjoin\b|\busers\b/i);
  });
});

describe('me', () => {
  it('is one statement', async () => {
    const session = await t.registerUser();
    const statements = await statementsOf(() => ok(t.gql('{ me { id email name role createdAt } }', {}, session.accessToken)));
    expect(callsOf(touching(statements, 'users'))).toBe(1);
    expect(callsOf(statements)).toBe(1);
  });
});

describe('a page of teams', () => {
  const tag = `page-${Date.now()}`;
  let viewer: Session;

  beforeAll(async () => {
    const owners = await Promise.all(Array.from({ length: 8 }, () => t.registerUser()));
    viewer = owners[0]!;
    for (const [i, owner] of owners.entries()) {
      await ok(
        t.gql(
          'mutation C($input: CreateTeamInput!) { createTeam(input: $input) { id } }',
          { input: { name: `${tag} ${i}`, maxSize: 4, skills: ['rust'] } },
          owner.accessToken,
        ),
      );
    }
  });

  const page = (first: number) =>
    t.gql<{ teams: { edges: { node: { owner: { name: string }; members: { user: { name: string } }[] } }[] } }, unknown>(
      `query P($first: Int, $filter: TeamFilter) {
        teams(first: $first, filter: $filter) {
          edges { node { id name openSeats owner { id name } members { role joinedAt user { id name skills } } } }
        }
      }`,
      { first, filter: { search: tag } },
      viewer.accessToken,
    );

  it('loads its owners and members in the same statements for 1 team as for 8, and reads no password hash', async () => {
    const one = await statementsOf(() => ok(page(1)));
    const eight = await statementsOf(async () => {
      const { teams } = await ok(page(8));
      expect(teams.edges).toHaveLength(8);
      expect(teams.edges.every((edge) => edge.node.members[0]!.user.name === edge.node.owner.name)).toBe(true);
    });
    expect(callsOf(eight)).toBe(callsOf(one));
    // The teams with their members and the members' users, in one statement.
    expect(callsOf(eight)).toBe(1);
    expect(eight.map((statement) => statement.query).join('\n')).not.toMatch(/password_hash/);
  });

  it('reached through a page of join requests, loads the teams’ members once for all of them', async () => {
    const requester = await t.registerUser();
    const ids = await ok(
      t.gql<{ teams: { edges: { node: { id: string } }[] } }, unknown>(
        'query Q($filter: TeamFilter) { teams(first: 8, filter: $filter) { edges { node { id } } } }',
        { filter: { search: tag } },
        viewer.accessToken,
      ),
    );
    for (const edge of ids.teams.edges.slice(0, 5)) {
      await ok(t.gql('mutation R($teamId: ID!) { requestToJoin(teamId: $teamId) { id } }', { teamId: edge.node.id }, requester.accessToken));
    }
    const statements = await statementsOf(async () => {
      const { myJoinRequests } = await ok(
        t.gql<{ myJoinRequests: { edges: { node: { team: { owner: { id: string }; members: { user: { name: string } }[] } } }[] } }, unknown>(
          '{ myJoinRequests(first: 10) { edges { node { status team { name owner { id } members { role user { name } } } } } } }',
          {},
          requester.accessToken,
        ),
      );
      expect(myJoinRequests.edges).toHaveLength(5);
    });
    // The requests with their teams, then the members of all five teams with their users: not one per team.
    expect(callsOf(statements)).toBeLessThanOrEqual(3);
  });
});

describe('the password hash', () => {
  it('is read by the password check alone, and written only by sign-up', async () => {
    const email = `hash-${Date.now()}@example.com`;
    const statements = await statementsOf(async () => {
      const registered = await ok(
        t.gql<{ register: { refreshToken: string; accessToken: string } }, unknown>(
          'mutation R($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id email name role createdAt } } }',
          { input: { email, password: 'correct horse battery', name: 'Hash Reader' } },
        ),
      );
      const token = registered.register.accessToken;
      await ok(t.gql('{ me { id email name role provisioningStatus createdAt } }', {}, token));
      await ok(
        t.gql(
          'mutation L($input: LoginInput!) { login(input: $input) { user { id email } } }',
          { input: { email, password: 'correct horse battery' } },
        ),
      );
      await ok(
        t.gql('mutation F($t: String!) { refreshToken(refreshToken: $t) { user { id email name } } }', {
          t: registered.register.refreshToken,
        }),
      );
      const created = await ok(
        t.gql<{ createStrategy: { id: string } }, unknown>(
          'mutation C($input: CreateStrategyInput!) { createStrategy(input: $input) { id owner { id email name } } }',
          { input: { name: 'hash check', asset: 'ETH' } },
          token,
        ),
      );
      await ok(t.gql('query S($id: ID!) { strategy(id: $id) { owner { email name role } } }', { id: created.createStrategy.id }, token));
      const admin = await ok(
        t.gql<{ login: { accessToken: string } }, unknown>('mutation L($input: LoginInput!) { login(input: $input) { accessToken } }', {
          input: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
        }),
      );
      await ok(t.gql('{ users(first: 50) { edges { node { id email name role } } totalCount } }', {}, admin.login.accessToken));
    });

    const reading = statements.filter((statement) => /password_hash/i.test(statement.query));
    expect(reading.length).toBeGreaterThan(0);
    for (const { query } of reading) {
      if (/^\s*insert\b/i.test(query)) {
        // Sign-up writes it, and does not read it back.
        expect(query.slice(query.search(/\breturning\b/i))).not.toMatch(/password_hash/);
      } else {
        // The login lookup: one user, by email.
        expect(query).toMatch(/^\s*select\b/i);
        expect(query).toMatch(/"email" = \$1/);
        expect(query).not.toMatch(/\bjoin\b/i);
      }
    }
    // Both sign-ins were the check itself (the user's and the admin's).
    expect(callsOf(reading.filter(({ query }) => /^\s*select\b/i.test(query)))).toBe(2);
  });
});
