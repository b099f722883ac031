import type { Logger } from 'pino';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import type { Db } from '../infra/db.js';
import type { SubscriptionTransport } from '../infra/metrics.js';
import type { Queues } from '../infra/jobs/producer.js';
import type { Role } from '../generated/prisma/enums.js';
import type { AppError } from './errors.js';
import type { AppEventBus } from './events.js';

/** Who is asking, as the access token says. */
export interface Viewer {
  id: string;
  role: Role;
  /** When the access token that named this viewer expires (ms since the epoch); absent when no token did. */
  tokenExpiresAt?: number;
}

/** What every resolver gets: who is asking, and the process's shared services. */
export interface Context extends AppServices {
  viewer: Viewer | null;
  /**
   * Why the Authorization header was refused (bad or expired token), if it was.
   * The request still runs as anonymous — so that `login` and `refreshToken`
   * work with a stale header — and fields that need a viewer throw this.
   */
  authError: AppError | null;
  requestId: string;
  /** The client's address (behind a trusted proxy, from X-Forwarded-For; see TRUST_PROXY). */
  clientIp: string;
  /** Failed logins per email and client IP (RATE_LIMIT_LOGIN_FAILURES); null with RATE_LIMITS=off. */
  loginFailures: RateLimiterAbstract | null;
  /** How the operation came: a WebSocket, an SSE request, or any other HTTP request. */
  transport: SubscriptionTransport;
  /**
   * When the viewer's access token expires (ms since the epoch; null when
   * anonymous): subscriptions never outlive it.
   */
  authExpiresAt: number | null;
}

/** The per-process parts a request context is built from; workers get the same. */
export interface AppServices {
  db: Db;
  config: Config;
  log: Logger;
  /** Enqueues jobs; the backend (Redis or PostgreSQL) is hidden behind it. */
  queues: Queues;
  /** The cross-process event bus behind subscriptions (Redis pub/sub or LISTEN/NOTIFY). */
  pubsub: AppEventBus;
}
