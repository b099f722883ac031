/**
 * Shared plumbing for the benchmark scenarios: child processes that are always
 * cleaned up (on success, error, Ctrl-C and exit), RSS/CPU sampling from /proc,
 * and table printing. Nothing here is imported by the application.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Child,
  descendants,
  isGroupAlive,
  type SpawnOptions,
  spawnChild as spawnHarnessChild,
  waitForOutput,
} from '../test/harness/processes.js';
import { sleep } from '../test/harness/wait.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT_DIR = dirname(BENCH_DIR);

// ---------------------------------------------------------------------------
// Cleanup registry

type Cleanup = { name: string; run: () => Promise<void> | void; sync?: () => void };
const cleanups: Cleanup[] = [];

/** Registers an async cleanup (run in reverse order) with an optional last-resort sync version for `exit`. */
export function onCleanup(name: string, run: () => Promise<void> | void, sync?: () => void): () => void {
  const entry: Cleanup = { name, run, sync };
  cleanups.push(entry);
  return () => {
    const index = cleanups.indexOf(entry);
    if (index >= 0) cleanups.splice(index, 1);
  };
}

/** Runs every registered cleanup, newest first; failures are reported, not thrown. */
export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const entry = cleanups.pop()!;
    try {
      await entry.run();
    } catch (error) {
      process.stderr.write(`bench: cleanup "${entry.name}" failed: ${String(error)}\n`);
    }
  }
}

/** Synchronous last resort (process `exit`): SIGKILL leftover children, remove temp dirs. */
export function runCleanupsSync(): void {
  while (cleanups.length > 0) {
    const entry = cleanups.pop()!;
    try {
      entry.sync?.();
    } catch {
      // nothing more to do at exit
    }
  }
}

// ---------------------------------------------------------------------------
// Child processes

export type { Child } from '../test/harness/processes.js';

/**
 * Spawns a child (test/harness/processes.ts) in its own process group, so a
 * Ctrl-C in the terminal reaches only the bench, which then shuts children
 * down in order (the API must stop its embedded PostgreSQL before the data dir
 * is removed); its stop, and a SIGKILL of the group at exit, are registered
 * cleanups.
 */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  options: Pick<SpawnOptions, 'env' | 'logFile' | 'pipeStdout'> = {},
): Child {
  const child = spawnHarnessChild(name, command, args, {
    ...options,
    cwd: ROOT_DIR,
    detached: true,
    onKill: (message) => process.stderr.write(`bench: ${message}\n`),
  });
  const unregister = onCleanup(`stop ${name}`, () => child.stop(), child.kill);
  void child.exited.then(() => {
    // Keep the sync fallback only while something may still be alive in the group.
    if (!isGroupAlive(child.pid)) unregister();
  });
  return child;
}

/**
 * Spawns one of the bench's own servers (bare-server.ts, flash-sale-bare.ts,
 * the peers), which print `listening <port>` once they listen; their output
 * goes to `logFile`.
 */
export async function spawnListening(
  name: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; logFile: string },
  timeoutMs = 30_000,
): Promise<{ child: Child; port: number }> {
  const child = spawnChild(name, NODE, args, options);
  await waitForOutput(child, /listening \d+/, timeoutMs);
  return { child, port: Number(/listening (\d+)/.exec(child.output())![1]) };
}

/**
 * Runs a child to completion and returns its stdout. With `watch`, gives up
 * (stopping the child) as soon as that other child exits: a driver must not
 * keep firing at a server that has died.
 */
export async function runToCompletion(
  name: string,
  command: string,
  args: string[],
  watch?: { child: Child; describe: () => string },
): Promise<string> {
  const child = spawnChild(name, command, args, { pipeStdout: true });
  let out = '';
  child.proc.stdout?.setEncoding('utf8');
  child.proc.stdout?.on('data', (chunk: string) => {
    out += chunk;
  });
  const watched = watch ? watch.child.exited.then(() => 'watched' as const) : new Promise<never>(() => {});
  const first = await Promise.race([child.exited.then((code) => ({ code })), watched]);
  if (first === 'watched') {
    await child.stop(2000);
    throw new Error(`${watch!.child.name} exited while ${name} was running; ${watch!.describe()}`);
  }
  if (first.code !== 0) {
    throw new Error(`${name} exited with code ${String(first.code)}${out ? `; its output:\n${out.trimEnd()}` : ''}`);
  }
  return out;
}

