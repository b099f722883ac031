import type { Redis } from 'ioredis';
import { withTimeout } from './async.js';

/** Reconnect backoff for every Redis client of ours: 200 ms steps up to 2 s (ioredis and BullMQ grow theirs to 20 s). */
export const redisRetryStrategy = (times: number) => Math.min(times * 200, 2000);

/** QUIT within a second, else drop the connection. */
export async function quitRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await withTimeout(client.quit(), 1000, 'quit');
  } catch {
    client.disconnect();
  }
}
