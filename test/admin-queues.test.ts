import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_SESSION_COOKIE } from '../src/http/admin.js';
import { type Session, TEST_JWT_SECRET, type TestApp, useTestApp } from './helpers/app.js';

/**
 * bull-board at /admin/queues: every route under it (page, static assets,
 * API) is for admins only, by Bearer token or by the admin session cookie
 * that POST /admin/session sets. The auth matrix runs on the PostgreSQL
 * backend; the board itself on both.
 */

const PAGE = '/admin/queues';
const API = '/admin/queues/api/queues';
const STATIC = '/admin/queues/static/favicon-32x32.png';

type Headers = Record<string, string>;
const bearer = (session: Session): Headers => ({ authorization: `Bearer ${session.accessToken}` });
const withCookie = (value: string): Headers => ({ cookie: `other=1; ${ADMIN_SESSION_COOKIE}=${value}` });

function get(t: TestApp, url: string, headers: Headers = {}) {
  return t.app.fastify.inject({ method: 'GET', url, headers });
}

/** The value POST /admin/session set, and the raw Set-Cookie header. */
async function signIn(t: TestApp, session: Session, headers: Headers = {}) {
  const response = await t.app.fastify.inject({
    method: 'POST',
    url: '/admin/session',
    headers: { ...bearer(session), ...headers },
  });
  const setCookie = String(response.headers['set-cookie'] ?? '');
  const value = new RegExp(`^${ADMIN_SESSION_COOKIE}=([^;]*)`).exec(setCookie)?.[1];
  return { response, setCookie, value };
}

/** A cookie token as the server makes them, with our own claims and key. */
async function forge(claims: { role?: string; audience?: string; expiresAt?: number; secret?: string; sub?: string }) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: claims.role ?? 'ADMIN' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub ?? randomUUID())
    .setIssuer('switchyard')
    .setAudience(claims.audience ?? 'switchyard-admin')
    .setIssuedAt(now - 60)
    .setJti(randomUUID())
    .setExpirationTime(claims.expiresAt ?? now + 600)
    .sign(new TextEncoder().encode(claims.secret ?? TEST_JWT_SECRET));
}

