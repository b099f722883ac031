import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { freePort } from '../harness/ports.js';
import { type Child, childEnv, type Exit, spawnChild, waitForOutput } from '../harness/processes.js';
import { sleep } from '../harness/wait.js';

/**
 * src/server.ts as a real child process (`node --import tsx src/server.ts`),
 * for the tests that exercise the process itself: its start banner, its exit
 * code and stderr, its signal handling.
 */

/** The start banner, complete: written in one piece, ending with a blank line. */
const BANNER = /Switchyard is running[\s\S]*\n\n/;

export interface ServerProcess {
  child: ChildProcess;
  /** Everything the process has written to stdout so far. */
  stdout: () => string;
  /** Everything the process has written to stderr so far. */
  stderr: () => string;
  /** Resolves on 'close', not 'exit': by then stdout and stderr are fully read. */
  closed: Promise<Exit>;
}

export interface ListeningServer extends ServerProcess {
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
}

export interface SpawnServerOptions {
  /** The entry file, relative to the repository (default src/server.ts; workers/index.ts for a worker process). */
  entry?: string;
  /**
   * The child's environment on top of this process's, from which every
   * variable of KNOWN_ENV_VARIABLES has been removed first.
   */
  env?: Record<string, string>;
  /** Picks a free port and passes it as PORT (before env, which may override it). */
  listen?: boolean;
  /**
   * Resolve only once stdout matches the banner (true: BANNER, or a pattern of
   * its own); rejects if the process exits first or after timeoutMs.
   */
  waitForBanner?: boolean | RegExp;
  /** How long waitForBanner waits. */
  timeoutMs?: number;
  /** SIGKILLs the process if it has not closed this long after the spawn (a guard for tests that expect it to exit). */
  killAfterMs?: number;
}

const running: Child[] = [];

/** Spawns src/server.ts (or `entry`) with a clean environment; see SpawnServerOptions. */
export async function spawnServer(options: SpawnServerOptions & { listen: true }): Promise<ListeningServer>;
export async function spawnServer(options?: SpawnServerOptions): Promise<ServerProcess>;
export async function spawnServer(options: SpawnServerOptions = {}): Promise<ServerProcess> {
  const { waitForBanner = false, timeoutMs = 60_000 } = options;
  const port = options.listen ? await freePort() : undefined;

  const entry = options.entry ?? 'src/server.ts';
  const child = spawnChild(entry, process.execPath, ['--import', 'tsx', entry], {
    env: childEnv({ ...(port !== undefined ? { PORT: String(port) } : {}), ...options.env }),
    capture: true,
    killAfterMs: options.killAfterMs,
  });
  running.push(child);

  const server: ServerProcess = { child: child.proc, stdout: child.stdout, stderr: child.stderr, closed: child.closed };
  if (port !== undefined) Object.assign(server, { port, url: `http://127.0.0.1:${port}` });
  if (waitForBanner) await waitForOutput(child, waitForBanner === true ? BANNER : waitForBanner, timeoutMs, child.stdout);
  return server;
}


/**
 * Stops every process spawnServer started that is still running, one after
 * the other: SIGTERM and up to graceMs for it to exit, then SIGKILL of it and
 * what it started (at once with graceMs 0).
 */
export async function stopAll(options: { graceMs: number }): Promise<void> {
  for (const child of running.splice(0)) await child.stop(options.graceMs);
}

export interface SlowRequest {
  /** Sends the rest of the body. */
  finish(): void;
  response: Promise<{ status: number; body: string }>;
}

/**
 * POSTs body to /graphql on 127.0.0.1:port but sends only its first half, so
 * the request is in flight (headers parsed, body pending) until finish():
 * across a signal to the server, say. No agent (a connection of its own)
 * unless one is given.
 */
export async function startSlowRequest(
  port: number,
  body: string,
  options: { agent?: http.Agent; headers?: http.OutgoingHttpHeaders } = {},
): Promise<SlowRequest> {
  const half = Math.floor(body.length / 2);
  const request = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/graphql',
    agent: options.agent ?? false,
    headers: {
      'content-type': 'application/json',
      ...options.headers,
      'content-length': Buffer.byteLength(body),
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    request.on('error', reject);
  });
  response.catch(() => {}); // awaited by the caller; a failure must not surface as unhandled first
  request.write(body.slice(0, half));
  await new Promise<void>((resolve) => request.once('socket', (socket) => socket.once('connect', () => resolve())));
  await sleep(150); // let the server parse the headers and start reading the body
  return { finish: () => request.end(body.slice(half)), response };
}
