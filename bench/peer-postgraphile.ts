/**
 * A peer of the `peers` scenario: PostGraphile 5 with the amber preset over
 * the same database (schema `public`), served by grafserv on node:http at
 * POST /graphql. No auth: the bench asks for one owner's strategies with a
 * `condition`. Pool of 10 connections, as Switchyard's default. Node 20 needs
 * bench/promise-with-resolvers.ts preloaded. Prints `listening <port>` once
 * ready; with `--print-schema`, prints the schema's SDL and exits instead.
 *
 * Environment: DATABASE_URL (required), PORT (0: any free port).
 */
import { createServer } from 'node:http';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { printSchema } from 'postgraphile/graphql';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';

const connectionString = process.env.DATABASE_URL;
if (!connectionString) throw new Error('DATABASE_URL is required');

const pgl = postgraphile({
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString, schemas: ['public'], poolConfig: { max: 10 } })],
  grafserv: { graphqlPath: '/graphql', websockets: false, watch: false, graphiql: false },
  grafast: { explain: false },
});

if (process.argv.includes('--print-schema')) {
  process.stdout.write(`${printSchema(await pgl.getSchema())}\n`);
  await pgl.release();
  process.exit(0);
}

const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 60_000;
await serv.addTo(server);
await serv.ready();
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : ''}\n`);
});

const close = () => {
  server.close();
  server.closeAllConnections();
  void Promise.resolve(serv.release())
    .then(() => pgl.release())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
