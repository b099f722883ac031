/**
 * The `flood` scenario's same-run ceiling: the least a server can do for the
 * same traffic. A bare Fastify process (no logger) on the shop's database with
 * Fastify's trustProxy 'loopback' (the client IP from X-Forwarded-For, as the
 * API is run), one in-memory fixed window per IP (ANONYMOUS_LIMIT per
 * ANONYMOUS_WINDOW_S), and one route, `POST /graphql`: past the window's
 * budget a 429 with Retry-After and the same RATE_LIMITED body as the API's;
 * within it, the read of `items(first: 5)` on a pg pool of 10, answered in the
 * API's JSON shape. No GraphQL, no shared store, no metrics. Prints
 * `listening <port>` once ready.
 */
import Fastify from 'fastify';
import pg from 'pg';
import { listenUntilSignalled } from './bare-listen.js';

const limit = Number(process.env.ANONYMOUS_LIMIT ?? 600);
const windowMs = Number(process.env.ANONYMOUS_WINDOW_S ?? 60) * 1000;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const app = Fastify({ logger: false, trustProxy: 'loopback' });
const windows = new Map<string, { used: number; endsAt: number }>();

app.post('/graphql', async (request, reply) => {
  const now = Date.now();
  let window = windows.get(request.ip);
  if (!window || window.endsAt <= now) windows.set(request.ip, (window = { used: 0, endsAt: now + windowMs }));
  if (++window.used > limit) {
    const retryAfter = Math.max(1, Math.ceil((window.endsAt - now) / 1000));
    return reply
      .code(429)
      .header('retry-after', String(retryAfter))
      .header('content-type', 'application/json; charset=utf-8')
      .send(
        `{"errors":[{"message":"Too many requests: try again in ${retryAfter} s.","extensions":{"retryAfter":${retryAfter},"code":"RATE_LIMITED"}}]}`,
      );
  }
  const { rows } = await pool.query<{ sku: string; name: string; price: string; stock: number }>({
    name: 'bare_items',
    text: 'SELECT sku, name, price::text AS price, stock FROM inventory_items ORDER BY created_at DESC, id DESC LIMIT 5',
  });
  return { data: { items: { edges: rows.map((node) => ({ node })) } } };
});

await listenUntilSignalled(app, pool);
