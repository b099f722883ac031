import type { FieldComplexityValue } from '@pothos/plugin-complexity';
import type { GraphQLField, GraphQLOutputType } from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../core/pagination.js';
import { graphqlRuntime } from '../infra/graphql-runtime.js';

const { getNamedType, isListType, isNonNullType } = graphqlRuntime;

/**
 * What a field adds to an operation's cost (http/query-limits.ts weighs each
 * operation with its variables in hand): 1, plus its selection's cost times
 * the number of items it can return. That number is `first` for a field that
 * takes one (a literal, a variable or the default; a connection's default page
 * when absent), the declared cap (`complexity: listOf(n)`) for any other list;
 * a connection's edges were counted by the connection. A list that declares
 * nothing counts as a full page (test/query-limits.test.ts refuses such a
 * list of objects in the schema).
 */
/** The one argument a field's cost depends on (http/query-limits.ts caches costs by its values). */
export const SIZE_ARGUMENT = 'first';

export function fieldCost(
  args: Record<string, unknown>,
  _context: unknown,
  field: GraphQLField<unknown, never>,
): FieldComplexityValue {
  if (field.args.some((arg) => arg.name === SIZE_ARGUMENT)) {
    const first = typeof args[SIZE_ARGUMENT] === 'number' ? args[SIZE_ARGUMENT] : DEFAULT_PAGE_SIZE;
    return { field: 1, multiplier: Math.min(Math.max(first, 0), MAX_PAGE_SIZE) };
  }
  if (!returnsList(field.type)) return 1;
  return { field: 1, multiplier: isConnectionEdges(field) ? 1 : MAX_PAGE_SIZE };
}

/** The cost declaration of a list field without `first` that never returns more than `maxItems`. */
export const listOf = (maxItems: number): FieldComplexityValue => ({ field: 1, multiplier: maxItems });

export function returnsList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

export const isConnectionEdges = (field: GraphQLField<unknown, never>): boolean =>
  field.name === 'edges' && getNamedType(field.type).name.endsWith('Edge');
