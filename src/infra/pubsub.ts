import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { filter, map, pipe, type PubSubEventTarget, Repeater } from 'graphql-yoga';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { throttledErrorLog, withTimeout } from './async.js';

/**
 * The cross-process event bus behind subscriptions. A mutation or a job
 * publishes a compact event (ids and a status, never a whole row); every API
 * process delivers it to its own subscribers, which filter on those ids and
 * read what they show from the database. With REDIS_URL the bus is Redis
 * pub/sub (@graphql-yoga/redis-event-target, one channel per topic), without
 * it PostgreSQL LISTEN/NOTIFY (one channel, `switchyard_events`, on the app's
 * database). A subscriber is a Repeater on that event target that queues
 * only the events its filter accepts.
 *
 * Delivery is at most once, like the pub/sub it runs on: an event published
 * while a process's listening connection is down is lost for that process's
 * subscribers (the connection comes back by itself). The database stays the
 * truth; a client that reconnects reads the current state.
 *
 * - A payload is serialized once per publish and parsed once per received
 *   message per process, not once per subscriber.
 * - Payloads over MAX_EVENT_BYTES are refused and logged (NOTIFY's limit is
 *   8,000 bytes; the same bound holds on Redis, so that both backends agree).
 * - publish() never throws: a bus that is down or slow (PUBLISH_TIMEOUT_MS)
 *   is logged and the caller goes on. A mutation or job never fails for it.
 */

/** A transaction's status changed (or it was created PENDING). */
export interface TransactionUpdatedEvent {
  id: string;
  status: 'PENDING' | 'COMPLETED' | 'FAILED';
  fromAccountId: string | null;
  toAccountId: string;
  /** Owners of the two accounts: subscribers filter on them without a database read. */
  fromOwnerId: string | null;
  toOwnerId: string;
}

/** An order's status changed (or it was created RESERVED). */
export interface OrderUpdatedEvent {
  id: string;
  buyerId: string;
  status: 'RESERVED' | 'PAID' | 'FULFILLED' | 'CANCELLED';
}

/**
 * An item's stock changed. Only its id: events of concurrent purchases arrive
 * in no particular order, so a value carried here could be stale; the
 * subscriber side reads the row (src/modules/inventory/stock-feed.ts).
 */
export interface StockChangedEvent {
  id: string;
}

/** Every topic of the bus and its payload. Add a topic here, then publish and subscribe to it. */
export interface EventMap {
  transactionUpdated: TransactionUpdatedEvent;
  orderUpdated: OrderUpdatedEvent;
  stockChanged: StockChangedEvent;
}
export type EventTopic = keyof EventMap;
export const EVENT_TOPICS: readonly EventTopic[] = ['transactionUpdated', 'orderUpdated', 'stockChanged'];

export type PublishOutcome = 'sent' | 'failed' | 'too_large' | 'not_started';

/**
 * What check() found: `ok`; `unreachable` (not started or closed, or the bus
 * did not answer within CHECK_TIMEOUT_MS); `not listening` (it answers, but
 * this process's listening connection is down and reconnecting: its
 * subscribers get nothing meanwhile).
 */
export type BusHealth = 'ok' | 'unreachable' | 'not listening';

