import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { z } from 'zod';
import type { AppServices, Viewer } from '../../core/context.js';
import { AppError, rateLimited, unauthenticated } from '../../core/errors.js';
import { takePoint } from '../../infra/rate-limit-store.js';
import { createUser, emailSchema, nameSchema, type StoredUser } from '../users/users.service.js';

export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: StoredUser;
}

const passwordSchema = z
  .string()
  .min(8, 'Password must be at least 8 characters.')
  .max(128, 'Password must be at most 128 characters.');

export const registerInputSchema = z.object({ email: emailSchema, password: passwordSchema, name: nameSchema });
export const loginInputSchema = z.object({
  email: z.string().trim().toLowerCase().max(254, 'Email is too long.'),
  password: z.string().max(128, 'Password must be at most 128 characters.'),
});
export type RegisterInput = z.infer<typeof registerInputSchema>;
export type LoginInput = z.infer<typeof loginInputSchema>;

// argon2id with the OWASP-recommended minimum (19 MiB, 2 passes); @node-rs/argon2
// hashes on libuv's thread pool, off the event loop.
const ARGON2 = {
  algorithm: 2 /* Algorithm.Argon2id: a const enum, not importable under isolatedModules */,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const hashPassword = (password: string) => hash(password, ARGON2);

// Verified against when the email is unknown, so that answer takes as long as a wrong password.
let dummyHash: Promise<string> | undefined;
const getDummyHash = () => {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
};

const JWT_ISSUER = 'switchyard';
/**
 * What a token is for: API access tokens, or the admin session cookie of
 * bull-board (src/http/admin.ts). Neither is accepted as the other.
 */
export type TokenAudience = 'switchyard-api' | 'switchyard-admin';
const JWT_AUDIENCE: TokenAudience = 'switchyard-api';

// The HMAC key, imported once per secret: given raw bytes, jose imports them
// into WebCrypto on every sign and verify, which cost every request more than
// the HMAC itself.
const hmacKeys = new Map<string, Promise<CryptoKey>>();
function secretKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    hmacKeys.set(secret, key);
  }
  return key;
}

export function signAccessToken(services: AppServices, viewer: Viewer): Promise<string> {
  return signToken(services, viewer, JWT_AUDIENCE, Math.floor(Date.now() / 1000) + services.config.accessTokenTtlSeconds);
}

