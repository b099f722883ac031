import { z } from 'zod';
import type { AppServices } from '../../core/context.js';
import { badUserInput, notFound } from '../../core/errors.js';
import type { Prisma, Strategy } from '../../generated/prisma/client.js';
import { escapeLike, type Page, type PageArgs, paginate } from '../../core/pagination.js';
import { poolOf, preparedStatements } from '../../infra/db.js';
import { STORED_USER_COLUMNS } from '../users/users.service.js';
import type { Viewer } from '../../core/context.js';
import { isAdmin, visibleTo } from '../../core/access.js';

const MAX_STRATEGIES_PER_USER = 1000;
const MAX_PARAMS_BYTES = 16 * 1024;

const name = z.string().trim().min(1, 'Name must not be empty.').max(100, 'Name must be at most 100 characters.');
const asset = z
  .string()
  .trim()
  .regex(
    /^[A-Z0-9]{2,12}(-[A-Z0-9]{2,12})?$/,
    'Asset must look like "BTC" or "BTC-USD" (upper-case letters and digits).',
  );
const description = z.string().max(2000, 'Description must be at most 2000 characters.').nullish();
const params = z
  .record(z.string(), z.unknown(), { message: 'Params must be a JSON object.' })
  .refine(
    (value) => Buffer.byteLength(JSON.stringify(value)) <= MAX_PARAMS_BYTES,
    'Params must be at most 16 KB of JSON.',
  );

export const createStrategyInputSchema = z.object({ name, asset, description, params: params.nullish() });
// In an update, an absent or null name/asset/params leaves the value as it is; a null description clears it.
export const updateStrategyInputSchema = z.object({
  name: name.nullish(),
  asset: asset.nullish(),
  description,
  params: params.nullish(),
});
export const strategyFilterSchema = z.object({
  asset: z.string().trim().max(25, 'Asset must be at most 25 characters.').nullish(),
  search: z.string().trim().max(200, 'Search must be at most 200 characters.').nullish(),
  ownerId: z.string().nullish(),
});

export type CreateStrategyInput = z.infer<typeof createStrategyInputSchema>;
export type UpdateStrategyInput = z.infer<typeof updateStrategyInputSchema>;
export type StrategyFilter = z.infer<typeof strategyFilterSchema>;

type StrategyQuery = { select?: Prisma.StrategySelect; include?: Prisma.StrategyInclude };


export async function getStrategy(services: AppServices, viewer: Viewer, id: string, query: StrategyQuery = {}) {
  const strategy = await services.db.strategy.findFirst({ ...query, where: { id, ...visibleTo(viewer) } });
  if (!strategy) throw notFound('Strategy');
  return strategy;
}

/**
 * What a page of strategies is asked for: node fields by name, and the
 * owner's (null: not asked). Names the page does not know read every column.
 */
export interface StrategyPageSelection {
  fields: ReadonlySet<string>;
  owner: ReadonlySet<string> | null;
}

// The columns a page may select, by field name. The owner's are the users
// module's readable ones: the password hash is not among them.
const STRATEGY_COLUMNS: Record<string, string> = {
  id: 's.id',
  ownerId: 's.owner_id',
  name: 's.name',
  description: 's.description',
  asset: 's.asset',
  params: 's.params',
  createdAt: 's.created_at',
  updatedAt: 's.updated_at',
};
const OWNER_COLUMNS: Record<string, string> = Object.fromEntries(
  Object.entries(STORED_USER_COLUMNS).map(([field, column]) => [field, `o.${column}`]),
);
// Always read: the cursor's keys, the owner reference, and the owner's id (its email scope compares it).
const STRATEGY_KEYS = ['id', 'createdAt', 'ownerId'];
const OWNER_KEYS = ['id'];
const OWNER_PREFIX = 'owner.';

/** The select list of the asked fields (`relations` are read apart), or of every column when one is not known. */
function selectList(
  columns: Record<string, string>,
  asked: ReadonlySet<string>,
  always: string[],
  { prefix = '', relations = [] as string[] } = {},
): string[] {
  const scalars = [...asked].filter((name) => name !== '__typename' && !relations.includes(name));
  const names = scalars.every((name) => name in columns) ? new Set([...always, ...scalars]) : Object.keys(columns);
  // Sorted, so that a selection is one statement text, prepared once per connection.
  return [...names].sort().map((name) => `${columns[name]} AS "${prefix}${name}"`);
}

const prepared = preparedStatements('strategies');

/** A strategy row as a page reads it: the asked columns, and the owner's under `owner`. */
function nestOwner(row: Record<string, unknown>): Strategy {
  const owner: Record<string, unknown> = {};
  const strategy: Record<string, unknown> = {};
  for (const key in row) {
    if (key.startsWith(OWNER_PREFIX)) owner[key.slice(OWNER_PREFIX.length)] = row[key];
    else strategy[key] = row[key];
  }
  if (owner.id !== undefined) strategy.owner = owner;
  // Only the asked fields are there, which are all that the schema reads of it.
  return strategy as unknown as Strategy;
}

