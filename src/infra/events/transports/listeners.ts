import type { Logger } from 'pino';
import { throttledErrorLog } from '../../async.js';
import type { Transport } from './transport.js';

type Listener = (event: CustomEvent) => void;

/**
 * This process's subscribers by topic: what subscribe() adds and removes. A
 * received message is dispatched as one event to all of them; one that throws
 * (a subscriber 1,024 events behind overflows its buffer) is logged and does
 * not keep the event from the others.
 */
export class ListenerSet {
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
        throw new Error('publish through EventBus.publish, which serializes once and reports failures');
      },
    };
    return target as unknown as Transport['target'];
  }
}
