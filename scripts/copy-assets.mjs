// Copies the files under src/ that tsc does not emit (the admin sign-in page)
// to the same place under the build's output directory: `node scripts/copy-assets.mjs [outDir] [sourceRoot]`.
import { cpSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ASSET = /\.html$/;
const outDir = resolve(process.argv[2] ?? 'dist');
const root = resolve(process.argv[3] ?? '.');

for (const entry of readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !ASSET.test(entry.name)) continue;
  const source = join(entry.parentPath, entry.name);
  cpSync(source, join(outDir, relative(root, source)));
}
