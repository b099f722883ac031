import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';

/**
 * Proves the migrated database is what prisma/schema.prisma describes, without
 * Prisma's schema engine (see README.md, "Migrations"): the expected shape is
 * derived from the schema's DMMF (Prisma's own parser, compiled to Wasm), the
 * actual one is read from pg_catalog of a database built by our migrations.
 * Everything is derived generically, so new models, fields, indexes and
 * relations are covered without touching this file. Not compared: foreign key
 * constraint names (the DMMF does not carry `@relation(map:)`), column order.
 */

const SCHEMA_PATH = resolve(import.meta.dirname, '../prisma/schema.prisma');
const SCHEMA = 'public';

interface Column {
  name: string;
  type: string; // as PostgreSQL's format_type() prints it
  notNull: boolean;
  default: unknown; // normalized SQL expression, a matcher, or null
}

interface Index {
  name: string;
  kind: 'primary key' | 'unique' | 'index';
  method: string;
  columns: string[]; // key columns in order, "col" or "col DESC"
  partial: boolean;
}

interface ForeignKey {
  columns: string[];
  references: { table: string; columns: string[] };
  onDelete: string;
  onUpdate: string;
}

interface Table {
  columns: Column[];
  indexes: Index[];
  foreignKeys: ForeignKey[];
}

interface DatabaseShape {
  tables: Map<string, Table>;
  enums: Map<string, string[]>;
}

// ---------------------------------------------------------------------------
// Expected: from schema.prisma
// ---------------------------------------------------------------------------

/** The part of Prisma's DMMF this test reads. */
interface Datamodel {
  enums: Array<{ name: string; dbName?: string | null; values: Array<{ name: string; dbName?: string | null }> }>;
  models: Model[];
  indexes: Array<{
    model: string;
    type: 'id' | 'unique' | 'normal' | 'fulltext';
    dbName?: string;
    algorithm?: string;
    fields: Array<{ name: string; sortOrder?: 'asc' | 'desc' }>;
  }>;
}

interface Model {
  name: string;
  dbName: string | null;
  schema?: string | null;
  fields: Field[];
}

interface Field {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object' | 'unsupported';
  type: string;
  isList: boolean;
  isRequired: boolean;
  isUpdatedAt: boolean;
  default?: unknown;
  nativeType?: [string, string[]] | null;
  relationName?: string;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}

function readDatamodel(path: string): Datamodel {
  const dmmf = JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: readFileSync(path, 'utf8'), noColor: true })));
  return dmmf.datamodel;
}

const tableName = (model: Model) => model.dbName ?? model.name;
const columnName = (field: Field) => field.dbName ?? field.name;

function fieldOf(model: Model, name: string): Field {
  const field = model.fields.find((f) => f.name === name);
  if (!field) throw new Error(`${model.name}.${name} not found in the DMMF`);
  return field;
}

/** Prisma's default constraint names (psl ConstraintNames): truncated to PostgreSQL's 63 characters. */
function defaultName(base: string, suffix: string): string {
  return base.slice(0, 63 - suffix.length) + suffix;
}

/** How format_type() prints an identifier: bare when it is a plain lower-case name, else quoted. */
function typeIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

// Column types Prisma's migrations create for each scalar, without and with @db.* attributes.
const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Boolean: 'boolean',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

const withArgs = (type: string, args: string[]) => (args.length ? `${type}(${args.join(',')})` : type);
const NATIVE_TYPES: Record<string, (args: string[]) => string> = {
  Text: () => 'text',
  Char: (args) => withArgs('character', args),
  VarChar: (args) => withArgs('character varying', args),
  Bit: (args) => withArgs('bit', args),
  VarBit: (args) => withArgs('bit varying', args),
  Uuid: () => 'uuid',
  Xml: () => 'xml',
  Inet: () => 'inet',
  Citext: () => 'citext',
  Boolean: () => 'boolean',
  Integer: () => 'integer',
  SmallInt: () => 'smallint',
  BigInt: () => 'bigint',
  Oid: () => 'oid',
  Real: () => 'real',
  DoublePrecision: () => 'double precision',
  Decimal: (args) => withArgs('numeric', args),
  Money: () => 'money',
  Date: () => 'date',
  Timestamp: (args) => `${withArgs('timestamp', args)} without time zone`,
  Timestamptz: (args) => `${withArgs('timestamp', args)} with time zone`,
  Time: (args) => `${withArgs('time', args)} without time zone`,
  Timetz: (args) => `${withArgs('time', args)} with time zone`,
  Json: () => 'json',
  JsonB: () => 'jsonb',
  ByteA: () => 'bytea',
};

