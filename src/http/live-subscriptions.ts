import type { DocumentNode, ExecutionResult, GraphQLSchema } from 'graphql';
import { isAsyncIterable, type Plugin, Repeater } from 'graphql-yoga';
import type { AppServices, Context } from '../core/context.js';
import { unauthenticated } from '../core/errors.js';
import { authenticate } from '../modules/auth/auth.service.js';
import { graphqlRuntime } from '../infra/graphql-runtime.js';
import type { Metrics } from '../infra/metrics.js';
import type { SharedConcurrencyLimit } from '../infra/rate-limit-store.js';
import { tooManyAtOnce } from './live-limits.js';

/**
 * Every subscription this process runs, whatever the transport: counted on
 * /metrics (switchyard_subscriptions{transport}), ended when the app stops,
 * and — over HTTP (SSE, multipart) — ended when the viewer's access token
 * expires, with a last result carrying an UNAUTHENTICATED error. On a
 * WebSocket the connection itself is closed at expiry (see websocket.ts), so
 * that the client reconnects with a fresh token and resubscribes.
 */
export interface LiveSubscriptions {
  /** The envelop plugin that wraps every subscription's event stream. */
  plugin: Plugin;
  /** Ends every running subscription, and any started from now on (shutdown). */
  endAll(): void;
  /** How many run now. */
  readonly count: number;
}

const EXPIRED_MESSAGE = 'Access token expired.';

/**
 * The caps on subscriptions at once (RATE_LIMITS=on): per signed-in user over
 * WebSocket and SSE together, and anonymous SSE streams per client IP, which
 * share their count with anonymous WebSocket connections (websocket.ts).
 */
export interface SubscriptionCaps {
  perUser: SharedConcurrencyLimit;
  anonymousPerIp: SharedConcurrencyLimit;
}

export function liveSubscriptions(metrics: Metrics, caps?: SubscriptionCaps): LiveSubscriptions {
  const running = new Set<(reason: Halt) => void>();
  let ending = false;

  /** The cap a subscription of `context` counts against, with its key; none for anonymous WebSocket ones (their connection counts). */
  const capOf = (context: Context): [SharedConcurrencyLimit, string, string] | null => {
    if (!caps) return null;
    if (context.viewer) return [caps.perUser, context.viewer.id, 'subscriptions'];
    if (context.transport === 'ws') return null;
    return [caps.anonymousPerIp, context.clientIp, 'anonymous connections from this address'];
  };

  const track = (source: AsyncIterable<ExecutionResult>, context: Context, release: () => void) =>
    new Repeater<ExecutionResult>(async (push, stop) => {
      const iterator = source[Symbol.asyncIterator]();
      let halt!: (reason: Halt) => void;
      const halted = new Promise<Halt>((resolve) => {
        halt = resolve;
      });
      const stopped = stop.then((): Halt => 'stopped');
      const { transport, authExpiresAt } = context;
      const expiry =
        authExpiresAt !== null && transport !== 'ws'
          ? setTimeout(() => halt('expired'), Math.max(0, authExpiresAt - Date.now()))
          : undefined;
      // Pulling starts the source: a pubsub-backed stream listens from here on, so the
      // gauge below counts only subscriptions that will see the next event.
      let pending = iterator.next();
      // Left pending when halted; its failure must not surface as unhandled.
      pending.catch(() => {});
      running.add(halt);
      metrics.subscriptions.inc({ transport });
      if (ending) halt('shutdown');
      try {
        for (;;) {
          const next = await Promise.race([pending, halted, stopped]);
          if (typeof next === 'string') {
            if (next === 'expired') await push({ errors: [unauthenticated(EXPIRED_MESSAGE)] });
            break;
          }
          if (next.done) break;
          await push(next.value);
          pending = iterator.next();
          pending.catch(() => {});
        }
      } finally {
        clearTimeout(expiry);
        release();
        running.delete(halt);
        metrics.subscriptions.dec({ transport });
        // A repeater ends when stopped, not when its executor returns.
        stop();
        await iterator.return?.();
      }
    });

  return {
    plugin: {
      onSubscribe: async ({ args, setResultAndStopExecution }) => {
        const context = args.contextValue as unknown as Context;
        const cap = capOf(context);
        const place = cap ? await cap[0].tryTake(cap[1]) : null;
        if (cap && !place) {
          metrics.errors.inc({ code: 'RATE_LIMITED' });
          setResultAndStopExecution({ errors: [tooManyAtOnce(cap[2], cap[0].max)] });
          return;
        }
        const release = () => place?.();
        return {
          onSubscribeResult: ({ result, setResult }) => {
            if (isAsyncIterable(result)) setResult(track(result, context, release));
            // It never started (an error at subscribe time): its place is free again.
            else release();
          },
          onSubscribeError: release,
        };
      },
    },
    endAll() {
      ending = true;
      for (const halt of running) halt('shutdown');
    },
    get count() {
      return running.size;
    },
  };
}

