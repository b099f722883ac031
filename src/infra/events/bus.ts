import { Repeater } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { throttledErrorLog, withTimeout } from '../async.js';
import { isOutage } from '../outage.js';
import { postgresTransport } from './transports/postgres.js';
import { redisTransport } from './transports/redis.js';

/**
 * The cross-process event bus behind subscriptions (Redis pub/sub with
 * REDIS_URL, else PostgreSQL LISTEN/NOTIFY), typed by the caller's event map.
 * Events are compact (ids and a status); delivery is at most once, so the
 * database stays the truth and subscribers re-read it; publish() never throws
 * (docs/invariants.md, "The event bus: at most once, subscribers re-read").
 */

export type PublishOutcome = 'sent' | 'failed' | 'too_large' | 'not_started';

/**
 * What check() found: `ok`; `unreachable` (not started or closed, or the bus
 * did not answer within CHECK_TIMEOUT_MS); `not listening` (it answers, but
 * this process's listening connection is down and reconnecting: its
 * subscribers get nothing meanwhile).
 */
type BusHealth = 'ok' | 'unreachable' | 'not listening';

/** Topic → payload: the caller's own map. */
export type EventMap = object;
type Topic<M extends EventMap> = keyof M & string;

export interface EventBus<M extends EventMap> {
  readonly backend: 'redis' | 'postgres';
  /**
   * Sends the event to every process (this one included). Resolves once the
   * bus took it (true) or, logged, when it could not (false); never rejects.
   * Publish after the transaction that made the change has committed.
   */
  publish<T extends Topic<M>>(topic: T, payload: M[T]): Promise<boolean>;
  /**
   * Events of `topic` from every process, from now on; return() ends it. With
   * `accepts`, only the events it accepts are queued: a subscriber that reads
   * slowly holds its own events, not everyone's (an unread backlog of 1,024
   * overflows, and the overflowing event is dropped).
   */
  subscribe<T extends Topic<M>>(topic: T, accepts?: (event: M[T]) => boolean): Repeater<M[T]>;
  /**
   * For /ready: one cheap round trip on the publishing side (Redis PING,
   * PostgreSQL `SELECT 1` on the NOTIFY pool), bounded by CHECK_TIMEOUT_MS,
   * and, when this process listens, whether its listening connection is up.
   * Never rejects.
   */
  check(): Promise<BusHealth>;
  /**
   * Calls `listener` each time this process listens again after its listening
   * connection was lost: events published meanwhile never reached it, so a
   * subscriber that keeps state re-reads it. Returns the unsubscribe.
   */
  onResumed(listener: () => void): () => void;
  /**
   * Connects (rejecting fast when the bus is unreachable) and, unless
   * `listen: false`, starts listening. Later calls return the first one's promise.
   */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface CreateEventBusOptions<M extends EventMap> {
  /** Every topic of M: a process listens to all of them from start() on. */
  topics: readonly Topic<M>[];
  /** Redis channel prefix (default `switchyard`); tests sharing one Redis use their own. PostgreSQL channels are per database. */
  namespace?: string;
  /** False for processes that only publish (workers): no listening connection. */
  listen?: boolean;
  /** How long start() waits for the bus (default 5 s). */
  readyTimeoutMs?: number;
  /** Told the outcome of every publish (metrics). */
  onPublish?: (topic: string, outcome: PublishOutcome) => void;
}

/** NOTIFY refuses payloads of 8,000 bytes or more; this leaves room for the envelope. */
const MAX_EVENT_BYTES = 7500;
const PUBLISH_TIMEOUT_MS = 2000;
const CHECK_TIMEOUT_MS = 2000;
const READY_TIMEOUT_MS = 5000;
export function createEventBus<M extends EventMap>(
  deps: { config: Pick<Config, 'redisUrl'>; log: Logger; databaseUrl: string },
  options: CreateEventBusOptions<M>,
): EventBus<M> {
  const listen = options.listen ?? true;
  const transportOptions = { topics: options.topics, listen };
  // The one place that picks the transport: Redis pub/sub with REDIS_URL, else LISTEN/NOTIFY.
  const busLog = deps.log.child({ component: 'pubsub' });
  const transport = deps.config.redisUrl
    ? redisTransport(deps.config.redisUrl, `${options.namespace ?? 'switchyard'}:events:`, busLog, transportOptions)
    : postgresTransport(deps.databaseUrl, busLog, transportOptions);
  const { kind: backend } = transport;
  const log = busLog.child({ backend });
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const publishErrors = throttledErrorLog(log, 'publish', 'event bus error');
  let state: 'new' | 'started' | 'closed' = 'new';
  let starting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  const outcome = (topic: string, result: PublishOutcome) => {
    try {
      options.onPublish?.(topic, result);
    } catch {
      // metrics must never break publishing
    }
    return result === 'sent';
  };

  const resumedListeners = new Set<() => void>();
  transport.onResumed(() => {
    for (const listener of resumedListeners) {
      try {
        listener();
      } catch (error) {
        log.warn({ err: error }, 'an onResumed listener failed');
      }
    }
  });

  return {
    backend,
    onResumed(listener) {
      resumedListeners.add(listener);
      return () => resumedListeners.delete(listener);
    },
    async publish(topic, payload) {
      if (state !== 'started') {
        log.warn({ topic }, 'event not published: the bus is not started');
        return outcome(topic, 'not_started');
      }
      const message = JSON.stringify(payload);
      const bytes = Buffer.byteLength(message);
      if (bytes > MAX_EVENT_BYTES) {
        log.error({ topic, bytes, limit: MAX_EVENT_BYTES }, 'event not published: payload too large');
        return outcome(topic, 'too_large');
      }
      try {
        await withTimeout(transport.send(topic, message), PUBLISH_TIMEOUT_MS, 'publish');
        return outcome(topic, 'sent');
      } catch (error) {
        publishErrors(error as Error, { topic });
        return outcome(topic, 'failed');
      }
    },
    subscribe: <T extends Topic<M>>(topic: T, accepts?: (event: M[T]) => boolean) =>
      new Repeater<M[T]>(async (push, stop) => {
        const listener = (event: CustomEvent) => {
          const detail = event.detail as M[T];
          if (!accepts || accepts(detail)) void push(detail);
        };
        transport.target.addEventListener(topic, listener as never);
        await stop;
        transport.target.removeEventListener(topic, listener as never);
      }),
    async check() {
      if (state !== 'started') return 'unreachable';
      try {
        await withTimeout(transport.ping(), CHECK_TIMEOUT_MS, 'event bus check');
      } catch {
        return 'unreachable';
      }
      return transport.listening() ? 'ok' : 'not listening';
    },
    start() {
      // Once: app.ready() may run more than once. A failed start stays failed (its connections are closed).
      starting ??= (async () => {
        if (state === 'closed') throw new Error('the event bus is closed');
        try {
          await withTimeout(transport.start(), readyTimeoutMs, 'connect');
        } catch (error) {
          state = 'closed';
          await transport.close().catch(() => {});
          throw new Error(`event bus (${backend}) unreachable: ${(error as Error).message}`, { cause: error });
        }
        // close() while starting: stay closed.
        if (closing) return;
        state = 'started';
        log.debug({ listen }, 'event bus ready');
      })();
      return starting;
    },
    close() {
      closing ??= (async () => {
        state = 'closed';
        await transport.close().catch((error: unknown) => log.warn({ err: error }, 'closing the event bus failed'));
      })();
      return closing;
    },
  };
}

/** How often a subscriber's read is tried again while the database is unreachable. */
const READ_RETRY_MS = 1000;
const STOPPED: unique symbol = Symbol('stopped');

/**
 * A subscriber's stream of status changes: `events` (already filtered to what
 * concerns the subscriber, on the event's ids, no database read), each then
 * read with `read` — only a match costs a read. An event whose status was
 * already superseded when its row is read is skipped: the next event shows
 * the newer status, so a client never sees a status twice or out of order.
 *
 * A read that fails because the database is unreachable (isOutage) is tried
 * again every READ_RETRY_MS until it answers or the subscriber leaves: the
 * subscription rides out the outage and delivers the row once the database is
 * back, instead of ending. Not logged here: every subscriber would log the
 * same outage; requests and /ready report it. Any other failure ends the
 * stream (masked, as before).
 */
export function statusChanges<E extends { status: string }, Row extends { status: string }>(
  events: AsyncIterable<E>,
  read: (event: E) => Promise<Row | null>,
): AsyncIterable<Row> {
  return new Repeater<Row>(async (push, stop) => {
    const stopped = stop.then((): typeof STOPPED => STOPPED);
    const iterator = events[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (next === STOPPED || next.done) break;
        const row = await readThroughOutage(() => read(next.value), stopped);
        if (row === STOPPED) break;
        if (row !== null && row.status === next.value.status) await push(row);
      }
    } finally {
      await iterator.return?.();
    }
  });
}

