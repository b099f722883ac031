import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How `npm run start:api` of a tree launches node: the environment it sets and the
 * node flags before `--import tsx`, read from that tree's package.json. The bench
 * starts its API with them (compiled or not), so it measures what `npm start` and the
 * Docker image run; test/compose.test.ts holds the Dockerfile to the same settings.
 * A tree whose script has neither gives empty ones.
 */
export function startApiLaunch(tree: string): { env: Record<string, string>; nodeArgs: string[] } {
  const { scripts } = JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const script = scripts['start:api'] ?? '';
  const match = /^((?:[A-Z_]+=\S+\s+)*)(?:exec\s+)?node\s+(.*?)\s*--import tsx\b/.exec(script);
  if (!match) throw new Error(`package.json's start:api is not "[VAR=value …] exec node [flags] --import tsx …": ${script}`);
  const env = Object.fromEntries(
    (match[1] ?? '').trim().split(/\s+/).filter(Boolean).map((pair) => {
      const at = pair.indexOf('=');
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const nodeArgs = (match[2] ?? '').split(/\s+/).filter(Boolean);
  return { env, nodeArgs };
}
