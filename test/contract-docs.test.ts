import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { KNOWN_ENV_VARIABLES } from '../src/config.js';
import { ERROR_CODES } from '../src/core/errors.js';

/** docs/contract.md is what clients read: it must not fall behind the code. */
const contract = readFileSync(new URL('../docs/contract.md', import.meta.url), 'utf8');

it.each(ERROR_CODES)('docs/contract.md documents the error code %s', (code) => {
  expect(contract).toContain(`\`${code}\``);
});

it.each(KNOWN_ENV_VARIABLES)('docs/contract.md documents the variable %s', (variable) => {
  expect(contract).toContain(`\`${variable}\``);
});