describe('/admin/queues access (PostgreSQL backend)', () => {
  const t = useTestApp();
  let admin: Session;
  let user: Session;

  beforeAll(async () => {
    admin = await t.loginAdmin();
    user = await t.registerUser();
  });

  it('answers anonymous requests with 401 on the page, the API, static assets and state-changing routes', async () => {
    for (const url of [PAGE, `${PAGE}/`, API, STATIC, `${PAGE}/queue/ledger`]) {
      const response = await get(t, url);
      expect(response.statusCode, url).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
      expect(response.headers['cache-control']).toBe('no-store');
    }
    const clean = await t.app.fastify.inject({ method: 'PUT', url: '/admin/queues/api/queues/ledger/clean/completed' });
    expect(clean.statusCode).toBe(401);
    const add = await t.app.fastify.inject({
      method: 'POST',
      url: '/admin/queues/api/queues/ledger/add',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x', data: {} }),
    });
    expect(add.statusCode).toBe(401);
  });

  it('shows a browser a sign-in link instead of the board', async () => {
    const response = await get(t, PAGE, { accept: 'text/html,application/xhtml+xml' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('href="/admin/login"');
    const login = await get(t, '/admin/login');
    expect(login.statusCode).toBe(200);
    expect(login.body).toContain('<form>');
    expect(login.headers['content-security-policy']).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
  });

  it('answers a bad or expired Bearer token with 401', async () => {
    const expired = await forge({ audience: 'switchyard-api', expiresAt: 1 });
    for (const authorization of ['Bearer nope', 'Basic abc', `Bearer ${expired}`]) {
      expect((await get(t, API, { authorization })).statusCode).toBe(401);
    }
  });

  it('answers a signed-in non-admin with 403', async () => {
    for (const url of [PAGE, API, STATIC]) expect((await get(t, url, bearer(user))).statusCode, url).toBe(403);
    const html = await get(t, PAGE, { ...bearer(user), accept: 'text/html' });
    expect(html.statusCode).toBe(403);
    expect(html.body).toContain('not an admin');
  });

  it('serves an admin with a Bearer token: the page, its assets, and the API listing the queues', async () => {
    const page = await get(t, PAGE, bearer(admin));
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<title>Switchyard queues</title>');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect((await get(t, STATIC, bearer(admin))).statusCode).toBe(200);
    const api = await get(t, API, bearer(admin));
    expect(api.statusCode).toBe(200);
    const names = (api.json() as { queues: Array<{ name: string }> }).queues.map((queue) => queue.name).sort();
    expect(names).toEqual(['backtests', 'ledger', 'orders', 'provisioning', 'quizzes']);
  });

  it('lets an admin act on a queue through the board API (JSON bodies too)', async () => {
    const clean = await t.app.fastify.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/ledger/clean/completed',
      headers: bearer(admin),
    });
    expect(clean.statusCode).toBeLessThan(300);
    const bad = await t.app.fastify.inject({
      method: 'POST',
      url: '/admin/queues/api/queues/ledger/add',
      headers: { ...bearer(admin), 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(bad.statusCode).toBe(400);
  });

  it('refuses the session to anonymous callers (401) and non-admins (403)', async () => {
    const anonymous = await t.app.fastify.inject({ method: 'POST', url: '/admin/session' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['set-cookie']).toBeUndefined();
    const { response, value } = await signIn(t, user);
    expect(response.statusCode).toBe(403);
    expect(value).toBeUndefined();
    const forgedHeader = await t.app.fastify.inject({
      method: 'POST',
      url: '/admin/session',
      headers: { authorization: `Bearer ${await forge({ secret: 'another-secret-that-is-long-enough-000000' })}` },
    });
    expect(forgedHeader.statusCode).toBe(401);
  });

  it('lets an admin browser in by the session cookie, and signing out ends it', async () => {
    const { response, setCookie, value } = await signIn(t, admin);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ expiresIn: expect.any(Number) });
    expect((response.json() as { expiresIn: number }).expiresIn).toBeLessThanOrEqual(t.config.accessTokenTtlSeconds);
    expect(setCookie).toMatch(/; Path=\/admin(;|$)/);
    expect(setCookie).toContain('; HttpOnly');
    expect(setCookie).toContain('; SameSite=Strict');
    expect(setCookie).toMatch(/; Max-Age=\d+/);
    expect(setCookie).not.toContain('Secure'); // plain HTTP here
    expect(value).toBeTruthy();

    for (const url of [PAGE, API, STATIC]) expect((await get(t, url, withCookie(value!))).statusCode, url).toBe(200);
    // The cookie is no API token.
    const me = await t.gql('{ me { id } }', undefined, value);
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const signOut = await t.app.fastify.inject({
      method: 'DELETE',
      url: '/admin/session',
      headers: withCookie(value!),
    });
    expect(signOut.statusCode).toBe(204);
    const cleared = String(signOut.headers['set-cookie']);
    expect(cleared).toMatch(new RegExp(`^${ADMIN_SESSION_COOKIE}=;`));
    expect(cleared).toContain('Max-Age=0');
    expect(cleared).toContain('Path=/admin');
    // The browser dropped the cookie: back to 401.
    expect((await get(t, PAGE)).statusCode).toBe(401);
  });

  it('marks the cookie Secure behind an HTTPS proxy', async () => {
    const { setCookie } = await signIn(t, admin, { 'x-forwarded-proto': 'https' });
    expect(setCookie).toContain('; Secure');
  });

  it('answers a forged, expired or wrong-audience cookie with 401 and clears it', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      'garbage',
      await forge({ secret: 'another-secret-that-is-long-enough-000000' }),
      await forge({ expiresAt: now - 5 }),
      // An access token is not a session.
      admin.accessToken,
    ];
    for (const value of bad) {
      const response = await get(t, API, withCookie(value));
      expect(response.statusCode).toBe(401);
      expect(String(response.headers['set-cookie'])).toContain('Max-Age=0');
    }
    // Correctly signed, but not an admin (the server never issues one): 403.
    expect((await get(t, API, withCookie(await forge({ role: 'USER' })))).statusCode).toBe(403);
  });

  it('lets the Authorization header win over the cookie', async () => {
    const { value } = await signIn(t, admin);
    expect((await get(t, API, { ...withCookie(value!), ...bearer(user) })).statusCode).toBe(403);
  });
});

describe('/admin/queues on the Redis backend', () => {
  const t = useTestApp({ REDIS_URL: inject('redisUrl') });

  it('lists the queues for an admin and refuses everyone else', async () => {
    const admin = await t.loginAdmin();
    const user = await t.registerUser();
    expect((await get(t, API)).statusCode).toBe(401);
    expect((await get(t, API, bearer(user))).statusCode).toBe(403);
    const { value } = await signIn(t, admin);
    const api = await get(t, API, withCookie(value!));
    expect(api.statusCode).toBe(200);
    const names = (api.json() as { queues: Array<{ name: string }> }).queues.map((queue) => queue.name).sort();
    expect(names).toEqual(['backtests', 'ledger', 'orders', 'provisioning', 'quizzes']);
    expect((await get(t, PAGE, bearer(admin))).statusCode).toBe(200);
  });
});
