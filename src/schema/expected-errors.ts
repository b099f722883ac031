import type { GraphQLFieldResolver, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { AppError } from '../core/errors.js';
import { graphqlRuntime } from '../infra/graphql-runtime.js';

/**
 * Places an AppError thrown by a root query or mutation field at its field
 * (path and locations) before graphql does, and without a stack.
 *
 * graphql copies every error a resolver throws into a located GraphQLError;
 * the copy captures a stack of its own, which V8 then formats when graphql
 * overwrites it with the original's (source-mapped under tsx). For expected
 * answers — SOLD_OUT for 49 of 50 purchases in a flash sale — that was about
 * a twentieth of the API's CPU. An error that already has a path is passed on
 * by graphql as it is, so locating it here, stack-free, skips all of that; the
 * response is the same. Other errors, and errors of nested fields, take
 * graphql's road.
 */
export function locateExpectedErrors(schema: GraphQLSchema): GraphQLSchema {
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      if (field.resolve) field.resolve = locatingResolver(field.resolve);
    }
  }
  return schema;
}

function locatingResolver(resolve: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> {
  return (source, args, context, info) => {
    try {
      const result = resolve(source, args, context, info);
      return result instanceof Promise ? result.catch((error: unknown) => rethrowLocated(error, info)) : result;
    } catch (error) {
      return rethrowLocated(error, info);
    }
  };
}

function rethrowLocated(error: unknown, info: GraphQLResolveInfo): never {
  if (!(error instanceof AppError)) throw error;
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    throw graphqlRuntime.locatedError(error, info.fieldNodes, graphqlRuntime.responsePathAsArray(info.path));
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
