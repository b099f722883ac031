import { badUserInput } from './errors.js';

/**
 * Keyset pagination, newest first with the id as tie-breaker, shared by every
 * connection. Cursors are opaque to clients: base64url of [createdAt, id].
 */

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: () => Promise<number>;
}

interface Keyed {
  id: string;
  createdAt: Date;
}

/** What a page query adds to the caller's own where clause. */
export interface PageQuery {
  where: { OR?: object[] };
  orderBy: [{ createdAt: 'desc' }, { id: 'desc' }];
  take: number;
}

function encodeCursor(row: Keyed): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

/** Ids are UUIDs (36 characters); a longer one was not made by encodeCursor. */
const MAX_CURSOR_ID_LENGTH = 64;
// Dates PostgreSQL's timestamp holds, and rows of this service can have.
const MIN_CURSOR_TIME = Date.UTC(1970, 0, 1);
const MAX_CURSOR_TIME = Date.UTC(10000, 0, 1) - 1;

/**
 * A cursor is client input: whatever it decodes to goes into a query, so it
 * is checked as strictly as any argument — a short id without NUL (which
 * PostgreSQL refuses in text) and a date PostgreSQL's timestamp can hold.
 */
function decodeCursor(cursor: string): Keyed {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2) {
      const [createdAt, id] = decoded as unknown[];
      const time = typeof createdAt === 'string' ? Date.parse(createdAt) : Number.NaN;
      if (
        typeof id === 'string' &&
        id.length > 0 &&
        id.length <= MAX_CURSOR_ID_LENGTH &&
        !id.includes('\u0000') &&
        time >= MIN_CURSOR_TIME &&
        time <= MAX_CURSOR_TIME
      ) {
        return { id, createdAt: new Date(time) };
      }
    }
  } catch {
    // fall through to the error below
  }
  throw badUserInput({ after: 'Invalid cursor.' });
}

function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badUserInput({ first: `Must be between 1 and ${MAX_PAGE_SIZE}.` });
  }
  return first;
}

/** The row a page starts after (its cursor decoded), for a page read in SQL: `(created_at, id) < (after.createdAt, after.id)`. */
export type PageStart = Keyed;

export async function paginate<T extends Keyed>(
  args: PageArgs,
  source: { fetch: (page: PageQuery, after: PageStart | undefined) => Promise<T[]>; count: () => Promise<number> },
): Promise<Page<T>> {
  const size = pageSize(args.first);
  const after = args.after ? decodeCursor(args.after) : undefined;
  const where = after
    ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }
    : {};
  const rows = await source.fetch({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: size + 1 }, after);
  const nodes = rows.slice(0, size);
  // Cursors are encoded when read: most pages ask for endCursor at most, not one per edge.
  const edges = nodes.map((node) => ({
    node,
    get cursor() {
      return encodeCursor(node);
    },
  }));
  const first = nodes[0];
  const last = nodes.at(-1);
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > size,
      hasPreviousPage: after !== undefined,
      get startCursor() {
        return first ? encodeCursor(first) : null;
      },
      get endCursor() {
        return last ? encodeCursor(last) : null;
      },
    },
    // Counted only when the client asks for totalCount.
    totalCount: source.count,
  };
}

/** `text` with LIKE's `%`, `_` and `\` escaped (PostgreSQL's default escape is `\`), so that it matches literally. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (char) => `\\${char}`);

/** A case-insensitive substring filter that matches `%`, `_` and `\` literally. */
export function containsInsensitive(text: string) {
  return { contains: escapeLike(text), mode: 'insensitive' as const };
}
