import { z } from 'zod';
import type { AppServices } from '../../core/context.js';
import { conflict, isUniqueViolation, notFound } from '../../core/errors.js';
import type { Prisma, Role, User } from '../../generated/prisma/client.js';
import { containsInsensitive, type Page, type PageArgs, paginate } from '../../core/pagination.js';
import { poolOf } from '../../infra/db.js';
import type { Viewer } from '../../core/context.js';
import { openStartingAccount } from '../ledger/ledger.service.js';
import { isOwnerOrAdmin } from '../../core/access.js';
import { stalePageQuery } from '../../core/jobs.js';
import type { StalePage } from '../../infra/jobs/sweeper.js';

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'Email must be at most 254 characters.')
  .email('Email is not a valid address.');

export const nameSchema = z
  .string()
  .trim()
  .min(1, 'Name must not be empty.')
  .max(100, 'Name must be at most 100 characters.');

/** A user as every query but the password check reads one: infra/db.ts leaves the hash out. */
export type StoredUser = Omit<User, 'passwordHash'>;

export interface NewUser {
  email: string;
  name: string;
  passwordHash: string;
  role?: Role;
  provisioningStatus?: User['provisioningStatus'];
}

/** Emails arrive trimmed and lower-cased, so the unique index is case-insensitive in effect. */
export async function createUser(services: AppServices, data: NewUser): Promise<StoredUser> {
  try {
    return await services.db.user.create({ data });
  } catch (error) {
    if (isUniqueViolation(error))
      throw conflict('This email is already registered.', { 'input.email': 'Email is taken.' });
    throw error;
  }
}

type UserQuery = { select?: Prisma.UserSelect; include?: Prisma.UserInclude };

/** A user that must exist (a row's owner: the foreign key says so). */
export async function requireUser(services: AppServices, id: string): Promise<StoredUser> {
  const user = await findUserById(services, id);
  if (!user) throw new Error(`user ${id} not found, though a row refers to it`);
  return user;
}

/** Self or admin; anyone else is NOT_FOUND, so ids of other users are not confirmed. */
export async function getUser(services: AppServices, viewer: Viewer, id: string, query: UserQuery = {}) {
  if (!isOwnerOrAdmin(viewer, id)) throw notFound('User');
  const user = await services.db.user.findUnique({ ...query, where: { id } });
  if (!user) throw notFound('User');
  return user;
}

/**
 * Every column of a user but the password hash, by the field name Prisma gives
 * it: what hand-written reads of users (here, and a strategy page's owner) may select.
 */
export const STORED_USER_COLUMNS: Readonly<Record<keyof StoredUser, string>> = {
  id: 'id',
  email: 'email',
  name: 'name',
  role: 'role',
  provisioningStatus: 'provisioning_status',
  skills: 'skills',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};
const STORED_USER_SELECT = Object.entries(STORED_USER_COLUMNS)
  .map(([field, column]) => `${column} AS "${field}"`)
  .join(', ');

/**
 * A user by id (`me`, which clients ask on every page load): one prepared
 * statement on the pool, because Prisma's query pipeline costs more than this
 * read. Fields of User that need a relation (its team) load it themselves.
 */
export async function findUserById(services: AppServices, id: string): Promise<StoredUser | null> {
  const { rows } = await poolOf(services.db).query<StoredUser>({
    name: 'users.findUserById',
    text: `SELECT ${STORED_USER_SELECT} FROM users WHERE id = $1`,
    values: [id],
  });
  return rows[0] ?? null;
}

/** Admin listing; `search` is a case-insensitive substring of email or name, matched literally. */
export async function listUsers(
  services: AppServices,
  args: PageArgs & { search?: string | null },
  query: UserQuery = {},
): Promise<Page<StoredUser>> {
  const search = args.search?.trim();
  const where: Prisma.UserWhereInput = search
    ? { OR: [{ email: containsInsensitive(search) }, { name: containsInsensitive(search) }] }
    : {};
  return paginate(args, {
    count: () => services.db.user.count({ where }),
    fetch: (page) =>
      services.db.user.findMany({ ...query, ...page, where: { AND: [where, page.where] } }) as Promise<StoredUser[]>,
  });
}

export type ProvisionOutcome = 'ready' | 'already-ready' | 'no-such-user';

/**
 * Gives a new user what they start with (openStartingAccount: an account and
 * the welcome credit), then READY. Running it twice changes nothing: the
 * ledger finds what an earlier run did, and a READY user is left alone.
 */
export async function provisionUser(services: AppServices, userId: string): Promise<ProvisionOutcome> {
  const user = await services.db.user.findUnique({ where: { id: userId }, select: { provisioningStatus: true } });
  if (!user) return 'no-such-user';
  if (user.provisioningStatus === 'READY') return 'already-ready';
  await openStartingAccount(services, userId);
  await services.db.user.update({ where: { id: userId }, data: { provisioningStatus: 'READY' } });
  return 'ready';
}

/** After the last attempt: the user stays signed up but is marked FAILED (an admin can look into it). */
export async function markProvisioningFailed(services: AppServices, userId: string): Promise<void> {
  await services.db.user.updateMany({ where: { id: userId, provisioningStatus: 'PENDING' }, data: { provisioningStatus: 'FAILED' } });
}

/** A page of the users left PENDING (the sweeper delivers their provisioning again). */
export function stalePendingUsers(services: AppServices, page: StalePage) {
  return services.db.user.findMany(stalePageQuery({ provisioningStatus: 'PENDING' as const }, page));
}
