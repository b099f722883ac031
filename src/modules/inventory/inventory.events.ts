/** An order's status changed (or it was created RESERVED). */
export interface OrderUpdatedEvent {
  id: string;
  buyerId: string;
  status: 'RESERVED' | 'PAID' | 'FULFILLED' | 'CANCELLED';
}

/**
 * An item's stock changed. Only its id: events of concurrent purchases arrive
 * in no particular order, so a value carried here could be stale; the
 * subscriber side reads the row (stock-feed.ts).
 */
interface StockChangedEvent {
  id: string;
}

declare module '../../core/events.js' {
  interface AppEvents {
    orderUpdated: OrderUpdatedEvent;
    stockChanged: StockChangedEvent;
  }
}

export const INVENTORY_TOPICS = ['orderUpdated', 'stockChanged'] as const;
