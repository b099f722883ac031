import type { Context, Viewer } from './context.js';
import { unauthenticated } from './errors.js';

/**
 * The access rules every module shares. A row the viewer may not see is
 * NOT_FOUND, never FORBIDDEN (no existence leak): services narrow their reads
 * with visibleTo, and fields reached through another row use isOwnerOrAdmin.
 */

export const isAdmin = (viewer: Pick<Viewer, 'role'> | null | undefined): boolean => viewer?.role === 'ADMIN';

/** The viewer owns the row (its owner's id is `ownerId`), or is an admin. */
export const isOwnerOrAdmin = (viewer: Viewer | null | undefined, ownerId: string): boolean =>
  viewer?.id === ownerId || isAdmin(viewer);

/**
 * The where clause of the rows a viewer may see: those whose `key` column
 * (the owner, `ownerId` by default) is the viewer, or every row for admins.
 */
export function visibleTo(viewer: Viewer): { ownerId?: string };
export function visibleTo<K extends string>(viewer: Viewer, key: K): Partial<Record<K, string>>;
export function visibleTo(viewer: Viewer, key = 'ownerId'): Partial<Record<string, string>> {
  return isAdmin(viewer) ? {} : { [key]: viewer.id };
}

/**
 * The signed-in viewer of a resolver's context. Fields that need one declare
 * `authScopes: { loggedIn: true }`, so this only throws where that is missing:
 * with the reason the token was refused, if it was.
 */
export function requireViewer(context: Pick<Context, 'viewer' | 'authError'>): Viewer {
  if (!context.viewer) throw context.authError ?? unauthenticated();
  return context.viewer;
}