/** A JWT for `audience` naming the viewer and their role, signed with JWT_SECRET, expiring at `expiresAt` (seconds since the epoch). */
export async function signToken(
  services: AppServices,
  viewer: Pick<Viewer, 'id' | 'role'>,
  audience: TokenAudience,
  expiresAt: number,
): Promise<string> {
  return new SignJWT({ role: viewer.role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(viewer.id)
    .setIssuer(JWT_ISSUER)
    .setAudience(audience)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(expiresAt)
    .sign(await secretKey(services.config.jwtSecret));
}

// Access tokens already verified, per secret. A client sends one token with
// every request until it expires, and what a signed token says cannot change,
// so it is verified once: a WebCrypto verify is a thread-pool job and a chain
// of promises, a few percent of a busy API's CPU. Only the expiry is checked
// again on each use. Bounded, so many distinct tokens cost no more than `max`.
const verifiedTokens = new Map<string, LRUCache<string, Viewer>>();
function verifiedTokensFor(secret: string): LRUCache<string, Viewer> {
  let cache = verifiedTokens.get(secret);
  if (!cache) {
    cache = new LRUCache({ max: 10_000 });
    verifiedTokens.set(secret, cache);
  }
  return cache;
}

/** The viewer an access token names; UNAUTHENTICATED when it is malformed, forged or expired. */
export async function verifyAccessToken(services: AppServices, token: string): Promise<Viewer> {
  const verified = verifiedTokensFor(services.config.jwtSecret);
  const known = verified.get(token);
  if (known) {
    // jose's rule: expired from the second `exp` names.
    if (known.tokenExpiresAt !== undefined && Date.now() >= known.tokenExpiresAt) {
      verified.delete(token);
      throw unauthenticated('Access token expired.');
    }
    return { ...known };
  }
  const viewer = await verifyToken(services, token, JWT_AUDIENCE);
  verified.set(token, viewer);
  return { ...viewer };
}

/** The viewer a token for `audience` names (with its expiry); UNAUTHENTICATED when it is malformed, forged, expired or for another audience. */
export async function verifyToken(services: AppServices, token: string, audience: TokenAudience): Promise<Viewer> {
  try {
    const { payload } = await jwtVerify(token, await secretKey(services.config.jwtSecret), {
      issuer: JWT_ISSUER,
      audience,
      algorithms: ['HS256'],
    });
    if (typeof payload.sub !== 'string' || (payload.role !== 'USER' && payload.role !== 'ADMIN')) {
      throw unauthenticated('Invalid access token.');
    }
    const viewer: Viewer = { id: payload.sub, role: payload.role };
    if (typeof payload.exp === 'number') viewer.tokenExpiresAt = payload.exp * 1000;
    return viewer;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw unauthenticated('Access token expired.');
    if (error instanceof AppError) throw error;
    throw unauthenticated('Invalid access token.');
  }
}

/**
 * The viewer of a request, or why its Authorization header was refused: a bad
 * or expired token does not fail the whole request (a client refreshing its
 * session sends the stale one), it makes the request anonymous with a reason.
 */
export async function authenticate(
  services: AppServices,
  authorization: string | null | undefined,
): Promise<{ viewer: Viewer | null; authError: AppError | null }> {
  try {
    return { viewer: await viewerFromAuthorization(services, authorization), authError: null };
  } catch (error) {
    if (error instanceof AppError) return { viewer: null, authError: error };
    throw error;
  }
}

/** Reads `Bearer <token>`; null when there is no header. */
export async function viewerFromAuthorization(
  services: AppServices,
  authorization: string | null | undefined,
): Promise<Viewer | null> {
  if (!authorization) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) throw unauthenticated('Authorization header must be "Bearer <accessToken>".');
  return verifyAccessToken(services, match[1]);
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

async function startSession(services: AppServices, user: StoredUser, familyId: string = randomUUID()): Promise<Session> {
  const refreshToken = randomBytes(32).toString('base64url');
  const now = Date.now();
  await services.db.$transaction([
    // The user's expired tokens go as a new one comes: an expired token is refused whether it is there or not.
    services.db.refreshToken.deleteMany({ where: { userId: user.id, expiresAt: { lt: new Date(now) } } }),
    services.db.refreshToken.create({
      data: {
        userId: user.id,
        familyId,
        tokenHash: hashToken(refreshToken),
        expiresAt: new Date(now + services.config.refreshTokenTtlSeconds * 1000),
      },
    }),
  ]);
  return {
    accessToken: await signAccessToken(services, { id: user.id, role: user.role }),
    refreshToken,
    expiresIn: services.config.accessTokenTtlSeconds,
    user,
  };
}

export async function register(services: AppServices, input: RegisterInput): Promise<Session> {
  const user = await createUser(services, {
    email: input.email,
    name: input.name,
    passwordHash: await hashPassword(input.password),
  });
  return startSession(services, user);
}

const WRONG_LOGIN = 'Wrong email or password.';

/** Failed logins are counted per email and client IP in `limiter` (absent: not counted). */
export interface LoginGuard {
  limiter: RateLimiterAbstract;
  clientIp: string;
}

/**
 * Signs in. With a guard, each attempt takes a point of its email and IP's
 * budget before the password is checked (so that attempts in flight at once
 * are counted too); a success gives the budget back whole, a failure keeps
 * its point. Past the budget every attempt, a right password's too, is
 * RATE_LIMITED until the window that the first failure opened ends.
 */
export async function login(services: AppServices, input: LoginInput, guard?: LoginGuard): Promise<Session> {
  const key = guard && `${createHash('sha256').update(input.email).digest('base64url')}:${guard.clientIp}`;
  if (guard && key) {
    const msBeforeNext = await takePoint(guard.limiter, key);
    if (msBeforeNext !== null) throw rateLimited(msBeforeNext, 'Too many failed logins for this email');
  }
  // The one query that reads the hash (infra/db.ts leaves it out of every other).
  const user = await services.db.user.findUnique({ where: { email: input.email }, omit: { passwordHash: false } });
  // Verify even for an unknown email: the answer must not reveal which emails exist.
  const passwordHash = user?.passwordHash ?? (await getDummyHash());
  const valid = await verify(passwordHash, input.password).catch(() => false);
  if (!user || !valid) throw unauthenticated(WRONG_LOGIN);
  if (guard && key) await guard.limiter.delete(key);
  return startSession(services, user);
}

/**
 * Rotates a refresh token: the presented token is spent and a new one of the
 * same family is issued. Presenting a spent token is taken as theft and
 * revokes the whole family.
 */
export async function refreshSession(services: AppServices, refreshToken: string): Promise<Session> {
  const { db } = services;
  const stored = await db.refreshToken.findUnique({
    where: { tokenHash: hashToken(refreshToken) },
    include: { user: true },
  });
  if (!stored || stored.revokedAt || stored.expiresAt <= new Date()) {
    throw unauthenticated('Refresh token is invalid or expired.');
  }
  // A revocation of the family can land between another rotation's spend and its
  // insert, missing the token that rotation issued; any revoked member ends the family.
  const revokedInFamily = await db.refreshToken.count({ where: { familyId: stored.familyId, revokedAt: { not: null } } });
  if (revokedInFamily > 0) {
    await revokeFamily(services, stored.familyId);
    throw unauthenticated('Refresh token is invalid or expired.');
  }
  // One conditional UPDATE decides which of two concurrent presentations wins.
  const spent = await db.refreshToken.updateMany({
    where: { id: stored.id, usedAt: null, revokedAt: null },
    data: { usedAt: new Date() },
  });
  if (spent.count !== 1) {
    await revokeFamily(services, stored.familyId);
    services.log.warn({ userId: stored.userId, familyId: stored.familyId }, 'refresh token reused; family revoked');
    throw unauthenticated('Refresh token was already used; please sign in again.');
  }
  return startSession(services, stored.user, stored.familyId);
}

/** Ends the session the token belongs to; true when a live session was ended. */
export async function logout(services: AppServices, refreshToken: string): Promise<boolean> {
  const stored = await services.db.refreshToken.findUnique({ where: { tokenHash: hashToken(refreshToken) } });
  if (!stored) return false;
  return (await revokeFamily(services, stored.familyId)) > 0;
}

/** Deletes at most `limit` expired refresh tokens (a pruner's batch); resolves how many. */
export function deleteExpiredRefreshTokens(services: AppServices, limit: number): Promise<number> {
  return services.db.$executeRaw`
    DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens WHERE expires_at < now() LIMIT ${limit})`;
}

async function revokeFamily(services: AppServices, familyId: string): Promise<number> {
  const { count } = await services.db.refreshToken.updateMany({
    where: { familyId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return count;
}
