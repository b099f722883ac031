import { randomUUID } from 'node:crypto';
import { clientIpOf, type TrustProxy } from './client-ip.js';
import type { SharedConcurrencyLimit } from '../infra/rate-limit-store.js';
import { tooManyAtOnce } from './live-limits.js';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import type { Context as WsContext } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AppServices, Viewer } from '../core/context.js';
import { AppError, isGraphQLError } from '../core/errors.js';
import { viewerFromAuthorization } from '../modules/auth/auth.service.js';
import { graphqlRuntime } from '../infra/graphql-runtime.js';
import type { Metrics } from '../infra/metrics.js';
import { sharedFrames } from './ws-frames.js';

/**
 * GraphQL over WebSocket (graphql-ws, `graphql-transport-ws`) on the HTTP
 * server's own port and path, every operation through Yoga's envelop like an
 * HTTP request; a socket never outlives its token. The client-facing rules
 * (docs/contract.md, "8. Subscriptions"); the rest (docs/design-notes.md,
 * "The WebSocket server").
 */

const CLOSE_CODES = {
  /** Bad or expired token, at connect or when it expires (graphql-ws's Forbidden). */
  forbidden: 4403,
  /** Too many connections for this user on this process (graphql-ws clients do not retry it). */
  tooManyConnections: 4429,
  /** The server is shutting down. */
  goingAway: 1001,
} as const;

/** Per-connection state: what the context of each of its operations is built from. */
export interface WsConnection {
  id: string;
  viewer: Viewer | null;
  /** When the connection's token expires (ms since the epoch); null when anonymous. */
  authExpiresAt: number | null;
  clientIp: string;
  log: Logger;
}

export interface GraphQLWebSocket {
  /** Open sockets now. */
  readonly connections: number;
  /** Refuses new sockets, closes the open ones with 1001, terminating after `timeoutMs` those still open. */
  close(timeoutMs: number): Promise<void>;
}

