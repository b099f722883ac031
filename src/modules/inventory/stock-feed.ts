import type { AppServices } from '../../core/context.js';
import { notFound } from '../../core/errors.js';
import type { InventoryItem } from '../../generated/prisma/client.js';
import type { AppEventBus, AppEvents } from '../../core/events.js';
import { throttledErrorLog } from '../../infra/async.js';
import { coalescedAnnouncer } from '../../infra/events/announcer.js';
import { CoalescingFeed, listenForChanges } from '../../infra/events/coalescing-feed.js';

/**
 * stockChanged, for every subscriber of this process: the current item first,
 * then its changes — at most one read (and one delivery) per item per
 * STOCK_FEED_INTERVAL_MS (infra/events/coalescing-feed.ts). Each delivery is a
 * fresh read, never an event's value, so the last value delivered is the item
 * as it is (docs/design-notes.md, "The stock feed").
 */

export const STOCK_FEED_INTERVAL_MS = 100;

const announceStock = coalescedAnnouncer<AppEvents, 'stockChanged'>('stockChanged', (id) => ({ id }));

/**
 * After a commit that moved an item's stock: stockChanged reaches every process
 * soon, coalesced (infra/events/announcer.ts): in a flash sale the bus carries a
 * few events per item instead of one per purchase, and no purchase waits for it.
 */
export function announceStockChanged(services: AppServices, itemId: string): void {
  announceStock(services.pubsub, itemId);
}

const feeds = new WeakMap<AppEventBus, CoalescingFeed<InventoryItem>>();

/** The feed of one process (one per pubsub: a process has one bus), listening to stockChanged from the first subscriber on. */
function feedOf(services: AppServices): CoalescingFeed<InventoryItem> {
  let feed = feeds.get(services.pubsub);
  if (!feed) {
    // Only the process-wide parts: the feed outlives the request that created it.
    const log = services.log.child({ component: 'stock-feed' });
    const outage = throttledErrorLog(log, 'stock-feed', 'stockChanged: the database is unreachable; retrying the reads', {
      stack: false,
      perKind: false,
    });
    const { db, pubsub } = services;
    const created = new CoalescingFeed<InventoryItem>({
      intervalMs: STOCK_FEED_INTERVAL_MS,
      read: (itemId) => db.inventoryItem.findUnique({ where: { id: itemId } }),
      same: (item, before) => item.stock === before.stock && item.updatedAt.getTime() === before.updatedAt.getTime(),
      log,
      outage: (error, { key }) => outage(error, { itemId: key }),
    });
    listenForChanges(pubsub, 'stockChanged', (event) => event.id, created, log);
    feeds.set(pubsub, (feed = created));
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
  return feedOf(services).stream(itemId);
}
