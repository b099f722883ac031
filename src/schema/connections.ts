import type { builder } from './builder.js';

type ArgBuilder = Parameters<Parameters<typeof builder.queryFields>[0]>[0]['arg'];

/** The `first`/`after` arguments of every connection field (see pagination.ts for their rules). */
export function connectionArgs(t: { arg: ArgBuilder }) {
  return {
    first: t.arg.int({ description: 'Page size: 1 to 100, default 20.' }),
    after: t.arg.string({ description: 'The endCursor of the previous page.' }),
  };
}
