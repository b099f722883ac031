import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { AppServices, Context } from './context.js';
import { AppError, isGraphQLError, MASKED_MESSAGE } from './errors.js';
import { createDb, type Db } from './infra/db.js';
import { createLogger } from './infra/logger.js';
import { createMetrics, type Metrics } from './infra/metrics.js';
import { pendingMigrations } from './infra/migrate.js';
import { viewerFromAuthorization } from './modules/auth/auth.service.js';
import { schema } from './schema/index.js';

export interface BuildAppOptions {
  /** Overrides config.databaseUrl (embedded mode knows the URL only once PostgreSQL is up). */
  databaseUrl?: string;
  logger?: Logger;
}

export interface App {
  fastify: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;
  yoga: YogaServerInstance<ServerContext, Context>;
  db: Db;
  metrics: Metrics;
  services: AppServices;
  /** Listens on config.host:config.port (port 0: any free port); returns the base URL. */
  start(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), closes the database. */
  stop(): Promise<void>;
}

interface ServerContext {
  req: FastifyRequest;
  reply: FastifyReply;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function buildApp(config: Config, options: BuildAppOptions = {}): App {
  const databaseUrl = options.databaseUrl ?? config.databaseUrl;
  if (!databaseUrl) throw new Error('buildApp needs a database URL');
  const log = options.logger ?? createLogger(config.logLevel);
  const db = createDb(databaseUrl);
  const metrics = createMetrics();
  const services: AppServices = { db, config, log };

  const fastify = Fastify({
    loggerInstance: log,
    bodyLimit: config.bodyLimitBytes,
    // Keep a caller's request id (within reason) so logs line up across services.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  fastify.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  // Yoga parses GraphQL bodies itself (and answers bad JSON as the GraphQL-over-HTTP
  // spec says); Fastify only reads them, enforcing the body limit (413 past it).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: config.graphiql ? { title: 'Switchyard', shouldPersistHeaders: true } : false,
    landingPage: false,
    cors: config.corsOrigins.length > 0 ? { origin: config.corsOrigins, credentials: true } : false,
    logging: {
      debug: (...args) => log.debug(args.map(String).join(' ')),
      info: (...args) => log.info(args.map(String).join(' ')),
      warn: (...args) => log.warn(args.map(String).join(' ')),
      error: (...args) => log.error(args.map(String).join(' ')),
    },
    maskedErrors: { maskError: (error) => maskError(error, log) },
    context: async ({ request, req }): Promise<Context> => ({
      ...services,
      viewer: await viewerFromAuthorization(services, request.headers.get('authorization')),
      log: req.log as Logger,
      requestId: String(req.id),
    }),
    plugins: [
      // Simple (non-preflighted) requests must carry one of these headers; see README, "CSRF".
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'apollo-require-preflight'] }),
      useMetrics(metrics),
      useContractCodes(),
    ],
  });

  fastify.route({
    url: yoga.graphqlEndpoint,
    method: ['GET', 'POST', 'OPTIONS'],
    handler: async (req, reply) => {
      const response = await yoga.handleNodeRequestAndResponse(req, reply, { req, reply });
      for (const [name, value] of response.headers) reply.header(name, value);
      reply.status(response.status);
      return reply.send(response.body);
    },
  });

  fastify.get('/health', async () => ({ status: 'ok' }));

  fastify.get('/ready', async (_req, reply) => {
    const checks = await readiness(db);
    const ready = Object.values(checks).every((check) => check === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });

  fastify.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  let stopping: Promise<void> | undefined;
  return {
    fastify,
    yoga,
    db,
    metrics,
    services,
    async start() {
      const address = await fastify.listen({ host: config.host, port: config.port });
      return address;
    },
    stop() {
      stopping ??= (async () => {
        const timeout = setTimeout(() => {
          log.warn('in-flight requests did not finish in time; closing their connections');
          fastify.server.closeAllConnections();
        }, config.shutdownTimeoutMs);
        try {
          await fastify.close();
        } finally {
          clearTimeout(timeout);
          await db.$disconnect();
        }
      })();
      return stopping;
    },
  };
}

/** Each check is "ok" or says what failed, for the /ready body. */
async function readiness(db: Db): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  try {
    const pending = await pendingMigrations((sql) => db.$queryRawUnsafe(sql));
    checks.database = 'ok';
    checks.migrations = pending.length === 0 ? 'ok' : `pending: ${pending.join(', ')}`;
  } catch (error) {
    const message = error instanceof Error && error.name === 'MigrationError' ? error.message : 'unreachable';
    checks.database = message === 'unreachable' ? message : 'ok';
    checks.migrations = message === 'unreachable' ? 'unknown' : message;
  }
  return checks;
}

/**
 * Errors we raised on purpose (AppError) and GraphQL's own validation errors
 * go to the client as they are; anything else is logged and masked.
 */
function maskError(error: unknown, log: Logger): Error {
  if (isGraphQLError(error)) {
    const original = error.originalError;
    if (!original || isGraphQLError(original)) return error;
    logUnexpected(log, original, error.path);
    return new GraphQLError(MASKED_MESSAGE, {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  }
  logUnexpected(log, error);
  return new GraphQLError(MASKED_MESSAGE, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

function logUnexpected(log: Logger, error: unknown, path?: ReadonlyArray<string | number>): void {
  log.error({ err: error, path: path?.join('.') }, 'unexpected error in a GraphQL operation');
}

/**
 * GraphQL's own parse and validation failures are bad input in the contract's
 * terms (API.md lists the codes clients may see), so they carry BAD_USER_INPUT.
 */
function useContractCodes(): Plugin {
  const relabel = (error: GraphQLError) => {
    const extensions = error.extensions as Record<string, unknown>;
    if (!extensions.code || String(extensions.code).startsWith('GRAPHQL_')) extensions.code = 'BAD_USER_INPUT';
  };
  return {
    onParse:
      () =>
      ({ result }) => {
        if (isGraphQLError(result)) relabel(result);
      },
    onValidate:
      () =>
      ({ valid, result }) => {
        if (!valid) for (const error of result) relabel(error);
      },
    // Variable values that do not fit their types fail before any resolver runs.
    onExecute: () => ({
      onExecuteDone: ({ result }) => {
        if (!('errors' in result) || !result.errors) return;
        for (const error of result.errors) if (!error.originalError && !error.path) relabel(error);
      },
    }),
  };
}

/** Request duration by operation, and every returned error counted by its code. */
function useMetrics(metrics: Metrics): Plugin {
  return {
    onExecute({ args }) {
      const started = process.hrtime.bigint();
      const operation = args.operationName ?? 'anonymous';
      const definition = args.document.definitions.find((d: { kind: string }) => d.kind === 'OperationDefinition');
      const type = definition && 'operation' in definition ? definition.operation : 'unknown';
      return {
        onExecuteDone({ result }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.requestDuration.observe({ operation, type }, seconds);
          if ('errors' in result && result.errors) {
            for (const error of result.errors) {
              const code = error.extensions?.code;
              metrics.errors.inc({ code: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR' });
            }
          }
        },
      };
    },
  };
}

export { AppError };
