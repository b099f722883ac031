import { TimeoutError } from './async.js';

/**
 * Whether an error means the database or the queue store could not be reached
 * — an outage, which clients should retry — rather than a fault of ours. The
 * one place that knows what such errors look like; each entry is an error
 * seen from that client when its server was stopped or its connections cut
 * (test/outage.test.ts makes the same faults).
 */
export function isOutage(error: unknown): boolean {
  for (let seen = 0, current = error; current && seen < 8; seen += 1) {
    if (isOutageItself(current)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Socket failures (Node's own codes): refused, reset, timed out, unroutable. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that is going away or not taking connections: class 08
 * (connection exception), 57P01 admin_shutdown (a fast shutdown ends every
 * session with it), 57P02 crash_shutdown, 57P03 cannot_connect_now (starting
 * up, shutting down), 53300 too_many_connections.
 */
const unreachableState = (state: string) =>
  /^08[0-9A-Z]{3}$/.test(state) || ['57P01', '57P02', '57P03', '53300'].includes(state);

/**
 * Prisma's own codes: P1001 can't reach the server, P1002 it timed out, P1008
 * operations timed out, P1017 the server closed the connection, P2024 no pooled
 * connection in time.
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** @prisma/adapter-pg's translation of a lost connection (its DriverAdapterError's `cause.kind`). */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/**
 * Failures that carry no code, only their message: node-postgres ("Connection
 * terminated unexpectedly" when the socket drops under a query, which Prisma
 * passes through as a plain Error; pg-pool's connect timeout; a client broken
 * by an earlier connection error), ioredis with BullMQ's settings (no
 * offline queue, one retry per request), and our queues once closed for a
 * shutdown.
 */
const UNCODED = [
  /^Connection terminated( unexpectedly| due to connection timeout)?$/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Stream isn't writeable and enableOfflineQueue options is false$/,
  /^Connection is closed\.$/,
  /^the queues are closed$/,
];

function isOutageItself(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  // A store call (enqueue, publish, a connect) that got no answer in time.
  if (error instanceof TimeoutError) return true;
  const { code, name, message, meta } = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; code?: unknown; originalCode?: unknown } } };
  };
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || PRISMA_CODES.has(code) || unreachableState(code))) {
    return true;
  }
  // Prisma's P2010 (a raw query failed) and friends carry the adapter's error in meta.
  const adapter = meta?.driverAdapterError?.cause;
  if (adapter) {
    if (typeof adapter.kind === 'string' && ADAPTER_KINDS.has(adapter.kind)) return true;
    const state = adapter.originalCode ?? adapter.code;
    if (typeof state === 'string' && unreachableState(state)) return true;
  }
  if (name === 'MaxRetriesPerRequestError') return true;
  return typeof message === 'string' && UNCODED.some((pattern) => pattern.test(message));
}
