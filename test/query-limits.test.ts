import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import { QUERY_LIMITS } from '../src/http/query-limits.js';
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

  it('weighs list fields by their page size: one full page passes, several in one operation are refused', async () => {
    const user = await t.registerUser();
    const page = (alias: string) => `${alias}: strategies(first: 100) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id name description asset params createdAt updatedAt
        owner { id email name role createdAt provisioningStatus } } }
    }`;
    expect((await t.gql(`{ ${page('one')} }`, undefined, user.accessToken)).errors).toBeUndefined();
    const many = await t.gql(`{ ${['a', 'b', 'c'].map(page).join(' ')} }`, undefined, user.accessToken);
    expect(codes(many)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('counts refusals in graphql_errors_total under QUERY_TOO_COMPLEX', async () => {
    await t.gql(`{ ${Array.from({ length: 20 }, (_, i) => `a${i}: me { id }`).join(' ')} }`);
    const metrics = await t.app.fastify.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/graphql_errors_total\{code="QUERY_TOO_COMPLEX"\} [1-9]/);
  });
});
