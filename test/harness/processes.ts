/**
 * Child processes for tests and benchmarks: spawned with their output
 * captured, logged to a file or inherited; stopped with SIGTERM and, past a
 * grace period, SIGKILL of the child and everything it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KNOWN_ENV_VARIABLES } from '../../src/config.js';
import { sleep } from './wait.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** The child's whole environment (default: this process's); see childEnv. */
  env?: NodeJS.ProcessEnv;
  /** Default: the repository. */
  cwd?: string;
  /** Appends stdout and stderr to this file; output() reads it back. */
  logFile?: string;
  /** Keeps stdout and stderr in memory: stdout(), stderr(), output(). */
  capture?: boolean;
  /** Without logFile or capture: stdout is a pipe for the caller to read (proc.stdout). */
  pipeStdout?: boolean;
  /**
   * In a process group of its own, so that a Ctrl-C in the terminal reaches
   * only the parent, which then stops its children in order; kill() takes
   * the whole group.
   */
  detached?: boolean;
  /** SIGKILLs the child if it still runs this long after the spawn: a guard for one expected to exit. */
  killAfterMs?: number;
  /** Told when the child outlived stop()'s grace period and is being killed. */
  onKill?: (message: string) => void;
}

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** Resolves on 'exit': the exit code, null when a signal ended the child. */
  exited: Promise<number | null>;
  /** Resolves on 'close', once stdout and stderr are read to their end too. */
  closed: Promise<Exit>;
  hasExited(): boolean;
  /** What the child wrote to stdout so far (capture only). */
  stdout(): string;
  /** What the child wrote to stderr so far (capture only). */
  stderr(): string;
  /** stdout and stderr as they came, captured or from the log file. */
  output(): string;
  /**
   * SIGTERM, and kill() if the child has not exited within graceMs (at once
   * with 0). On a child that has exited, kill() takes what it left in its group.
   */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the child, its live descendants and, if detached, its group. */
  kill(): void;
}

/**
 * This process's environment without any variable Switchyard reads, plus
 * `extra`: a child configured by nothing but what its caller sets — and
 * RATE_LIMITS=off unless `extra` says otherwise, since every test and
 * benchmark client comes from this one machine's address.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of KNOWN_ENV_VARIABLES) delete env[name];
  return Object.assign(env, { RATE_LIMITS: 'off' }, extra);
}

export function spawnChild(name: string, command: string, args: string[], options: SpawnOptions = {}): Child {
  const { logFile, capture = false, detached = false } = options;
  const logFd = logFile === undefined ? undefined : openSync(logFile, 'a');
  const stdout = logFd ?? (capture || options.pipeStdout ? 'pipe' : 'inherit');
  const stderr = logFd ?? (capture ? 'pipe' : 'inherit');
  const proc = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    detached,
    stdio: ['ignore', stdout, stderr],
  });
  if (logFd !== undefined) closeSync(logFd);
  // Without a listener, a failed spawn or kill would be thrown as an uncaught 'error'.
  proc.on('error', () => {});
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const pid = proc.pid;

  const captured = { stdout: '', stderr: '', output: '' };
  if (capture) {
    proc.stdout?.on('data', (chunk: Buffer) => {
      captured.stdout += chunk.toString();
      captured.output += chunk.toString();
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      captured.stderr += chunk.toString();
      captured.output += chunk.toString();
    });
  }
  const output = () =>
    logFile !== undefined ? (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') : captured.output;

  let exitedYet = false;
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      exitedYet = true;
      resolve(code);
    });
  });
  const closed = new Promise<Exit>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
  const hasExited = () => exitedYet;

  const kill = () => {
    if (!hasExited()) {
      // PostgreSQL's postmaster starts a session of its own: the group alone does not reach it.
      // Once the child has exited its pid may be another process's, and its children are init's.
      for (const descendant of descendants(pid)) trySignal(descendant, 'SIGKILL');
      trySignal(pid, 'SIGKILL');
    }
    // A group outlives its leader, and its id is not reused while it does.
    if (detached) trySignal(-pid, 'SIGKILL');
  };
  const stop = async (graceMs = 15_000) => {
    if (hasExited()) {
      kill();
      return;
    }
    if (graceMs > 0) {
      trySignal(pid, 'SIGTERM');
      if (await settlesWithin(exited, graceMs)) return;
      options.onKill?.(`${name} did not exit within ${graceMs} ms; killing it${detached ? ' and its process group' : ''}`);
    }
    kill();
    await settlesWithin(exited, 2000);
  };

  if (options.killAfterMs !== undefined) {
    const guard = setTimeout(kill, options.killAfterMs);
    void closed.then(() => clearTimeout(guard));
  }

  return {
    name,
    pid,
    proc,
    exited,
    closed,
    hasExited,
    stdout: () => captured.stdout,
    stderr: () => captured.stderr,
    output,
    stop,
    kill,
  };
}

/**
 * Resolves once the child's output (or what `read` returns) matches
 * `pattern`; rejects with that output if the child exits first or after
 * timeoutMs.
 */
export async function waitForOutput(
  child: Child,
  pattern: RegExp,
  timeoutMs = 30_000,
  read: () => string = child.output,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(read())) {
    if (child.hasExited()) {
      // It may have written the line just before exiting: read to the end first.
      await settlesWithin(child.closed, 1000);
      if (pattern.test(read())) return;
      throw new Error(`${child.name} exited (${String(await child.exited)}) before ${pattern} appeared:\n${child.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`${child.name}: no ${pattern} within ${timeoutMs / 1000} s:\n${child.output()}`);
    await sleep(25);
  }
}

/** Whether any process of the group `pgid` is alive. */
export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Live descendants of a process (children, grandchildren, …), from /proc. */
export function descendants(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(rootPid);
  return found;
}

/** A process (or, with -pgid, a group) already gone is no error. */
function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}


/** Whether `promise` settled within `ms` (the timer does not keep the process alive). */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref()),
  ]);
}
