import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { TestApp } from './app.js';

/**
 * Real clients of the live transports, for tests against a listening server:
 * graphql-ws's own client on the `ws` package, and GraphQL over SSE read from
 * a fetch response stream.
 */

export interface LiveResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown>; locations?: unknown; path?: unknown }>;
}

/** What one subscription received, as it arrives. */
export interface Subscription<T = Record<string, unknown>> {
  /** Every `next` payload so far. */
  results: Array<LiveResult<T>>;
  /** Settles when the stream ends: `complete`, or the error (GraphQL errors or a close event) that ended it. */
  ended: Promise<{ completed: true } | { error: unknown }>;
  /** Waits until `count` results arrived; throws after timeoutMs with what did arrive. */
  waitForResults(count: number, timeoutMs?: number): Promise<Array<LiveResult<T>>>;
  /** Stops it (client side). */
  stop(): void;
}

type Document<T, V> = TypedDocumentNode<T, V> | DocumentNode | string;
const text = (document: Document<unknown, unknown>) => (typeof document === 'string' ? document : print(document));

function collector<T>(stop: () => void): {
  subscription: Subscription<T>;
  next: (value: LiveResult<T>) => void;
  end: (outcome: { completed: true } | { error: unknown }) => void;
} {
  const results: Array<LiveResult<T>> = [];
  const waiters = new Set<() => void>();
  let end!: (outcome: { completed: true } | { error: unknown }) => void;
  const ended = new Promise<{ completed: true } | { error: unknown }>((resolve) => {
    end = (outcome) => {
      resolve(outcome);
      for (const waiter of waiters) waiter();
    };
  });
  let finished = false;
  void ended.then(() => {
    finished = true;
  });
  return {
    subscription: {
      results,
      ended,
      stop,
      async waitForResults(count, timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        while (results.length < count) {
          if (finished) throw new Error(`stream ended after ${results.length} of ${count} results: ${JSON.stringify(results)}`);
          if (Date.now() > deadline) {
            throw new Error(`only ${results.length} of ${count} results in ${timeoutMs} ms: ${JSON.stringify(results)}`);
          }
          await new Promise<void>((resolve) => {
            const wake = () => {
              waiters.delete(wake);
              clearTimeout(timer);
              resolve();
            };
            const timer = setTimeout(wake, 50);
            waiters.add(wake);
          });
        }
        return results.slice(0, count);
      },
    },
    next: (value) => {
      results.push(value);
      for (const waiter of waiters) waiter();
    },
    end: (outcome) => end(outcome),
  };
}

export interface WsClient {
  client: Client;
  /** Resolves when the server acknowledged the connection. */
  connected: Promise<void>;
  /** Resolves with the close event when the socket closes (code, reason). */
  closed: Promise<{ code: number; reason: string }>;
  subscribe<T, V>(document: Document<T, V>, variables?: V): Subscription<T>;
  dispose(): Promise<void>;
}

/**
 * A graphql-ws client on ws://…/graphql that connects at once and never
 * retries (a test sees every close). `authorization` goes into connectionParams.
 */
export function wsClient(baseUrl: string, authorization?: string): WsClient {
  let onConnected!: () => void;
  const connected = new Promise<void>((resolve) => {
    onConnected = resolve;
  });
  let onClosed!: (event: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    onClosed = resolve;
  });
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: authorization === undefined ? {} : { authorization },
    lazy: false,
    retryAttempts: 0,
    // Errors surface through `closed` and the subscriptions' `ended`.
    onNonLazyError: () => {},
    on: {
      connected: () => onConnected(),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        onClosed({ code, reason: String(reason) });
      },
    },
  });
  return {
    client,
    connected,
    closed,
    subscribe<T, V>(document: Document<T, V>, variables?: V) {
      let unsubscribe = () => {};
      const { subscription, next, end } = collector<T>(() => unsubscribe());
      unsubscribe = client.subscribe<T>(
        { query: text(document), variables: (variables ?? {}) as Record<string, unknown> },
        {
          next: (value) => next(value as LiveResult<T>),
          error: (error) => end({ error }),
          complete: () => end({ completed: true }),
        },
      );
      return subscription;
    },
    dispose: async () => {
      await client.dispose();
    },
  };
}

/**
 * A subscription over GraphQL-over-SSE (Yoga's "distinct connections" mode):
 * POST /graphql with Accept: text/event-stream, the events read from the
 * response body as they come.
 */
export async function sseSubscribe<T, V>(
  baseUrl: string,
  document: Document<T, V>,
  variables?: V,
  authorization?: string,
): Promise<Subscription<T> & { status: number; contentType: string | null }> {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: JSON.stringify({ query: text(document), variables: variables ?? {} }),
    signal: abort.signal,
  });
  const { subscription, next, end } = collector<T>(() => abort.abort());
  void (async () => {
    try {
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1];
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.replace(/^data: ?/, ''))
            .join('\n');
          if (event === 'next' || (event === undefined && data)) next(JSON.parse(data) as LiveResult<T>);
          if (event === 'complete') {
            end({ completed: true });
            return;
          }
        }
      }
      end({ error: new Error('stream closed without a complete event') });
    } catch (error) {
      end({ error });
    }
  })();
  return Object.assign(subscription, { status: response.status, contentType: response.headers.get('content-type') });
}

/** The value of one sample of a server's /metrics, 0 when absent. */
export async function metric(baseUrl: string, series: string): Promise<number> {
  const body = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = body.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Polls `probe` until it returns true, or fails after timeoutMs naming `what`. */
export async function eventually(probe: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until the server runs exactly `count` subscriptions over `transport` (they listen from then on). */
export const subscriptionsRunning = (baseUrl: string, transport: 'ws' | 'sse', count: number) =>
  eventually(
    async () => (await metric(baseUrl, `switchyard_subscriptions{transport="${transport}"}`)) === count,
    `${count} ${transport} subscriptions on the server`,
  );

/**
 * Kills the test app's listening connection of the event bus — its LISTEN
 * backend on PostgreSQL, its subscriber client on Redis (found by name) — as a
 * network failure would; the bus reconnects by itself.
 */
export async function killListeningConnection(t: TestApp, redisUrl: string): Promise<void> {
  if (t.app.services.pubsub.backend === 'postgres') {
    const [killed] = await t.app.db.$queryRawUnsafe<Array<{ count: bigint }>>(
      `SELECT count(pg_terminate_backend(pid)) AS count FROM pg_stat_activity
       WHERE datname = current_database() AND query = 'LISTEN switchyard_events'`,
    );
    if (killed!.count !== 1n) throw new Error(`expected one LISTEN connection, killed ${killed!.count}`);
    return;
  }
  const admin = new Redis(redisUrl);
  try {
    // This app's subscriber connection, by its name (the channel prefix + "subscriber").
    const name = `${t.namespace}:events:subscriber`;
    const line = String(await admin.client('LIST'))
      .split('\n')
      .find((candidate) => candidate.includes(` name=${name} `));
    if (!line) throw new Error(`no Redis client named ${name}`);
    if ((await admin.client('KILL', 'ID', /^id=(\d+)/.exec(line)![1]!)) !== 1) throw new Error('CLIENT KILL killed nothing');
  } finally {
    await admin.quit();
  }
}
