import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { AppServices } from '../../context.js';
import type { InventoryItem } from '../../generated/prisma/client.js';
import type { PubSub } from '../../infra/pubsub.js';
import { getItem } from './inventory.service.js';

/**
 * stockChanged, for every subscriber of this process: the current item first,
 * then its changes — at most one read (and one delivery) per item per
 * STOCK_FEED_INTERVAL_MS, however many purchases land and however many
 * clients watch.
 *
 * Why each delivery is a fresh read, not the value an event carried: events
 * from concurrent purchases (on any API process) are published in no
 * particular order, so the last event to arrive may carry an older stock.
 * Here an event only says "item X changed"; the watch of X then reads the row
 * — one read at a time per item — and an event that arrives while a read is
 * running schedules another one. So the last change is always followed by a
 * read that sees it, and the last value delivered is the item as it is.
 *
 * One read serves every subscriber of the item (the row is public, so all see
 * the same object); a subscriber that falls behind keeps only the newest value
 * (a sliding buffer of one), so a slow client costs no memory per event.
 */

export const STOCK_FEED_INTERVAL_MS = 100;

type Delivery = (seq: number, item: InventoryItem) => void;

interface Snapshot {
  /** Reads of one item are numbered in the order they ran: a higher number is a newer state. */
  seq: number;
  item: InventoryItem | null;
}

class ItemWatch {
  readonly subscribers = new Set<Delivery>();
  private seq = 0;
  private reading: Promise<Snapshot> | undefined;
  /** A change arrived since the running read started: read again after it. */
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private lastReadAt = 0;

  constructor(
    private readonly services: AppServices,
    readonly itemId: string,
  ) {}

  /** The item now: the read in progress if there is one (it started after this watch listened), else a new one. */
  current(): Promise<Snapshot> {
    return this.reading ?? this.read();
  }

  changed(): void {
    if (this.reading) {
      this.dirty = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.lastReadAt + STOCK_FEED_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A subscriber's first read may have started meanwhile: after it, then.
      if (this.reading) {
        this.dirty = true;
        return;
      }
      this.read().then(
        (snapshot) => {
          if (!snapshot.item) return;
          for (const deliver of this.subscribers) deliver(snapshot.seq, snapshot.item);
        },
        (error: unknown) => this.services.log.warn({ err: error, itemId: this.itemId }, 'stockChanged: reading the item failed'),
      );
    }, wait);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private read(): Promise<Snapshot> {
    const seq = ++this.seq;
    this.dirty = false;
    this.lastReadAt = Date.now();
    const reading = this.services.db.inventoryItem
      .findUnique({ where: { id: this.itemId } })
      .then((item) => ({ seq, item }))
      .finally(() => {
        if (this.reading === reading) this.reading = undefined;
        if (this.dirty && this.subscribers.size > 0) this.changed();
      });
    this.reading = reading;
    return reading;
  }
}

/** The watches of one process (one per pubsub: a process has one bus), listening to stockChanged from the first subscriber on. */
class StockFeed {
  private readonly watches = new Map<string, ItemWatch>();

  constructor(private readonly services: AppServices) {
    const events = services.pubsub.subscribe('stockChanged');
    void (async () => {
      for await (const event of events) this.watches.get(event.id)?.changed();
    })().catch((error: unknown) => services.log.error({ err: error }, 'stockChanged feed stopped'));
  }

  watch(itemId: string, deliver: Delivery): { watch: ItemWatch; unwatch: () => void } {
    let watch = this.watches.get(itemId);
    if (!watch) {
      watch = new ItemWatch(this.services, itemId);
      this.watches.set(itemId, watch);
    }
    watch.subscribers.add(deliver);
    const unwatch = () => {
      watch.subscribers.delete(deliver);
      if (watch.subscribers.size === 0 && this.watches.get(itemId) === watch) {
        watch.stop();
        this.watches.delete(itemId);
      }
    };
    return { watch, unwatch };
  }
}

const feeds = new WeakMap<PubSub, StockFeed>();

function feedOf(services: AppServices): StockFeed {
  let feed = feeds.get(services.pubsub);
  if (!feed) {
    feed = new StockFeed(services);
    feeds.set(services.pubsub, feed);
  }
  return feed;
}

/**
 * The stockChanged stream of one item: the item as it is now, then as it is
 * after each change (coalesced, see above). NOT_FOUND, at once, for an
 * unknown item.
 */
export async function stockUpdates(services: AppServices, itemId: string): Promise<AsyncIterable<InventoryItem>> {
  await getItem(services, itemId, { select: { id: true } });
  // Registered when the stream starts, so a stream never started holds nothing.
  return new Repeater<InventoryItem>(async (push, stop) => {
    let lastSeq = 0;
    const deliver: Delivery = (seq, item) => {
      if (seq <= lastSeq) return;
      lastSeq = seq;
      void push(item);
    };
    // Watching before reading: a change committed after the read is then an event this watch sees.
    const { watch, unwatch } = feedOf(services).watch(itemId, deliver);
    try {
      const first = await watch.current();
      if (first.item) deliver(first.seq, first.item);
      await stop;
    } finally {
      unwatch();
    }
  }, new SlidingBuffer(1));
}
