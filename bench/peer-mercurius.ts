/**
 * A peer of the `peers` scenario: Mercurius on Fastify with graphql-jit
 * (`jit: 1`, every operation compiled after its first run) and hand-written
 * resolvers over `pg`. Its schema has the shape of Switchyard's for the
 * benchmarked query, so the operation text is the same; the owner comes from
 * the `x-owner-id` header (no auth). Exactly two statements per request
 * (peer-sql.ts): the page (joined with users for `owner { name }`) and the
 * count. No logger.
 *
 * Environment: DATABASE_URL (required), PORT (0: any free port).
 */
import Fastify from 'fastify';
import mercurius, { type IResolvers } from 'mercurius';
import { announce, createPool, ownerOf, type StrategyRow, strategyCount, strategyPage } from './peer-sql.js';

const schema = /* GraphQL */ `
  scalar JSON

  type User {
    name: String!
  }

  type Strategy {
    id: ID!
    name: String!
    asset: String!
    params: JSON!
    owner: User!
  }

  type StrategyEdge {
    node: Strategy!
  }

  type StrategyConnection {
    edges: [StrategyEdge!]!
    totalCount: Int!
  }

  type Query {
    strategies(first: Int = 20): StrategyConnection!
  }
`;

interface Connection {
  ownerId: string;
  first: number;
}

const pool = createPool();

const resolvers: IResolvers = {
  Query: {
    strategies: (_root, args: { first: number }, context): Connection => ({
      ownerId: (context as unknown as { ownerId: string }).ownerId,
      first: Math.min(Math.max(args.first, 1), 100),
    }),
  },
  StrategyConnection: {
    edges: async (connection: Connection) =>
      (await strategyPage(pool, connection.ownerId, connection.first)).map((node) => ({ node })),
    totalCount: (connection: Connection) => strategyCount(pool, connection.ownerId),
  },
  Strategy: {
    owner: (row: StrategyRow) => ({ name: row.owner_name }),
  },
};

const app = Fastify({ logger: false });
await app.register(mercurius, {
  schema,
  resolvers,
  jit: 1,
  graphiql: false,
  context: (request) => ({ ownerId: ownerOf(request.headers) }),
});

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
announce(Number(new URL(address).port), async () => {
  await app.close();
  await pool.end();
});