/**
 * A page of the strategies the viewer may see, newest first, in one statement
 * on the pool that selects only what was asked (and joins the owner when it
 * was); totalCount is a second statement, made only when asked. The hot read of
 * the domain: Prisma's query pipeline would cost more than the statement.
 */
export async function listStrategies(
  services: AppServices,
  viewer: Viewer,
  args: PageArgs & { filter?: StrategyFilter | null },
  selection: StrategyPageSelection,
): Promise<Page<Strategy>> {
  const filter = args.filter ?? {};
  const search = filter.search || undefined;
  const values: unknown[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  const conditions: string[] = [];
  const ownerId = isAdmin(viewer) ? filter.ownerId || undefined : viewer.id;
  if (ownerId) conditions.push(`s.owner_id = ${param(ownerId)}`);
  if (filter.asset) conditions.push(`s.asset = ${param(filter.asset)}`);
  if (search) {
    const pattern = param(`%${escapeLike(search)}%`);
    conditions.push(`(s.name ILIKE ${pattern} OR s.description ILIKE ${pattern})`);
  }
  const pool = poolOf(services.db);
  const where = (extra: string[]) => {
    const all = [...conditions, ...extra];
    return all.length > 0 ? `WHERE ${all.join(' AND ')}` : '';
  };
  return paginate(args, {
    count: async () => {
      const { rows } = await pool.query<{ count: number }>(
        prepared(`SELECT count(*)::int AS count FROM strategies s ${where([])}`, values),
      );
      return rows[0]!.count;
    },
    fetch: async (page, after) => {
      const pageValues = [...values];
      const keyset = after
        ? [`(s.created_at, s.id) < ($${pageValues.push(after.createdAt)}, $${pageValues.push(after.id)})`]
        : [];
      const columns = selectList(STRATEGY_COLUMNS, selection.fields, STRATEGY_KEYS, { relations: ['owner'] });
      const join = selection.owner ? 'JOIN users o ON o.id = s.owner_id' : '';
      if (selection.owner) columns.push(...selectList(OWNER_COLUMNS, selection.owner, OWNER_KEYS, { prefix: OWNER_PREFIX }));
      const { rows } = await pool.query<Record<string, unknown>>(
        prepared(
          `SELECT ${columns.join(', ')} FROM strategies s ${join} ${where(keyset)}
           ORDER BY s.created_at DESC, s.id DESC LIMIT $${pageValues.push(page.take)}`,
          pageValues,
        ),
      );
      return rows.map(nestOwner);
    },
  });
}

export async function createStrategy(
  services: AppServices,
  viewer: Viewer,
  input: CreateStrategyInput,
  query: StrategyQuery = {},
) {
  return services.db.$transaction(async (tx) => {
    // Locking the owner's row serialises this user's creations, so the cap holds under concurrency.
    await tx.$executeRaw`SELECT 1 FROM "users" WHERE "id" = ${viewer.id} FOR UPDATE`;
    const owned = await tx.strategy.count({ where: { ownerId: viewer.id } });
    if (owned >= MAX_STRATEGIES_PER_USER) {
      throw badUserInput({ input: `You already have the maximum of ${MAX_STRATEGIES_PER_USER} strategies.` });
    }
    return tx.strategy.create({
      ...query,
      data: {
        ownerId: viewer.id,
        name: input.name,
        asset: input.asset,
        description: input.description ?? null,
        params: (input.params ?? {}) as Prisma.InputJsonObject,
      },
    });
  });
}

export async function updateStrategy(
  services: AppServices,
  viewer: Viewer,
  id: string,
  input: UpdateStrategyInput,
  query: StrategyQuery = {},
) {
  const data: Prisma.StrategyUpdateManyMutationInput = {};
  if (input.name != null) data.name = input.name;
  if (input.asset != null) data.asset = input.asset;
  if (input.description !== undefined) data.description = input.description;
  if (input.params != null) data.params = input.params as Prisma.InputJsonObject;
  // The ownership check and the write are one statement: no window between them.
  const { count } = await services.db.strategy.updateMany({ where: { id, ...visibleTo(viewer) }, data });
  if (count === 0) throw notFound('Strategy');
  return getStrategy(services, viewer, id, query);
}

export async function deleteStrategy(services: AppServices, viewer: Viewer, id: string): Promise<string> {
  const { count } = await services.db.strategy.deleteMany({ where: { id, ...visibleTo(viewer) } });
  if (count === 0) throw notFound('Strategy');
  return id;
}
