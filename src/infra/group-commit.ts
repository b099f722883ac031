/**
 * Group commit: items handed in while earlier flushes are running wait and go
 * together in the next flush, so N concurrent callers cost about
 * `maxInFlight` round trips instead of N, and a lone caller is not delayed at
 * all (nothing waits for a batch to fill). Items keep their order: a flush
 * takes the oldest waiting ones. Each add() settles with its flush.
 */
export interface GroupCommitOptions<T> {
  /** Writes one batch; rejecting fails every item of that batch. */
  flush: (items: T[]) => Promise<void>;
  /** Flushes running at once (the connections they may use). */
  maxInFlight: number;
  /** Items per flush at most. */
  maxBatch: number;
}

interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function groupCommit<T>({ flush, maxInFlight, maxBatch }: GroupCommitOptions<T>): (item: T) => Promise<void> {
  const waiting: Waiting<T>[] = [];
  let inFlight = 0;

  const next = () => {
    while (inFlight < maxInFlight && waiting.length > 0) {
      const batch = waiting.splice(0, maxBatch);
      const items = batch.map((entry) => entry.item);
      inFlight += 1;
      // Through then(): a flush that throws instead of rejecting fails its batch the same way.
      Promise.resolve()
        .then(() => flush(items))
        .then(
          () => batch.forEach((entry) => entry.resolve()),
          (error: unknown) => batch.forEach((entry) => entry.reject(error)),
        )
        .finally(() => {
          inFlight -= 1;
          next();
        });
    }
  };

  return (item) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      next();
    });
}
