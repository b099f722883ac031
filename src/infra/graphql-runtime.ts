import { createRequire } from 'node:module';

/**
 * The graphql module the libraries use — Pothos builds the schema with it,
 * Yoga, envelop and graphql-ws execute with it: the CommonJS build, as Node
 * resolves `graphql` from a dependency. Where our own `import 'graphql'` loads
 * the ESM build as well (vitest's resolver picks it for project code), values
 * of one are not `instanceof` the other's classes; code that hands a schema or
 * an error to those libraries, or executes their schema, uses this one.
 */
export const graphqlRuntime = createRequire(import.meta.url)('graphql') as typeof import('graphql');
