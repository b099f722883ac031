/** A throwaway redis-server: a free loopback port, nothing persisted. */
import { spawnSync } from 'node:child_process';
import { freePort } from './ports.js';
import { type Child, spawnChild, waitForOutput } from './processes.js';

export interface Redis {
  url: string;
  port: number;
  child: Child;
  /** SIGTERM; see Child.stop. */
  stop(): Promise<void>;
}

/**
 * Starts redis-server from PATH and resolves once it accepts connections.
 * `spawn` starts the process (by default with its output captured), for a
 * caller that logs to a file or keeps a registry of its children; `port`
 * (default: a free one) lets a test start an empty server where one died.
 */
export async function startRedis(
  spawn: (command: string, args: string[]) => Child = (command, args) => spawnChild('redis-server', command, args, { capture: true }),
  port?: number,
): Promise<Redis> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server is not on PATH: install it (apt-get install -y redis-server)');
  }
  port ??= await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  try {
    await waitForOutput(child, /Ready to accept connections/, 10_000);
  } catch (error) {
    child.kill();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, port, child, stop: () => child.stop() };
}