/** Removes a directory on cleanup (after the children registered later have stopped). */
export function removeOnCleanup(dir: string): void {
  const remove = () => rmSync(dir, { recursive: true, force: true });
  onCleanup(`remove ${dir}`, remove, remove);
}

// ---------------------------------------------------------------------------
// Helpers


/** Resident set size in bytes from /proc/<pid>/status (VmRSS), or undefined when gone. */
export function readRss(pid: number): number | undefined {
  return readStatusKb(pid, 'VmRSS');
}

/** Peak resident set size over the process's life (VmHWM), in bytes. */
export function readRssHighWater(pid: number): number | undefined {
  return readStatusKb(pid, 'VmHWM');
}

function readStatusKb(pid: number, field: string): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    return match?.[1] ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) consumed so far by a process, in seconds. */
export function readCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by a process's live descendants (for the API: its
 * embedded PostgreSQL server and backends, which run in their own session).
 */
export function readDescendantsCpuSeconds(rootPid: number): number {
  return descendants(rootPid).reduce((total, pid) => total + (readCpuSeconds(pid) ?? 0), 0);
}

/** Samples a process's RSS on an interval; `stop()` returns the samples in bytes. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): number[] } {
  const samples: number[] = [];
  const take = () => {
    const rss = readRss(pid);
    if (rss !== undefined) samples.push(rss);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

export const mb = (bytes: number | undefined) =>
  bytes === undefined ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Renders rows as an aligned plain-text table (first row is the header). */
export function table(rows: string[][], rightAlignFrom = 1): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column >= rightAlignFrom ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ');
  const separator = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(rows[0]!), separator, ...rows.slice(1).map(line)].join('\n');
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export const NODE = process.execPath;
export const TSX_IMPORT = ['--import', 'tsx'];
export const benchFile = (name: string) => join(BENCH_DIR, name);

// ---------------------------------------------------------------------------
// Shared by scenarios that came after http.ts (which keeps its own copies)

/** A positive number from the environment, or `fallback` when unset or empty. */
export function envPositiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** Aggregate CPU jiffies of the host from /proc/stat (busy = everything but idle and iowait). */
export function hostCpuTimes(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 1 };
  }
}

/** Cores busy across the host between two hostCpuTimes() readings. */
export function busyCores(before: { busy: number; total: number }, after: { busy: number; total: number }): number {
  const cores = Math.max(1, cpus().length);
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / (total / cores) : 0;
}

/** The machine, for the report: CPUs, model, memory, node, load average now. */
export function machineSummary(): { cpus: number; cpuModel: string; memoryGb: string; node: string; loadavg: string } {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  return {
    cpus: cpus().length,
    cpuModel: model,
    memoryGb: (totalmem() / 1024 ** 3).toFixed(1),
    node: process.version,
    loadavg: loadavgNow(),
  };
}

/** /proc/loadavg's 1, 5 and 15 minute figures. */
export function loadavgNow(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

/**
 * CPU seconds of a process plus those of its children that have exited and
 * been reaped (cutime + cstime): for a server such as PostgreSQL whose
 * backends come and go, add readDescendantsCpuSeconds() for the live ones.
 */
export function readCpuSecondsWithReaped(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}

/** Waits until `url` answers 2xx, failing early (with the end of its log) if the API exits. */
export async function waitForHealth(api: Child, url: string, logFile: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (api.hasExited()) throw new Error(`the API exited during start-up; its log ends:\n${tail(logFile)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`the API did not become healthy within ${timeoutMs / 1000} s; its log ends:\n${tail(logFile)}`);
}

export async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} was not written within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}
