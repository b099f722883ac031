import pg from 'pg';
import type { Logger } from 'pino';
import { throttledErrorLog } from '../../async.js';
import { groupCommit } from '../../group-commit.js';
import { ListenerSet } from './listeners.js';
import { CONNECT_TIMEOUT_MS, type Transport, type TransportOptions } from './transport.js';

export const EVENTS_CHANNEL = 'switchyard_events';
/** Messages one NOTIFY statement carries at most (each under 8,000 bytes). */
const NOTIFY_BATCH = 200;
/** Reconnect backoff of the listening connection: 200 ms steps up to 5 s. */
const reconnectDelay = (attempt: number) => Math.min(200 * attempt, 5000);

/**
 * LISTEN/NOTIFY on one channel: a dedicated connection LISTENs (rebuilt with
 * backoff whenever it drops, and LISTENing again); NOTIFY goes through a small
 * pool of its own, so publishing does not wait on the Prisma pool. Messages
 * are `{"t": topic, "p": payload, "n": sequence}`.
 *
 * Concurrent sends are group-committed: the messages that arrive while a
 * NOTIFY statement runs go out together in the next one, in their order, so a
 * burst of writes costs a few round trips and commits on the notification
 * queue's lock instead of one per event, and this process's events arrive in
 * the order it published them. The sequence number keeps identical events of
 * one batch apart: PostgreSQL delivers a payload repeated within a
 * transaction only once.
 */
export function postgresTransport(databaseUrl: string, busLog: Logger, { listen }: TransportOptions): Transport {
  const log = busLog.child({ backend: 'postgres' });
  const connection = {
    connectionString: databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A silently dropped connection is noticed (and the listener rebuilt) within a minute or so.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  // A NOTIFY is delivered at its commit; waiting for that commit's WAL flush as
  // well made every publish wait for the disk, and PostgreSQL serializes the
  // commits of notifying transactions. Nothing durable is written here, and
  // delivery is at most once anyway.
  // Two connections: one for the NOTIFY statements, one so that /ready's ping never waits behind them.
  const pool = new pg.Pool({ ...connection, max: 2, idleTimeoutMillis: 30_000, options: '-c synchronous_commit=off' });
  const poolError = throttledErrorLog(log, 'notify pool', 'event bus error');
  // The pool emits (error, client): the client must not become log fields.
  pool.on('error', (error) => poolError(error));
  const listeners = new ListenerSet(log);
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let attempt = 0;
  let resumed: (() => void) | undefined;
  let sequence = 0;
  const notify = groupCommit<string>({
    // One statement at a time keeps this process's events in the order published (two could commit either way round).
    maxInFlight: 1,
    maxBatch: NOTIFY_BATCH,
    // unnest yields the array in order, and the notifications are queued in that order.
    flush: async (messages) => {
      await pool.query('SELECT pg_notify($1, message) FROM unnest($2::text[]) AS message', [EVENTS_CHANNEL, messages]);
    },
  });

  const onNotification = (message: pg.Notification) => {
    if (message.channel !== EVENTS_CHANNEL || !message.payload) return;
    let parsed: { t?: unknown; p?: unknown };
    try {
      parsed = JSON.parse(message.payload) as { t?: unknown; p?: unknown };
    } catch {
      log.warn('ignored a malformed event notification');
      return;
    }
    if (typeof parsed.t === 'string') listeners.dispatch(parsed.t, parsed.p);
  };

  const connect = async () => {
    const next = new pg.Client(connection);
    next.on('notification', onNotification);
    next.on('error', (error) => lost(next, error));
    next.on('end', () => lost(next));
    try {
      await next.connect();
      await next.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      next.removeAllListeners('end');
      next.on('error', () => {});
      await next.end().catch(() => {});
      throw error;
    }
    if (closed) {
      await next.end().catch(() => {});
      return;
    }
    client = next;
  };

  const lost = (which: pg.Client, error?: Error) => {
    if (closed || client !== which) return;
    client = undefined;
    log.warn({ err: error }, 'the LISTEN connection dropped; reconnecting');
    which.removeAllListeners('end');
    which.on('error', () => {});
    void which.end().catch(() => {});
    scheduleReconnect();
  };

  const scheduleReconnect = () => {
    attempt += 1;
    retry = setTimeout(() => {
      connect().then(
        () => {
          if (closed) return;
          log.info({ attempts: attempt }, 'listening for events again');
          attempt = 0;
          resumed?.();
        },
        (error: unknown) => {
          if (attempt === 1 || attempt % 10 === 0) log.warn({ err: error, attempt }, 'event listener reconnect failed');
          if (!closed) scheduleReconnect();
        },
      );
    }, reconnectDelay(attempt));
  };

  return {
    kind: 'postgres',
    target: listeners.target(),
    async send(topic, message) {
      // Built around the serialized payload, not serialized again.
      sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
      await notify(`{"t":${JSON.stringify(topic)},"p":${message},"n":${sequence}}`);
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    // `client` is set once LISTEN succeeded and cleared the moment the connection drops.
    listening: () => !listen || client !== undefined,
    onResumed(callback) {
      resumed = callback;
    },
    async start() {
      await pool.query('SELECT 1');
      if (listen) await connect();
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const listening = client;
      client = undefined;
      if (listening) {
        listening.removeAllListeners('end');
        await listening.end().catch(() => {});
      }
      await pool.end().catch(() => {});
    },
  };
}
