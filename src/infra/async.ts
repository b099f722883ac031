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
 * Decides, per kind of failure, which to log while a connection keeps
 * failing: the first of a kind, then one every `intervalMs`. Returns how many
 * of that kind were left out since its last logged one, or undefined for one
 * to leave out. Kinds are `key` plus the error's name, code and message; with
 * `perKind: false`, every failure is of one kind.
 */
export function errorThrottle(
  intervalMs = 10_000,
  perKind = true,
): (error: Error, key?: string) => number | undefined {
  const kinds = new Map<string, { last: number; suppressed: number }>();
  return (error, key = '') => {
    const kind = perKind ? `${key}|${error.name}|${String((error as { code?: unknown }).code)}|${error.message}` : key;
    const now = Date.now();
    const seen = kinds.get(kind);
    if (seen && now - seen.last < intervalMs) {
      seen.suppressed += 1;
      return undefined;
    }
    // Messages may carry ids: forget the oldest kinds rather than grow without bound.
    if (!seen && kinds.size >= 100) kinds.delete(kinds.keys().next().value!);
    kinds.set(kind, { last: now, suppressed: 0 });
    return seen?.suppressed ?? 0;
  };
}

/**
 * While a connection keeps failing, its client reports every failed call (seen:
 * ~110/s for BullMQ in a tight loop); this logs one line per source and kind
 * of failure every `intervalMs`, with `suppressed`: how many it stands for.
 * `stack: false` logs the error's code and message only: for failures that
 * are not ours (an outage), where a stack says nothing. `perKind: false`:
 * one line per interval whatever the failure (an outage's errors differ from
 * call to call: refused, reset, terminated).
 */
export function throttledErrorLog(
  log: Logger,
  source: string,
  message: string,
  { intervalMs = 10_000, stack = true, perKind = true }: { intervalMs?: number; stack?: boolean; perKind?: boolean } = {},
): (error: Error, fields?: object) => void {
  const shouldLog = errorThrottle(intervalMs, perKind);
  return (error, fields = {}) => {
    const suppressed = shouldLog(error);
    if (suppressed === undefined) return;
    const described = stack ? { err: error } : { code: (error as { code?: unknown }).code, reason: error.message };
    log.error({ ...fields, source, ...described, suppressed }, message);
  };
}
