import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Db } from './infra/db.js';
import type { Queues } from './infra/queues.js';
import type { Viewer } from './modules/auth/auth.service.js';

/** What every resolver gets: who is asking, and the process's shared services. */
export interface Context {
  viewer: Viewer | null;
  db: Db;
  config: Config;
  log: Logger;
  queues: Queues;
  requestId: string;
}

/** The per-process parts a request context is built from. */
export interface AppServices {
  db: Db;
  config: Config;
  log: Logger;
  /** Enqueues jobs; the backend (Redis or PostgreSQL) is hidden behind it. */
  queues: Queues;
}