export interface PubSub {
  readonly backend: 'redis' | 'postgres';
  /**
   * Sends the event to every process (this one included). Resolves once the
   * bus took it (true) or, logged, when it could not (false); never rejects.
   * Publish after the transaction that made the change has committed.
   */
  publish<T extends EventTopic>(topic: T, payload: EventMap[T]): Promise<boolean>;
  /**
   * Events of `topic` from every process, from now on; return() ends it. With
   * `accepts`, only the events it accepts are queued: a subscriber that reads
   * slowly holds its own events, not everyone's (an unread backlog of 1,024
   * overflows, and the overflowing event is dropped).
   */
  subscribe<T extends EventTopic>(topic: T, accepts?: (event: EventMap[T]) => boolean): Repeater<EventMap[T]>;
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

export interface CreatePubSubOptions {
  /** Redis channel prefix (default `switchyard`); tests sharing one Redis use their own. PostgreSQL channels are per database. */
  namespace?: string;
  /** False for processes that only publish (workers): no listening connection. */
  listen?: boolean;
  /** How long start() waits for the bus (default 5 s). */
  readyTimeoutMs?: number;
  /** Told the outcome of every publish (metrics). */
  onPublish?: (topic: EventTopic, outcome: PublishOutcome) => void;
}

export const EVENTS_CHANNEL = 'switchyard_events';
/** NOTIFY refuses payloads of 8,000 bytes or more; this leaves room for the envelope. */
export const MAX_EVENT_BYTES = 7500;
const PUBLISH_TIMEOUT_MS = 2000;
const CHECK_TIMEOUT_MS = 2000;
const READY_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 3000;
/** Reconnect backoff of the listening connection: 200 ms steps up to 5 s. */
const reconnectDelay = (attempt: number) => Math.min(200 * attempt, 5000);

type Listener = (event: CustomEvent) => void;

/** What each backend provides: an event target for this process's subscribers, and a way to send a serialized event. */
interface Transport {
  target: PubSubEventTarget<{ [K in EventTopic]: [EventMap[K]] }>;
  send(topic: EventTopic, message: string): Promise<void>;
  /** One round trip on the sending connection; rejects when it fails. */
  ping(): Promise<void>;
  /** Whether the listening connection is up (true when this process does not listen). */
  listening(): boolean;
  /** Called each time the listening connection is back after it was lost. */
  onResumed(callback: () => void): void;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createPubSub(
  deps: { config: Config; log: Logger; databaseUrl: string },
  options: CreatePubSubOptions = {},
): PubSub {
  const backend = deps.config.redisUrl ? 'redis' : 'postgres';
  const log = deps.log.child({ component: 'pubsub', backend });
  const listen = options.listen ?? true;
  const transport = deps.config.redisUrl
    ? redisTransport(deps.config.redisUrl, `${options.namespace ?? 'switchyard'}:events:`, log, listen)
    : postgresTransport(deps.databaseUrl, log, listen);
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const publishErrors = throttledErrorLog(log, 'publish', 'event bus error');
  let state: 'new' | 'started' | 'closed' = 'new';
  let starting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  const outcome = (topic: EventTopic, result: PublishOutcome) => {
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
    subscribe: <T extends EventTopic>(topic: T, accepts?: (event: EventMap[T]) => boolean) =>
      new Repeater<EventMap[T]>(async (push, stop) => {
        const listener = (event: CustomEvent) => {
          const detail = event.detail as EventMap[T];
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

// ------------------------------------------------------------------ Redis

/**
 * Redis pub/sub through @graphql-yoga/redis-event-target, one channel per
 * topic under `prefix`. The package leaves three promises unhandled (publish,
 * subscribe, unsubscribe): publishing goes straight to the publish client,
 * awaited, and the subscribe client it gets catches its own failures. Every
 * topic is subscribed at start and stays subscribed, so a new subscriber never
 * waits for a SUBSCRIBE round trip (nor misses what is published meanwhile).
 * Its peer range says ioredis 5; ioredis 6 (which BullMQ 6 needs) has the same
 * pub/sub API, and package.json's `overrides` lets it use ours.
 */
function redisTransport(url: string, prefix: string, log: Logger, listen: boolean): Transport {
  const common = { connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: redisRetryStrategy, lazyConnect: true };
  // Fails fast while Redis is down instead of queueing commands in memory.
  const publisher = new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  publisher.on('error', throttledErrorLog(log, 'redis publisher', 'event bus error'));
  const subscriber = listen
    ? // Named, so that it can be told apart in CLIENT LIST.
      new Redis(url, { ...common, maxRetriesPerRequest: null, autoResubscribe: true, connectionName: `${prefix}subscriber` })
    : undefined;
  subscriber?.on('error', throttledErrorLog(log, 'redis subscriber', 'event bus error'));

  const listeners = new ListenerSet(log);
  const channel = (topic: string) => `${prefix}${topic}`;
  const keepers = new Map<EventTopic, Listener>();
  let target: ReturnType<typeof createRedisEventTarget> | undefined;
  if (subscriber) {
    const settle = (what: string) => (error: unknown) => log.warn({ err: error }, `redis ${what} failed`);
    const guarded = {
      on: (event: string, callback: (...args: unknown[]) => void) => subscriber.on(event, callback),
      subscribe: (name: string) => subscriber.subscribe(name).catch(settle('subscribe')),
      unsubscribe: (name: string) => subscriber.unsubscribe(name).catch(settle('unsubscribe')),
    };
    // The payload arrives serialized once by publish(); parsed once per message here.
    target = createRedisEventTarget({
      publishClient: publisher,
      subscribeClient: guarded as unknown as Redis,
      serializer: { stringify: (message) => String(message), parse: (message) => JSON.parse(message) as unknown },
    });
    for (const topic of EVENT_TOPICS) {
      const keeper: Listener = (event) => listeners.dispatch(topic, event.detail);
      keepers.set(topic, keeper);
    }
  }

  return {
    target: listeners.target(),
    async send(topic, message) {
      await publisher.publish(channel(topic), message);
    },
    async ping() {
      // No offline queue: rejects at once while disconnected.
      await publisher.ping();
    },
    // 'ready' once connected (and, autoResubscribe, subscribed again after a reconnect).
    listening: () => !subscriber || subscriber.status === 'ready',
    onResumed(callback) {
      let started = false;
      subscriber?.on('ready', () => {
        // The first 'ready' is start()'s; later ones follow a reconnect. PING answers after the re-SUBSCRIBE.
        if (!started) {
          started = true;
          return;
        }
        subscriber.ping().then(callback, () => {});
      });
    },
    async start() {
      await publisher.connect();
      if (!subscriber || !target) return;
      await subscriber.connect();
      for (const [topic, keeper] of keepers) target.addEventListener(channel(topic), keeper);
      // SUBSCRIBE is queued behind the connect; PING answers after it.
      await subscriber.ping();
    },
    async close() {
      if (target) for (const [topic, keeper] of keepers) target.removeEventListener(channel(topic), keeper);
      await Promise.all([quit(publisher), subscriber ? quit(subscriber) : undefined]);
    },
  };
}

const redisRetryStrategy = (times: number) => Math.min(times * 200, 2000);

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await withTimeout(client.quit(), 1000, 'quit');
  } catch {
    client.disconnect();
  }
}

// ------------------------------------------------------------- PostgreSQL

/**
 * LISTEN/NOTIFY on one channel: a dedicated connection LISTENs (rebuilt with
 * backoff whenever it drops, and LISTENing again); NOTIFY goes through a small
 * pool of its own, so publishing does not wait on the Prisma pool. Messages
 * are `{"t": topic, "p": payload}`.
 */
function postgresTransport(databaseUrl: string, log: Logger, listen: boolean): Transport {
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
    target: listeners.target(),
    async send(topic, message) {
      // Built around the serialized payload, not serialized again.
      await pool.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, `{"t":${JSON.stringify(topic)},"p":${message}}`]);
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

// ----------------------------------------------------------------- shared

/**
 * This process's subscribers by topic: what subscribe() adds and
 * removes. A received message is dispatched as one event to all of them; one
 * that throws (a subscriber 1,024 events behind overflows its buffer) is
 * logged and does not keep the event from the others.
 */
class ListenerSet {
  private readonly byTopic = new Map<string, Set<Listener>>();
  private readonly overflow: (error: Error, fields?: object) => void;

  constructor(log: Logger) {
    this.overflow = throttledErrorLog(log, 'subscriber', 'event bus error');
  }

  dispatch(topic: string, detail: unknown): void {
    const listeners = this.byTopic.get(topic);
    if (!listeners || listeners.size === 0) return;
    const event = new CustomEvent(topic, { detail });
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        this.overflow(error as Error, { topic });
      }
    }
  }

  /** Function listeners only: what subscribe() adds. */
  target(): Transport['target'] {
    const target = {
      addEventListener: (topic: string, listener: unknown) => {
        if (typeof listener !== 'function') return;
        const set = this.byTopic.get(topic) ?? new Set<Listener>();
        set.add(listener as Listener);
        this.byTopic.set(topic, set);
      },
      removeEventListener: (topic: string, listener: unknown) => {
        const set = this.byTopic.get(topic);
        if (!set) return;
        set.delete(listener as Listener);
        if (set.size === 0) this.byTopic.delete(topic);
      },
      dispatchEvent: () => {
        throw new Error('publish through PubSub.publish, which serializes once and reports failures');
      },
    };
    return target as unknown as Transport['target'];
  }
}

/**
 * A subscriber's stream of status changes: events of `topic` that `concerns`
 * the subscriber (matched on the event's ids, no database read), each then
 * read with `read` — only a match costs a read. An event whose status was
 * already superseded when its row is read is skipped: the next event shows
 * the newer status, so a client never sees a status twice or out of order.
 */
export function statusChanges<T extends 'transactionUpdated' | 'orderUpdated', Row extends { status: string }>(
  pubsub: PubSub,
  topic: T,
  concerns: (event: EventMap[T]) => boolean,
  read: (event: EventMap[T]) => Promise<Row | null>,
): AsyncIterable<Row> {
  return pipe(
    pubsub.subscribe(topic, concerns),
    map(async (event) => {
      const row = await read(event);
      return row?.status === event.status ? row : null;
    }),
    filter((row): row is Row => row !== null),
  );
}
