import { z } from 'zod';
import type { AppServices } from '../../core/context.js';
import { badUserInput, notFound } from '../../core/errors.js';
import type { Prisma, Strategy } from '../../generated/prisma/client.js';
import { containsInsensitive, type Page, type PageArgs, paginate } from '../../core/pagination.js';
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

export async function listStrategies(
  services: AppServices,
  viewer: Viewer,
  args: PageArgs & { filter?: StrategyFilter | null },
  query: StrategyQuery = {},
): Promise<Page<Strategy>> {
  const filter = args.filter ?? {};
  const search = filter.search || undefined;
  const where: Prisma.StrategyWhereInput = {
    ...visibleTo(viewer),
    ...(isAdmin(viewer) && filter.ownerId ? { ownerId: filter.ownerId } : {}),
    ...(filter.asset ? { asset: filter.asset } : {}),
    ...(search ? { OR: [{ name: containsInsensitive(search) }, { description: containsInsensitive(search) }] } : {}),
  };
  return paginate(args, {
    count: () => services.db.strategy.count({ where }),
    fetch: (page) =>
      services.db.strategy.findMany({ ...query, ...page, where: { AND: [where, page.where] } }) as Promise<Strategy[]>,
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
