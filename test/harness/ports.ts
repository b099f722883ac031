/**
 * Free loopback ports. The product's own freePort (embedded mode needs one
 * too) is the one implementation; src/ may not import from test/, so the
 * harness re-exports it rather than the other way round.
 */
export { freePort } from '../../src/infra/embedded-postgres.js';
