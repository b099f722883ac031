import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createBullBoard } from '@bull-board/api';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AppServices, Viewer } from '../core/context.js';
import { isAdmin } from '../core/access.js';
import { boardQueues } from '../infra/jobs/board.js';
import { QueuesNotStartedError } from '../infra/jobs/producer.js';
import {
  signToken,
  type TokenAudience,
  verifyToken,
  viewerFromAuthorization,
} from '../modules/auth/auth.service.js';

/**
 * bull-board at /admin/queues, for admins only: every route under the prefix
 * passes one onRequest guard, which admits an admin's Bearer token or the
 * admin session cookie (a JWT for its own audience). The endpoints
 * (docs/contract.md, "10. Operational endpoints"); the access rules and why
 * they are CSRF-safe (docs/design-notes.md, "The queue board's access").
 */

const ADMIN_QUEUES_PATH = '/admin/queues';
const ADMIN_SESSION_PATH = '/admin/session';
const ADMIN_LOGIN_PATH = '/admin/login';
export const ADMIN_SESSION_COOKIE = 'switchyard_admin';
/** The session cookie's token is for bull-board alone: no API token, and an API token is no session. */
const ADMIN_AUDIENCE: TokenAudience = 'switchyard-admin';

type Denied = { status: 401 | 403; message: string; clearCookie?: boolean };

export function adminQueuesPlugin(services: AppServices): FastifyPluginAsync {
  const loginPage = readLoginPage();

  // Never past the access token it was made from (`notAfterMs`).
  const signSession = async (viewer: Viewer, notAfterMs: number | undefined) => {
    const now = Math.floor(Date.now() / 1000);
    const notAfter = notAfterMs === undefined ? Number.POSITIVE_INFINITY : Math.floor(notAfterMs / 1000);
    const expires = Math.min(now + services.config.accessTokenTtlSeconds, notAfter);
    const token = await signToken(services, viewer, ADMIN_AUDIENCE, expires);
    return { token, maxAge: Math.max(0, expires - now) };
  };

  const verifySession = (token: string): Promise<Viewer | undefined> =>
    verifyToken(services, token, ADMIN_AUDIENCE).then(
      ({ id, role }) => ({ id, role }),
      () => undefined,
    );

  /** The admin asking, or why not: the Authorization header wins over the cookie. */
  const admit = async (req: FastifyRequest): Promise<{ viewer: Viewer } | Denied> => {
    const authorization = req.headers.authorization;
    let viewer: Viewer | null | undefined;
    if (authorization) {
      try {
        viewer = await viewerFromAuthorization(services, authorization);
      } catch {
        return { status: 401, message: 'Invalid or expired access token.' };
      }
    } else {
      const cookie = readCookie(req.headers.cookie, ADMIN_SESSION_COOKIE);
      if (cookie === undefined) return { status: 401, message: 'Sign in as an admin.' };
      viewer = await verifySession(cookie);
      if (!viewer) return { status: 401, message: 'The admin session is invalid or expired.', clearCookie: true };
    }
    if (!viewer) return { status: 401, message: 'Sign in as an admin.' };
    if (!isAdmin(viewer)) return { status: 403, message: 'Admins only.' };
    return { viewer };
  };

  return async (fastify) => {
    fastify.get(ADMIN_LOGIN_PATH, async (_req, reply) =>
      reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-security-policy', loginPage.csp)
        .send(loginPage.html),
    );

    fastify.post(ADMIN_SESSION_PATH, async (req, reply) => {
      // Only a fresh access token makes a session (never the cookie itself).
      const admitted: { viewer: Viewer } | Denied = req.headers.authorization
        ? await admit(req)
        : { status: 401, message: 'Send an admin access token as "Authorization: Bearer <accessToken>".' };
      if (!('viewer' in admitted)) return deny(req, reply, admitted);
      const session = await signSession(admitted.viewer, admitted.viewer.tokenExpiresAt);
      return reply
        .header('set-cookie', sessionCookie(req, session.token, session.maxAge))
        .header('cache-control', 'no-store')
        .status(200)
        .send({ expiresIn: session.maxAge });
    });

    fastify.delete(ADMIN_SESSION_PATH, async (req, reply) =>
      reply.header('set-cookie', sessionCookie(req, '', 0)).header('cache-control', 'no-store').status(204).send(),
    );

    // The board: its own scope, so that the guard and the JSON parser apply to its routes only.
    await fastify.register(async (scope) => {
      const serverAdapter = new FastifyAdapter();
      serverAdapter.setBasePath(ADMIN_QUEUES_PATH);
      const board = createBullBoard({
        queues: [],
        serverAdapter,
        options: { uiConfig: { boardTitle: 'Switchyard queues' } },
      });
      // The Queue objects exist once the app's queues are started (app.ready()); shown from the first request after.
      let attached = false;
      const attach = () => {
        if (attached) return true;
        try {
          board.replaceQueues(boardQueues(services.queues));
          attached = true;
        } catch (error) {
          if (!(error instanceof QueuesNotStartedError)) throw error;
        }
        return attached;
      };

      scope.addHook('onRequest', async (req, reply) => {
        const admitted = await admit(req);
        if (!('viewer' in admitted)) return deny(req, reply, admitted);
        reply.header('x-frame-options', 'DENY');
        if (!attach()) return reply.status(503).send({ error: 'UNAVAILABLE', message: 'The queues are not started.' });
      });
      // The app reads every body as a string (Yoga parses its own); the board's API takes JSON.
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
        const text = String(body);
        if (text.trim() === '') return done(null, undefined);
        try {
          done(null, JSON.parse(text));
        } catch (error) {
          (error as Error & { statusCode?: number }).statusCode = 400;
          done(error as Error, undefined);
        }
      });
      await scope.register(serverAdapter.registerPlugin(), { prefix: ADMIN_QUEUES_PATH });
    });
  };
}

