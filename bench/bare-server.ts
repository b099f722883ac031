/**
 * The ceilings: a bare Fastify process (no logger, default JSON body parser)
 * listening on 127.0.0.1, printing `listening <port>` once ready.
 *
 * - `POST /graphql` answers exactly the JSON the API returns for `{ __typename }`.
 * - With DATABASE_URL set, `POST /me` does the one-row read of the API's
 *   `{ me { id email } }` (`SELECT id, email FROM users WHERE id = $1`, on a
 *   pg pool of 10 as Switchyard's default) for the `x-user-id` header's user,
 *   and answers the same JSON: no JWT, no GraphQL, no Prisma.
 */
import Fastify from 'fastify';
import pg from 'pg';
import { listenUntilSignalled } from './bare-listen.js';

const app = Fastify({ logger: false });
const body = { data: { __typename: 'Query' } };

app.post('/graphql', async () => body);

const databaseUrl = process.env.DATABASE_URL;
const pool = databaseUrl ? new pg.Pool({ connectionString: databaseUrl, max: 10 }) : undefined;
if (pool) {
  app.post('/me', async (request, reply) => {
    const id = request.headers['x-user-id'];
    if (typeof id !== 'string') return reply.code(400).send({ error: 'x-user-id header required' });
    const { rows } = await pool.query<{ id: string; email: string }>({
      name: 'bare_me',
      text: 'SELECT id, email FROM users WHERE id = $1',
      values: [id],
    });
    return { data: { me: rows[0] ?? null } };
  });
}

await listenUntilSignalled(app, pool);
