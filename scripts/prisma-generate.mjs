// Runs `prisma generate` without the schema-engine download: generate never
// executes the engine, it only needs PRISMA_SCHEMA_ENGINE_BINARY to name a file.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

if (!existsSync(new URL('../node_modules/prisma/package.json', import.meta.url))) {
  // A production install without dev dependencies uses the client generated at build time.
  console.log('prisma CLI not installed; skipping prisma generate');
  process.exit(0);
}
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
const result = spawnSync('npx', ['prisma', 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
