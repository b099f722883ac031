import { z } from 'zod';
import type { AppServices } from '../../core/context.js';
import { fromZodIssues } from '../../core/errors.js';
import type { InventoryItem } from '../../generated/prisma/client.js';
import { poolOf, preparedStatements } from '../../infra/db.js';

/** Rows a report lists at most (and by default): the items with the most revenue. */
export const MAX_SALES_REPORT_ROWS = 100;

const salesReportArgsSchema = z
  .object({
    from: z.date().nullish(),
    to: z.date().nullish(),
    first: z.number().int().min(1, 'Must be at least 1.').max(MAX_SALES_REPORT_ROWS, `Must be at most ${MAX_SALES_REPORT_ROWS}.`),
  })
  .refine(({ from, to }) => !from || !to || from < to, { path: ['to'], message: 'Must be after from.' });

export interface SalesReportRow {
  item: InventoryItem;
  orders: number;
  units: number;
  revenue: bigint;
}

const prepared = preparedStatements('sales-report');

/**
 * The FULFILLED orders placed in [from, to) (either end open when absent),
 * grouped by item, most revenue first (ties by item id): one aggregate over the
 * orders' (status, created_at) index, joined to its items in the same statement.
 * Revenue is in each item's own currency.
 */
export async function salesReport(
  services: AppServices,
  args: { from?: Date | null; to?: Date | null; first?: number | null },
): Promise<SalesReportRow[]> {
  const parsed = salesReportArgsSchema.safeParse({ ...args, first: args.first ?? MAX_SALES_REPORT_ROWS });
  if (!parsed.success) throw fromZodIssues(parsed.error.issues);
  const { from, to, first } = parsed.data;
  const { rows } = await poolOf(services.db).query<{
    id: string;
    sku: string;
    name: string;
    price: string;
    currency: string;
    stock: number;
    limit_per_user: number | null;
    created_at: Date;
    updated_at: Date;
    orders: number;
    units: number;
    revenue: string;
  }>(
    prepared(
      `SELECT i.id, i.sku, i.name, i.price::text AS price, i.currency, i.stock, i.limit_per_user, i.created_at, i.updated_at,
              s.orders, s.units, s.revenue::text AS revenue
       FROM (
         SELECT item_id, count(*)::int AS orders, sum(quantity)::int AS units, sum(total) AS revenue
         FROM orders
         WHERE status = 'FULFILLED' AND ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::timestamptz IS NULL OR created_at < $2)
         GROUP BY item_id
         ORDER BY sum(total) DESC, item_id
         LIMIT $3
       ) s
       JOIN inventory_items i ON i.id = s.item_id
       ORDER BY s.revenue DESC, i.id`,
      [from ?? null, to ?? null, first],
    ),
  );
  return rows.map((row) => ({
    item: {
      id: row.id,
      sku: row.sku,
      name: row.name,
      price: BigInt(row.price),
      currency: row.currency,
      stock: row.stock,
      limitPerUser: row.limit_per_user,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    },
    orders: row.orders,
    units: row.units,
    revenue: BigInt(row.revenue),
  }));
}
