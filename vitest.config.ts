import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // vitest's default is one worker less than the cores: on a 2-core machine every file would run after the
    // other, while most of the suite waits on child processes, PostgreSQL and timers. The files keep apart (a
    // database each, Redis databases or prefixes of their own, private clusters for the restart tests).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
