import type { Logger } from 'pino';
import { isOutage } from '../outage.js';
import type { EventBus, EventMap } from './bus.js';

/**
 * A live view of rows that many subscribers watch (an item's stock, a quiz's
 * standings): every subscriber gets the row as it is now, then as it is after
 * its changes — at most one read (and one delivery) per key per `intervalMs`,
 * however many changes and subscribers there are, and the same value object
 * for every subscriber (so a shared execution can key on it). Each delivery is
 * a fresh read, never an event's value, so the last value delivered is the row
 * as it is. A value that `isFinal` ends every stream of its key once it is taken.
 */
export interface CoalescingFeedOptions<V> {
  intervalMs: number;
  /** The row now; null when there is none (nothing is delivered). */
  read(key: string): Promise<V | null>;
  /** Whether a read found nothing new since the last delivery (not sent again). */
  same(value: V, before: V): boolean;
  isFinal?(value: V): boolean;
  log: Logger;
  /** A read that failed because the database is unreachable: the caller throttles these. */
  outage(error: Error, fields: { key: string }): void;
}

const READ_RETRY_MS = 1000;

type Delivery<V> = (seq: number, value: V) => void;

interface Snapshot<V> {
  /** Reads of one key are numbered in the order they ran: a higher number is a newer state. */
  seq: number;
  value: V | null;
}

class Watch<V> {
  readonly subscribers = new Set<Delivery<V>>();
  private seq = 0;
  private reading: Promise<Snapshot<V>> | undefined;
  /** A change arrived since the running read started: read again after it. */
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private lastReadAt = 0;
  /** What every subscriber was last sent: a read finding the same is not sent again. */
  private lastBroadcast: V | undefined;

  constructor(
    private readonly options: CoalescingFeedOptions<V>,
    readonly key: string,
  ) {}

  /** The row now: the read in progress if there is one (it started after this watch listened), else a new one. */
  current(): Promise<Snapshot<V>> {
    return this.reading ?? this.read();
  }

  changed(): void {
    if (this.reading) {
      this.dirty = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.lastReadAt + this.options.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A subscriber's first read may have started meanwhile: after it, then.
      if (this.reading) {
        this.dirty = true;
        return;
      }
      this.read().then(
        (snapshot) => {
          const { value } = snapshot;
          if (value === null || (this.lastBroadcast !== undefined && this.options.same(value, this.lastBroadcast))) return;
          this.lastBroadcast = value;
          for (const deliver of this.subscribers) deliver(snapshot.seq, value);
        },
        (error: unknown) => {
          if (isOutage(error)) this.options.outage(error as Error, { key: this.key });
          else this.options.log.warn({ err: error, key: this.key }, 'reading a watched row failed; retrying');
          // The change is still to be delivered: try again (changed() waits out the interval).
          setTimeout(() => {
            if (this.subscribers.size > 0) this.changed();
          }, READ_RETRY_MS).unref();
        },
      );
    }, wait);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private read(): Promise<Snapshot<V>> {
    const seq = ++this.seq;
    this.dirty = false;
    this.lastReadAt = Date.now();
    const reading = this.options
      .read(this.key)
      .then((value) => ({ seq, value }))
      .finally(() => {
        if (this.reading === reading) this.reading = undefined;
        if (this.dirty && this.subscribers.size > 0) this.changed();
      });
    this.reading = reading;
    return reading;
  }
}

export class CoalescingFeed<V> {
  private readonly watches = new Map<string, Watch<V>>();

  constructor(private readonly options: CoalescingFeedOptions<V>) {}

  /** The row of `key` changed (an event from any process): its watchers get it within the interval. */
  changed(key: string): void {
    this.watches.get(key)?.changed();
  }

  /** Changes may have been missed (the bus was away): every watched row is read again. */
  changedAll(): void {
    for (const watch of this.watches.values()) watch.changed();
  }

  /** One subscriber's stream of `key` (see FeedStream). */
  stream(key: string): AsyncIterableIterator<V> {
    return new FeedStream(this, key, this.options.isFinal);
  }

  /** How many keys are watched (for tests and metrics). */
  get size(): number {
    return this.watches.size;
  }

  watch(key: string, deliver: Delivery<V>): { watch: Watch<V>; unwatch: () => void } {
    let watch = this.watches.get(key);
    if (!watch) {
      watch = new Watch(this.options, key);
      this.watches.set(key, watch);
    }
    watch.subscribers.add(deliver);
    const unwatch = () => {
      watch.subscribers.delete(deliver);
      if (watch.subscribers.size === 0 && this.watches.get(key) === watch) {
        watch.stop();
        this.watches.delete(key);
      }
    };
    return { watch, unwatch };
  }
}

/**
 * One subscriber's stream: the newest value not yet taken and nothing older —
 * a reader that falls behind skips to the latest, so it costs no memory per
 * event. Leaner than a Repeater with a sliding buffer: with ten thousand
 * watchers of one row, every promise per delivery showed in the profile.
 * It starts watching at the first next(), so a stream never read holds
 * nothing. After a final value is taken, it is done.
 */
class FeedStream<V> implements AsyncIterableIterator<V> {
  private latest: V | undefined;
  private waiting: ((result: IteratorResult<V>) => void) | undefined;
  private lastSeq = 0;
  private unwatch: (() => void) | undefined;
  private ended = false;
  private finalTaken = false;

  constructor(
    private readonly feed: CoalescingFeed<V>,
    private readonly key: string,
    private readonly isFinal: ((value: V) => boolean) | undefined,
  ) {}

  private readonly deliver: Delivery<V> = (seq, value) => {
    if (seq <= this.lastSeq || this.ended) return;
    this.lastSeq = seq;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      this.take(value, waiting);
    } else {
      this.latest = value;
    }
  };

  private take(value: V, resolve: (result: IteratorResult<V>) => void): void {
    if (this.isFinal?.(value)) {
      this.finalTaken = true;
      this.unwatch?.();
    }
    resolve({ value, done: false });
  }

  async next(): Promise<IteratorResult<V>> {
    if (this.ended || this.finalTaken) return this.return();
    if (!this.unwatch) {
      // Watching before reading: a change committed after the read is then an event this watch sees.
      const { watch, unwatch } = this.feed.watch(this.key, this.deliver);
      this.unwatch = unwatch;
      try {
        const first = await watch.current();
        if (first.value !== null) this.deliver(first.seq, first.value);
      } catch (error) {
        await this.return();
        throw error;
      }
    }
    const latest = this.latest;
    if (latest !== undefined) {
      this.latest = undefined;
      return new Promise((resolve) => this.take(latest, resolve));
    }
    if (this.ended) return { value: undefined, done: true };
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  async return(): Promise<IteratorResult<V>> {
    this.ended = true;
    this.latest = undefined;
    this.unwatch?.();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ value: undefined, done: true });
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

/**
 * Feeds `feed` from the bus: each `topic` event marks its row changed, and
 * when this process listens again after losing its bus connection every
 * watched row is read again (events published meanwhile never arrived).
 */
export function listenForChanges<M extends EventMap, T extends keyof M & string, V>(
  pubsub: EventBus<M>,
  topic: T,
  keyOf: (event: M[T]) => string,
  feed: CoalescingFeed<V>,
  log: Logger,
): void {
  const events = pubsub.subscribe(topic);
  void (async () => {
    for await (const event of events) feed.changed(keyOf(event));
  })().catch((error: unknown) => log.error({ err: error, topic }, 'a live feed stopped listening'));
  pubsub.onResumed(() => feed.changedAll());
}
