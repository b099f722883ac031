import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Input rules more than one module shares. */

export const currencySchema = z
  .string()
  .trim()
  .regex(/^[A-Z]{3}$/, 'Currency must be three upper-case letters (ISO 4217).');

/** A client's key for retrying a request safely: the same key and request return the first result. */
export const idempotencyKeySchema = z
  .string()
  .min(8, 'Idempotency key must be 8 to 100 characters.')
  .max(100, 'Idempotency key must be 8 to 100 characters.');

/**
 * What makes two requests under one idempotency key "the same": a SHA-256 of
 * their fields, in order (a bigint as its decimal string).
 */
export function requestHash(fields: readonly unknown[]): string {
  const json = JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  return createHash('sha256').update(json).digest('hex');
}