/**
 * A subscriber's live view of one row: `read()` now, then again after each of
 * `events` (already filtered to what concerns the subscriber), each delivery a
 * fresh read — so the last one delivered is the row as it is, whatever order
 * the events came in. The stream ends when a read answers null (the row is
 * gone, or the subscriber may no longer see it), or after the row that
 * `options.last` says is final. Reads ride out an outage as in statusChanges.
 */
export function liveRow<E, Row>(
  events: AsyncIterable<E>,
  read: () => Promise<Row | null>,
  options: { last?: (row: Row) => boolean } = {},
): AsyncIterable<Row> {
  return new Repeater<Row>(async (push, stop) => {
    const stopped = stop.then((): typeof STOPPED => STOPPED);
    const iterator = events[Symbol.asyncIterator]();
    // Listening starts before the first read: a change committed while it runs still wakes the next one.
    let event = iterator.next();
    try {
      for (;;) {
        const row = await readThroughOutage(read, stopped);
        if (row === STOPPED || row === null) break;
        await push(row);
        if (options.last?.(row)) break;
        const next = await Promise.race([event, stopped]);
        if (next === STOPPED || next.done) break;
        event = iterator.next();
      }
    } finally {
      await iterator.return?.();
      stop();
    }
  });
}

async function readThroughOutage<T>(read: () => Promise<T>, stopped: Promise<typeof STOPPED>) {
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (!isOutage(error)) throw error;
    }
    let timer: NodeJS.Timeout | undefined;
    const retry = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, READ_RETRY_MS);
    });
    const woke = await Promise.race([retry, stopped]).finally(() => clearTimeout(timer));
    if (woke === STOPPED) return STOPPED;
  }
}
