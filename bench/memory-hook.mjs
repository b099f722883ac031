/**
 * Preloaded into the API process (`node --import ./bench/memory-hook.mjs …`) only
 * when the bench is asked for a memory breakdown (BENCH_MEMORY). Plain JS, so the
 * compiled server can load it without tsx (which would add its own memory). On
 * SIGUSR2 it writes `<BENCH_MEMORY_OUT>-<n>.json`: process.memoryUsage(), V8's heap
 * spaces, the WebAssembly memories instantiated so far (Prisma's query compiler) and
 * /proc/self/smaps summed by kind of mapping, so the idle RSS can be attributed.
 * SIGWINCH does the same after a full garbage collection: what is live, as a
 * diagnostic (the bench sends it only after the idle RSS has been read).
 * The app itself is unchanged.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

const out = process.env.BENCH_MEMORY_OUT;
if (out) {
  // Every WebAssembly.Memory a module exports; its buffer's RSS is in an anonymous mapping.
  const memories = [];
  const remember = (instance) => {
    for (const value of Object.values(instance.exports)) {
      if (value instanceof WebAssembly.Memory) memories.push(value);
    }
    return instance;
  };
  const { instantiate } = WebAssembly;
  WebAssembly.instantiate = async (...args) => {
    const result = await instantiate(...args);
    remember(result instanceof WebAssembly.Instance ? result : result.instance);
    return result;
  };
  const OriginalInstance = WebAssembly.Instance;
  WebAssembly.Instance = new Proxy(OriginalInstance, {
    construct: (target, args) => remember(Reflect.construct(target, args)),
  });

  let count = 0;
  const write = () => {
    count += 1;
    const file = `${out}-${count}.json`;
    const report = {
      memoryUsage: process.memoryUsage(),
      heap: v8.getHeapStatistics(),
      spaces: v8.getHeapSpaceStatistics().map((s) => ({
        name: s.space_name,
        size: s.space_size,
        used: s.space_used_size,
        physical: s.physical_space_size,
      })),
      wasmMemoryBytes: memories.map((m) => m.buffer.byteLength),
      smaps: smapsSummary(),
      threads: Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]),
    };
    writeFileSync(`${file}.tmp`, JSON.stringify(report, null, 2));
    renameSync(`${file}.tmp`, file);
  };
  process.on('SIGUSR2', write);
  process.on('SIGWINCH', () => {
    // The documented way to reach gc() without starting the whole process with --expose-gc.
    v8.setFlagsFromString('--expose-gc');
    runInNewContext('gc')();
    write();
  });
}

/**
 * RSS by kind of mapping: the node binary, shared libraries and addons, other files,
 * [heap] (glibc's main arena), [stack], and anonymous mappings bucketed by size —
 * glibc's per-thread arenas are 64 MiB-aligned reservations, V8's pages are 256 KiB.
 */
function smapsSummary() {
  const text = readFileSync('/proc/self/smaps', 'utf8');
  const kinds = {};
  const anon = [];
  let current;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const size = parseInt(head[2], 16) - parseInt(head[1], 16);
      current = { name: head[3] || '', size, rss: 0 };
      const kind = kindOf(current.name);
      current.kind = kind;
      if (kind === 'anonymous') anon.push(current);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current) {
      current.rss = Number(rss[1]) * 1024;
      kinds[current.kind] = (kinds[current.kind] ?? 0) + current.rss;
    }
  }
  anon.sort((a, b) => b.rss - a.rss);
  return { byKind: kinds, largestAnonymous: anon.slice(0, 25).map(({ size, rss }) => ({ size, rss })) };
}

function kindOf(name) {
  if (name === '') return 'anonymous';
  if (name.startsWith('[')) return name;
  if (name === process.execPath || name.endsWith('/node')) return 'node binary';
  if (/\.(so[.\d]*|node)$/.test(name)) return 'shared libraries and addons';
  return 'other files';
}
