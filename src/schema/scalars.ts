import { Kind, type ValueNode } from 'graphql';
import { badUserInput } from '../core/errors.js';
import { builder } from './builder.js';

const invalid = (scalar: string, reason: string) => badUserInput({ [scalar]: reason }, `Invalid ${scalar}: ${reason}`);

builder.scalarType('DateTime', {
  description: 'An ISO-8601 timestamp in UTC, e.g. "2026-01-31T12:00:00.000Z".',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : undefined;
    if (!date || Number.isNaN(date.getTime())) throw invalid('DateTime', 'expected an ISO-8601 string');
    return date;
  },
  parseLiteral: (ast) => {
    const date = ast.kind === Kind.STRING ? new Date(ast.value) : undefined;
    if (!date || Number.isNaN(date.getTime())) throw invalid('DateTime', 'expected an ISO-8601 string');
    return date;
  },
});

const INTEGER = /^-?\d+$/;
/**
 * Longer than any amount the schema takes (money is at most 10^15). Checked
 * before the regex and BigInt(), whose cost grows with the length: a
 * million-digit literal is refused at once instead of after ~200 ms of parsing.
 */
const MAX_BIGINT_LENGTH = 40;

function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && value.length > MAX_BIGINT_LENGTH) {
    throw invalid('BigInt', `expected an integer of at most ${MAX_BIGINT_LENGTH} characters`);
  }
  if (typeof value === 'string' && INTEGER.test(value.trim())) return BigInt(value.trim());
  throw invalid('BigInt', 'expected an integer as a string or a number');
}

builder.scalarType('BigInt', {
  description:
    'An integer serialized as a JSON string ("1050"); accepts a string or a number. Money is in minor units.',
  serialize: (value) => toBigInt(value).toString(),
  parseValue: toBigInt,
  parseLiteral: (ast) => {
    if (ast.kind === Kind.INT || ast.kind === Kind.STRING) return toBigInt(ast.value);
    throw invalid('BigInt', 'expected an integer as a string or a number');
  },
});

function literalToJson(ast: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((item) => literalToJson(item, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((field) => [field.name.value, literalToJson(field.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      throw invalid('JSON', 'unsupported literal');
  }
}

builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => literalToJson(ast, variables),
});
