import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Limits on the shape of an operation, checked before anything executes. The
 * numbers leave room for every legitimate operation of the contract (the
 * deepest, strategies → edges → node → owner → field, is 5) and for GraphiQL's
 * introspection, while a query built to exhaust the server is refused cheaply.
 */
export const QUERY_LIMITS = {
  maxDepth: 10,
  maxAliases: 15,
  maxDirectives: 50,
  maxTokens: 2_000,
  // The cost multiplies a list's selection by its `first`: one full page of 100
  // strategies with every field costs about 8,600; three such pages are refused.
  maxCost: 20_000,
} as const;

// Rejections are relabelled so clients see the contract's code (docs/contract.md, §3 "Error codes").
const markTooComplex = (_context: unknown, error: GraphQLError) => {
  (error.extensions as Record<string, unknown>).code = 'QUERY_TOO_COMPLEX';
};
const callbacks = { onReject: [markTooComplex], propagateOnRejection: true };

export function queryLimitPlugins(): Plugin[] {
  return [
    maxTokensPlugin({ n: QUERY_LIMITS.maxTokens, ...callbacks }),
    maxDepthPlugin({ n: QUERY_LIMITS.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...callbacks }),
    maxAliasesPlugin({ n: QUERY_LIMITS.maxAliases, ...callbacks }),
    maxDirectivesPlugin({ n: QUERY_LIMITS.maxDirectives, ...callbacks }),
    costLimitPlugin({ maxCost: QUERY_LIMITS.maxCost, ignoreIntrospection: true, ...callbacks }),
  ] as Plugin[];
}
