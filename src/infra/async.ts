import type { Logger } from 'pino';

/** What withTimeout rejects with: the call got no answer in time (an outage, to isOutage). */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Rejects with a TimeoutError "<what> timed out after <ms> ms" when `promise` takes longer; the timer never holds the process open. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * While a connection keeps failing, its client reports every failed call (seen:
 * ~110/s for BullMQ in a tight loop); this logs one line per source every
 * `intervalMs`, with the count of those it stands for. `stack: false` logs
 * the error's code and message only: for failures that are not ours (an
 * outage), where a stack says nothing.
 */
export function throttledErrorLog(
  log: Logger,
  source: string,
  message: string,
  { intervalMs = 10_000, stack = true }: { intervalMs?: number; stack?: boolean } = {},
): (error: Error, fields?: object) => void {
  let last = 0;
  let suppressed = 0;
  return (error, fields = {}) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      suppressed += 1;
      return;
    }
    const described = stack ? { err: error } : { code: (error as { code?: unknown }).code, reason: error.message };
    log.error({ ...fields, source, ...described, suppressed }, message);
    last = now;
    suppressed = 0;
  };
}
