import type { EventBus, EventMap } from './bus.js';

/**
 * "Row `key` changed" announcements that coalesce: at most one publish in
 * flight per key and bus. A change while one is in flight is sent once more
 * after it (that publish may have been read before this change committed);
 * any number of changes meanwhile share that one. Under a burst (a flash sale,
 * a quiz's answers) the bus carries a few events per row instead of one per
 * write, and no write waits for it. Subscribers re-read the row, so an event
 * says only which row.
 */
export function coalescedAnnouncer<M extends EventMap, T extends keyof M & string>(
  topic: T,
  payloadOf: (key: string) => M[T],
): (pubsub: EventBus<M>, key: string) => void {
  const states = new WeakMap<EventBus<M>, { inFlight: Set<string>; again: Set<string> }>();
  const announce = (pubsub: EventBus<M>, key: string): void => {
    let state = states.get(pubsub);
    if (!state) states.set(pubsub, (state = { inFlight: new Set(), again: new Set() }));
    const { inFlight, again } = state;
    if (inFlight.has(key)) {
      again.add(key);
      return;
    }
    inFlight.add(key);
    // publish() never rejects.
    void pubsub.publish(topic, payloadOf(key)).then(() => {
      inFlight.delete(key);
      if (again.delete(key)) announce(pubsub, key);
    });
  };
  return announce;
}
