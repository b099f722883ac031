import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Config, RateLimitName } from '../config.js';
import type { AppServices, Context } from '../core/context.js';
import type { AppEventBus } from '../core/events.js';
import { createAppEventBus } from '../events.js';
import { closeDb, createDb, createPool, type Db, poolOf } from '../infra/db.js';
import { type CreateQueuesOptions, deferredQueues, type Queues } from '../infra/jobs/producer.js';
import { createLogger, RequestLogController } from '../infra/logger.js';
import { createMetrics, type Metrics } from '../infra/metrics.js';
import { createRateLimitStore } from '../infra/rate-limit-store.js';
import { MIGRATIONS_DIR, MigrationError, type MigrationFile, pendingMigrations, readMigrations } from '../infra/migrate.js';
import { QUEUE_NAMES } from '../jobs.js';
import { schema } from '../schema/index.js';
import { adminQueuesPlugin } from './admin.js';
import { trustProxyFunction } from './client-ip.js';
import { createFastPath, useJitOnFastPath } from './fast-path.js';
import { useRefuseNulInputs, useUrlParamsAsJson } from './input-hygiene.js';
import { authenticateSession, liveSubscriptions, useSharedEventResults } from './live-subscriptions.js';
import { alreadyLogged, maskError, outageLog, useContractCodes, useMaskExecutionErrors, useMetrics } from './plugins.js';
import { queryLimitPlugins, useQueryCost } from './query-limits.js';
import { anonymousHttpRefusal, rateLimitedSchema, useOperationBudgets } from './rate-limits.js';
import { RefusalHold } from './refusal-hold.js';
import { attachGraphQLWebSocket, type WsConnection } from './websocket.js';

export interface BuildAppOptions {
  /** Overrides config.databaseUrl (embedded mode knows the URL only once PostgreSQL is up). */
  databaseUrl?: string;
  logger?: Logger;
  /** Serve plain POST JSON operations without Yoga's fetch adaptation (default true; see fast-path.ts). */
  fastPath?: boolean;
  /** Queue-store options (tests give each file its own namespace on the shared Redis). */
  queues?: Omit<CreateQueuesOptions, 'queueNames'>;
  /** Event-bus options: the Redis channel prefix (tests sharing one Redis use their own). */
  events?: { namespace?: string };
  /** The rate-limit counters' key prefix on a shared Redis (tests give each app its own). */
  rateLimits?: { namespace?: string };
  /** Where /ready reads the migrations it compares with the database (default: the app's own). */
  migrationsDir?: string;
}

export interface App {
  fastify: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;
  yoga: YogaServerInstance<ServerContext, Context>;
  db: Db;
  metrics: Metrics;
  services: AppServices;
  /**
   * Opens the queue store (failing fast when it is unreachable) and readies
   * Fastify. Until then services.queues refuses work. start() calls it; tests
   * that inject without listening call it instead of fastify.ready().
   */
  ready(): Promise<void>;
  /** ready(), then listens on config.host:config.port (port 0: any free port); returns the base URL. */
  start(): Promise<string>;
  /**
   * Stops accepting, closes WebSocket connections (1001) and ends SSE streams,
   * lets in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), closes the
   * queues, the event bus and the database.
   */
  stop(): Promise<void>;
}

/** What Yoga's handler is given: the Fastify request and reply, or (graphql-ws) the WebSocket connection. */
type ServerContext = { req: FastifyRequest; reply: FastifyReply; ws?: undefined } | { ws: WsConnection };

/**
 * Subscription fields whose events are executed once for all subscribers
 * (useSharedEventResults): their feed hands every watcher the same object. A
 * document selecting an auth-scoped field beneath one (Quiz.myEntry) is
 * executed per subscriber instead.
 */
export const SHARED_EVENT_FIELDS = ['stockChanged', 'leaderboardUpdated'] as const;

