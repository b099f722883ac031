import type { EventBus } from '../infra/events/bus.js';

/**
 * The app's event map: topic → payload. Empty here, so that core names no
 * domain: each module adds its topics in its <d>.events.ts by declaration
 * merging (`declare module '../../core/events.js'`), and src/events.ts lists
 * them for the bus at run time.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by the modules' declaration merging
export interface AppEvents {}

export type AppEventBus = EventBus<AppEvents>;
