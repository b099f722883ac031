/**
 * The layer rules of README.md ("Architecture"), checked by `npm run deps:check` in CI.
 *
 *   modules -> core, infra        http -> everything        core -> infra
 *   infra knows no domain; core and infra import no module, http or the app.
 *
 * Imports of type-only symbols count (tsPreCompilationDeps), so a cycle or a
 * layer breach made of `import type` alone is reported too.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import cycle (type-only imports included). Cycles make load order matter and layers meaningless: ' +
        'move the shared piece to the lower layer (core/ or infra/) or invert the dependency.',
      from: { path: '^(src|workers)/|^prisma/seed\\.ts$' },
      to: { circular: true },
    },
    {
      name: 'infra-is-a-leaf',
      severity: 'error',
      comment:
        'src/infra knows no domain: it may import only src/infra, src/config.ts and src/generated ' +
        '(plus npm packages and node builtins) - not src/core, src/modules, src/schema, src/http, src/jobs.ts, ' +
        'src/events.ts, src/server.ts or anything outside src/.',
      from: { path: '^src/infra/' },
      to: {
        couldNotResolve: false,
        dependencyTypesNot: ['core'],
        pathNot: ['^src/infra/', '^src/config\\.ts$', '^src/generated/', '(^|/)node_modules/'],
      },
    },
    {
      name: 'core-is-a-leaf',
      severity: 'error',
      comment:
        'src/core is the leaf every layer shares: it may import only src/core, src/infra, src/config.ts and ' +
        'src/generated (plus npm packages and node builtins) - not src/modules, src/schema, src/http, ' +
        'src/jobs.ts, src/events.ts, src/server.ts or anything outside src/.',
      from: { path: '^src/core/' },
      to: {
        couldNotResolve: false,
        dependencyTypesNot: ['core'],
        pathNot: ['^src/(core|infra|generated)/', '^src/config\\.ts$', '(^|/)node_modules/'],
      },
    },
    {
      name: 'http-only-from-http-and-server',
      severity: 'error',
      comment:
        'src/http is the outermost layer: only src/http itself and src/server.ts may import it. ' +
        'Move what others need into core/, infra/ or the module.',
      from: { path: '^src/', pathNot: ['^src/http/', '^src/server\\.ts$'] },
      to: { path: '^src/http/' },
    },
    {
      name: 'no-module-internals',
      severity: 'error',
      comment:
        'A module may use another module only through <b>.service.ts, <b>.events.ts or <b>.schema.ts ' +
        '(shared Pothos object refs) - not its .jobs.ts, .commands.ts or other internals. ' +
        'Call the other module\'s service (or move the enqueue into its service/commands and call that).',
      from: { path: '^src/modules/([^/]+)/' },
      to: {
        path: '^src/modules/([^/]+)/',
        pathNot: ['^src/modules/$1/', '^src/modules/([^/]+)/\\1\\.(service|events|schema)\\.ts$'],
      },
    },
    {
      name: 'no-test-or-bench-from-src',
      severity: 'error',
      comment: 'Production code under src/ must not import test/ or bench/ code.',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'This import resolves to nothing on disk: a typo, a missing dependency in package.json, ' +
        'or a file that was moved. (src/generated is created by `npm ci`; run `npm run generate` if it is missing.)',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment:
        'Production code (src/, workers/, prisma/seed.ts) imports a devDependency, which is absent from a ' +
        '`npm ci --omit=dev` install (the Docker image). Move it to "dependencies" or stop importing it. ' +
        'Type-only imports are erased at compile time and are allowed.',
      from: { path: '^(src|workers)/|^prisma/seed\\.ts$' },
      to: {
        dependencyTypes: ['npm-dev'],
        dependencyTypesNot: ['type-only'],
        pathNot: ['(^|/)node_modules/@types/'],
      },
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment:
        'This imports an npm package that is not in package.json (it is only there as a transitive ' +
        'dependency). Add it to "dependencies" so an upgrade of the package that brings it cannot break us.',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    // src/generated (Prisma client, Pothos types) is codegen output: imports of it are checked, its
    // internals are not cruised.
    doNotFollow: { path: ['(^|/)node_modules/', '^src/generated/'] },
    exclude: { path: ['^dist/', '^\\.data/'] },
    // Keep `import type` / type-only dependencies in the graph (cycles and layer rules include them).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // NodeNext ESM: `./foo.js` in source means `./foo.ts` on disk. dependency-cruiser retries an
    // unresolved `.js`/`.mjs`/`.cjs` import as `.ts`/`.mts`/`.cts` the way tsc does (its schema has no
    // enhanced-resolve `extensionAlias`); `extensions` covers extension-less imports.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
