import * as jobs from '../infra/jobs/definition.js';
import * as sweepers from '../infra/jobs/sweeper.js';
import type { AppServices } from './context.js';

/** The job toolkit bound to AppServices: what every module's <d>.jobs.ts declares its jobs and sweepers with. */

export type AppJob<P> = jobs.JobDefinition<P, AppServices>;
export type AppSweeper<P> = sweepers.SweeperDefinition<P, AppServices>;
export type AppPruner = sweepers.PrunerDefinition<AppServices>;

export const defineJob = <P>(definition: AppJob<P>): AppJob<P> => jobs.defineJob(definition);

export const defineSweeper = <P>(definition: AppSweeper<P>): AppSweeper<P> => sweepers.defineSweeper(definition);

export const definePruner = (definition: AppPruner): AppPruner => sweepers.definePruner(definition);

/**
 * The Prisma query of one sweeper page (infra/jobs/sweeper.ts): rows matching
 * `open`, created before the page's `olderThan`, oldest first after its `after`.
 */
export function stalePageQuery<Where extends object>(open: Where, page: sweepers.StalePage) {
  const { after } = page;
  return {
    where: {
      AND: [
        open,
        { createdAt: { lt: page.olderThan } },
        after ? { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] } : {},
      ],
    },
    select: { id: true, createdAt: true },
    orderBy: [{ createdAt: 'asc' as const }, { id: 'asc' as const }],
    take: page.limit,
  };
}
