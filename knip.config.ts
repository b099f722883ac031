import type { KnipConfig } from 'knip';

/**
 * `npm run knip`: unused files, unused exports/types and unused or unlisted
 * dependencies. Tests count as users of an export (default mode, not
 * --production); an export used only inside its own file is reported
 * (ignoreExportsUsedInFile stays false): drop the `export`, or delete it.
 *
 * Entries are listed even where a knip plugin (package.json scripts, vitest,
 * eslint, graphql-codegen, prisma) would find them too, because tests and
 * bench/ start several of them as child processes by path string
 * (`node --import tsx src/server.ts`), which no plugin can see. That makes
 * knip print "redundant entry pattern" hints; the npm script passes
 * --no-config-hints. Run `npx knip` without it when changing this file.
 */
const config: KnipConfig = {
  entry: [
    // processes
    'src/server.ts',
    'workers/index.ts',
    'src/infra/migrate-cli.ts',
    'prisma/seed.ts',
    'scripts/*.{ts,mjs}',
    // bench/run.ts loads the scenarios with import(); each scenario spawns its
    // drivers (itself with --driver, driver.ts), bare-server.ts and preloads
    // profile-hook.ts or memory-hook.mjs by path; driver-clients.ts is run by hand (bench/README.md).
    'bench/run.ts',
    'bench/{http,ledger,flash-sale,fanout,peers,teams}.ts',
    'bench/{driver,bare-server,profile-hook,driver-clients}.ts',
    // peers.ts transpiles these and runs them by path (peer-sql.ts is imported by two of them)
    'bench/{peer-postgraphile,peer-mercurius,peer-bare-pg,promise-with-resolvers}.ts',
    'bench/memory-hook.mjs',
    // the same-run ceilings of the ledger, flash-sale, teams and flood scenarios, spawned by path
    'bench/{ledger-ceiling,flash-sale-bare,teams-bare,flood-bare}.ts',
    // tests
    'test/**/*.test.ts',
    'test/global-setup.ts',
    // spawned by test/signals.test.ts
    'test/fixtures/*.ts',
    // tool configs
    'prisma.config.ts',
    'codegen.ts',
    'vitest.config.ts',
    'eslint.config.js',
  ],
  project: [
    'src/**/*.ts',
    'workers/**/*.ts',
    'prisma/**/*.{ts,prisma}',
    'scripts/**/*.{ts,mjs}',
    'bench/**/*.{ts,mjs}',
    'test/**/*.ts',
    '*.{ts,js,mjs,cjs}',
  ],
  // Codegen output: src/generated (Prisma client, Pothos types; git-ignored) and test/gql (client preset).
  ignore: ['src/generated/**', 'test/gql/**'],
  // The `prisma-pothos-types` generator of prisma/schema.prisma is a binary of @pothos/plugin-prisma.
  ignoreDependencies: ['prisma-pothos-types'],
  // test/global-setup.ts starts redis-server from PATH (.ci/run installs it with apt-get).
  ignoreBinaries: ['redis-server'],
};

export default config;
