import { GraphQLError } from 'graphql';
import pg from 'pg';

/** The error codes of the public contract (docs/contract.md, §3 "Error codes"). */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'SOLD_OUT',
  'LIMIT_EXCEEDED',
  'INSUFFICIENT_FUNDS',
  'QUERY_TOO_COMPLEX',
  'CAPACITY_REACHED',
  'QUIZ_NOT_LIVE',
  'NO_QUESTIONS_LEFT',
  'INSUFFICIENT_POINTS',
  'QUOTA_EXCEEDED',
  'UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * An expected failure, safe to show the client as it is. Anything thrown that
 * is not an AppError (or a GraphQL validation error) is masked.
 *
 * It carries no stack trace: it is an answer, never logged as a fault, and
 * capturing one (then source-mapping it when GraphQL copies the error) was a
 * tenth of the API's CPU in a flash sale, where most answers are SOLD_OUT.
 */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message, { extensions: { ...extensions, code } });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.code = code;
    this.name = 'AppError';
  }
}

export const badUserInput = (fields: Record<string, string>, message = 'Invalid input.') =>
  new AppError('BAD_USER_INPUT', message, { fields });

export const unauthenticated = (message = 'Authentication required.') => new AppError('UNAUTHENTICATED', message);

export const forbidden = (message = 'You are not allowed to do this.') => new AppError('FORBIDDEN', message);

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found.`);

export const capacityReached = (message: string) => new AppError('CAPACITY_REACHED', message);

export const quizNotLive = (message = 'The quiz is not live.') => new AppError('QUIZ_NOT_LIVE', message);

export const noQuestionsLeft = (message: string) => new AppError('NO_QUESTIONS_LEFT', message);

export const insufficientPoints = (message: string) => new AppError('INSUFFICIENT_POINTS', message);

export const conflict = (message: string, fields?: Record<string, string>) =>
  new AppError('CONFLICT', message, fields ? { fields } : {});

/** Past a rate limit: `retryAfter` is the whole seconds (at least 1) until the window ends, `msBeforeNext` from now. */
export const rateLimited = (msBeforeNext: number, message = 'Too many requests') => {
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new AppError('RATE_LIMITED', `${message}: try again in ${retryAfter} s.`, { retryAfter });
};

/** The viewer's quota for the period is used up; `resetsAt` is when it starts again (retryAfter: whole seconds until then, at least 1). */
export const quotaExceeded = (message: string, resetsAt: Date) => {
  const retryAfter = Math.max(1, Math.ceil((resetsAt.getTime() - Date.now()) / 1000));
  return new AppError('QUOTA_EXCEEDED', `${message} It resets at ${resetsAt.toISOString()}.`, { retryAfter });
};

export const MASKED_MESSAGE = 'Unexpected error.';

/** How long a client is told to wait before retrying during an outage: about a restart of PostgreSQL or Redis. */
const OUTAGE_RETRY_AFTER_SECONDS = 5;

/** The database or the queue store could not be reached (isOutage): the request may be tried again. */
export const unavailable = () =>
  new AppError('UNAVAILABLE', 'The service is unavailable right now; try again later.', {
    retryAfter: OUTAGE_RETRY_AFTER_SECONDS,
  });

/** A zod failure as BAD_USER_INPUT: each issue's path (under `prefix`) maps to its message. */
export function fromZodIssues(
  issues: ReadonlyArray<{ path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> | undefined; message: string }>,
  prefix: readonly string[] = [],
): AppError {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const path = [
      ...prefix,
      ...(issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)),
    ];
    const key = path.join('.') || 'input';
    fields[key] ??= issue.message;
  }
  return badUserInput(fields);
}

/** The PostgreSQL SQLSTATE of a failed raw query (Prisma's P2010, or node-postgres's own error), if that is what `error` is. */
export function rawQuerySqlState(error: unknown): string | undefined {
  if (error instanceof pg.DatabaseError) return error.code;
  const { code, meta } = (error ?? {}) as {
    code?: unknown;
    meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown } } };
  };
  if (code !== 'P2010') return undefined;
  // Through a driver adapter the SQLSTATE sits in the adapter's error; without one, in meta.code.
  const state = meta?.driverAdapterError?.cause?.originalCode ?? meta?.code;
  return typeof state === 'string' ? state : undefined;
}

/** A unique constraint failed: P2002 from Prisma's queries, SQLSTATE 23505 from raw ones. */
export function isUniqueViolation(error: unknown): boolean {
  return (
    (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002') ||
    rawQuerySqlState(error) === '23505'
  );
}

/** A foreign key refused the write (a row still referenced): P2003 from Prisma's queries, SQLSTATE 23503 from raw ones. */
export function isForeignKeyViolation(error: unknown): boolean {
  return (
    (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2003') ||
    rawQuerySqlState(error) === '23503'
  );
}

/**
 * PostgreSQL may abort one of two transactions that wait on each other
 * (a deadlock: P2034 from Prisma's queries, 40P01 from raw ones; or a
 * serialization failure, 40001); nothing of it was written, so it is run
 * again, a few times, before the error reaches the client.
 */
export async function retryOnWriteConflict<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      const state = rawQuerySqlState(error);
      const conflict = (error as { code?: unknown }).code === 'P2034' || state === '40P01' || state === '40001';
      if (!conflict || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
    }
  }
}

/**
 * Duck-typed on purpose: graphql ships CommonJS and ESM builds, and when both
 * are loaded an error from one is not an `instanceof` the other's class.
 */
export function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && 'extensions' in error && 'locations' in error && 'path' in error;
}
