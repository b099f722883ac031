import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_EMAIL, DEMO_PASSWORD, seed } from '../prisma/seed.js';
import { buildApp } from './http/app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import {
  DataDirInUseError,
  DataDirUnusableError,
  type EmbeddedDatabase,
  startEmbeddedPostgres,
} from './infra/embedded-postgres.js';
import { createLogger } from './infra/logger.js';
import { onShutdownSignal } from './infra/shutdown.js';
import { MigrationError, migrate } from './infra/migrate.js';
import { startSweepers, type Sweepers } from './infra/jobs/sweeper.js';
import { startWorkers, type Workers } from './infra/jobs/worker.js';
import { ALL_JOBS, ALL_SWEEPERS } from './jobs.js';

/**
 * The process entry. `npm start` runs it with workers inline on embedded
 * defaults; `npm run start:api` passes --api (workers off unless WORKERS=inline).
 */
async function main(): Promise<void> {
  const role = process.argv.includes('--api') ? 'api' : 'all';
  const config = loadConfig(process.env, { defaultWorkers: role === 'api' ? 'off' : 'inline' });
  const log = createLogger(config.logLevel);

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, log);
    databaseUrl = embedded.url;
    const { applied } = await migrate(databaseUrl);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  }

  const app = buildApp(config, { databaseUrl, logger: log });
  let workers: Workers | undefined;
  let sweepers: Sweepers | undefined;
  onShutdownSignal(log, async () => {
    // Inline workers first: their running jobs finish (bounded) while the queues and Prisma are still open.
    await sweepers?.close();
    await workers?.close();
    await app.stop();
    await embedded?.stop();
  });

  try {
    // Opens the queue store first (fails fast when it is unreachable): seeding may enqueue.
    await app.ready();
    const seeded = await seed(app.services, { demo: config.mode === 'embedded' });
    const url = await app.start();
    if (config.workers === 'inline') {
      workers = await startWorkers(app.services, ALL_JOBS, {
        concurrency: config.workerConcurrency,
        observer: app.metrics.jobs,
      });
      sweepers = startSweepers(app.services, ALL_SWEEPERS, { observer: app.metrics.sweepers });
    }
    printBanner(url, config, seeded);
  } catch (error) {
    await sweepers?.close().catch(() => {});
    await workers?.close().catch(() => {});
    await app.stop().catch(() => {});
    await embedded?.stop().catch(() => {});
    throw error;
  }
}

/**
 * Where a generated admin password goes: the banner, except in production,
 * where a start's output ends up in log collectors. There it is written to a
 * file only its owner can read, and the banner names the file.
 */
function generatedPasswordNote(config: Config, password: string): string {
  if (config.nodeEnv !== 'production') return ` / ${password}   (generated: shown only this once)`;
  mkdirSync(config.dataDir, { recursive: true });
  const path = join(config.dataDir, 'admin-password');
  writeFileSync(path, `${password}\n`, { mode: 0o600 });
  return `   (password generated into ${path}: not printed in production; set ADMIN_PASSWORD to choose it)`;
}

function printBanner(url: string, config: Config, seeded: Awaited<ReturnType<typeof seed>>): void {
  const { mode } = config;
  const lines = [
    '',
    `Switchyard is running (${mode} mode)`,
    `  ${config.graphiql ? 'GraphiQL' : 'GraphQL '}   ${url}/graphql`,
    `  health     ${url}/health   ready ${url}/ready   metrics ${url}/metrics`,
    `  admin      ${seeded.adminEmail}${
      seeded.generatedAdminPassword
        ? generatedPasswordNote(config, seeded.generatedAdminPassword)
        : seeded.adminCreated
          ? ' / ADMIN_PASSWORD'
          : ''
    }`,
  ];
  if (mode === 'embedded') lines.push(`  demo user  ${DEMO_EMAIL} / ${DEMO_PASSWORD}`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirInUseError ||
    error instanceof DataDirUnusableError || error instanceof MigrationError) {
    process.stderr.write(`switchyard: ${error.message}\n`);
  } else {
    process.stderr.write(`switchyard: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
  process.exit(1);
});