/** Connections of the PostgreSQL rate-limit store's pool (each counted request is one short upsert). */
const RATE_LIMIT_POOL_SIZE = 4;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function buildApp(config: Config, options: BuildAppOptions = {}): App {
  const databaseUrl = options.databaseUrl ?? config.databaseUrl;
  if (!databaseUrl) throw new Error('buildApp needs a database URL');
  const log = options.logger ?? createLogger(config.logLevel);
  const timeouts = {
    connectTimeoutMs: config.dbConnectTimeoutMs,
    idleTimeoutMs: config.dbIdleTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
  };
  const db = createDb(databaseUrl, undefined, log, timeouts);
  // Opened by ready(): building the app connects to nothing.
  const queues = deferredQueues({ config, log, databaseUrl }, { ...options.queues, queueNames: QUEUE_NAMES });
  // Queue counts on scrape; inline workers report their job timings to metrics.jobs.
  const metrics = createMetrics({ queues });
  // Opened by ready() too.
  const pubsub = createAppEventBus(
    { config, log, databaseUrl },
    { namespace: options.events?.namespace, onPublish: metrics.onPublish },
  );
  const services: AppServices = { db, config, log, queues, pubsub };
  const trustProxy = trustProxyFunction(config.trustProxy);
  // Counters shared by every API process: Redis with REDIS_URL, else PostgreSQL, on a pool of their own. A
  // flood's admitted requests all update one row, one commit after another; on the app's pool they held every
  // connection, and everyone's queries waited. Their commits need not wait for the disk: a crash may forget the
  // last moments of a count, never a transfer.
  const rateLimitPool = config.redisUrl
    ? undefined
    : createPool(databaseUrl, RATE_LIMIT_POOL_SIZE, log, timeouts, { asynchronousCommit: true });
  const rateLimitStore = createRateLimitStore({
    redisUrl: config.redisUrl,
    pool: rateLimitPool ?? poolOf(db),
    log,
    namespace: options.rateLimits?.namespace,
  });
  const limiter = (name: RateLimitName) => {
    const { limit, duration } = config.rateLimits[name];
    return rateLimitStore.limiter({ points: limit, duration, keyPrefix: name });
  };
  const loginFailures = config.rateLimitsEnabled ? limiter('loginFailures') : null;
  const budgets = config.rateLimitsEnabled ? { anonymous: limiter('anonymous'), user: limiter('user') } : null;
  // HTTP requests whose anonymous point the route took before GraphQL (the operation's context carries its req).
  const countedRequests = new WeakSet<object>();
  const countedAtHttp = (context: Context) => {
    const { req } = context as Context & { req?: object };
    return req !== undefined && countedRequests.has(req);
  };
  const refusalHold = new RefusalHold(config.rateLimitHoldMs);
  // Shared by every API process on the store, as the rate limits are.
  const subscriptionCaps = config.rateLimitsEnabled
    ? {
        perUser: rateLimitStore.concurrencyLimit('subscriptions', config.maxSubscriptionsPerUser),
        anonymousPerIp: rateLimitStore.concurrencyLimit('anonymous-connections', config.maxAnonymousConnectionsPerIp),
      }
    : undefined;
  const live = liveSubscriptions(metrics, subscriptionCaps);
  // One for the app: an outage fails every request, and is logged once per interval, not per request.
  const outage = outageLog(log);

  const fastify = Fastify({
    loggerInstance: log,
    logController: new RequestLogController(log),
    bodyLimit: config.bodyLimitBytes,
    // Keep a caller's request id (within reason) so logs line up across services.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    trustProxy,
  });

  fastify.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  // Yoga parses GraphQL bodies itself (and answers bad JSON as the GraphQL-over-HTTP
  // spec says); Fastify only reads them, enforcing the body limit (413 past it).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const yoga = createYoga<ServerContext, Context>({
    schema: rateLimitedSchema(schema, config, rateLimitStore),
    graphqlEndpoint: '/graphql',
    graphiql: config.graphiql ? { title: 'Switchyard', shouldPersistHeaders: true } : false,
    landingPage: false,
    cors: config.corsOrigins.length > 0 ? { origin: config.corsOrigins, credentials: true } : false,
    logging: {
      // Yoga's debug lines ("Processing GraphQL Parameters") add nothing to Fastify's
      // request lines and could not carry the request id, so they are dropped.
      debug: () => {},
      info: (...args) => log.info(args.map(String).join(' ')),
      warn: (...args) => log.warn(args.map(String).join(' ')),
      // Yoga logs every error it masked; we already logged it, with its stack.
      error: (...args) => {
        if (!(args.length === 1 && alreadyLogged(args[0]))) log.error(args.map(String).join(' '));
      },
    },
    maskedErrors: { maskError: (error) => maskError(error, log, outage) },
    context: async (initial): Promise<Context> => {
      if (initial.ws) {
        // A graphql-ws operation: the connection authenticated once, at connection_init.
        const { ws } = initial;
        const { viewer, authExpiresAt, clientIp } = ws;
        return {
          ...services,
          viewer,
          authError: null,
          authExpiresAt,
          clientIp,
          loginFailures,
          log: ws.log,
          requestId: ws.id,
          transport: 'ws',
        };
      }
      const { request, req } = initial;
      return {
        ...services,
        ...(await authenticateSession(services, request.headers.get('authorization'))),
        log: req.log as Logger,
        requestId: String(req.id),
        clientIp: req.ip,
        loginFailures,
        transport: request.headers.get('accept')?.includes('text/event-stream') ? 'sse' : 'http',
      };
    },
    plugins: [
      // Simple (non-preflighted) requests must carry one of these headers; see README, "CSRF".
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'apollo-require-preflight'] }),
      ...queryLimitPlugins(),
      // Before useMetrics, so that it counts errors by the codes clients see.
      useContractCodes(),
      useMaskExecutionErrors(outage),
      useMetrics(metrics),
      // After useMetrics (it counts the refusals), before anything that starts a subscription.
      ...(budgets ? [useOperationBudgets(budgets, countedAtHttp)] : []),
      useQueryCost(),
      useRefuseNulInputs(),
      // GET query strings with `variables`/`extensions` that are not JSON: 400, not 500.
      useUrlParamsAsJson(),
      // Counts subscriptions by transport, ends them at token expiry (HTTP) and on stop().
      live.plugin,
      useSharedEventResults(SHARED_EVENT_FIELDS),
      // Last, so that every hook above runs around the compiled execution as around graphql's.
      useJitOnFastPath((error) => log.debug({ err: error }, 'graphql-jit could not compile an operation; graphql executes it')),
    ],
  });

  // graphql-ws on the same port and path (upgrade requests of fastify.server).
  const websocket = attachGraphQLWebSocket({
    server: fastify.server,
    path: '/graphql',
    yoga,
    services,
    metrics,
    trustProxy,
    anonymousPerIp: subscriptionCaps?.anonymousPerIp,
  });

  const tryFastPath =
    options.fastPath === false ? undefined : createFastPath(yoga, { corsEnabled: config.corsOrigins.length > 0 });

  fastify.route({
    url: yoga.graphqlEndpoint,
    method: ['GET', 'POST', 'OPTIONS'],
    handler: async (req, reply) => {
      if (budgets && req.method !== 'OPTIONS' && req.headers.authorization === undefined) {
        const refused = await anonymousHttpRefusal(budgets, req.ip, { refusals: refusalHold, response: reply.raw });
        if (refused) {
          metrics.errors.inc({ code: 'RATE_LIMITED' });
          return reply
            .status(429)
            .header('retry-after', String(refused.retryAfter))
            .header('content-type', 'application/json; charset=utf-8')
            .send(refused.body);
        }
        countedRequests.add(req);
      }
      if (tryFastPath && (await tryFastPath(req, reply))) return reply;
      const response = await yoga.handleNodeRequestAndResponse(req, reply, { req, reply });
      for (const [name, value] of response.headers) reply.header(name, value);
      reply.status(response.status);
      return reply.send(response.body);
    },
  });

  fastify.get('/health', async () => ({ status: 'ok' }));

  // Read and hashed at the first /ready, then kept: the files cannot change under a running process.
  let migrations: MigrationFile[] | undefined;
  const migrationFiles = () => (migrations ??= readMigrations(options.migrationsDir ?? MIGRATIONS_DIR));

  fastify.get('/ready', async (_req, reply) => {
    const checks = await readiness(db, queues, pubsub, migrationFiles);
    const ready = Object.values(checks).every((check) => check === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });

  fastify.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  // bull-board at /admin/queues (admins only) and the admin session routes; see admin.ts.
  void fastify.register(adminQueuesPlugin(services));

  let stopping: Promise<void> | undefined;
  const ready = async () => {
    await queues.start();
    await pubsub.start();
    rateLimitStore.start();
    await fastify.ready();
  };
  return {
    fastify,
    yoga,
    db,
    metrics,
    services,
    ready,
    async start() {
      await ready();
      const address = await fastify.listen({ host: config.host, port: config.port });
      return address;
    },
    stop() {
      stopping ??= (async () => {
        const timeout = setTimeout(() => {
          log.warn('in-flight requests did not finish in time; closing their connections');
          fastify.server.closeAllConnections();
        }, config.shutdownTimeoutMs);
        // A keep-alive connection whose request finishes after close() began turns idle
        // but stays open; without this sweep every shutdown waited the full timeout.
        const idleSweep = setInterval(() => fastify.server.closeIdleConnections(), 100);
        try {
          // Stops accepting at once; resolves when the in-flight requests are done.
          const closed = fastify.close();
          // SSE streams (ended with their `complete` event) and WebSockets (1001: clients reconnect
          // elsewhere) would otherwise hold it up to the timeout.
          live.endAll();
          refusalHold.releaseAll();
          await websocket.close(Math.min(config.shutdownTimeoutMs, 5000));
          await closed;
        } finally {
          clearTimeout(timeout);
          clearInterval(idleSweep);
          await queues.close().catch((error: unknown) => log.warn({ err: error }, 'closing the queues failed'));
          await pubsub.close();
          await rateLimitStore.close();
          await rateLimitPool?.end();
          await closeDb(db);
        }
      })();
      return stopping;
    },
  };
}

/** Each check is "ok" or says what failed, for the /ready body. */
async function readiness(
  db: Db,
  queues: Queues,
  pubsub: AppEventBus,
  migrations: () => MigrationFile[],
): Promise<Record<string, string>> {
  const [database, queueStore, events] = await Promise.all([
    databaseReadiness(db, migrations),
    queues.ping().then(
      () => 'ok',
      () => 'unreachable',
    ),
    // The event bus: reachable, and this process listening (else its subscribers get nothing).
    pubsub.check(),
  ]);
  return { ...database, queues: queueStore, events };
}

async function databaseReadiness(db: Db, migrations: () => MigrationFile[]): Promise<{ database: string; migrations: string }> {
  try {
    const pending = await pendingMigrations((sql) => db.$queryRawUnsafe(sql), migrations());
    return { database: 'ok', migrations: pending.length === 0 ? 'ok' : `pending: ${pending.join(', ')}` };
  } catch (error) {
    // The database answered, but its migration history disagrees with the files.
    if (error instanceof MigrationError) return { database: 'ok', migrations: error.message };
    return { database: 'unreachable', migrations: 'unknown' };
  }
}

