import type { AppServices } from '../../core/context.js';
import { notFound } from '../../core/errors.js';
import type { InventoryItem } from '../../generated/prisma/client.js';
import type { AppEventBus } from '../../core/events.js';
import { throttledErrorLog } from '../../infra/async.js';
import { isOutage } from '../../infra/outage.js';

/**
 * stockChanged, for every subscriber of this process: the current item first,
 * then its changes — at most one read (and one delivery) per item per
 * STOCK_FEED_INTERVAL_MS. Each delivery is a fresh read, never an event's
 * value, so the last value delivered is the item as it is
 * (docs/design-notes.md, "The stock feed").
 */

export const STOCK_FEED_INTERVAL_MS = 100;
const READ_RETRY_MS = 1000;

type FeedServices = Pick<AppServices, 'db' | 'log' | 'pubsub'> & {
  /** A read that failed because the database is unreachable: one line per interval for the feed, not per item and retry. */
  outage: (error: Error, fields?: object) => void;
};

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
  /** What every subscriber was last sent: a read finding the row unchanged since is not sent again. */
  private lastBroadcast: InventoryItem | undefined;

  constructor(
    private readonly services: FeedServices,
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
          if (!snapshot.item || sameState(snapshot.item, this.lastBroadcast)) return;
          this.lastBroadcast = snapshot.item;
          for (const deliver of this.subscribers) deliver(snapshot.seq, snapshot.item);
        },
        (error: unknown) => {
          if (isOutage(error)) this.services.outage(error as Error, { itemId: this.itemId });
          else this.services.log.warn({ err: error, itemId: this.itemId }, 'stockChanged: reading the item failed; retrying');
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

const sameState = (item: InventoryItem, before: InventoryItem | undefined) =>
  before !== undefined && item.stock === before.stock && item.updatedAt.getTime() === before.updatedAt.getTime();

/** The watches of one process (one per pubsub: a process has one bus), listening to stockChanged from the first subscriber on. */
class StockFeed {
  private readonly watches = new Map<string, ItemWatch>();

  constructor(private readonly services: FeedServices) {
    const events = services.pubsub.subscribe('stockChanged');
    void (async () => {
      for await (const event of events) this.watches.get(event.id)?.changed();
    })().catch((error: unknown) => services.log.error({ err: error }, 'stockChanged feed stopped'));
    // Changes published while this process was not listening never arrived: read every watched item again.
    services.pubsub.onResumed(() => {
      for (const watch of this.watches.values()) watch.changed();
    });
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

/**
 * The publishing side: tells every process that an item's stock changed, at
 * most one publish in flight per item. A change while one is in flight is
 * sent once more after it (that publish may have been read before this
 * change committed); any number of changes meanwhile share that one. In a
 * flash sale this keeps the bus at a few events per item instead of one per
 * purchase, and no purchase waits for it.
 */
class StockAnnouncer {
  private readonly inFlight = new Set<string>();
  private readonly again = new Set<string>();

  constructor(private readonly pubsub: AppEventBus) {}

  changed(itemId: string): void {
    if (this.inFlight.has(itemId)) {
      this.again.add(itemId);
      return;
    }
    this.inFlight.add(itemId);
    // publish() never rejects.
    void this.pubsub.publish('stockChanged', { id: itemId }).then(() => {
      this.inFlight.delete(itemId);
      if (this.again.delete(itemId)) this.changed(itemId);
    });
  }
}

const announcers = new WeakMap<AppEventBus, StockAnnouncer>();

/** After a commit that moved an item's stock: stockChanged reaches every process soon (see StockAnnouncer). */
export function announceStockChanged(services: AppServices, itemId: string): void {
  let announcer = announcers.get(services.pubsub);
  if (!announcer) announcers.set(services.pubsub, (announcer = new StockAnnouncer(services.pubsub)));
  announcer.changed(itemId);
}

const feeds = new WeakMap<AppEventBus, StockFeed>();

function feedOf(services: AppServices): StockFeed {
  let feed = feeds.get(services.pubsub);
  if (!feed) {
    // Only the process-wide parts: the feed outlives the request that created it.
    const log = services.log.child({ component: 'stock-feed' });
    const outage = throttledErrorLog(log, 'stock-feed', 'stockChanged: the database is unreachable; retrying the reads', {
      stack: false,
      perKind: false,
    });
    feed = new StockFeed({ db: services.db, log, pubsub: services.pubsub, outage });
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
  const item = await services.db.inventoryItem.findUnique({ where: { id: itemId }, select: { id: true } });
  if (!item) throw notFound('Item');
  return new ItemStream(feedOf(services), itemId);
}

/**
 * One subscriber's stream: the newest value not yet taken and nothing older —
 * a reader that falls behind skips to the latest, so it costs no memory per
 * event. Leaner than a Repeater with a sliding buffer: with ten thousand
 * watchers of one item, every promise per delivery showed in the profile.
 * It starts watching at the first next(), so a stream never read holds nothing.
 */
class ItemStream implements AsyncIterableIterator<InventoryItem> {
  private latest: InventoryItem | undefined;
  private waiting: ((result: IteratorResult<InventoryItem>) => void) | undefined;
  private lastSeq = 0;
  private unwatch: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly feed: StockFeed,
    private readonly itemId: string,
  ) {}

  private readonly deliver: Delivery = (seq, item) => {
    if (seq <= this.lastSeq || this.ended) return;
    this.lastSeq = seq;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting({ value: item, done: false });
    } else {
      this.latest = item;
    }
  };

  async next(): Promise<IteratorResult<InventoryItem>> {
    if (this.ended) return { value: undefined, done: true };
    if (!this.unwatch) {
      // Watching before reading: a change committed after the read is then an event this watch sees.
      const { watch, unwatch } = this.feed.watch(this.itemId, this.deliver);
      this.unwatch = unwatch;
      try {
        const first = await watch.current();
        if (first.item) this.deliver(first.seq, first.item);
      } catch (error) {
        await this.return();
        throw error;
      }
    }
    const latest = this.latest;
    if (latest) {
      this.latest = undefined;
      return { value: latest, done: false };
    }
    if (this.ended) return { value: undefined, done: true };
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  async return(): Promise<IteratorResult<InventoryItem>> {
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
