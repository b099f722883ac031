import { GraphQLError, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Context } from '../core/context.js';
import { isGraphQLError, MASKED_MESSAGE, unavailable } from '../core/errors.js';
import { throttledErrorLog } from '../infra/async.js';
import type { Metrics } from '../infra/metrics.js';
import { isOutage } from '../infra/outage.js';

/** The envelop plugins of our own that every operation runs through, over HTTP and WebSocket alike. */

/** Errors maskError already logged (or reported as an outage), so that Yoga's own error log does not repeat them. */
const loggedErrors = new WeakSet<object>();

/** Whether maskError has logged this error already (so that Yoga's own error log need not). */
export const alreadyLogged = (error: unknown): boolean => typeof error === 'object' && error !== null && loggedErrors.has(error);

/** Reports an outage met by an operation: one line per interval for the whole app, without a stack. */
export type OutageLog = (error: Error) => void;

export const outageLog = (log: Logger): OutageLog =>
  throttledErrorLog(log, 'graphql', 'the database or the queue store is unreachable: answering UNAVAILABLE', {
    stack: false,
    perKind: false,
  });

/**
 * Errors we raised on purpose (AppError) and GraphQL's own validation errors
 * go to the client as they are; an outage (isOutage: the database or the queue
 * store unreachable) becomes UNAVAILABLE with retryAfter, so that clients can
 * tell it from a bug; anything else is logged and masked.
 */
export function maskError(error: unknown, log: Logger, outage: OutageLog): Error {
  const original = isGraphQLError(error) ? error.originalError : error;
  if (isGraphQLError(error) && (!original || isGraphQLError(original))) return error;
  const at = isGraphQLError(error) ? { nodes: error.nodes, path: error.path } : {};
  if (isOutage(original)) {
    outage(original as Error);
    // Reported (throttled) above: Yoga's own error log must not add a line, with a stack, per request.
    loggedErrors.add(original as object);
    const answer = unavailable();
    return new GraphQLError(answer.message, { ...at, extensions: answer.extensions });
  }
  logUnexpected(log, original, at.path);
  return new GraphQLError(MASKED_MESSAGE, { ...at, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

function logUnexpected(log: Logger, error: unknown, path?: ReadonlyArray<string | number>): void {
  log.error({ err: error, path: path?.join('.') }, 'unexpected error in a GraphQL operation');
  if (typeof error === 'object' && error !== null) loggedErrors.add(error);
}

/**
 * Masks the unexpected errors of an execution where the request's context is at
 * hand, so that their log line carries the request id (Yoga's maskError, the
 * fallback for errors outside execution, only has the process logger).
 */
export function useMaskExecutionErrors(outage: OutageLog): Plugin {
  const unexpected = (error: GraphQLError) => error.originalError && !isGraphQLError(error.originalError);
  return {
    onExecute: ({ args }) => ({
      onExecuteDone: ({ result, setResult }) => {
        if (!('errors' in result) || !result.errors?.some(unexpected)) return;
        const { log } = args.contextValue as unknown as Context;
        setResult({ ...result, errors: result.errors.map((error) => maskError(error, log, outage) as GraphQLError) });
      },
    }),
  };
}

/** The hooks that hand each parse or validation error of an operation to `handle`. */
function onDocumentErrors(handle: (error: GraphQLError) => void): Pick<Plugin, 'onParse' | 'onValidate'> {
  return {
    onParse:
      () =>
      ({ result }) => {
        if (isGraphQLError(result)) handle(result);
      },
    onValidate:
      () =>
      ({ valid, result }) => {
        if (!valid) for (const error of result) handle(error);
      },
  };
}

/**
 * GraphQL's own parse and validation failures are bad input in the contract's
 * terms (docs/contract.md lists the codes clients may see), so they carry BAD_USER_INPUT.
 */
export function useContractCodes(): Plugin {
  const relabel = (error: GraphQLError) => {
    const extensions = error.extensions as Record<string, unknown>;
    if (!extensions.code || String(extensions.code).startsWith('GRAPHQL_')) extensions.code = 'BAD_USER_INPUT';
  };
  return {
    ...onDocumentErrors(relabel),
    // Variable values that do not fit their types fail before any resolver runs:
    // in an execution, or in a subscription before its stream starts.
    onExecute: () => ({ onExecuteDone: ({ result }) => relabelVariableErrors(result) }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result }) => {
        if (!isAsyncIterable(result)) relabelVariableErrors(result);
      },
    }),
  };

  function relabelVariableErrors(result: unknown) {
    const errors = (result as { errors?: readonly GraphQLError[] }).errors;
    if (!errors) return;
    // Not yet in a resolver (no path), and not an unexpected failure (masked instead).
    for (const error of errors) {
      if (!error.path && (!error.originalError || isGraphQLError(error.originalError))) relabel(error);
    }
  }
}

/**
 * Clients choose operation names, so the label set is capped: past the cap (or
 * for odd names) operations share the label "other" instead of growing the
 * metrics without bound.
 */
const MAX_OPERATION_LABELS = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Request duration by operation, and every returned error counted by its code. */
export function useMetrics(metrics: Metrics): Plugin {
  const seen = new Set<string>();
  const operationLabel = (name: string | undefined) => {
    if (!name) return 'anonymous';
    if (seen.has(name)) return name;
    if (seen.size >= MAX_OPERATION_LABELS || !OPERATION_NAME.test(name)) return 'other';
    seen.add(name);
    return name;
  };
  const countError = (error: GraphQLError) => {
    const code = error.extensions?.code;
    metrics.errors.inc({ code: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR' });
  };
  return {
    // Parse and validation failures never reach execution; count them here.
    ...onDocumentErrors(countError),
    onExecute({ args }) {
      const started = process.hrtime.bigint();
      // The operation that runs: named in the document even when the request omits operationName.
      const definition = getOperationAST(args.document, args.operationName);
      const operation = operationLabel(definition?.name?.value);
      const type = definition?.operation ?? 'unknown';
      return {
        onExecuteDone({ result }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.requestDuration.observe({ operation, type }, seconds);
          if ('errors' in result && result.errors) for (const error of result.errors) countError(error);
        },
      };
    },
  };
}
