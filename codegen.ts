import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Types the operations that tests and examples send: write them with the
 * generated `graphql()` from test/gql, then `npm run codegen`.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', '!test/gql/**'],
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', BigInt: 'string', JSON: 'unknown', ID: 'string' },
      },
    },
  },
};

export default config;