type Halt = 'expired' | 'shutdown' | 'stopped';

/**
 * The viewer of an Authorization header (see authenticate), and when its
 * token expires: what a request's context needs to end its subscriptions in time.
 */
export async function authenticateSession(services: AppServices, authorization: string | null | undefined) {
  const auth = await authenticate(services, authorization);
  return { ...auth, authExpiresAt: auth.viewer?.tokenExpiresAt ?? null };
}

/**
 * Subscriptions whose events read the same for every subscriber — public
 * rows, like stockChanged's item — are executed once per event, document and
 * variables, not once per subscriber: ten thousand watchers of one item cost
 * one execution per change and all get the same result object. It applies to
 * operations whose every root selection is one of `fields`, and only works
 * when the source hands every subscriber the same event object (stock-feed.ts
 * does). A shared result is computed with the first subscriber's context,
 * so a document that selects a field depending on the viewer (one with an
 * auth scope, like Quiz.myEntry) is executed per subscriber as any other.
 */
export function useSharedEventResults(fields: readonly string[]): Plugin {
  const shareable = new Set(fields);
  // event → document → variables and operation name → result
  const results = new WeakMap<object, WeakMap<DocumentNode, Map<string, PromiseOrValue<ExecutionResult>>>>();
  return {
    onSubscribe: ({ args, setSubscribeFn }) => {
      if (!onlySharedFields(args.document, args.operationName, shareable)) return;
      if (selectsScopedField(args.schema, args.document)) return;
      const key = `${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}`;
      setSubscribeFn(async (subscribeArgs) => {
        const stream = await graphqlRuntime.createSourceEventStream(subscribeArgs);
        if (!isAsyncIterable(stream)) return stream;
        return mapEvents(stream, (event) => {
          const run = () => graphqlRuntime.execute({ ...subscribeArgs, rootValue: event });
          if (typeof event !== 'object' || event === null) return run();
          let byDocument = results.get(event);
          if (!byDocument) results.set(event, (byDocument = new WeakMap()));
          let byKey = byDocument.get(subscribeArgs.document);
          if (!byKey) byDocument.set(subscribeArgs.document, (byKey = new Map()));
          let result = byKey.get(key);
          if (result === undefined) byKey.set(key, (result = run()));
          return result;
        });
      });
    },
  };
}

type PromiseOrValue<T> = T | Promise<T>;

const scopedSelections = new WeakMap<DocumentNode, boolean>();

/**
 * Whether the document selects, beneath its root fields, a field that an auth
 * scope guards. The rule that makes this enough: a field whose value depends
 * on the viewer carries an auth scope (Quiz.myEntry, Team.joinRequests, User.email).
 */
export function selectsScopedField(schema: GraphQLSchema, document: DocumentNode): boolean {
  let found = scopedSelections.get(document);
  if (found !== undefined) return found;
  found = false;
  const typeInfo = new graphqlRuntime.TypeInfo(schema);
  graphqlRuntime.visit(
    document,
    graphqlRuntime.visitWithTypeInfo(typeInfo, {
      Field() {
        // The root field's scope says who may subscribe: checked for each subscriber when it subscribes.
        if (typeInfo.getParentType() === schema.getSubscriptionType()) return;
        const options = typeInfo.getFieldDef()?.extensions?.pothosOptions as
          | { authScopes?: unknown; grantScopes?: unknown }
          | undefined;
        if (options?.authScopes || options?.grantScopes) found = true;
      },
    }),
  );
  scopedSelections.set(document, found);
  return found;
}

function onlySharedFields(document: DocumentNode, operationName: string | null | undefined, shareable: Set<string>): boolean {
  const operation = graphqlRuntime.getOperationAST(document, operationName);
  if (operation?.operation !== 'subscription') return false;
  return operation.selectionSet.selections.every(
    (selection) => selection.kind === 'Field' && (shareable.has(selection.name.value) || selection.name.value === '__typename'),
  );
}

/** The events of `stream` through `map`; a plain iterator rather than an async generator, which costs more per event. */
function mapEvents<T>(stream: AsyncIterable<unknown>, map: (event: unknown) => PromiseOrValue<T>): AsyncIterableIterator<T> {
  const source = stream[Symbol.asyncIterator]();
  const mapped: AsyncIterableIterator<T> = {
    next: async () => {
      const event = await source.next();
      return event.done ? { value: undefined, done: true } : { value: await map(event.value), done: false };
    },
    return: async () => {
      await source.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => mapped,
  };
  return mapped;
}
