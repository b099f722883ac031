import type { Logger } from 'pino';

/** Rejects with "<what> timed out after <ms> ms" when `promise` takes longer; the timer never holds the process open. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * While a connection keeps failing, its client reports every failed call (seen:
 * ~110/s for BullMQ in a tight loop); this logs one line per source every
 * `intervalMs`, with the count of those it stands for.
 */
export function throttledErrorLog(
  log: Logger,
  source: string,
  message: string,
  intervalMs = 10_000,
): (error: Error, fields?: object) => void {
  let last = 0;
  let suppressed = 0;
  return (error, fields = {}) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      suppressed += 1;
      return;
    }
    log.error({ ...fields, source, err: error, suppressed }, message);
    last = now;
    suppressed = 0;
  };
}
