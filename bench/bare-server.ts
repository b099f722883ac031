/**
 * The ceiling: a bare Fastify route answering POST /graphql with exactly the
 * JSON the API returns for `{ __typename }` (no logger, default JSON body
 * parser). Listens on 127.0.0.1 and prints `listening <port>` once ready.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const body = { data: { __typename: 'Query' } };

app.post('/graphql', async () => body);

const port = Number(process.env.PORT ?? 0);
const address = await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`listening ${new URL(address).port}\n`);

const close = () => {
  void app.close().then(() => process.exit(0));
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
