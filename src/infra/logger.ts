import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import pino, { type Logger } from 'pino';

/**
 * Paths that must never reach a log line, wherever they appear in a logged
 * object: credentials, tokens, and the request's Authorization header.
 */
const REDACTED_PATHS = [
  'password',
  '*.password',
  'passwordHash',
  '*.passwordHash',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'variables',
  '*.variables',
];

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Fastify's request fields, but the URL without its query string: a GET
 * /graphql carries the operation and its variables there, secrets included.
 */
function serializeRequest(req: LoggedRequest) {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return {
    method: req.method,
    url: query === -1 ? url : `${url.slice(0, query)}?[redacted]`,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * Errors that only say a store is down or slow: connection refused or reset,
 * timeouts (ours and the sockets'), the queues closed, a store unreachable,
 * ioredis refusing commands while disconnected, PostgreSQL shutting down.
 * Their stack says nothing new on the thousandth call of an outage.
 */
const OUTAGE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH',
  '57P01', '57P02', '57P03', // PostgreSQL: admin shutdown, crash shutdown, cannot connect now
]);
const OUTAGE_MESSAGES = [
  /timed out after \d+ ms/,
  /^the queues are closed$/,
  /\bunreachable\b/,
  /^Connection is closed\.?$/,
  /^Stream isn't writeable/,
  /max retries per request/i,
  /^Connection terminated/,
];

function isOutageError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string' && OUTAGE_CODES.has(code)) return true;
    if (OUTAGE_MESSAGES.some((pattern) => pattern.test(e.message))) return true;
  }
  return false;
}

/** `err` of every line: an expected outage error by its name, code and message alone; anything else whole, stack included. */
function serializeError(error: unknown): unknown {
  if (!isOutageError(error)) return pino.stdSerializers.err(error as Error);
  const { name, message, code } = error as Error & { code?: unknown };
  return { type: name, ...(code === undefined ? {} : { code }), message };
}

/** The process's logger; `destination` (stdout by default) lets tests read what it writes. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest, err: serializeError },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * One line per request, when it completes (method, path, status, time, and
 * the request id the child logger carries), instead of Fastify's two: what
 * a 3 a.m. reader needs, at half the logging cost under load.
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const line = {
      req: request,
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
