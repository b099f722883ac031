import * as jobs from '../infra/jobs/definition.js';
import type { AppServices } from './context.js';

/** The job toolkit bound to AppServices: what every module's <d>.jobs.ts declares its jobs with. */

export type AppJob<P> = jobs.JobDefinition<P, AppServices>;

export const defineJob = <P>(definition: AppJob<P>): AppJob<P> => jobs.defineJob(definition);

export const defineSweeper = <P>(options: Parameters<typeof jobs.defineSweeper<P, AppServices>>[0]) =>
  jobs.defineSweeper(options);
