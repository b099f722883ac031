/**
 * The flash sale's ceiling: a bare Fastify route (no logger, default JSON body
 * parser) that answers the driver's purchase mutation by calling the SQL
 * function `inventory_purchase` with pg — the one statement of nearly every
 * purchase the API serves — and nothing else: no GraphQL, no JWT verification
 * (the buyer is looked up by its token string in a table handed over at
 * start), no events, no fulfilment job. So API attempts/s over this route's is
 * the share of the machine the API's own work leaves to the purchase.
 *
 * `node --import tsx bench/flash-sale-bare.ts <buyers.json>` with DATABASE_URL
 * and PORT set; prints `listening <port>` once ready. The pool has the size of
 * the API's (createDb's default), so both wait on PostgreSQL alike. Orders it
 * reserves stay RESERVED until the worker's sweeper fulfils them, like any
 * order whose job was never enqueued.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import pg from 'pg';
import { requestHash } from '../src/core/inputs.js';
import { listenUntilSignalled } from './bare-listen.js';

const POOL_SIZE = 10;

interface PurchaseBody {
  variables?: { input?: { itemId?: string; quantity?: number; accountId?: string; idempotencyKey?: string } };
}

// The API's statement (inventory.service.ts, RESERVE_SQL), with the columns the answer needs.
const RESERVE_SQL = `SELECT "r_outcome" AS "outcome", "r_order_id" AS "orderId", "r_limit_per_user" AS "limitPerUser"
  FROM "inventory_purchase"($1, $2, $3, $4, $5::integer, $6, $7, $8)`;

const buyers = new Map(
  (JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as { id: string; accessToken: string }[]).map((buyer) => [
    `Bearer ${buyer.accessToken}`,
    buyer.id,
  ]),
);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: POOL_SIZE });
pool.on('error', () => {});

const refusal = (code: string, message: string) => ({ errors: [{ message, extensions: { code } }], data: { purchase: null } });

const app = Fastify({ logger: false });
app.post('/graphql', async (request, reply) => {
  const buyerId = buyers.get(request.headers.authorization ?? '');
  const input = (request.body as PurchaseBody).variables?.input;
  if (!buyerId || !input?.itemId || !input.accountId || !input.idempotencyKey || !input.quantity) {
    return reply.code(400).send(refusal('BAD_USER_INPUT', 'Not a purchase of a known buyer.'));
  }
  const hash = requestHash([input.itemId, input.quantity, input.accountId]);
  const { rows } = await pool.query<{ outcome: string; orderId: string | null; limitPerUser: number | null }>({
    text: RESERVE_SQL,
    values: [randomUUID(), buyerId, input.itemId, input.accountId, input.quantity, input.idempotencyKey, hash, randomUUID()],
  });
  const row = rows[0]!;
  switch (row.outcome) {
    case 'reserved':
    case 'duplicate':
      return { data: { purchase: { id: row.orderId, status: 'RESERVED', quantity: input.quantity } } };
    case 'sold-out':
      return refusal('SOLD_OUT', 'Not enough stock.');
    case 'limit-exceeded':
      return refusal('LIMIT_EXCEEDED', `At most ${row.limitPerUser} per buyer: this purchase would pass the limit.`);
    case 'insufficient-funds':
      return refusal('INSUFFICIENT_FUNDS', "Not enough available balance for the order's total.");
    default:
      return refusal('BAD_USER_INPUT', row.outcome);
  }
});

await listenUntilSignalled(app, pool);
