/**
 * BENCH_MEMORY=1 for the http scenario: the API's memory taken apart at a few
 * points (after start, after the set-up requests, after each warm-up case) by
 * bench/memory-hook.mjs inside the API, printed as one table, so growth can be
 * pinned on a phase and a part (V8 heap spaces, wasm, glibc arenas, code).
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchFile, mb, readRss, table, waitForFile } from './lib.js';

interface MemoryReport {
  memoryUsage: NodeJS.MemoryUsage;
  heap: { total_heap_size: number; used_heap_size: number; malloced_memory: number; external_memory: number };
  spaces: { name: string; size: number; used: number; physical: number }[];
  wasmMemoryBytes: number[];
  smaps: { byKind: Record<string, number>; largestAnonymous: { size: number; rss: number }[] };
  threads: number;
}

export interface MemoryPoint {
  label: string;
  vmRss: number;
  report: MemoryReport;
}

export interface MemoryProbe {
  /** node arguments that preload the hook. */
  nodeArgs: string[];
  env: Record<string, string>;
  /** The API's pid, once it is spawned. */
  attach(pid: number): void;
  take(label: string): Promise<void>;
  /** The same after a full GC in the API (a diagnostic: it changes what it measures). */
  takeAfterFullGc(label: string): Promise<void>;
  points: MemoryPoint[];
}

export function memoryProbe(): MemoryProbe | undefined {
  const flag = process.env.BENCH_MEMORY;
  if (!flag || flag === '0' || flag === 'false') return undefined;
  if (process.env.BENCH_PROFILE) throw new Error('BENCH_MEMORY and BENCH_PROFILE both signal the API with SIGUSR2; use one');
  const out = join(tmpdir(), `switchyard-bench-memory-${Date.now()}`);
  const points: MemoryPoint[] = [];
  let pid: number | undefined;
  return {
    nodeArgs: ['--import', benchFile('memory-hook.mjs')],
    env: { BENCH_MEMORY_OUT: out },
    points,
    take: (label: string) => take(label, 'SIGUSR2'),
    takeAfterFullGc: (label: string) => take(label, 'SIGWINCH'),
    attach(apiPid: number) {
      pid = apiPid;
    },
  };

  async function take(label: string, signal: 'SIGUSR2' | 'SIGWINCH') {
    if (pid === undefined) throw new Error('memoryProbe: attach() first');
    process.kill(pid, signal);
    const file = `${out}-${points.length + 1}.json`;
    await waitForFile(file, 10_000);
    // Read after the hook has run: a full GC can release memory.
    const vmRss = readRss(pid) ?? 0;
    points.push({ label, vmRss, report: JSON.parse(readFileSync(file, 'utf8')) as MemoryReport });
  }
}

/** One column per point; rows are the parts RSS is made of. */
export function formatMemory(points: MemoryPoint[]): string {
  const space = (r: MemoryReport, name: string) => r.spaces.find((s) => s.name === name);
  const spaceCell = (name: string) => (r: MemoryReport) => {
    const s = space(r, name);
    return s ? `${mb(s.used)} / ${mb(s.physical)}` : '';
  };
  const kind = (name: string) => (r: MemoryReport) => mb(r.smaps.byKind[name] ?? 0);
  const rows: [string, (r: MemoryReport, vmRss: number) => string][] = [
    ['VmRSS', (_r, vmRss) => mb(vmRss)],
    ['V8 heap used / committed', (r) => `${mb(r.memoryUsage.heapUsed)} / ${mb(r.memoryUsage.heapTotal)}`],
    ['  new space used / physical', spaceCell('new_space')],
    ['  old space', spaceCell('old_space')],
    ['  code space', spaceCell('code_space')],
    ['  large object space', spaceCell('large_object_space')],
    ['  code large object space', spaceCell('code_large_object_space')],
    ['  shared/read-only/trusted', (r) =>
      mb(r.spaces
        .filter((s) => !['new_space', 'old_space', 'code_space', 'large_object_space', 'code_large_object_space', 'new_large_object_space'].includes(s.name))
        .reduce((sum, s) => sum + s.physical, 0))],
    ['V8 malloced', (r) => mb(r.heap.malloced_memory)],
    ['external / arrayBuffers', (r) => `${mb(r.memoryUsage.external)} / ${mb(r.memoryUsage.arrayBuffers)}`],
    ['wasm memories', (r) => r.wasmMemoryBytes.map((b) => mb(b)).join(' + ') || '–'],
    ['smaps: anonymous', kind('anonymous')],
    ['smaps: [heap] (main arena)', kind('[heap]')],
    ['smaps: node binary', kind('node binary')],
    ['smaps: .so and .node', kind('shared libraries and addons')],
    ['smaps: other files', kind('other files')],
    ['smaps: [stack]', kind('[stack]')],
    ['anon mappings ≥ 32 MiB (arenas, wasm)', (r) => {
      const big = r.smaps.largestAnonymous.filter((m) => m.size >= 32 * 1024 * 1024);
      return `${big.length}: ${mb(big.reduce((sum, m) => sum + m.rss, 0))}`;
    }],
    ['threads', (r) => String(r.threads)],
  ];
  return table([
    ['', ...points.map((p) => p.label)],
    ...rows.map(([name, cell]) => [name, ...points.map((p) => cell(p.report, p.vmRss))]),
  ]);
}
