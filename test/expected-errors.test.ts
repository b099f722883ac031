import { describe, expect, it } from 'vitest';
import { AppError } from '../src/core/errors.js';
import { graphqlRuntime } from '../src/infra/graphql-runtime.js';
import { schema } from '../src/schema/index.js';

/**
 * Expected errors of root fields are located where they are thrown, with no
 * stack (src/schema/expected-errors.ts); the answer a client gets is the one
 * graphql would give. The refusals need no database: the scopes of these
 * fields refuse an anonymous caller before any resolver body runs.
 */
const anonymous = { viewer: null, authError: null };

function run(source: string) {
  return graphqlRuntime.execute({ schema, document: graphqlRuntime.parse(source), contextValue: anonymous }) as Promise<{
    data?: unknown;
    errors?: ReadonlyArray<Error & { path?: unknown; locations?: unknown; originalError?: unknown; toJSON(): unknown }>;
  }>;
}

describe('an AppError thrown by a root field', () => {
  it('is answered at its field, as graphql would place it', async () => {
    const result = await run('mutation {\n  purchase(input: { itemId: "i", accountId: "a", idempotencyKey: "key-12345" }) { id }\n}');
    expect(result.data).toBeNull();
    expect(result.errors?.map((error) => error.toJSON())).toEqual([
      {
        message: 'Authentication required.',
        locations: [{ line: 2, column: 3 }],
        path: ['purchase'],
        extensions: { code: 'UNAUTHENTICATED' },
      },
    ]);
  });

  it('keeps its AppError as the original error, and no stack is captured or formatted for it', async () => {
    // graphql's own located copy would capture the resolver's frames and have V8 format them.
    const formattedFrames: number[] = [];
    const prepare = Error.prepareStackTrace;
    Error.prepareStackTrace = (error, frames) => {
      formattedFrames.push(frames.length);
      return prepare ? prepare(error, frames) : String(error);
    };
    let result: Awaited<ReturnType<typeof run>>;
    try {
      result = await run('{ users { totalCount } }');
    } finally {
      Error.prepareStackTrace = prepare;
    }
    const [error] = result.errors ?? [];
    expect(error?.originalError).toBeInstanceOf(AppError);
    expect(error?.stack).not.toMatch(/\n\s+at /);
    expect(formattedFrames.filter((count) => count > 0)).toEqual([]);
  });

  it('places one AppError thrown by two fields at each of them', async () => {
    // A refused token is one AppError in the context, thrown by every field that needs a viewer.
    const authError = new AppError('UNAUTHENTICATED', 'Access token expired.');
    const result = (await graphqlRuntime.execute({
      schema,
      document: graphqlRuntime.parse('{ a: order(id: "x") { id } b: order(id: "y") { id } }'),
      contextValue: { viewer: null, authError },
    })) as { data?: unknown; errors?: ReadonlyArray<{ path?: unknown; message: string }> };
    expect(result.data).toEqual({ a: null, b: null });
    expect(result.errors?.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: ['a'], message: 'Access token expired.' },
      { path: ['b'], message: 'Access token expired.' },
    ]);
  });
});

describe('the stack trace limit', () => {
  it('is restored after those errors: other errors keep their stacks', async () => {
    await run('{ users { totalCount } }');
    const thrown = new Error('boom');
    expect(thrown.stack).toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBeGreaterThan(0);
  });
});
