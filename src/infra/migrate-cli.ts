import { ConfigError, loadConfig } from '../config.js';
import { MigrationError, migrate } from './migrate.js';

/** `npm run db:migrate`: applies pending migrations to DATABASE_URL. */
try {
  const config = loadConfig(process.env, { requireJwtSecret: false });
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL is required for db:migrate');
  const { applied } = await migrate(config.databaseUrl);
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
} catch (error) {
  if (error instanceof ConfigError || error instanceof MigrationError) {
    process.stderr.write(`db:migrate: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
