/**
 * WebSocket watchers for the fan-out scenarios (`fanout`, `quiz`): driver
 * processes (this file with `--driver <job.json>`) that each open many
 * graphql-ws connections with raw `ws` (so the load generator stays light),
 * subscribe every one to the same operation, print `READY <n>` once each has
 * its first event, then record when each receives the event it waits for —
 * the one whose `<field>.<key>` equals `equals` — and print `RESULT <json>`.
 * startWatchers spawns them and reads those lines.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { sleep } from '../test/harness/wait.js';
import { benchFile, type Child, NODE, spawnChild, TSX_IMPORT } from './lib.js';

export interface WatchersJob {
  url: string;
  query: string;
  variables: Record<string, unknown>;
  /** The subscription field of each event, and the key of it (and value) that marks the awaited event. */
  field: string;
  key: string;
  equals: unknown;
  /** One per connection: its connectionParams.authorization, or null for an anonymous one. */
  authorizations: (string | null)[];
  timeoutMs: number;
}

export interface WatchersResult {
  subscribed: number;
  /** Epoch ms (sub-millisecond) at which each watcher got the awaited event; null: never. */
  arrivals: (number | null)[];
  /** Events each watcher received after its first. */
  events: number[];
  /** Connections that failed or closed, by reason. */
  failures: Record<string, number>;
  driverCpuPercent: number;
}

/** Connections being opened at once, per driver. */
const OPEN_CONCURRENCY = 100;

export const epochMs = () => performance.timeOrigin + performance.now();

async function driverMain(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[3] ?? '', 'utf8')) as WatchersJob;
  if (new URL(job.url).hostname !== '127.0.0.1') throw new Error('bench traffic must target 127.0.0.1');
  const count = job.authorizations.length;
  const arrivals: (number | null)[] = new Array(count).fill(null);
  const events: number[] = new Array(count).fill(0);
  const failures: Record<string, number> = {};
  const fail = (reason: string) => (failures[reason] = (failures[reason] ?? 0) + 1);
  const sockets: WebSocket[] = [];
  let subscribed = 0;
  let finished = 0;
  let allFinished: () => void = () => {};
  const done = new Promise<void>((resolve) => (allFinished = resolve));
  const subscribe = `{"id":"1","type":"subscribe","payload":${JSON.stringify({ query: job.query, variables: job.variables })}}`;

  const open = (index: number) =>
    new Promise<void>((resolve) => {
      const socket = new WebSocket(job.url, 'graphql-transport-ws', { perMessageDeflate: false });
      sockets.push(socket);
      const authorization = job.authorizations[index];
      let first = true;
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: authorization ? { authorization } : {} })));
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; payload?: { data?: Record<string, Record<string, unknown> | null>; errors?: unknown } };
        if (message.type === 'connection_ack') socket.send(subscribe);
        else if (message.type === 'ping') socket.send('{"type":"pong"}');
        else if (message.type === 'next') {
          const value = message.payload?.data?.[job.field];
          if (!value) {
            fail(`error event: ${JSON.stringify(message.payload?.errors).slice(0, 200)}`);
            resolve();
            return;
          }
          if (first) {
            first = false;
            subscribed += 1;
            resolve();
          } else {
            events[index]! += 1;
          }
          if (value[job.key] === job.equals && arrivals[index] === null) {
            arrivals[index] = epochMs();
            finished += 1;
            if (finished === subscribed) allFinished();
          }
        } else if (message.type === 'error') {
          fail(`subscribe error: ${JSON.stringify(message.payload).slice(0, 200)}`);
          resolve();
        }
      });
      socket.on('error', (error) => {
        fail(`socket error: ${error.message}`);
        resolve();
      });
      socket.on('close', (code) => {
        if (code !== 1000) fail(`closed ${code}`);
        resolve();
      });
    });

  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: OPEN_CONCURRENCY }, async () => {
      while (next < count) await open(next++);
    }),
  );
  process.stdout.write(`READY ${subscribed}\n`);
  await Promise.race([done, sleep(job.timeoutMs)]);
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const result: WatchersResult = {
    subscribed,
    arrivals,
    events,
    failures,
    driverCpuPercent: ((cpu.user + cpu.system) / 1e6 / wallSeconds) * 100,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  for (const socket of sockets) socket.terminate();
}

export interface Watchers {
  /** Resolves with how many subscribed, once every driver has all its connections' first events. */
  ready: Promise<number>;
  /** Every driver's result, once each got the awaited event at all its watchers (or timed out). */
  results: Promise<WatchersResult[]>;
  stop(): Promise<void>;
}

/** One driver process per job (its job file in `dir`). */
export function startWatchers(dir: string, name: string, jobs: WatchersJob[]): Watchers {
  const drivers: Child[] = [];
  const readies: Promise<number>[] = [];
  const outputs: Promise<WatchersResult>[] = [];
  for (const [d, job] of jobs.entries()) {
    const file = join(dir, `${name}-watchers-${d}.json`);
    writeFileSync(file, JSON.stringify(job));
    const driver = spawnChild(`${name} watchers ${d}`, NODE, [...TSX_IMPORT, benchFile('ws-watchers.ts'), '--driver', file], { pipeStdout: true });
    drivers.push(driver);
    const lines = createInterface({ input: driver.proc.stdout! });
    let onReady: (n: number) => void = () => {};
    let onResult: (result: WatchersResult) => void = () => {};
    readies.push(new Promise((resolve) => (onReady = resolve)));
    outputs.push(
      new Promise((resolve, reject) => {
        onResult = resolve;
        void driver.exited.then((code) => reject(new Error(`${name} watchers driver ${d} exited (${code}) before its result`)));
      }),
    );
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) onReady(Number(line.slice(6)));
      else if (line.startsWith('RESULT ')) onResult(JSON.parse(line.slice(7)) as WatchersResult);
    });
  }
  return {
    ready: Promise.all(readies).then((counts) => counts.reduce((a, b) => a + b, 0)),
    results: Promise.all(outputs),
    stop: async () => {
      for (const driver of drivers) await driver.stop(5000);
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === '--driver') {
  driverMain().catch((error: unknown) => {
    process.stderr.write(`watchers driver: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