function deny(req: FastifyRequest, reply: FastifyReply, denied: Denied) {
  reply.status(denied.status).header('cache-control', 'no-store');
  if (denied.status === 401) reply.header('www-authenticate', 'Bearer realm="switchyard-admin"');
  if (denied.clearCookie) reply.header('set-cookie', sessionCookie(req, '', 0));
  const code = denied.status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN';
  if (wantsHtml(req)) {
    const link =
      denied.status === 401
        ? `<p><a href="${ADMIN_LOGIN_PATH}">Sign in as an admin</a></p>`
        : `<p>This account is not an admin. <a href="${ADMIN_LOGIN_PATH}">Sign in as another user</a></p>`;
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .send(
        `<!doctype html><meta charset="utf-8"><title>${code}</title>` +
          `<h1>${denied.status} ${code}</h1><p>${denied.message}</p>${link}`,
      );
  }
  return reply.send({ error: code, message: denied.message });
}

const wantsHtml = (req: FastifyRequest) => (req.headers.accept ?? '').includes('text/html');

/** Secure when the request reached us, or the TLS-terminating proxy, over HTTPS. */
function isHttps(req: FastifyRequest): boolean {
  if (req.protocol === 'https') return true;
  const forwarded = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

function sessionCookie(req: FastifyRequest, value: string, maxAge: number): string {
  const parts = [`${ADMIN_SESSION_COOKIE}=${value}`, 'Path=/admin', `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Strict'];
  if (maxAge === 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (isHttps(req)) parts.push('Secure');
  return parts.join('; ');
}

/** The value of cookie `name` in a Cookie header (JWTs need no decoding). */
function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const index = pair.indexOf('=');
    if (index < 0) continue;
    if (pair.slice(0, index).trim() === name) {
      const value = pair.slice(index + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}


/**
 * The sign-in page, and a CSP that allows its one inline script by hash. Read
 * once, beside this module (`npm run build` copies it into dist/).
 */
function readLoginPage(): { html: string; csp: string } {
  const html = readFileSync(new URL('./admin-login.html', import.meta.url), 'utf8');
  const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1];
  if (script === undefined) throw new Error('admin-login.html has no inline script');
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  return { html, csp };
}
