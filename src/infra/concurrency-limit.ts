/**
 * How many of something a key holds at once in this process (subscriptions of
 * a user, anonymous connections of an IP), up to `max`. A place is taken
 * before the thing starts and given back exactly once when it ends.
 */
export class ConcurrencyLimit {
  private readonly held = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Takes a place for `key`; false when it holds `max` already. */
  tryTake(key: string): boolean {
    const now = this.held.get(key) ?? 0;
    if (now >= this.max) return false;
    this.held.set(key, now + 1);
    return true;
  }

  giveBack(key: string): void {
    const now = (this.held.get(key) ?? 1) - 1;
    if (now > 0) this.held.set(key, now);
    else this.held.delete(key);
  }
}
