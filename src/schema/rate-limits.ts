import { rateLimitDirective } from 'graphql-rate-limit-directive';
import { DEFAULT_RATE_LIMITS, type RateLimitName } from '../config.js';
import { graphqlRuntime } from '../infra/graphql-runtime.js';

/** The directive's name in the schema, and the key of its arguments in a field's directive extensions. */
export const RATE_LIMIT_DIRECTIVE = 'rateLimit';

/** The field extension that names which configured limit (config.rateLimits) a rate-limited field has. */
export const RATE_LIMIT_NAME_EXTENSION = 'rateLimitName';

/** The limits a field can be given with `@rateLimit`; the others are checked per operation or per login. */
export type FieldRateLimitName = Extract<RateLimitName, 'login' | 'register' | 'refreshToken' | 'mutation'>;

/**
 * The options that put `@rateLimit` on a field, with the default of `name` as
 * its arguments (what schema.graphql shows): a running app replaces them with
 * the configured limit (http/rate-limits.ts) before the directive wraps the field.
 */
export const rateLimited = (name: FieldRateLimitName) =>
  ({
    directives: { [RATE_LIMIT_DIRECTIVE]: { ...DEFAULT_RATE_LIMITS[name] } },
    extensions: { [RATE_LIMIT_NAME_EXTENSION]: name },
  }) as const;

/** graphql-rate-limit-directive's own definition of `@rateLimit(limit, duration)`, built with the libraries' graphql. */
export const rateLimitDirectiveDefinition = graphqlRuntime
  .buildSchema(rateLimitDirective({ name: RATE_LIMIT_DIRECTIVE }).rateLimitDirectiveTypeDefs)
  .getDirective(RATE_LIMIT_DIRECTIVE)!;
