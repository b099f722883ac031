import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import { QUERY_LIMITS } from '../src/http/query-limits.js';
import { graphqlRuntime } from '../src/infra/graphql-runtime.js';
import { schema } from '../src/schema/index.js';
import { isConnectionEdges, returnsList } from '../src/schema/cost.js';
import { codes, useTestApp } from './helpers/app.js';

const t = useTestApp();

/** `{ __type(name: "User") { fields { type { ofType { … { name } } } } } }`, `depth` levels deep. */
function nestedTypeQuery(depth: number): string {
  const levels = Math.max(depth - 4, 0);
  return `{ __type(name: "User") { fields { type { ${'ofType { '.repeat(levels)}name${' }'.repeat(levels)} } } } }`;
}

describe('query limits', () => {
  it('accepts the introspection query GraphiQL sends and the deepest query of the contract', async () => {
    const introspection = await t.gql(getIntrospectionQuery());
    expect(introspection.errors).toBeUndefined();
    const user = await t.registerUser();
    const deep = await t.gql(
      `{ strategies(first: 1) { edges { node { owner { name } } } } }`,
      undefined,
      user.accessToken,
    );
    expect(deep.errors).toBeUndefined();
  });

  it(`refuses more than ${QUERY_LIMITS.maxAliases} aliases with QUERY_TOO_COMPLEX`, async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    expect((await t.gql(aliases(QUERY_LIMITS.maxAliases))).errors).toBeUndefined();
    expect(codes(await t.gql(aliases(QUERY_LIMITS.maxAliases + 1)))).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it(`refuses documents of more than ${QUERY_LIMITS.maxTokens} tokens before parsing them fully`, async () => {
    const result = await t.gql(`{ ${'me { id } '.repeat(QUERY_LIMITS.maxTokens / 4)} }`);
    expect(codes(result)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it(`refuses selections deeper than ${QUERY_LIMITS.maxDepth}`, async () => {
    expect((await t.gql(nestedTypeQuery(QUERY_LIMITS.maxDepth))).errors).toBeUndefined();
    expect(codes(await t.gql(nestedTypeQuery(QUERY_LIMITS.maxDepth + 1)))).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('weighs list fields by their page size: three full pages pass, ten in one operation are refused', async () => {
    const user = await t.registerUser();
    const page = (alias: string) => `${alias}: strategies(first: 100) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id name description asset params createdAt updatedAt
        owner { id email name role createdAt provisioningStatus } } }
    }`;
    const aliases = (n: number) => Array.from({ length: n }, (_, i) => page(`p${i}`)).join(' ');
    expect((await t.gql(`{ ${aliases(3)} }`, undefined, user.accessToken)).errors).toBeUndefined();
    const many = await t.gql(`{ ${aliases(10)} }`, undefined, user.accessToken);
    expect(codes(many)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(many.data ?? null).toBeNull();
  });

  it('counts list sizes given in variables as literals, and the defaults when none is given', async () => {
    const user = await t.registerUser();
    const review = `query Review($n: Int) { ${Array.from(
      { length: 10 },
      (_, i) => `a${i}: strategies(first: $n) { edges { node { owner { accounts {
        transactions(first: $n) { edges { node { id amount status } } } } } } } }`,
    ).join(' ')} }`;
    const literal = review.replace('($n: Int)', '').replaceAll('$n', '100');
    expect(codes(await t.gql(literal, undefined, user.accessToken))).toEqual(['QUERY_TOO_COMPLEX']);
    const byVariable = await t.gql(review, { n: 100 }, user.accessToken);
    expect(codes(byVariable)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(byVariable.errors?.[0]?.message).toMatch(/costs [\d,]+, more than the limit of 20,000/);
    // The same document with a small page is cheap: its cost is the variables', not the document's.
    expect((await t.gql(review, { n: 2 }, user.accessToken)).errors).toBeUndefined();
    // An argument that fails its own validation does not make the rest of the operation free.
    const withInvalid = literal.replace('{ a0:', `{ bad: teams(first: 1, filter: { search: "${'x'.repeat(101)}" }) { totalCount } a0:`);
    expect(withInvalid).toContain('bad: teams');
    expect(codes(await t.gql(withInvalid, undefined, user.accessToken))).toEqual(['QUERY_TOO_COMPLEX']);
    // Without `first`, a connection counts its default page (20), not one item.
    const defaults = `{ ${Array.from({ length: 15 }, (_, i) => `a${i}: strategies { edges { node { owner {
      accounts { transactions { edges { node { id amount status } } } } } } } }`).join(' ')} }`;
    expect(codes(await t.gql(defaults, undefined, user.accessToken))).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('has no list of objects without a bound: each takes `first`, is a connection’s edges or declares its cap', () => {
    const { getNamedType, isLeafType, isObjectType } = graphqlRuntime;
    const unbounded: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        if (!returnsList(field.type) || isLeafType(getNamedType(field.type))) continue;
        const declared = typeof field.extensions.complexity === 'object';
        const paged = field.args.some((arg) => arg.name === 'first');
        if (!declared && !paged && !isConnectionEdges(field as never)) unbounded.push(`${type.name}.${field.name}`);
      }
    }
    expect(unbounded).toEqual([]);
  });

  it('counts refusals in graphql_errors_total under QUERY_TOO_COMPLEX', async () => {
    await t.gql(`{ ${Array.from({ length: 20 }, (_, i) => `a${i}: me { id }`).join(' ')} }`);
    const metrics = await t.app.fastify.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/graphql_errors_total\{code="QUERY_TOO_COMPLEX"\} [1-9]/);
  });
});
