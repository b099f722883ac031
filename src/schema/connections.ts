import { queryFromInfo } from '@pothos/plugin-prisma';
import type { OutputType, SchemaTypes } from '@pothos/core';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../core/context.js';
import { builder } from './builder.js';

type ArgBuilder = Parameters<Parameters<typeof builder.queryFields>[0]>[0]['arg'];
type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T extends SchemaTypes> ? T : never;

/** The `first`/`after` arguments of every connection field (see core/pagination.ts for their rules). */
export function connectionArgs(t: { arg: ArgBuilder }) {
  return {
    first: t.arg.int({ description: 'Page size: 1 to 100, default 20.' }),
    after: t.arg.string({ description: 'The endCursor of the previous page.' }),
  };
}

/**
 * The connection type `name` of `type`, with `totalCount`: a field of this type
 * resolves to the Page that core/pagination.ts's paginate returns.
 */
export function pageConnection<Type extends OutputType<Types>>(name: string, type: Type) {
  return builder.connectionObject({
    type,
    name,
    fields: (t) => ({ totalCount: t.int({ resolve: (connection) => connection.totalCount() }) }),
  });
}

/** The Prisma selection of a connection's nodes, for the service that reads the page. */
export const pageQuery = (context: Context, info: GraphQLResolveInfo) =>
  queryFromInfo({ context, info, path: ['edges', 'node'] });
