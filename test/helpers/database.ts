import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createDatabase as createDatabaseOn, dropDatabase } from '../harness/postgres.js';

export interface TestDatabase {
  url: string;
  drop: () => Promise<void>;
}

/** A fresh database cloned from the migrated template; the caller drops it when done. */
export function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase('test', inject('templateDatabase'));
}

/** An empty database (no migrations), for the migration tests. */
export function createEmptyDatabase(): Promise<TestDatabase> {
  return createDatabase('empty');
}

async function createDatabase(prefix: string, template?: string): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  return { url: await createDatabaseOn(adminUrl, name, template), drop: () => dropDatabase(adminUrl, name) };
}
