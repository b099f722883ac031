import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import DirectivesPlugin from '@pothos/plugin-directives';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import type { Context } from '../core/context.js';
import { forbidden, fromZodIssues, unauthenticated } from '../core/errors.js';
import type GeneratedPrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import { isAdmin } from '../core/access.js';
import { fieldCost } from './cost.js';

export interface AuthScopes {
  /** Any signed-in viewer. */
  loggedIn: boolean;
  admin: boolean;
}

/**
 * The client leaves the password hash out of every query but the password
 * check (infra/db.ts), so the schema's users are typed without it.
 */
type PrismaTypes = Omit<GeneratedPrismaTypes, 'User'> & {
  User: Omit<GeneratedPrismaTypes['User'], 'Shape'> & { Shape: Omit<GeneratedPrismaTypes['User']['Shape'], 'passwordHash'> };
};

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: AuthScopes;
  // Every connection is a Page (core/pagination.ts): totalCount is counted only when asked for.
  Connection: { totalCount: () => Promise<number> };
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    BigInt: { Input: bigint; Output: bigint | number | string };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string };
  };
  // graphql-rate-limit-directive's (schema/rate-limits.ts); applied by http/rate-limits.ts.
  Directives: { rateLimit: { locations: 'FIELD_DEFINITION'; args: { limit: number; duration: number } } };
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, ValidationPlugin, ComplexityPlugin, DirectivesPlugin],
  defaultFieldNullability: false,
  prisma: {
    // Each app (and each test database) brings its own client through the context.
    client: (context) => context.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  scopeAuth: {
    authScopes: (context) => ({
      loggedIn: context.viewer !== null,
      admin: isAdmin(context.viewer),
    }),
    // Anonymous callers learn they must sign in; signed-in callers that lack the role are FORBIDDEN.
    // A refused token says why (expired, invalid) rather than just "sign in".
    unauthorizedError: (_parent, context) => (context.viewer ? forbidden() : (context.authError ?? unauthenticated())),
    // A subscription field's scopes are checked once, when it is subscribed (not on every event).
    authorizeOnSubscribe: true,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  validation: {
    validationError: (result) => fromZodIssues(result.issues),
  },
  // Each field's cost goes into its extensions; http/query-limits.ts weighs every operation before it
  // executes, with its variables (the plugin's own check, in the root resolvers, stays off).
  complexity: { fieldComplexity: fieldCost, disabled: true },
  // Keyed by name in the fields' extensions, the form graphql-tools (the directive's transformer, the printer) reads.
  directives: { useGraphQLToolsUnorderedDirectives: true },
});

builder.queryType({});
builder.mutationType({});
// Each module adds its fields with builder.subscriptionField; events come from services.pubsub.
builder.subscriptionType({});
