/**
 * A peer of the `peers` scenario, its ceiling for this query: a Fastify route
 * (POST /graphql, no GraphQL, no logger) that runs peer-sql.ts's two
 * statements for the `x-owner-id` header's owner and returns the JSON
 * Switchyard returns for `strategies(first: 20) { edges { node { id name
 * asset params owner { name } } } totalCount }`.
 *
 * Environment: DATABASE_URL (required), PORT (0: any free port).
 */
import Fastify from 'fastify';
import { announce, createPool, ownerOf, strategyCount, strategyPage } from './peer-sql.js';

const FIRST = 20;
const pool = createPool();
const app = Fastify({ logger: false });

app.post('/graphql', async (request) => {
  const ownerId = ownerOf(request.headers);
  const [rows, totalCount] = await Promise.all([strategyPage(pool, ownerId, FIRST), strategyCount(pool, ownerId)]);
  return {
    data: {
      strategies: {
        edges: rows.map((row) => ({
          node: { id: row.id, name: row.name, asset: row.asset, params: row.params, owner: { name: row.owner_name } },
        })),
        totalCount,
      },
    },
  };
});

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
announce(Number(new URL(address).port), async () => {
  await app.close();
  await pool.end();
});
