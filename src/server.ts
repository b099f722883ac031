import { DEMO_EMAIL, DEMO_PASSWORD, seed } from '../prisma/seed.js';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { DataDirInUseError, type EmbeddedDatabase, startEmbeddedPostgres } from './infra/embedded-postgres.js';
import { createLogger } from './infra/logger.js';
import { MigrationError, migrate } from './infra/migrate.js';

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
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    try {
      await app.stop();
      await embedded?.stop();
      log.info('stopped');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  // Loading embedded-postgres registers async-exit-hook, whose SIGTERM/SIGINT listeners
  // stop every cluster and call process.exit(128 + signal) at once: PostgreSQL went away
  // under in-flight requests (and, while it was imported eagerly, production exited 143
  // on SIGTERM). This process owns its shutdown order: drain HTTP, close Prisma, stop PostgreSQL.
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    const seeded = await seed(app.services, { demo: config.mode === 'embedded' });
    const url = await app.start();
    printBanner(url, config, seeded);
  } catch (error) {
    await app.stop().catch(() => {});
    await embedded?.stop().catch(() => {});
    throw error;
  }
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
        ? ` / ${seeded.generatedAdminPassword}   (generated: shown only this once)`
        : seeded.adminCreated
          ? ' / ADMIN_PASSWORD'
          : ''
    }`,
  ];
  if (mode === 'embedded') lines.push(`  demo user  ${DEMO_EMAIL} / ${DEMO_PASSWORD}`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirInUseError || error instanceof MigrationError) {
    process.stderr.write(`switchyard: ${error.message}\n`);
  } else {
    process.stderr.write(`switchyard: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
  process.exit(1);
});
