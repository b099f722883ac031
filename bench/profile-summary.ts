/**
 * Summarizes a V8 .cpuprofile by self time: the top functions and the top
 * modules (npm package, Node internals, the app's own source, GC/idle/program).
 * Usable on its own: `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

interface Share {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of samples where the thread was not idle. */
  busyPercent: number;
  functions: Share[];
  modules: Share[];
}

/** Which package, Node internal area or app directory a frame belongs to. */
function moduleOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), (idle), (root)
    return '(native)';
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  if (url.startsWith('node:')) {
    const rest = url.slice('node:'.length);
    const parts = rest.split('/');
    // node:internal/streams/writable -> node:internal/streams
    return parts[0] === 'internal' && parts.length > 2 ? `node:internal/${parts[1]}` : `node:${rest}`;
  }
  const src = url.indexOf('/src/');
  if (src >= 0)
    return `app ${url
      .slice(src + 1)
      .split('/')
      .slice(0, 2)
      .join('/')}`;
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the gap before sample i; attribute the gap after a sample to it.
  for (let i = 0; i < samples.length; i++) {
    const us = deltas[i + 1] ?? deltas[i] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + us);
  }
  let totalUs = 0;
  let idleUs = 0;
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    totalUs += us;
    if (frame.functionName === '(idle)') idleUs += us;
    const name = frame.url
      ? `${frame.functionName || '(anonymous)'}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`
      : frame.functionName || '(native)';
    functions.set(name, (functions.get(name) ?? 0) + us);
    const module = moduleOf(frame);
    modules.set(module, (modules.get(module) ?? 0) + us);
  }
  const shares = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: totalUs ? (us / totalUs) * 100 : 0 }));
  return {
    totalMs: totalUs / 1000,
    busyPercent: totalUs ? ((totalUs - idleUs) / totalUs) * 100 : 0,
    functions: shares(functions),
    modules: shares(modules),
  };
}

export function formatSummary(summary: ProfileSummary): string {
  const lines = [
    `profile: ${(summary.totalMs / 1000).toFixed(1)} s sampled, main thread busy ${summary.busyPercent.toFixed(0)}%`,
    '',
    'top modules by self time:',
    ...summary.modules.map((s) => `  ${s.percent.toFixed(1).padStart(5)}%  ${s.name}`),
    '',
    'top functions by self time:',
    ...summary.functions.map((s) => `  ${s.percent.toFixed(1).padStart(5)}%  ${s.name}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(summarizeProfile(file, Number(process.argv[3] ?? 25)))}\n`);
}
