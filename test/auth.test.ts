import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { signAccessToken, verifyAccessToken } from '../src/modules/auth/auth.service.js';
import { codes, useTestApp } from './helpers/app.js';

const t = useTestApp();

const ME = `{ me { id email name role provisioningStatus } }`;
const REFRESH = `mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken user { id email } } }`;
const LOGOUT = `mutation($token: String!) { logout(refreshToken: $token) }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id } } }`;

describe('register', () => {
  it('creates a USER with PENDING provisioning and returns a working session', async () => {
    const session = await t.registerUser({ email: '  Ada@Example.COM ', name: 'Ada' });
    expect(session.user).toMatchObject({ email: 'ada@example.com', name: 'Ada', role: 'USER' });
    const me = await t.gql<{ me: Record<string, unknown> }, unknown>(ME, undefined, session.accessToken);
    expect(me.data?.me).toMatchObject({ id: session.user.id, email: 'ada@example.com', provisioningStatus: 'PENDING' });
  });

  it('treats emails case-insensitively: a second registration is CONFLICT', async () => {
    await t.registerUser({ email: 'grace@example.com' });
    const again = await t.gql(`mutation($input: RegisterInput!) { register(input: $input) { accessToken } }`, {
      input: { email: 'GRACE@example.com', password: 'another password', name: 'G' },
    });
    expect(codes(again)).toEqual(['CONFLICT']);
  });

  it.each([
    [{ email: 'not-an-email', password: 'long enough pw', name: 'X' }, 'input.email'],
    [{ email: 'a@b.co', password: 'short', name: 'X' }, 'input.password'],
    [{ email: 'a@b.co', password: 'x'.repeat(129), name: 'X' }, 'input.password'],
    [{ email: 'a@b.co', password: 'long enough pw', name: '   ' }, 'input.name'],
    [{ email: 'a@b.co', password: 'long enough pw', name: 'n'.repeat(101) }, 'input.name'],
  ])('rejects bad input %# as BAD_USER_INPUT naming the field', async (input, field) => {
    const result = await t.gql(`mutation($input: RegisterInput!) { register(input: $input) { accessToken } }`, {
      input,
    });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.fields).toHaveProperty([field]);
  });

  it('accepts passwords of exactly 8 and 128 characters', async () => {
    for (const password of ['x'.repeat(8), 'y'.repeat(128)]) {
      const session = await t.registerUser({ password });
      expect(session.accessToken).toBeTruthy();
    }
  });
});

describe('login', () => {
  it('signs in with the registered password, email in any case', async () => {
    const registered = await t.registerUser({ email: 'lin@example.com', password: 'lin password 1' });
    const result = await t.gql<{ login: { user: { id: string } } }, unknown>(LOGIN, {
      input: { email: 'LIN@example.com', password: 'lin password 1' },
    });
    expect(result.data?.login.user.id).toBe(registered.user.id);
  });

  it('gives the same UNAUTHENTICATED answer for a wrong password and an unknown email', async () => {
    await t.registerUser({ email: 'known@example.com', password: 'right password' });
    const wrong = await t.gql(LOGIN, { input: { email: 'known@example.com', password: 'wrong password' } });
    const unknown = await t.gql(LOGIN, { input: { email: 'nobody@example.com', password: 'wrong password' } });
    expect(codes(wrong)).toEqual(['UNAUTHENTICATED']);
    expect(unknown.errors).toEqual(wrong.errors);
  });
});