type Extra = {
  socket: WebSocket;
  request: IncomingMessage;
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the server context is app.ts's
type AnyYoga = YogaServerInstance<any, any>;
type Enveloped = ReturnType<AnyYoga['getEnveloped']>;

export function attachGraphQLWebSocket(options: {
  server: Server;
  path: string;
  yoga: AnyYoga;
  services: AppServices;
  metrics: Metrics;
  trustProxy: TrustProxy;
  /** Anonymous connections per client IP, counted with anonymous SSE streams (RATE_LIMITS=on). */
  anonymousPerIp?: SharedConcurrencyLimit;
}): GraphQLWebSocket {
  const { services, metrics, yoga } = options;
  const { config } = services;
  const log = services.log.child({ component: 'websocket' });
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.bodyLimitBytes });
  const connections = new WeakMap<WebSocket, WsConnection>();
  const perUser = new Map<string, number>();
  const expiryTimers = new WeakMap<WebSocket, NodeJS.Timeout>();
  // The place an anonymous connection holds among its address's (given back when it closes).
  const anonymousPlaces = new WeakMap<WebSocket, () => void>();
  // The envelop each operation was prepared with, for execute/subscribe to run it.
  const envelopes = new WeakMap<object, Enveloped>();
  let closing = false;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?', 1)[0];
    if (path !== options.path || closing) {
      // As ws refuses a handshake: the answer written, then the socket destroyed.
      socket.once('finish', () => socket.destroy());
      socket.end(`HTTP/1.1 ${closing ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  options.server.on('upgrade', onUpgrade);

  const frames = sharedFrames();
  wss.on('connection', (socket: WebSocket) => {
    frames.attach(socket);
    metrics.wsConnections.inc();
    socket.once('close', () => metrics.wsConnections.dec());
  });

  const rateLimited = () => {
    const error = tooManyAtOnce('operations on this connection', config.wsMaxSubscriptionsPerConnection);
    error.extensions.limit = config.wsMaxSubscriptionsPerConnection;
    return error;
  };

  useServer<Record<string, unknown> | undefined, Extra>(
    {
      // Never send an internal error's message in a close reason.
      isProd: true,
      jsonMessageReplacer: frames.replacer,
      execute: (args) => envelopes.get(args as object)!.execute(args as ExecutionArgs),
      subscribe: (args) => envelopes.get(args as object)!.subscribe(args as ExecutionArgs),

      onConnect: async (ctx) => {
        const { socket } = ctx.extra;
        const authorization = authorizationParam(ctx.connectionParams);
        let viewer: Viewer | null = null;
        let authExpiresAt: number | null = null;
        if (authorization !== undefined) {
          try {
            viewer = await viewerFromAuthorization(services, authorization);
            authExpiresAt = viewer?.tokenExpiresAt ?? null;
          } catch (error) {
            if (!(error instanceof AppError)) throw error;
            return false; // 4403 Forbidden
          }
        }
        // Gone while its token was checked: its close has been handled already, so register nothing.
        if (socket.readyState !== socket.OPEN) return false;
        const id = randomUUID();
        const connection: WsConnection = {
          id,
          viewer,
          authExpiresAt,
          clientIp: clientIpOf(ctx.extra.request, options.trustProxy),
          log: log.child({ wsId: id, ...(viewer ? { userId: viewer.id } : {}) }),
        };
        if (!viewer && options.anonymousPerIp) {
          const place = await options.anonymousPerIp.tryTake(connection.clientIp);
          if (!place) {
            connection.log.warn({ limit: options.anonymousPerIp.max }, 'too many anonymous connections from this address');
            socket.close(CLOSE_CODES.tooManyConnections, 'Too many connections');
            return false;
          }
          // Gone while its place was taken: nothing else will give it back.
          if (socket.readyState !== socket.OPEN) {
            place();
            return false;
          }
          anonymousPlaces.set(socket, place);
        }
        if (viewer) {
          const open = perUser.get(viewer.id) ?? 0;
          if (open >= config.wsMaxConnectionsPerUser) {
            connection.log.warn({ limit: config.wsMaxConnectionsPerUser }, 'too many WebSocket connections for this user');
            socket.close(CLOSE_CODES.tooManyConnections, 'Too many connections');
            return false;
          }
          perUser.set(viewer.id, open + 1);
        }
        connections.set(socket, connection);
        if (authExpiresAt !== null) {
          const timer = setTimeout(
            () => socket.close(CLOSE_CODES.forbidden, 'Token expired'),
            Math.max(0, authExpiresAt - Date.now()),
          );
          expiryTimers.set(socket, timer);
        }
        return true;
      },

      onClose: (ctx) => {
        const { socket } = ctx.extra;
        clearTimeout(expiryTimers.get(socket));
        const connection = connections.get(socket);
        connections.delete(socket);
        anonymousPlaces.get(socket)?.();
        anonymousPlaces.delete(socket);
        const userId = connection?.viewer?.id;
        if (userId === undefined) return;
        const open = (perUser.get(userId) ?? 1) - 1;
        if (open > 0) perUser.set(userId, open);
        else perUser.delete(userId);
      },

      onSubscribe: async (ctx: WsContext<Record<string, unknown> | undefined, Extra>, _id, payload) => {
        const connection = connections.get(ctx.extra.socket);
        if (!connection) return [forWs(new AppError('INTERNAL_SERVER_ERROR', 'Connection not initialised.'))];
        // graphql-ws has already registered this operation: the count includes it.
        if (Object.keys(ctx.subscriptions).length > config.wsMaxSubscriptionsPerConnection) {
          metrics.errors.inc({ code: 'RATE_LIMITED' });
          return [forWs(rateLimited())];
        }
        const enveloped = yoga.getEnveloped({ ws: connection, params: payload });
        let document;
        try {
          document = enveloped.parse(payload.query);
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return errors.map(forWs);
        } catch (error) {
          // Syntax errors, and the query limits, which throw their rejection.
          if (isGraphQLError(error)) return [forWs(error)];
          throw error;
        }
        const args = {
          schema: enveloped.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
        };
        envelopes.set(args, enveloped);
        return args;
      },

      // Yoga marks parse and validation errors with HTTP details; they mean nothing here.
      // Without errors, the result itself: a shared result is then one payload object for every socket (ws-frames.ts).
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((error) => forWs(error).toJSON()) } : result,
    },
    wss,
    config.wsKeepAliveMs,
  );

  return {
    get connections() {
      return wss.clients.size;
    },
    async close(timeoutMs) {
      closing = true;
      for (const client of wss.clients) client.close(CLOSE_CODES.goingAway, 'Server shutting down');
      const deadline = Date.now() + timeoutMs;
      while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** The token a client put in connectionParams (`authorization`, any case); undefined when none. */
function authorizationParam(params: Record<string, unknown> | undefined): string | undefined {
  if (!params) return undefined;
  const value = params.authorization ?? params.Authorization;
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

/**
 * graphql-ws takes errors returned from onSubscribe only when they are
 * `instanceof` the GraphQLError of the graphql it imports (see graphqlRuntime).
 */
const { GraphQLError: WsGraphQLError } = graphqlRuntime;

/** The error as graphql-ws's own GraphQLError, without Yoga's `extensions.http` (HTTP status details). */
function forWs(error: GraphQLError): GraphQLError {
  const { http: _http, ...extensions } = error.extensions ?? {};
  return new WsGraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions,
  });
}
