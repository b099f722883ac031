import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Db } from './infra/db.js';
import type { SubscriptionTransport } from './infra/metrics.js';
import type { PubSub } from './infra/pubsub.js';
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
  pubsub: PubSub;
  requestId: string;
  /** How the operation came: a WebSocket, an SSE request, or any other HTTP request. */
  transport: SubscriptionTransport;
  /**
   * When the viewer's access token expires (ms since the epoch; null when
   * anonymous): subscriptions never outlive it.
   */
  authExpiresAt: number | null;
}

/** The per-process parts a request context is built from. */
export interface AppServices {
  db: Db;
  config: Config;
  log: Logger;
  /** Enqueues jobs; the backend (Redis or PostgreSQL) is hidden behind it. */
  queues: Queues;
  /** The cross-process event bus behind subscriptions (Redis pub/sub or LISTEN/NOTIFY). */
  pubsub: PubSub;
}
