import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Db } from './infra/db.js';
import type { Queues } from './infra/queues.js';
import type { AppError } from './errors.js';
import type { Viewer } from './modules/auth/auth.service.js';

/** What every resolver gets: who is asking, and the process's shared services. */
export interface Context {
  viewer: Viewer | null;
  /**
   * Why the Authorization header was refused (bad or expired token), if it was.
   * The request still runs as anonymous — so that `login` and `refreshToken`
   * work with a stale header — and fields that need a viewer throw this.
   */
  authError: AppError | null;
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
