import { queryFromInfo } from '@pothos/plugin-prisma';
import type { OutputType, SchemaTypes } from '@pothos/core';
import { type FieldNode, type GraphQLResolveInfo, Kind, type SelectionSetNode } from 'graphql';
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

/**
 * The fields an operation asks of each node of a connection, by name, and of
 * the node's to-one relations named in `relations`: what a page read on the
 * pool selects (services map names to columns, and read every column for a
 * name they do not know). Fragments count; `@skip`/`@include` are ignored, so
 * a skipped field is read but not returned.
 */
export interface NodeSelection {
  fields: ReadonlySet<string>;
  relations: Readonly<Record<string, ReadonlySet<string>>>;
}

export function nodeSelection(info: GraphQLResolveInfo, relations: readonly string[] = []): NodeSelection {
  const nodes = subfields(info, info.fieldNodes, 'edges').flatMap((edges) => subfields(info, [edges], 'node'));
  const fields = new Set<string>();
  const nested: Record<string, Set<string>> = Object.fromEntries(relations.map((name) => [name, new Set<string>()]));
  for (const node of nodes) {
    for (const field of selectedFields(info, node.selectionSet)) {
      const name = field.name.value;
      fields.add(name);
      const relation = nested[name];
      if (relation) for (const inner of selectedFields(info, field.selectionSet)) relation.add(inner.name.value);
    }
  }
  return { fields, relations: nested };
}

/**
 * The names of the fields an operation asks at `path` below the field being
 * resolved (`[]`: of the field itself; fragments count, aliases do not matter).
 */
export function fieldNamesAt(info: GraphQLResolveInfo, path: readonly string[]): ReadonlySet<string> {
  let nodes: readonly FieldNode[] = info.fieldNodes;
  for (const name of path) nodes = subfields(info, nodes, name);
  return new Set(nodes.flatMap((node) => selectedFields(info, node.selectionSet)).map((field) => field.name.value));
}

function subfields(info: GraphQLResolveInfo, parents: readonly FieldNode[], name: string): FieldNode[] {
  return parents.flatMap((parent) => selectedFields(info, parent.selectionSet).filter((f) => f.name.value === name));
}

function selectedFields(info: GraphQLResolveInfo, selectionSet: SelectionSetNode | undefined): FieldNode[] {
  if (!selectionSet) return [];
  return selectionSet.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) return [selection];
    if (selection.kind === Kind.INLINE_FRAGMENT) return selectedFields(info, selection.selectionSet);
    return selectedFields(info, info.fragments[selection.name.value]?.selectionSet);
  });
}
