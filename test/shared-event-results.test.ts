import type { GraphQLNamedType } from 'graphql';
import { createSchema, createYoga, Repeater } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { SHARED_EVENT_FIELDS } from '../src/http/app.js';
import { graphqlRuntime } from '../src/infra/graphql-runtime.js';
import { selectsScopedField, useSharedEventResults } from '../src/http/live-subscriptions.js';
import { schema as appSchema } from '../src/schema/index.js';

/**
 * useSharedEventResults on a schema of its own, through Yoga's real envelop:
 * a listed subscription field is executed once per event for all its
 * subscribers; any other field once per subscriber.
 */

type Event = { id: string };

function setup() {
  const listeners = new Set<(event: Event) => void>();
  const executions = { shared: 0, personal: 0 };
  const source = () =>
    new Repeater<Event>(async (push, stop) => {
      listeners.add((event) => void push(event));
      await stop;
    });
  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      type Query { ok: Boolean }
      type Item { id: ID! executions: Int! }
      type Subscription { shared: Item! personal: Item! }
    `,
    resolvers: {
      Subscription: {
        shared: { subscribe: source, resolve: (event: Event) => ({ ...event, field: 'shared' }) },
        personal: { subscribe: source, resolve: (event: Event) => ({ ...event, field: 'personal' }) },
      },
      Item: {
        executions: (item: { field: 'shared' | 'personal' }) => (executions[item.field] += 1),
      },
    },
  });
  const yoga = createYoga({ schema, plugins: [useSharedEventResults(['shared'])] });
  const subscribe = async (query: string) => {
    const { parse, validate, contextFactory, subscribe: run, schema: envelopedSchema } = yoga.getEnveloped({});
    const document = parse(query);
    expect(validate(envelopedSchema, document)).toEqual([]);
    const stream = (await run({ schema: envelopedSchema, document, contextValue: await contextFactory() })) as AsyncIterableIterator<{
      data: Record<string, { id: string; executions: number }>;
    }>;
    // Pulling starts the source.
    const first = stream.next();
    return { stream, first };
  };
  const publish = async (event: Event) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (const listener of listeners) listener(event);
  };
  return { subscribe, publish, executions, listeners };
}

describe('useSharedEventResults', () => {
  it('executes a listed field once per event for every subscriber, others once per subscriber', async () => {
    const { subscribe, publish, executions, listeners } = setup();
    const shared = await Promise.all([1, 2, 3].map(() => subscribe('subscription { shared { id executions } }')));
    const personal = await Promise.all([1, 2, 3].map(() => subscribe('subscription { personal { id executions } }')));
    await expect.poll(() => listeners.size).toBe(6);

    await publish({ id: 'a' });
    const firsts = await Promise.all(shared.map(({ first }) => first));
    expect(firsts.map((r) => r.value.data.shared)).toEqual([1, 2, 3].map(() => ({ id: 'a', executions: 1 })));
    expect(executions.shared).toBe(1);
    const personalFirsts = await Promise.all(personal.map(({ first }) => first));
    expect(personalFirsts.map((r) => r.value.data.personal.executions).sort()).toEqual([1, 2, 3]);
    expect(executions.personal).toBe(3);

    // A new event object is executed anew, once.
    const seconds = shared.map(({ stream }) => stream.next());
    await publish({ id: 'b' });
    expect((await Promise.all(seconds)).map((r) => r.value.data.shared)).toEqual([1, 2, 3].map(() => ({ id: 'b', executions: 2 })));
    expect(executions.shared).toBe(2);

    // Different documents do not share.
    const other = await subscribe('subscription { shared { executions } }');
    const thirds = shared.map(({ stream }) => stream.next());
    await publish({ id: 'c' });
    const alone = (await other.first).value.data.shared.executions;
    const together = (await Promise.all(thirds)).map((r) => r.value.data.shared.executions);
    expect(new Set(together).size).toBe(1);
    expect([alone, together[0]].sort()).toEqual([3, 4]);
    expect(executions.shared).toBe(4);

    for (const { stream } of [...shared, ...personal, other]) await stream.return?.();
  });
});

// The schema is built with the graphql the libraries use (see graphqlRuntime).
const { getNamedType, isObjectType } = graphqlRuntime;

/** Fields under `type` (followed through object types) that an auth scope guards: their value depends on the viewer. */
function scopedFieldsUnder(type: GraphQLNamedType, seen = new Set<string>()): string[] {
  if (!isObjectType(type) || seen.has(type.name)) return [];
  seen.add(type.name);
  const typeScoped = (type.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions?.authScopes;
  const found = typeScoped ? [type.name] : [];
  for (const field of Object.values(type.getFields())) {
    const options = (field.extensions as { pothosOptions?: { authScopes?: unknown; grantScopes?: unknown } }).pothosOptions;
    if (options?.authScopes || options?.grantScopes) found.push(`${type.name}.${field.name}`);
    found.push(...scopedFieldsUnder(getNamedType(field.type), seen));
  }
  return found;
}

describe('the fields the app shares results of', () => {
  const subscription = appSchema.getSubscriptionType()!.getFields();
  const scoped = (query: string) => selectsScopedField(appSchema, graphqlRuntime.parse(query));

  it('exist, and stockChanged has nothing beneath it that depends on the viewer', () => {
    for (const name of SHARED_EVENT_FIELDS) expect(subscription[name], name).toBeDefined();
    expect(scopedFieldsUnder(getNamedType(subscription.stockChanged!.type))).toEqual([]);
  });

  it('a document selecting a field that depends on the viewer is executed per subscriber, any other is shared', () => {
    expect(scoped('subscription { stockChanged(itemId: "i") { id stock } }')).toBe(false);
    expect(scoped('subscription { leaderboardUpdated(quizId: "q") { final entries { rank points team { name } } } }')).toBe(false);
    expect(scoped('subscription { leaderboardUpdated(quizId: "q") { quiz { myEntry { rank } } } }')).toBe(true);
    expect(scoped('subscription { leaderboardUpdated(quizId: "q") { entries { team { joinRequests { id } } } } }')).toBe(true);
    expect(scoped('subscription { leaderboardUpdated(quizId: "q") { entries { team { owner { email } } } } }')).toBe(true);
    // Through a fragment too.
    expect(
      scoped('subscription { leaderboardUpdated(quizId: "q") { quiz { ...Q } } } fragment Q on Quiz { myEntry { rank } }'),
    ).toBe(true);
  });

  it('(the check finds scoped fields where there are some)', () => {
    expect(scopedFieldsUnder(getNamedType(subscription.transactionUpdated!.type))).toContain('LedgerAccount.balance');
    expect(scopedFieldsUnder(getNamedType(subscription.leaderboardUpdated!.type))).toContain('Quiz.myEntry');
  });
});
