import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { throttledErrorLog, withTimeout } from '../async.js';
import type { AnyQueue, AnyWorker } from './backends/index.js';

/** Connection plumbing the producer and the workers share. */

const CLOSE_TIMEOUT_MS = 5000;

/** Waits for a Queue/Worker to reach its store, failing on its first error or after timeoutMs. */
export async function readyOrFail(
  instance: AnyQueue | AnyWorker,
  timeoutMs: number,
  probe: () => Promise<void> = async () => {},
): Promise<void> {
  let onError: ((error: Error) => void) | undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    onError = (error: Error) => reject(error);
    (instance as AnyQueue).once('error', onError);
  });
  try {
    await withTimeout(
      Promise.race([
        (async () => {
          await instance.waitUntilReady();
          await probe();
        })(),
        failed,
      ]),
      timeoutMs,
      'connect',
    );
  } finally {
    (instance as AnyQueue).off('error', onError!);
    failed.catch(() => {});
  }
}

/** Closes them all, each bounded; a Worker closed with `force` does not wait for its running jobs. */
export async function closeAll(
  instances: Array<AnyQueue | AnyWorker>,
  log: Logger,
  force = false,
): Promise<void> {
  await Promise.all(
    instances.map((instance) =>
      withTimeout(
        instance instanceof Worker ? instance.close(force) : instance.close(),
        CLOSE_TIMEOUT_MS,
        'close',
      ).catch((error: unknown) => log.warn({ err: error }, 'closing a queue connection failed')),
    ),
  );
}

/**
 * BullMQ emits an 'error' per failed call while a store is down: one line per
 * source every 10 s (see throttledErrorLog). Its listeners get the error alone.
 */
export function storeErrorLog(log: Logger, source: string): (error: Error) => void {
  const logError = throttledErrorLog(log, source, 'queue store error');
  return (error) => logError(error);
}

/** Why a store could not be used, with what it said. */
export function unreachable(kind: string, error: unknown): Error {
  return new Error(`queue store (${kind}) unreachable: ${(error as Error).message}`, { cause: error });
}
