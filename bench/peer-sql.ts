/**
 * The two statements the hand-written peers of the `peers` scenario
 * (peer-mercurius.ts, peer-bare-pg.ts) run per request for one owner's
 * newest strategies: a page joined with users for the owner's name, and a
 * count. Named, so each pooled connection prepares them once. Pool of 10
 * connections, as Switchyard's default.
 */
import pg from 'pg';

export interface StrategyRow {
  id: string;
  name: string;
  asset: string;
  params: unknown;
  owner_name: string;
}

export function createPool(): pg.Pool {
  const connectionString = process.env.DATABASE_URL;
  if (!connectionString) throw new Error('DATABASE_URL is required');
  return new pg.Pool({ connectionString, max: 10 });
}

export async function strategyPage(pool: pg.Pool, ownerId: string, first: number): Promise<StrategyRow[]> {
  const { rows } = await pool.query<StrategyRow>({
    name: 'peer_strategy_page',
    text: `SELECT s.id, s.name, s.asset, s.params, u.name AS owner_name
           FROM strategies s JOIN users u ON u.id = s.owner_id
           WHERE s.owner_id = $1
           ORDER BY s.created_at DESC, s.id DESC
           LIMIT $2`,
    values: [ownerId, first],
  });
  return rows;
}

export async function strategyCount(pool: pg.Pool, ownerId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>({
    name: 'peer_strategy_count',
    text: 'SELECT count(*)::int AS n FROM strategies WHERE owner_id = $1',
    values: [ownerId],
  });
  return rows[0]?.n ?? 0;
}

/** The owner whose strategies are read: the `x-owner-id` header (no auth in the peers). */
export function ownerOf(headers: Record<string, string | string[] | undefined>): string {
  const owner = headers['x-owner-id'];
  if (typeof owner !== 'string' || owner === '') throw new Error('x-owner-id header required');
  return owner;
}

/** Prints `listening <port>` (what the bench waits for) and closes on SIGTERM/SIGINT. */
export function announce(port: number, close: () => Promise<unknown>): void {
  process.stdout.write(`listening ${port}\n`);
  const stop = () => void close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
