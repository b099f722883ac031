import { MapperKind, mapSchema } from '@graphql-tools/utils';
import type { ExecutionArgs, GraphQLSchema } from 'graphql';
import { rateLimitDirective } from 'graphql-rate-limit-directive';
import type { Plugin } from 'graphql-yoga';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import type { Context } from '../core/context.js';
import { rateLimited } from '../core/errors.js';
import { type RateLimitStore, takePoint } from '../infra/rate-limit-store.js';
import {
  type FieldRateLimitName,
  RATE_LIMIT_DIRECTIVE,
  RATE_LIMIT_NAME_EXTENSION,
} from '../schema/rate-limits.js';
import type { RefusalHold } from './refusal-hold.js';

/** Who a limit counts: the signed-in user, else the client's IP. */
const clientKey = (context: Pick<Context, 'viewer' | 'clientIp'>): string =>
  context.viewer ? `user:${context.viewer.id}` : `ip:${context.clientIp}`;

/**
 * The schema with its `@rateLimit` fields limited (graphql-rate-limit-directive):
 * each field's arguments become the configured limit its annotation names
 * (schema/rate-limits.ts), and its resolver first takes one point from the
 * store's counter of the client and the field's coordinate. With RATE_LIMITS=off,
 * the schema as it is.
 *
 * The directive wraps `resolve`, which for a subscription field runs per
 * event: so a subscription field may not carry it (subscriptions are counted
 * once, when subscribed, by the operation budgets and the cap per user).
 */
export function rateLimitedSchema(schema: GraphQLSchema, config: Config, store: RateLimitStore): GraphQLSchema {
  if (!config.rateLimitsEnabled) return schema;
  const subscriptionType = schema.getSubscriptionType()?.name;
  const configured = mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig, fieldName, typeName) => {
      const name = fieldConfig.extensions?.[RATE_LIMIT_NAME_EXTENSION] as FieldRateLimitName | undefined;
      if (name === undefined) return fieldConfig;
      if (typeName === subscriptionType) {
        throw new Error(`${typeName}.${fieldName}: @${RATE_LIMIT_DIRECTIVE} would count every event, not the subscription`);
      }
      const directives = {
        ...(fieldConfig.extensions?.directives as Record<string, unknown> | undefined),
        [RATE_LIMIT_DIRECTIVE]: { ...config.rateLimits[name] },
      };
      return { ...fieldConfig, extensions: { ...fieldConfig.extensions, directives } };
    },
  });
  const { rateLimitDirectiveTransformer } = rateLimitDirective<Context>({
    name: RATE_LIMIT_DIRECTIVE,
    keyGenerator: (_directive, _source, _args, context, info) =>
      `${clientKey(context)}:${info.parentType.name}.${info.fieldName}`,
    onLimit: (response) => {
      throw rateLimited(response.msBeforeNext);
    },
    limiterClass: store.limiterClass,
    limiterOptions: { keyPrefix: 'field' },
  });
  return rateLimitDirectiveTransformer(configured);
}

export interface OperationBudgets {
  anonymous: RateLimiterAbstract;
  user: RateLimiterAbstract;
}

/**
 * The budgets of the whole API: every operation — a query, a mutation, a
 * subscription when it is subscribed (never per event) — takes a point from
 * the signed-in user's budget, or the client IP's when anonymous, before it
 * runs. Past it, RATE_LIMITED with retryAfter, and nothing runs. An HTTP
 * request without an Authorization header took its point already, before
 * GraphQL (anonymousHttpRefusal); `countedAlready` says which.
 */
export function useOperationBudgets(budgets: OperationBudgets, countedAlready: (context: Context) => boolean): Plugin {
  const refusal = async (args: ExecutionArgs) => {
    const context = args.contextValue as Context;
    if (countedAlready(context)) return null;
    const msBeforeNext = await takePoint(context.viewer ? budgets.user : budgets.anonymous, clientKey(context));
    return msBeforeNext === null ? null : { errors: [rateLimited(msBeforeNext, 'Too many operations')] };
  };
  return {
    onExecute: async ({ args, setResultAndStopExecution }) => {
      const refused = await refusal(args);
      if (refused) setResultAndStopExecution(refused);
    },
    onSubscribe: async ({ args, setResultAndStopExecution }) => {
      const refused = await refusal(args);
      if (refused) setResultAndStopExecution(refused);
    },
  };
}

/**
 * The anonymous budget of an HTTP request that carries no Authorization
 * header, taken before anything of GraphQL runs: a flood from one address,
 * once past its budget, is refused from memory (the store's limiter blocks a
 * spent key for the rest of its window) for the cost of reading its address.
 * The answer when refused, as the GraphQL error every other refusal is; null
 * when admitted.
 */
export async function anonymousHttpRefusal(
  budgets: OperationBudgets,
  clientIp: string,
  hold?: { refusals: RefusalHold; response: Parameters<RefusalHold['hold']>[1] },
): Promise<RateLimitedAnswer | null> {
  // The key the operation budgets use for an anonymous client: one count, whichever took the point.
  const key = clientKey({ viewer: null, clientIp });
  const msBeforeNext = await takePoint(budgets.anonymous, key);
  if (msBeforeNext === null) return null;
  // A client that keeps sending past its Retry-After waits for its refusals (refusal-hold.ts).
  const delay = hold ? hold.refusals.delayFor(key, msBeforeNext) : 0;
  if (delay > 0) await hold!.refusals.hold(delay, hold!.response);
  return refusalAnswer(msBeforeNext - delay);
}

// The refusal's body by its retryAfter: what rateLimited() serializes to, built once per second of wait, since
// under a flood most requests get one and building a GraphQLError for each was a fifth of the API's CPU.
const answers = new Map<number, RateLimitedAnswer>();

function refusalAnswer(msBeforeNext: number): RateLimitedAnswer {
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  let answer = answers.get(retryAfter);
  if (!answer) {
    const error = rateLimited(msBeforeNext, 'Too many operations');
    answer = { retryAfter, body: JSON.stringify({ errors: [error.toJSON()] }) };
    answers.set(retryAfter, answer);
  }
  return answer;
}

export interface RateLimitedAnswer {
  retryAfter: number;
  body: string;
}