function expectedType(datamodel: Datamodel, model: Model, field: Field): string {
  let type: string | undefined;
  if (field.kind === 'enum') {
    const enumType = datamodel.enums.find((e) => e.name === field.type)!;
    type = typeIdentifier(enumType.dbName ?? enumType.name);
  } else if (field.nativeType) {
    const [name, args] = field.nativeType;
    type = NATIVE_TYPES[name]?.(args);
  } else {
    type = SCALAR_TYPES[field.type];
  }
  if (!type) throw new Error(`${model.name}.${field.name}: teach schema-drift.test.ts the column type of this field`);
  return field.isList ? `${type}[]` : type;
}

// @default functions Prisma evaluates in the client: no database default.
const CLIENT_SIDE_DEFAULTS = new Set(['uuid', 'cuid', 'nanoid', 'ulid']);

function expectedDefault(datamodel: Datamodel, model: Model, field: Field): unknown {
  const value = field.default;
  const unsupported = () =>
    new Error(`${model.name}.${field.name}: teach schema-drift.test.ts the database default of this field`);
  if (value === undefined || field.isUpdatedAt) return null;
  if (field.isList) {
    // `@default([])` is the only list default Prisma's migrations write as an empty array literal.
    if (Array.isArray(value) && value.length === 0) return `ARRAY[]::${expectedType(datamodel, model, field)}`;
    throw unsupported();
  }
  if (typeof value === 'object' && value !== null && 'name' in value) {
    const fn = value as { name: string; args: unknown[] };
    if (CLIENT_SIDE_DEFAULTS.has(fn.name)) return null;
    if (fn.name === 'now') return 'CURRENT_TIMESTAMP';
    if (fn.name === 'autoincrement') return expect.stringMatching(/^nextval\(/);
    if (fn.name === 'dbgenerated') return fn.args.length ? String(fn.args[0]) : expect.any(String);
    throw unsupported();
  }
  if (field.kind === 'enum') {
    const enumType = datamodel.enums.find((e) => e.name === field.type)!;
    const enumValue = enumType.values.find((v) => v.name === value)!;
    return sqlString(enumValue.dbName ?? enumValue.name);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string' && (field.type === 'String' || field.type === 'Json')) return sqlString(value);
  if (typeof value === 'string' && (field.type === 'Decimal' || field.type === 'BigInt')) return value;
  throw unsupported();
}

const sqlString = (value: string) => `'${value.replaceAll("'", "''")}'`;

function expectedForeignKeys(datamodel: Datamodel, model: Model): ForeignKey[] {
  const foreignKeys: ForeignKey[] = [];
  for (const field of model.fields) {
    if (field.kind !== 'object') continue;
    const target = datamodel.models.find((m) => m.name === field.type)!;
    const from = field.relationFromFields ?? [];
    if (from.length === 0) {
      const backRelation = target.fields.find((f) => f.relationName === field.relationName && f !== field);
      if (field.isList && backRelation?.isList) {
        throw new Error(
          `${model.name}.${field.name}: implicit many-to-many relations (a _${field.relationName} join table) are not modelled by schema-drift.test.ts yet`,
        );
      }
      continue; // the other side holds the foreign key
    }
    const allRequired = from.every((name) => fieldOf(model, name).isRequired);
    const onDelete = field.relationOnDelete ?? (allRequired ? 'Restrict' : 'SetNull');
    const onUpdate = field.relationOnUpdate ?? 'Cascade';
    foreignKeys.push({
      columns: from.map((name) => columnName(fieldOf(model, name))),
      references: {
        table: tableName(target),
        columns: (field.relationToFields ?? []).map((name) => columnName(fieldOf(target, name))),
      },
      onDelete,
      onUpdate,
    });
  }
  return foreignKeys;
}

/**
 * The names of the partial indexes (`where:` of the partialIndexes preview feature):
 * the DMMF does not carry the predicate, so it is read from the schema's text,
 * where each such index must name itself with `map:`.
 */
function partialIndexNames(schema: string): Set<string> {
  const names = new Set<string>();
  for (const line of schema.split('\n')) {
    if (!/^\s*@@(unique|index)\(.*\bwhere:/.test(line)) continue;
    const name = /\bmap:\s*"([^"]+)"/.exec(line)?.[1];
    if (!name) throw new Error(`a partial index needs map: "<name>" for schema-drift.test.ts: ${line.trim()}`);
    names.add(name);
  }
  return names;
}

const PARTIAL_INDEXES = partialIndexNames(readFileSync(SCHEMA_PATH, 'utf8'));

function expectedIndexes(datamodel: Datamodel, model: Model): Index[] {
  const table = tableName(model);
  return datamodel.indexes
    .filter((index) => index.model === model.name)
    .map((index) => {
      if (index.type === 'fulltext') throw new Error(`${model.name}: full-text indexes do not exist on PostgreSQL`);
      const columns = index.fields.map((f) => columnName(fieldOf(model, f.name)));
      const kind = ({ id: 'primary key', unique: 'unique', normal: 'index' } as const)[index.type];
      const suffix = { id: '_pkey', unique: '_key', normal: '_idx' }[index.type];
      const name = index.dbName ?? defaultName(index.type === 'id' ? table : `${table}_${columns.join('_')}`, suffix);
      return {
        name,
        kind,
        method: (index.algorithm ?? 'BTree').toLowerCase(),
        columns: index.fields.map((f, i) => (f.sortOrder === 'desc' ? `${columns[i]} DESC` : columns[i]!)),
        partial: PARTIAL_INDEXES.has(name),
      };
    });
}

function expectedShape(datamodel: Datamodel): DatabaseShape {
  const tables = new Map<string, Table>();
  for (const model of datamodel.models) {
    if (model.schema && model.schema !== SCHEMA) {
      throw new Error(`${model.name}: only the ${SCHEMA} schema is compared`);
    }
    const columns = model.fields
      .filter((field) => field.kind !== 'object')
      .map((field) => ({
        name: columnName(field),
        type: expectedType(datamodel, model, field),
        // Prisma creates scalar lists as nullable columns.
        notNull: field.isRequired && !field.isList,
        default: expectedDefault(datamodel, model, field),
      }));
    tables.set(tableName(model), {
      columns: sortBy(columns, (c) => c.name),
      indexes: sortBy(expectedIndexes(datamodel, model), (i) => i.name),
      foreignKeys: sortBy(expectedForeignKeys(datamodel, model), (fk) => fk.columns.join()),
    });
  }
  const enums = new Map(
    datamodel.enums.map((e) => [e.dbName ?? e.name, e.values.map((value) => value.dbName ?? value.name)]),
  );
  return { tables, enums };
}

// ---------------------------------------------------------------------------
// Actual: from pg_catalog
// ---------------------------------------------------------------------------

const ACTION_CODES: Record<string, string> = {
  a: 'NoAction',
  r: 'Restrict',
  c: 'Cascade',
  n: 'SetNull',
  d: 'SetDefault',
};

/**
 * Literal defaults without their cast ('USER'::"Role" → 'USER', '-1'::integer → -1), and now() as
 * Prisma writes it, so they compare with what expectedDefault() derives from the schema.
 */
function normalizeDefault(expression: string | null): string | null {
  if (expression === null) return null;
  if (expression === 'now()') return 'CURRENT_TIMESTAMP';
  const negativeNumber = /^'(-[\d.]+)'::(?:smallint|integer|bigint|real|double precision|numeric)$/.exec(expression);
  if (negativeNumber) return negativeNumber[1]!;
  return /^('(?:[^']|'')*')::[^']+$/.exec(expression)?.[1] ?? expression;
}

