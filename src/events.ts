import type { AppEventBus, AppEvents } from './core/events.js';
import { type CreateEventBusOptions, createEventBus } from './infra/events/bus.js';
import { INVENTORY_TOPICS } from './modules/inventory/inventory.events.js';
import { LEDGER_TOPICS } from './modules/ledger/ledger.events.js';
import { QUIZ_TOPICS } from './modules/quizzes/quizzes.events.js';
import { STRATEGY_TOPICS } from './modules/strategies/strategies.events.js';
import { TEAM_TOPICS } from './modules/teams/teams.events.js';

/**
 * Every topic of the event bus: each API process listens to all of them. Each
 * module declares its topics and payloads in <domain>.events.ts.
 */
const EVENT_TOPICS = [
  ...LEDGER_TOPICS,
  ...INVENTORY_TOPICS,
  ...TEAM_TOPICS,
  ...QUIZ_TOPICS,
  ...STRATEGY_TOPICS,
] satisfies (keyof AppEvents)[];

/** The app's event bus on the configured transport, listening to every topic (see createEventBus). */
export function createAppEventBus(
  deps: Parameters<typeof createEventBus>[0],
  options: Omit<CreateEventBusOptions<AppEvents>, 'topics'> = {},
): AppEventBus {
  return createEventBus<AppEvents>(deps, { ...options, topics: EVENT_TOPICS });
}
