import { rateLimited } from '../core/errors.js';

/** What a client past a concurrency limit is told: it may try again once one of its own has ended. */
const RETRY_AFTER_MS = 5_000;

export const tooManyAtOnce = (what: string, max: number) =>
  rateLimited(RETRY_AFTER_MS, `Too many ${what} at once (at most ${max}); end one first`);
