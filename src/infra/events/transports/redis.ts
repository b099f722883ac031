import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { throttledErrorLog } from '../../async.js';
import { quitRedis, redisRetryStrategy } from '../../redis.js';
import { ListenerSet } from './listeners.js';
import { CONNECT_TIMEOUT_MS, type Transport, type TransportOptions } from './transport.js';

type Listener = (event: CustomEvent) => void;

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
export function redisTransport(url: string, prefix: string, busLog: Logger, { topics, listen }: TransportOptions): Transport {
  const log = busLog.child({ backend: 'redis' });
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
  const keepers = new Map<string, Listener>();
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
    for (const topic of topics) {
      const keeper: Listener = (event) => listeners.dispatch(topic, event.detail);
      keepers.set(topic, keeper);
    }
  }

  return {
    kind: 'redis',
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
      await Promise.all([quitRedis(publisher), subscriber ? quitRedis(subscriber) : undefined]);
    },
  };
}