async function readDatabaseShape(client: pg.Client): Promise<DatabaseShape> {
  const tables = new Map<string, Table>();
  const { rows: tableRows } = await client.query<{ table: string }>(
    `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
    [SCHEMA],
  );
  for (const { table } of tableRows) tables.set(table, { columns: [], indexes: [], foreignKeys: [] });

  const { rows: columns } = await client.query<Column & { table: string }>(
    `SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
    [SCHEMA],
  );
  for (const { table, ...column } of columns) {
    tables.get(table)?.columns.push({ ...column, default: normalizeDefault(column.default as string | null) });
  }

  const { rows: indexes } = await client.query<Index & { table: string; primary: boolean; unique: boolean }>(
    `SELECT t.relname AS table, i.relname AS name, x.indisprimary AS primary, x.indisunique AS unique,
            am.amname AS method, x.indpred IS NOT NULL AS partial,
            ARRAY(SELECT coalesce(a.attname::text, pg_get_indexdef(x.indexrelid, k.n::int, true))
                         || CASE WHEN x.indoption[k.n - 1] & 1 = 1 THEN ' DESC' ELSE '' END
                    FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                    LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                   WHERE k.n <= x.indnkeyatts
                   ORDER BY k.n) AS columns
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_am am ON am.oid = i.relam
      WHERE n.nspname = $1`,
    [SCHEMA],
  );
  for (const { table, primary, unique, ...index } of indexes) {
    const kind = primary ? 'primary key' : unique ? 'unique' : 'index';
    tables.get(table)?.indexes.push({ ...index, kind });
  }

  const { rows: foreignKeys } = await client.query<{
    table: string;
    columns: string[];
    referencedTable: string;
    referencedColumns: string[];
    onDelete: string;
    onUpdate: string;
  }>(
    `SELECT t.relname AS table, r.relname AS "referencedTable",
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.n)
              AS "referencedColumns",
            con.confdeltype AS "onDelete", con.confupdtype AS "onUpdate"
       FROM pg_constraint con
       JOIN pg_class t ON t.oid = con.conrelid
       JOIN pg_class r ON r.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE con.contype = 'f' AND n.nspname = $1`,
    [SCHEMA],
  );
  for (const fk of foreignKeys) {
    tables.get(fk.table)?.foreignKeys.push({
      columns: fk.columns,
      references: { table: fk.referencedTable, columns: fk.referencedColumns },
      onDelete: ACTION_CODES[fk.onDelete] ?? fk.onDelete,
      onUpdate: ACTION_CODES[fk.onUpdate] ?? fk.onUpdate,
    });
  }

  for (const table of tables.values()) {
    table.columns = sortBy(table.columns, (c) => c.name);
    table.indexes = sortBy(table.indexes, (i) => i.name);
    table.foreignKeys = sortBy(table.foreignKeys, (fk) => fk.columns.join());
  }

  const { rows: enumRows } = await client.query<{ name: string; values: string[] }>(
    `SELECT t.typname AS name,
            ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS values
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype = 'e' AND n.nspname = $1`,
    [SCHEMA],
  );
  return { tables, enums: new Map(enumRows.map((e) => [e.name, e.values])) };
}

