/**
 * What a driver's HTTP client costs: the drivers share the machine's cores with
 * the server under test, so every microsecond of client CPU per request is one
 * the server does not get. Compares node:http (postGraphQL on a keep-alive
 * agent, the ledger driver's client) with KeepAliveConnection (the flash-sale
 * driver's) on the flash sale's traffic shape: 1,000 connections, a purchase
 * body and a SOLD_OUT answer, from a stub server in another process.
 *
 *   npx tsx bench/driver-clients.ts [rounds]
 *
 * Prints the client's CPU per request, each client's median over the rounds,
 * both clients alternating in one run.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { freePort } from '../test/harness/ports.js';
import { machineSummary, median, table } from './lib.js';
import { KeepAliveConnection, postGraphQL } from './system.js';

const CONNECTIONS = 1000;
const REQUESTS_PER_CONNECTION = 10;
const TOKEN = 'x'.repeat(220);
const REQUEST_BODY = JSON.stringify({
  query: 'mutation Purchase($input: PurchaseInput!) { purchase(input: $input) { id status quantity } }',
  variables: { input: { itemId: 'c'.repeat(25), quantity: 1, accountId: 'a'.repeat(25), idempotencyKey: 'sale-1-123-4' } },
});
const RESPONSE_BODY = JSON.stringify({
  errors: [{ message: 'Not enough stock.', locations: [{ line: 1, column: 42 }], path: ['purchase'], extensions: { code: 'SOLD_OUT' } }],
  data: null,
});

type Post = () => Promise<{ status: number; text: string }>;

const CLIENTS: Record<string, (url: URL) => { posts: Post[]; close(): void }> = {
  'node:http agent': (url) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const post: Post = () => postGraphQL(agent, url, TOKEN, REQUEST_BODY);
    return { posts: Array.from({ length: CONNECTIONS }, () => post), close: () => agent.destroy() };
  },
  KeepAliveConnection: (url) => {
    const connections = Array.from({ length: CONNECTIONS }, () => new KeepAliveConnection(url, TOKEN));
    return {
      posts: connections.map((connection) => () => connection.post(REQUEST_BODY)),
      close: () => connections.forEach((connection) => connection.close()),
    };
  },
};

/** Client CPU (µs) per request for one pass of every connection. */
async function measure(name: string, url: URL): Promise<number> {
  const client = CLIENTS[name]!(url);
  const before = process.cpuUsage();
  await Promise.all(
    client.posts.map(async (post) => {
      for (let n = 0; n < REQUESTS_PER_CONNECTION; n++) {
        const { status, text } = await post();
        if (status !== 200 || (JSON.parse(text) as { data: unknown }).data !== null) throw new Error(`${name}: unexpected answer`);
      }
    }),
  );
  const cpu = process.cpuUsage(before);
  client.close();
  return (cpu.user + cpu.system) / (CONNECTIONS * REQUESTS_PER_CONNECTION);
}

function serve(port: number): void {
  http
    .createServer((request, response) => {
      request.resume().on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(RESPONSE_BODY) });
        response.end(RESPONSE_BODY);
      });
    })
    .listen(port, '127.0.0.1', () => process.send?.('listening'));
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const port = await freePort();
  const server = fork(process.argv[1]!, ['--serve', String(port)], { execArgv: process.execArgv });
  try {
    await new Promise((resolve, reject) => server.once('message', resolve).once('exit', reject));
    const url = new URL(`http://127.0.0.1:${port}/graphql`);
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(CLIENTS).map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const name of Object.keys(CLIENTS)) samples[name]!.push(await measure(name, url));
    }
    const machine = machineSummary();
    process.stdout.write(
      `driver clients — ${CONNECTIONS} connections × ${REQUESTS_PER_CONNECTION} requests, ${rounds} rounds, ` +
        `${machine.cpus} × ${machine.cpuModel}, node ${machine.node}\n` +
        table([
          ['client', 'median µs CPU/request', 'rounds'],
          ...Object.entries(samples).map(([name, values]) => [name, median(values).toFixed(0), values.map((v) => v.toFixed(0)).join(' ')]),
        ]) +
        '\n',
    );
  } finally {
    server.kill();
  }
}

if (process.argv[2] === '--serve') serve(Number(process.argv[3]));
else
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
