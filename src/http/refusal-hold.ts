/**
 * Holds back the refusals of a client that keeps sending past its
 * Retry-After, in this process. A client refused more than HOLD_AFTER times
 * in one window gets each further refusal `holdMs` late (never past the
 * window's end): a flood over keep-alive connections, which sends its next
 * request as soon as an answer arrives, then costs one refusal per connection
 * per `holdMs` instead of as many as the server can write, and the event loop
 * stays free for everyone else. A client that waits as it is told is never held.
 */

/** Refusals of one client in one window that are answered at once. */
export const HOLD_AFTER = 10;
/** Refusals held at once in this process, across clients; past it they are answered at once. */
const MAX_HELD = 10_000;
/** Clients tracked at once; past it the oldest is forgotten (it starts over at 0 refusals). */
const MAX_TRACKED = 100_000;

interface Refusals {
  count: number;
  /** When the client's window ends (ms since the epoch). */
  endsAt: number;
}

export class RefusalHold {
  private readonly clients = new Map<string, Refusals>();
  private readonly waiting = new Set<() => void>();

  constructor(private readonly holdMs: number) {}

  /**
   * How long to hold this refusal of `key`, whose window ends in
   * `msBeforeNext` ms: 0 for the first HOLD_AFTER of the window, and while
   * MAX_HELD are held; else holdMs, or less to leave at least a second of the window.
   */
  delayFor(key: string, msBeforeNext: number, now = Date.now()): number {
    if (this.holdMs <= 0) return 0;
    let refusals = this.clients.get(key);
    if (!refusals || refusals.endsAt <= now) {
      if (refusals) this.clients.delete(key);
      refusals = { count: 0, endsAt: now + msBeforeNext };
      if (this.clients.size >= MAX_TRACKED) this.clients.delete(this.clients.keys().next().value!);
      this.clients.set(key, refusals);
    }
    refusals.count += 1;
    if (refusals.count <= HOLD_AFTER || this.waiting.size >= MAX_HELD) return 0;
    return Math.max(0, Math.min(this.holdMs, msBeforeNext - 1000));
  }

  /** Resolves after `ms`, when `aborted` fires, or at releaseAll(), whichever comes first. */
  hold(ms: number, aborted: { once(event: 'close', listener: () => void): unknown; off(event: 'close', listener: () => void): unknown }): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        aborted.off('close', done);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      aborted.once('close', done);
      this.waiting.add(done);
    });
  }

  /** Answers every held refusal now (the server is stopping). */
  releaseAll(): void {
    for (const done of [...this.waiting]) done();
  }
}
