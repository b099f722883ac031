import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { lexicographicSortSchema } from 'graphql';
import { schema } from '../src/schema/index.js';

/** Prints schema.graphql from the Pothos schema; with --check, fails when the committed file is stale. */
const target = resolve(import.meta.dirname, '../schema.graphql');
const printed = `${printSchemaWithDirectives(lexicographicSortSchema(schema))}\n`;

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (committed !== printed) {
    process.stderr.write('schema.graphql is stale: run `npm run schema:print` and commit it\n');
    process.exit(1);
  }
  process.stdout.write('schema.graphql is up to date\n');
} else {
  writeFileSync(target, printed);
  process.stdout.write(`wrote ${target}\n`);
}
