import type { PubSubEventTarget } from 'graphql-yoga';

/** What each backend provides: an event target for this process's subscribers, and a way to send a serialized event. */
export interface Transport {
  readonly kind: 'redis' | 'postgres';
  target: PubSubEventTarget<Record<string, [unknown]>>;
  send(topic: string, message: string): Promise<void>;
  /** One round trip on the sending connection; rejects when it fails. */
  ping(): Promise<void>;
  /** Whether the listening connection is up (true when this process does not listen). */
  listening(): boolean;
  /** Called each time the listening connection is back after it was lost. */
  onResumed(callback: () => void): void;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface TransportOptions {
  /** Every topic this process may subscribe to: listened to from start() on. */
  topics: readonly string[];
  /** False for processes that only publish (workers): no listening connection. */
  listen: boolean;
}

export const CONNECT_TIMEOUT_MS = 3000;
