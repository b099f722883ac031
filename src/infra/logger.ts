import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import pino, { type Logger } from 'pino';
import { isOutage } from './outage.js';

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

/** `err` of every line: an expected outage error by its name, code and message alone; anything else whole, stack included. */
function serializeError(error: unknown): unknown {
  // Their stack says nothing new on the thousandth call of an outage.
  if (!isOutage(error)) return pino.stdSerializers.err(error as Error);
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
  // Asynchronous writes to stdout: lines logged while a write is under way go out
  // together in the next one, so a request line costs no system call of its own
  // under load. pino flushes what is left when the process exits.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}

/**
 * One line per request, when it completes (method, path, status, time, and
 * the request id the child logger carries), instead of Fastify's two: what
 * a 3 a.m. reader needs, at half the logging cost under load.
 */
export class RequestLogController extends LogController {
  /**
   * The completed-request line holds only what this class puts in it (the
   * request's method, path without its query string, host and address, the
   * status and the time): nothing to redact, and redaction cost more than the
   * rest of the line. Error lines carry the error, and stay redacted.
   */
  readonly #lines: Logger;

  constructor(log: Logger) {
    super();
    this.#lines = log.child({}, { redact: [] });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const line = {
      req: request,
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else this.#lines.info({ reqId: request.id, ...line }, 'request completed');
  }
}