describe('access tokens', () => {
  it('me is null when anonymous', async () => {
    const result = await t.gql<{ me: unknown }, unknown>(ME);
    expect(result.data?.me).toBeNull();
  });

  it('rejects a forged, malformed or non-Bearer token with UNAUTHENTICATED', async () => {
    const session = await t.registerUser();
    const [header, payload] = session.accessToken.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    for (const token of [forged, 'garbage']) {
      expect(codes(await t.gql(ME, undefined, token))).toEqual(['UNAUTHENTICATED']);
    }
    const basic = await t.app.fastify.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' },
      payload: JSON.stringify({ query: ME }),
    });
    expect(JSON.parse(basic.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('a verified access token', () => {
  const servicesWith = (overrides: Partial<typeof t.app.services.config>) => ({
    ...t.app.services,
    config: { ...t.app.services.config, ...overrides },
  });

  it('stops working when it expires, though it worked before', async () => {
    const session = await t.registerUser();
    const token = await signAccessToken(servicesWith({ accessTokenTtlSeconds: 2 }), { id: session.user.id, role: 'USER' });
    expect((await t.gql<{ me: { id: string } }, unknown>(ME, undefined, token)).data?.me.id).toBe(session.user.id);
    // exp has whole seconds: the token expires 1 to 2 s after it was signed.
    const expiresAt = decodeJwt(token).exp! * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 10));
    await expect(verifyAccessToken(t.app.services, token)).rejects.toMatchObject({ message: 'Access token expired.' });
    const stale = await t.gql<{ strategies: unknown }, unknown>('{ strategies(first: 1) { totalCount } }', undefined, token);
    expect(stale.errors?.[0]).toMatchObject({ message: 'Access token expired.', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('is verified against the secret it is presented under, even once verified under another', async () => {
    const session = await t.registerUser();
    expect((await verifyAccessToken(t.app.services, session.accessToken)).id).toBe(session.user.id);
    await expect(
      verifyAccessToken(servicesWith({ jwtSecret: 'another-secret-of-at-least-32-characters' }), session.accessToken),
    ).rejects.toMatchObject({ message: 'Invalid access token.' });
  });
});

describe('refresh tokens', () => {
  it('rotate: the new token works once, the old one stops working', async () => {
    const session = await t.registerUser();
    const first = await t.gql<{ refreshToken: { refreshToken: string; user: { id: string } } }, unknown>(REFRESH, {
      token: session.refreshToken,
    });
    expect(first.data?.refreshToken.user.id).toBe(session.user.id);
    const next = first.data!.refreshToken.refreshToken;
    expect(next).not.toBe(session.refreshToken);
    expect(codes(await t.gql(REFRESH, { token: next }))).toEqual([]);
  });

  it('reuse of a spent token revokes the whole family', async () => {
    const session = await t.registerUser();
    const rotated = await t.gql<{ refreshToken: { refreshToken: string } }, unknown>(REFRESH, {
      token: session.refreshToken,
    });
    const live = rotated.data!.refreshToken.refreshToken;
    // The thief (or the victim) presents the spent token…
    expect(codes(await t.gql(REFRESH, { token: session.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    // …and the token that was still live is now dead too.
    expect(codes(await t.gql(REFRESH, { token: live }))).toEqual(['UNAUTHENTICATED']);
  });

  it('two concurrent presentations of one token: exactly one wins', async () => {
    const session = await t.registerUser();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => t.gql(REFRESH, { token: session.refreshToken })),
    );
    const winners = results.filter((result) => !result.errors);
    expect(winners.length).toBeLessThanOrEqual(1);
    expect(results.filter((result) => codes(result)[0] === 'UNAUTHENTICATED').length).toBeGreaterThanOrEqual(9);
  });

  it('logout revokes the session; other sessions keep working', async () => {
    const session = await t.registerUser({ password: 'two sessions pw' });
    const other = await t.gql<{ login: { refreshToken: string } }, unknown>(LOGIN, {
      input: { email: session.user.email, password: 'two sessions pw' },
    });
    const loggedOut = await t.gql<{ logout: boolean }, unknown>(LOGOUT, { token: session.refreshToken });
    expect(loggedOut.data?.logout).toBe(true);
    expect(codes(await t.gql(REFRESH, { token: session.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await t.gql(REFRESH, { token: other.data!.login.refreshToken }))).toEqual([]);
  });

  it('prunes a user’s expired tokens when a session of theirs starts; live ones stay', async () => {
    const session = await t.registerUser({ password: 'pruned tokens pw' });
    const second = await t.gql<{ login: { refreshToken: string } }, unknown>(LOGIN, {
      input: { email: session.user.email, password: 'pruned tokens pw' },
    });
    const tokens = () => t.app.db.refreshToken.findMany({ where: { userId: session.user.id }, orderBy: { createdAt: 'asc' } });
    const [expired, live] = await tokens();
    expect(live).toBeDefined();
    await t.app.db.refreshToken.update({ where: { id: expired!.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(codes(await t.gql(REFRESH, { token: session.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    await t.gql(LOGIN, { input: { email: session.user.email, password: 'pruned tokens pw' } });
    const left = await tokens();
    expect(left.map((token) => token.id)).not.toContain(expired!.id);
    expect(left.map((token) => token.id)).toContain(live!.id);
    expect(left).toHaveLength(2);
    expect(codes(await t.gql(REFRESH, { token: second.data!.login.refreshToken }))).toEqual([]);
  });

  it('an unknown token is UNAUTHENTICATED to refresh and false to logout', async () => {
    expect(codes(await t.gql(REFRESH, { token: 'not-a-token' }))).toEqual(['UNAUTHENTICATED']);
    const result = await t.gql<{ logout: boolean }, unknown>(LOGOUT, { token: 'not-a-token' });
    expect(result.data?.logout).toBe(false);
  });
});

describe('a stale Authorization header', () => {
  it('does not stop refreshToken, login or logout, but fields that need a viewer say why', async () => {
    const session = await t.registerUser({ password: 'stale header pw' });
    const stale = 'not.a.valid-token';
    const refreshed = await t.gql<{ refreshToken: { refreshToken: string } }, unknown>(
      REFRESH,
      { token: session.refreshToken },
      stale,
    );
    expect(refreshed.errors).toBeUndefined();
    const login = await t.gql(LOGIN, { input: { email: session.user.email, password: 'stale header pw' } }, stale);
    expect(login.errors).toBeUndefined();
    const loggedOut = await t.gql<{ logout: boolean }, unknown>(LOGOUT, { token: refreshed.data!.refreshToken.refreshToken }, stale);
    expect(loggedOut.data?.logout).toBe(true);

    const strategies = await t.gql(`{ strategies { totalCount } }`, undefined, stale);
    expect(codes(strategies)).toEqual(['UNAUTHENTICATED']);
    expect(strategies.errors?.[0]?.message).toBe('Invalid access token.');
  });
});

describe('a family revoked while one of its tokens was being rotated', () => {
  it('refuses the token that rotation issued', async () => {
    const session = await t.registerUser();
    const rotated = await t.gql<{ refreshToken: { refreshToken: string } }, unknown>(REFRESH, { token: session.refreshToken });
    const next = rotated.data!.refreshToken.refreshToken;
    // What a concurrent reuse or logout leaves behind when it revokes the family just
    // before rotation inserts the new token: the old token revoked, the new one not.
    const spent = await t.app.db.refreshToken.findFirstOrThrow({ where: { userId: session.user.id, usedAt: { not: null } } });
    await t.app.db.refreshToken.update({ where: { id: spent.id }, data: { revokedAt: new Date() } });
    expect(codes(await t.gql(REFRESH, { token: next }))).toEqual(['UNAUTHENTICATED']);
  });
});
