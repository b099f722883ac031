import type { FastifyReply, FastifyRequest } from 'fastify';
import { BREAK, type DocumentNode, type ExecutionArgs, type ExecutionResult, getOperationAST, visit } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { type Plugin, processRegularResult, type YogaServerInstance } from 'graphql-yoga';
import { isGraphQLError } from '../core/errors.js';

/**
 * A shorter road for the commonest request (POST application/json, one
 * operation, JSON back) through Yoga's own envelop pipeline, skipping only its
 * fetch-API adaptation. It answers exactly as Yoga would, or returns `false`
 * before any resolver ran and Yoga answers; test/fast-path.test.ts compares
 * both roads (docs/design-notes.md, "The fast path").
 */

type RegularMediaType = 'application/graphql-response+json' | 'application/json';

// Yoga's result processors and their media types, in the order it tries them.
const PROCESSORS = [['text/event-stream'], ['multipart/mixed'], ['application/graphql-response+json', 'application/json']];
const REGULAR = new Set<string>(['application/graphql-response+json', 'application/json']);

/**
 * The media type Yoga would answer a non-streaming result with, or null when
 * it would not be a JSON one. Yoga's rule, kept loop for loop: the accepted
 * types are walked last to first inside each processor, and the last match wins.
 */
export function negotiateMediaType(accept: string | undefined): RegularMediaType | null {
  const requested: string[] = [];
  for (const range of (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const [mediaType, ...params] = range.split(';');
    const charset = params.find((param) => param.includes('charset=')) ?? 'charset=utf-8';
    if (mediaType !== undefined && charset === 'charset=utf-8') requested.push(mediaType);
  }
  requested.reverse();
  let chosen: string | null = null;
  for (const processorTypes of PROCESSORS) {
    for (const requestedType of requested) {
      for (const processorType of processorTypes) {
        if (matches(processorType, requestedType)) chosen = processorType;
      }
    }
  }
  return chosen && REGULAR.has(chosen) ? (chosen as RegularMediaType) : null;
}

function matches(processorType: string, requestedType: string): boolean {
  const [processorMain, processorSub] = processorType.split('/');
  const [requestedMain, requestedSub] = requestedType.split('/');
  return (
    (requestedMain === '*' || requestedMain === processorMain) && (requestedSub === '*' || requestedSub === processorSub)
  );
}

interface GraphQLParams {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
  extensions?: Record<string, unknown> | null;
}

const PARAM_KEYS = new Set(['query', 'variables', 'operationName', 'extensions']);
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Only requests Yoga's parameter checks would accept as they are. */
function asParams(body: unknown): GraphQLParams | null {
  if (!isObject(body) || typeof body.query !== 'string') return null;
  for (const key of Object.keys(body)) if (!PARAM_KEYS.has(key)) return null;
  if (body.variables != null && !isObject(body.variables)) return null;
  if (body.operationName != null && typeof body.operationName !== 'string') return null;
  if (body.extensions != null && !isObject(body.extensions)) return null;
  return body as unknown as GraphQLParams;
}

/** The part of a Fetch Request that plugins and the context factory read. */
function requestView(req: FastifyRequest) {
  return {
    method: req.method,
    url: req.url,
    headers: {
      get: (name: string) => {
        const value = req.headers[name.toLowerCase()];
        return Array.isArray(value) ? value.join(', ') : (value ?? null);
      },
      has: (name: string) => req.headers[name.toLowerCase()] !== undefined,
    },
  };
}

const JSON_CONTENT_TYPE = /^application\/json\s*(;\s*charset=utf-8\s*)?$/i;

/** Marks the context of an operation the fast path runs, for the plugins that apply only there (useJitOnFastPath). */
const FAST_PATH = Symbol('fast path');

/**
 * graphql-jit for the operations the fast path runs: each document is compiled
 * once into a function that executes it, instead of being walked field by field
 * on every request. A document graphql-jit cannot compile (it throws on a BigInt
 * literal among the arguments, say) is executed by graphql's executor, as are
 * documents with fragments (hasFragments). Yoga's own road keeps graphql's
 * executor, so that test/fast-path.test.ts, comparing the two roads, proves
 * their answers the same.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- envelop's plugin type, for Yoga's list
export function useJitOnFastPath(onCompileError: (error: unknown) => void): Plugin<any> {
  // Per document, per operation name: the compiled query, or null where graphql-jit could not compile it.
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  const compile = (args: ExecutionArgs): CompiledQuery | null => {
    let byOperation = compiled.get(args.document);
    if (!byOperation) compiled.set(args.document, (byOperation = new Map()));
    const key = args.operationName ?? '';
    let query = byOperation.get(key);
    if (query === undefined) {
      query = null;
      try {
        const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
        if (isCompiledQuery(result)) query = result;
        else onCompileError(result.errors);
      } catch (error) {
        onCompileError(error);
      }
      byOperation.set(key, query);
    }
    return query;
  };
  return {
    onExecute({ args, setExecuteFn }) {
      if ((args.contextValue as { [FAST_PATH]?: boolean })[FAST_PATH] !== true || hasFragments(args.document)) return;
      const query = compile(args);
      if (query) setExecuteFn((run) => query.query(run.rootValue, run.contextValue, run.variableValues));
    },
  };
}

const fragmentsOf = new WeakMap<DocumentNode, boolean>();

/**
 * graphql-jit puts the fields of a fragment (inline or named) after their
 * siblings, where the spec (and graphql's executor) keeps them in the order
 * asked, so documents with fragments stay with the executor.
 */
function hasFragments(document: DocumentNode): boolean {
  let found = fragmentsOf.get(document);
  if (found === undefined) {
    found = false;
    const stop = () => {
      found = true;
      return BREAK;
    };
    visit(document, { InlineFragment: stop, FragmentSpread: stop });
    fragmentsOf.set(document, found);
  }
  return found;
}

export interface FastPathOptions {
  /** CORS headers are added by Yoga's response hooks, so cross-origin requests take Yoga's road. */
  corsEnabled: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Yoga's server context is whatever the caller passes
type AnyYoga = YogaServerInstance<any, any>;

const SUBSCRIPTION = { errors: [] } as ExecutionResult;

type Enveloped = ReturnType<AnyYoga['getEnveloped']>;

/** Yoga's processRequest, step for step, for a single non-subscription operation. */
async function runOperation(enveloped: Enveloped, params: GraphQLParams): Promise<ExecutionResult> {
  const document = enveloped.parse(params.query);
  const errors = enveloped.validate(enveloped.schema, document);
  if (errors.length > 0) return { errors };
  const operation = getOperationAST(document, params.operationName);
  if (operation?.operation === 'subscription') return SUBSCRIPTION;
  const contextValue = await enveloped.contextFactory();
  return (await enveloped.execute({
    schema: enveloped.schema,
    document,
    contextValue,
    variableValues: params.variables,
    operationName: params.operationName,
  })) as ExecutionResult;
}

/**
 * A result Yoga would answer with 200 and its plain JSON: no HTTP directives
 * in its extensions, and errors (if any) raised by resolvers as GraphQL errors
 * — a refused purchase, a forbidden field. Yoga's serializer copies each such
 * error twice to drop directives that are not there; JSON.stringify gives the
 * same bytes for a fraction of the work. Anything else (request errors,
 * masked errors, HTTP statuses) is Yoga's to render.
 */
export function isPlainResult(result: ExecutionResult): boolean {
  if (result.extensions?.http) return false;
  return (result.errors ?? []).every(
    (error) =>
      raisedAsGraphQLError(error) &&
      error.path !== undefined &&
      error.extensions?.http === undefined &&
      error.extensions?.unexpected === undefined,
  );
}

/**
 * graphql's executor answers `{ errors, data }` and graphql-jit `{ data, errors }`:
 * the same answer, which the fast path renders in the executor's order so that
 * both roads send the same bytes.
 */
function inExecutorOrder(result: ExecutionResult): ExecutionResult {
  if (!result.errors) return result;
  const { errors, data, ...rest } = result;
  return { errors, data, ...rest };
}

/** Yoga's test for an error that is no unexpected failure: a GraphQL error all the way down. */
function raisedAsGraphQLError(error: unknown): boolean {
  if (!isGraphQLError(error)) return false;
  return error.originalError == null || raisedAsGraphQLError(error.originalError);
}

export function createFastPath(yoga: AnyYoga, options: FastPathOptions) {
  return async function tryFastPath(req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    if (req.method !== 'POST' || typeof req.body !== 'string') return false;
    if (!JSON_CONTENT_TYPE.test(req.headers['content-type'] ?? '')) return false;
    if (options.corsEnabled && req.headers.origin !== undefined) return false;
    const mediaType = negotiateMediaType(req.headers.accept);
    if (!mediaType) return false;

    let params: GraphQLParams | null;
    try {
      params = asParams(JSON.parse(req.body));
    } catch {
      return false;
    }
    if (!params) return false;

    const enveloped = yoga.getEnveloped({ req, reply, request: requestView(req), params, [FAST_PATH]: true });
    let result: ExecutionResult;
    try {
      result = await runOperation(enveloped, params);
    } catch (error) {
      // A GraphQL error thrown before execution (a syntax error, a bad token) is
      // the whole answer, as in Yoga; anything else is Yoga's to mask and log.
      if (!isGraphQLError(error) || error.originalError) return false;
      result = { errors: [error] };
    }
    if (result === SUBSCRIPTION) return false;

    if (isPlainResult(result)) {
      reply.status(200).header('content-type', `${mediaType}; charset=utf-8`).send(JSON.stringify(inExecutorOrder(result)));
      return true;
    }
    const response = await processRegularResult(result, yoga.fetchAPI, mediaType);
    for (const [name, value] of response.headers) reply.header(name, value);
    reply.status(response.status).send(await response.text());
    return true;
  };
}
