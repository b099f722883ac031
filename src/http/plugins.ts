import { GraphQLError, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Context } from '../core/context.js';
import { isGraphQLError, MASKED_MESSAGE } from '../core/errors.js';
import type { Metrics } from '../infra/metrics.js';

/** The envelop plugins of our own that every operation runs through, over HTTP and WebSocket alike. */

/** Unexpected errors already logged by maskError, so that Yoga's own error log does not repeat them. */
const loggedErrors = new WeakSet<object>();

/** Whether maskError has logged this error already (so that Yoga's own error log need not). */
export const alreadyLogged = (error: unknown): boolean => typeof error === 'object' && error !== null && loggedErrors.has(error);

/**
 * Errors we raised on purpose (AppError) and GraphQL's own validation errors
 * go to the client as they are; anything else is logged and masked.
 */
export function maskError(error: unknown, log: Logger): Error {
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
  if (typeof error === 'object' && error !== null) loggedErrors.add(error);
}

/**
 * Masks the unexpected errors of an execution where the request's context is at
 * hand, so that their log line carries the request id (Yoga's maskError, the
 * fallback for errors outside execution, only has the process logger).
 */
export function useMaskExecutionErrors(): Plugin {
  const unexpected = (error: GraphQLError) => error.originalError && !isGraphQLError(error.originalError);
  return {
    onExecute: ({ args }) => ({
      onExecuteDone: ({ result, setResult }) => {
        if (!('errors' in result) || !result.errors?.some(unexpected)) return;
        const { log } = args.contextValue as unknown as Context;
        setResult({ ...result, errors: result.errors.map((error) => maskError(error, log) as GraphQLError) });
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