function sortBy<T>(items: T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => key(a).localeCompare(key(b)));
}

// ---------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------

const expected = expectedShape(readDatamodel(SCHEMA_PATH));
let actual: DatabaseShape;

beforeAll(async () => {
  const db = await createTestDatabase();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    actual = await readDatabaseShape(client);
  } finally {
    await client.end();
    await db.drop();
  }
});

describe('the migrated database matches prisma/schema.prisma', () => {
  it('has a table for every model, and no table the schema does not describe', () => {
    expect([...actual.tables.keys()].sort()).toEqual([...expected.tables.keys(), '_prisma_migrations'].sort());
  });

  it('has every enum with the same values in the same order, and no other enum', () => {
    expect(Object.fromEntries(actual.enums)).toEqual(Object.fromEntries(expected.enums));
  });

  describe.each([...expected.tables.keys()])('table %s', (table) => {
    it('has the columns of the model: names, types, nullability and defaults', () => {
      expect(actual.tables.get(table)?.columns).toEqual(expected.tables.get(table)!.columns);
    });

    it('has the primary key, unique and other indexes of the model (names, columns, order, sort)', () => {
      expect(actual.tables.get(table)?.indexes).toEqual(expected.tables.get(table)!.indexes);
    });

    it('has the foreign keys of the model’s relations, with their referential actions', () => {
      expect(actual.tables.get(table)?.foreignKeys).toEqual(expected.tables.get(table)!.foreignKeys);
    });
  });
});
