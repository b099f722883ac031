import { z } from 'zod';
import type { AppServices, Viewer } from '../../core/context.js';
import {
  badUserInput,
  capacityReached,
  conflict,
  forbidden,
  isForeignKeyViolation,
  isUniqueViolation,
  notFound,
  retryOnWriteConflict,
} from '../../core/errors.js';
import { escapeLike, type Page, type PageArgs, paginate } from '../../core/pagination.js';
import type { JoinRequest, Prisma, Team, TeamMember } from '../../generated/prisma/client.js';
import { poolOf, preparedStatements } from '../../infra/db.js';
import { STORED_USER_COLUMNS, type StoredUser } from '../users/users.service.js';
import { liveRow, statusChanges } from '../../infra/events/bus.js';
import type { JoinRequestUpdatedEvent } from './teams.events.js';

/*
 * Teams (docs/invariants.md, "Teams"). Every rule that must hold whatever runs
 * at once is the database's: a user's one membership is a unique index, one
 * PENDING request per (team, user) and one OWNER per team are partial unique
 * indexes, and member_count changes only under the team's row lock, with a
 * CHECK that it never passes max_size. Locks are taken in one order —
 * the requester's user row, then the team row, then request rows — so two
 * operations never wait on each other in a cycle.
 */

const MAX_TEAM_SKILLS = 10;
const MAX_USER_SKILLS = 20;
export const MIN_TEAM_SIZE = 2;
export const MAX_TEAM_SIZE = 10;
const MAX_SUGGESTIONS = 50;

/** Skills are compared lower-cased; a list keeps the first of duplicates. */
const skill = z
  .string()
  .trim()
  .toLowerCase()
  .min(1, 'A skill must not be empty.')
  .max(30, 'A skill must be at most 30 characters.');
const skillList = (max: number, whose: string) =>
  z
    .array(skill)
    .transform((skills) => [...new Set(skills)])
    .refine((skills) => skills.length <= max, `At most ${max} ${whose} skills.`);

export const userSkillsSchema = skillList(MAX_USER_SKILLS, 'user');
const teamSkills = skillList(MAX_TEAM_SKILLS, 'team');
const teamName = z
  .string()
  .trim()
  .min(3, 'Name must be 3 to 50 characters.')
  .max(50, 'Name must be 3 to 50 characters.');
const description = z.string().max(2000, 'Description must be at most 2000 characters.').nullish();
const maxSize = z
  .number()
  .int()
  .min(MIN_TEAM_SIZE, `maxSize must be ${MIN_TEAM_SIZE} to ${MAX_TEAM_SIZE}.`)
  .max(MAX_TEAM_SIZE, `maxSize must be ${MIN_TEAM_SIZE} to ${MAX_TEAM_SIZE}.`);
export const joinMessageSchema = z.string().max(500, 'Message must be at most 500 characters.').nullish();

export const createTeamInputSchema = z.object({ name: teamName, description, skills: teamSkills.nullish(), maxSize });
// Absent or null leaves a value as it is, but a null description clears it.
export const updateTeamInputSchema = z.object({
  name: teamName.nullish(),
  description,
  skills: teamSkills.nullish(),
  maxSize: maxSize.nullish(),
});
export const teamFilterSchema = z.object({
  search: z.string().trim().max(100, 'Search must be at most 100 characters.').nullish(),
  skill: skill.nullish(),
  hasOpenSeats: z.boolean().nullish(),
});
/** The most join requests `Team.joinRequests` lists at once. */
export const MAX_JOIN_REQUESTS_LISTED = 100;
export const joinRequestCountSchema = z
  .number()
  .int()
  .min(1, `Must be between 1 and ${MAX_JOIN_REQUESTS_LISTED}.`)
  .max(MAX_JOIN_REQUESTS_LISTED, `Must be between 1 and ${MAX_JOIN_REQUESTS_LISTED}.`);

export const suggestionCountSchema = z
  .number()
  .int()
  .min(1, `Must be between 1 and ${MAX_SUGGESTIONS}.`)
  .max(MAX_SUGGESTIONS, `Must be between 1 and ${MAX_SUGGESTIONS}.`);

export type CreateTeamInput = z.infer<typeof createTeamInputSchema>;
export type UpdateTeamInput = z.infer<typeof updateTeamInputSchema>;
export type TeamFilter = z.infer<typeof teamFilterSchema>;

type TeamQuery = { select?: Prisma.TeamSelect; include?: Prisma.TeamInclude };
type JoinRequestQuery = { select?: Prisma.JoinRequestSelect; include?: Prisma.JoinRequestInclude };
type UserQuery = { select?: Prisma.UserSelect; include?: Prisma.UserInclude };
type Tx = Parameters<Parameters<AppServices['db']['$transaction']>[0]>[0];

/** Members oldest first; the user id breaks ties of one millisecond. */
const MEMBER_ORDER = [{ joinedAt: 'asc' }, { userId: 'asc' }] satisfies Prisma.TeamMemberOrderByWithRelationInput[];

/** What changed, published once the transaction that changed it has committed. */
interface Changes {
  teams: string[];
  requests: JoinRequestUpdatedEvent[];
}

async function publish(services: AppServices, changes: Changes): Promise<void> {
  await Promise.all([
    ...[...new Set(changes.teams)].map((teamId) => services.pubsub.publish('teamUpdated', { teamId })),
    ...changes.requests.map((event) => services.pubsub.publish('joinRequestUpdated', event)),
  ]);
}

/**
 * Runs `work` in a transaction (again, if PostgreSQL aborted it for a
 * deadlock), then publishes what it changed.
 */
async function commit<T>(services: AppServices, work: (tx: Tx, changes: Changes) => Promise<T>): Promise<T> {
  const changes: Changes = { teams: [], requests: [] };
  const result = await retryOnWriteConflict(() => {
    changes.teams = [];
    changes.requests = [];
    return services.db.$transaction((tx) => work(tx, changes));
  });
  await publish(services, changes);
  return result;
}

/** The viewer's user row, locked: what one user does to their memberships and requests runs one at a time. */
async function lockUser(tx: Tx, userId: string): Promise<void> {
  await tx.$executeRaw`SELECT 1 FROM "users" WHERE "id" = ${userId} FOR NO KEY UPDATE`;
}

interface LockedTeam {
  id: string;
  memberCount: number;
  maxSize: number;
  ownerId: string | null;
}

/** The team's row, locked, with its owner: membership changes of one team run one at a time. */
async function lockTeam(tx: Tx, teamId: string): Promise<LockedTeam> {
  const rows = await tx.$queryRaw<LockedTeam[]>`
    SELECT t."id", t."member_count" AS "memberCount", t."max_size" AS "maxSize",
           (SELECT m."user_id" FROM "team_members" m WHERE m."team_id" = t."id" AND m."role" = 'OWNER') AS "ownerId"
      FROM "teams" t WHERE t."id" = ${teamId} FOR NO KEY UPDATE OF t`;
  const team = rows[0];
  if (!team) throw notFound('Team');
  return team;
}

/** The owner of a team the viewer can see; anyone else is FORBIDDEN (teams are visible to everyone signed in). */
function requireOwner(team: LockedTeam, viewer: Viewer): void {
  if (team.ownerId !== viewer.id) throw forbidden('Only the team’s owner may do this.');
}

/** Marks the user's PENDING requests WITHDRAWN: they created a team (accepting does the same in team_respond). */
async function withdrawPendingRequests(tx: Tx, userId: string, changes: Changes): Promise<void> {
  const withdrawn = await tx.$queryRaw<{ id: string; teamId: string; ownerId: string }[]>`
    UPDATE "join_requests" r SET "status" = 'WITHDRAWN', "decided_at" = now()
      FROM "team_members" o
     WHERE r."user_id" = ${userId} AND r."status" = 'PENDING'
       AND o."team_id" = r."team_id" AND o."role" = 'OWNER'
    RETURNING r."id", r."team_id" AS "teamId", o."user_id" AS "ownerId"`;
  for (const request of withdrawn) {
    changes.teams.push(request.teamId);
    changes.requests.push({ id: request.id, userId, ownerId: request.ownerId, status: 'WITHDRAWN' });
  }
}

async function teamById(services: AppServices, id: string, query: TeamQuery): Promise<Team> {
  const team = await services.db.team.findUnique({ ...query, where: { id } });
  if (!team) throw notFound('Team');
  return team;
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

export function getTeam(services: AppServices, id: string, query: TeamQuery = {}): Promise<Team> {
  return teamById(services, id, query);
}

/** A member as the schema reads one: with its user. */
export type MemberWithUser = TeamMember & { user: StoredUser };
/** A team as a hand-written read gives it: every column, and its members when they were asked. */
export type TeamRow = Team & { members?: MemberWithUser[] };

const TEAM_SELECT = `t."id", t."name"::text AS "name", t."description", coalesce(t."skills", '{}') AS "skills",
  t."max_size" AS "maxSize", t."member_count" AS "memberCount", t."created_at" AS "createdAt", t."updated_at" AS "updatedAt"`;
/**
 * The members, oldest first, each with its user's `userFields` (the id always:
 * relations of a user load by it; names that are not columns are left out):
 * one subquery per team row, in the same statement.
 */
function membersSelect(userFields: ReadonlySet<string>): string {
  const columns = Object.entries(STORED_USER_COLUMNS)
    .filter(([field]) => field === 'id' || userFields.has(field))
    .map(([field, column]) => `'${field}', ${column === 'skills' ? `coalesce(u."skills", '{}')` : `u."${column}"`}`);
  return `(SELECT coalesce(json_agg(json_build_object('teamId', m."team_id", 'userId', m."user_id",
    'role', m."role", 'joinedAt', m."joined_at", 'user', json_build_object(${columns.join(', ')}))
    ORDER BY m."joined_at", m."user_id"), '[]')
    FROM "team_members" m JOIN "users" u ON u."id" = m."user_id" WHERE m."team_id" = t."id") AS "members"`;
}

/** What a read of teams is asked for: the members (with these fields of their users), or null: not asked. */
export type MemberSelection = ReadonlySet<string> | null;

const withMembersSelect = (members: MemberSelection) => (members ? `, ${membersSelect(members)}` : '');

const prepared = preparedStatements('teams');

/**
 * Teams newest first; `search` matches name or description case-insensitively
 * and literally. The hot read of the domain: one statement on the pool reads a
 * page with its members and their users (when asked), a second the count
 * (when asked) — Prisma's pipeline for a page of teams and members cost ten
 * times the statement.
 */
export function listTeams(
  services: AppServices,
  args: PageArgs & { filter?: TeamFilter | null },
  members: MemberSelection,
): Promise<Page<TeamRow>> {
  const filter = args.filter ?? {};
  const values: unknown[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  const conditions: string[] = [];
  if (filter.search) {
    const pattern = param(`%${escapeLike(filter.search)}%`);
    conditions.push(`(t."name" ILIKE ${pattern} OR t."description" ILIKE ${pattern})`);
  }
  if (filter.skill) conditions.push(`t."skills" @> ARRAY[${param(filter.skill)}]::text[]`);
  if (filter.hasOpenSeats === true) conditions.push(`t."member_count" < t."max_size"`);
  if (filter.hasOpenSeats === false) conditions.push(`t."member_count" >= t."max_size"`);
  const where = (extra: string[]) => {
    const all = [...conditions, ...extra];
    return all.length > 0 ? `WHERE ${all.join(' AND ')}` : '';
  };
  const pool = poolOf(services.db);
  return paginate(args, {
    count: async () => {
      const { rows } = await pool.query<{ count: number }>(
        prepared(`SELECT count(*)::int AS "count" FROM "teams" t ${where([])}`, values),
      );
      return rows[0]!.count;
    },
    fetch: async (page, after) => {
      const pageValues = [...values];
      const keyset = after
        ? [`(t."created_at", t."id") < ($${pageValues.push(after.createdAt)}, $${pageValues.push(after.id)})`]
        : [];
      const { rows } = await pool.query<TeamRow>(
        prepared(
          `SELECT ${TEAM_SELECT}${withMembersSelect(members)} FROM "teams" t ${where(keyset)}
           ORDER BY t."created_at" DESC, t."id" DESC LIMIT $${pageValues.push(page.take)}`,
          pageValues,
        ),
      );
      // The members' dates come as JSON strings: the schema's DateTime serializes either.
      return rows;
    },
  });
}

/**
 * Teams with an open seat that the viewer is not in, those looking for most
 * of the viewer's skills first, then newest: ranked and read in one statement.
 */
export async function suggestTeams(
  services: AppServices,
  viewer: Viewer,
  first: number,
  members: MemberSelection,
): Promise<TeamRow[]> {
  const { rows } = await poolOf(services.db).query<TeamRow>(
    prepared(
      `SELECT ${TEAM_SELECT}${withMembersSelect(members)}
         FROM "teams" t, (SELECT coalesce("skills", '{}') AS "skills" FROM "users" WHERE "id" = $1) v
        WHERE t."member_count" < t."max_size"
          AND NOT EXISTS (SELECT 1 FROM "team_members" m WHERE m."team_id" = t."id" AND m."user_id" = $1)
        ORDER BY cardinality(ARRAY(SELECT unnest(t."skills") INTERSECT SELECT unnest(v."skills"))) DESC,
                 t."created_at" DESC, t."id" DESC
        LIMIT $2`,
      [viewer.id, first],
    ),
  );
  return rows;
}

/**
 * The members of a team read without them (by Prisma, for one team or a
 * request's): Prisma batches these calls of one tick into one statement.
 */
export function membersOf(services: AppServices, teamId: string): Promise<MemberWithUser[]> {
  return services.db.team
    .findUnique({ where: { id: teamId } })
    .members({ orderBy: MEMBER_ORDER, include: { user: true } })
    .then((members) => members ?? []);
}

/** A team's requests with `status`, oldest first — for its owner; anyone else gets none. */
export function teamJoinRequests(
  services: AppServices,
  viewer: Viewer | null,
  teamId: string,
  status: JoinRequest['status'],
  first: number,
  query: JoinRequestQuery = {},
): Promise<JoinRequest[]> {
  if (!viewer) return Promise.resolve([]);
  return services.db.joinRequest.findMany({
    ...query,
    where: { teamId, status, team: { members: { some: { userId: viewer.id, role: 'OWNER' } } } },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: first,
  });
}

export function listMyJoinRequests(
  services: AppServices,
  viewer: Viewer,
  args: PageArgs,
  query: JoinRequestQuery = {},
): Promise<Page<JoinRequest>> {
  const where = { userId: viewer.id };
  return paginate(args, {
    count: () => services.db.joinRequest.count({ where }),
    fetch: (page) => services.db.joinRequest.findMany({ ...query, ...page, where: { AND: [where, page.where] } }),
  });
}

// ---------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------

export async function setSkills(
  services: AppServices,
  viewer: Viewer,
  skills: string[],
  query: UserQuery = {},
): Promise<StoredUser> {
  return services.db.user.update({ ...query, where: { id: viewer.id }, data: { skills } });
}

const nameTaken = () => conflict('A team with this name exists.', { 'input.name': 'Name is taken.' });

/** Creating a team is joining it, as its OWNER: the viewer's other requests are withdrawn. */
export async function createTeam(
  services: AppServices,
  viewer: Viewer,
  input: CreateTeamInput,
  query: TeamQuery = {},
): Promise<Team> {
  const id = await commit(services, async (tx, changes) => {
    await lockUser(tx, viewer.id);
    if (await tx.teamMember.findUnique({ where: { userId: viewer.id }, select: { teamId: true } })) {
      throw conflict('You are already in a team.');
    }
    const team = await tx.team
      .create({
        data: {
          name: input.name,
          description: input.description ?? null,
          skills: input.skills ?? [],
          maxSize: input.maxSize,
          memberCount: 1,
          members: { create: { userId: viewer.id, role: 'OWNER' } },
        },
        select: { id: true },
      })
      .catch((error: unknown) => {
        throw isUniqueViolation(error) ? nameTaken() : error;
      });
    await withdrawPendingRequests(tx, viewer.id, changes);
    changes.teams.push(team.id);
    return team.id;
  });
  return teamById(services, id, query);
}

export async function updateTeam(
  services: AppServices,
  viewer: Viewer,
  teamId: string,
  input: UpdateTeamInput,
  query: TeamQuery = {},
): Promise<Team> {
  await commit(services, async (tx, changes) => {
    const team = await lockTeam(tx, teamId);
    requireOwner(team, viewer);
    if (input.maxSize != null && input.maxSize < team.memberCount) {
      throw badUserInput({ 'input.maxSize': `The team has ${team.memberCount} members; maxSize cannot be lower.` });
    }
    const data: Prisma.TeamUpdateInput = {};
    if (input.name != null) data.name = input.name;
    if (input.description !== undefined) data.description = input.description;
    if (input.skills != null) data.skills = input.skills;
    if (input.maxSize != null) data.maxSize = input.maxSize;
    await tx.team.update({ where: { id: teamId }, data, select: { id: true } }).catch((error: unknown) => {
      throw isUniqueViolation(error) ? nameTaken() : error;
    });
    changes.teams.push(teamId);
  });
  return teamById(services, teamId, query);
}

/**
 * One call of team_request_to_join (migration 20261201020000_team_requests):
 * the requester's lock, the checks and the insert in one statement.
 */
export async function requestToJoin(
  services: AppServices,
  viewer: Viewer,
  teamId: string,
  message: string | null | undefined,
  query: JoinRequestQuery = {},
): Promise<JoinRequest> {
  const { rows } = await retryOnWriteConflict(() =>
    poolOf(services.db).query<{ outcome: string; requestId: string | null; ownerId: string | null }>(
      prepared('SELECT * FROM team_request_to_join($1, $2, $3)', [teamId, viewer.id, message ?? null]),
    ),
  );
  const { outcome, requestId, ownerId } = rows[0]!;
  if (outcome === 'not_found') throw notFound('Team');
  if (outcome === 'in_a_team') throw conflict('You are already in a team.');
  if (outcome === 'full') throw capacityReached('The team has no open seat.');
  if (outcome === 'duplicate') throw conflict('You already asked to join this team.');
  // The answer's read need not wait for the events: both are after the commit.
  const [request] = await Promise.all([
    services.db.joinRequest.findUniqueOrThrow({ ...query, where: { id: requestId! } }),
    publish(services, {
      teams: [teamId],
      requests: [{ id: requestId!, userId: viewer.id, ownerId: ownerId!, status: 'PENDING' }],
    }),
  ]);
  return request;
}

interface RequestWithOwner {
  id: string;
  teamId: string;
  userId: string;
  status: JoinRequest['status'];
  ownerId: string;
}

/** A request, locked, and its team's owner, if the viewer may see it (its requester or that owner); else NOT_FOUND. */
async function visibleRequest(tx: Tx, viewer: Viewer, requestId: string) {
  const rows = await tx.$queryRaw<RequestWithOwner[]>`
    SELECT r."id", r."team_id" AS "teamId", r."user_id" AS "userId", r."status"::text AS "status", o."user_id" AS "ownerId"
      FROM "join_requests" r JOIN "team_members" o ON o."team_id" = r."team_id" AND o."role" = 'OWNER'
     WHERE r."id" = ${requestId} FOR UPDATE OF r`;
  const request = rows[0];
  if (!request || (request.userId !== viewer.id && request.ownerId !== viewer.id)) throw notFound('Join request');
  return request;
}

const notPending = (status: string) => conflict(`The request is ${status}, no longer PENDING.`);

export async function withdrawJoinRequest(
  services: AppServices,
  viewer: Viewer,
  requestId: string,
  query: JoinRequestQuery = {},
): Promise<JoinRequest> {
  await commit(services, async (tx, changes) => {
    const request = await visibleRequest(tx, viewer, requestId);
    if (request.userId !== viewer.id) throw forbidden('Only the requester may withdraw a request.');
    if (request.status !== 'PENDING') throw notPending(request.status);
    await tx.joinRequest.update({ where: { id: requestId }, data: { status: 'WITHDRAWN', decidedAt: new Date() } });
    changes.teams.push(request.teamId);
    changes.requests.push({ id: requestId, userId: request.userId, ownerId: request.ownerId, status: 'WITHDRAWN' });
  });
  return services.db.joinRequest.findUniqueOrThrow({ ...query, where: { id: requestId } });
}

interface Response {
  outcome: 'accepted' | 'rejected' | 'joined_elsewhere' | 'full' | 'not_pending' | 'forbidden' | 'not_found';
  teamId: string | null;
  userId: string | null;
  requestStatus: JoinRequest['status'] | null;
  withdrawnIds: string[] | null;
  withdrawnTeamIds: string[] | null;
  withdrawnOwnerIds: string[] | null;
}

/**
 * The owner decides, in one call of team_respond (migration
 * 20261201020000_team_requests). Accepting takes the requester's row, then the
 * team's, then the request's: the seat count and the requester's one
 * membership are decided by whoever commits first, and everyone else sees the
 * result.
 */
export async function respondToJoinRequest(
  services: AppServices,
  viewer: Viewer,
  requestId: string,
  accept: boolean,
  query: JoinRequestQuery = {},
): Promise<JoinRequest> {
  const { rows } = await retryOnWriteConflict(() =>
    poolOf(services.db).query<Response>(prepared('SELECT * FROM team_respond($1, $2, $3)', [requestId, viewer.id, accept])),
  );
  const response = rows[0]!;
  switch (response.outcome) {
    case 'not_found':
      throw notFound('Join request');
    case 'forbidden':
      throw forbidden('Only the team’s owner may answer a request.');
    case 'not_pending':
      throw notPending(response.requestStatus!);
    case 'full':
      throw capacityReached('The team has no open seat.');
    default:
      break;
  }
  const decided: JoinRequestUpdatedEvent = {
    id: requestId,
    userId: response.userId!,
    ownerId: viewer.id,
    status: response.requestStatus as JoinRequestUpdatedEvent['status'],
  };
  const withdrawn = (response.withdrawnIds ?? []).map((id, i) => ({
    id,
    userId: response.userId!,
    ownerId: response.withdrawnOwnerIds![i]!,
    status: 'WITHDRAWN' as const,
  }));
  const published = publish(services, {
    teams: [response.teamId!, ...(response.withdrawnTeamIds ?? [])],
    requests: [decided, ...withdrawn],
  });
  if (response.outcome === 'joined_elsewhere') {
    await published;
    throw conflict('The requester has joined another team; the request is withdrawn.');
  }
  const [request] = await Promise.all([
    services.db.joinRequest.findUniqueOrThrow({ ...query, where: { id: requestId } }),
    published,
  ]);
  return request;
}

/** A member leaves; the owner only as the last member, which disbands the team (its requests go with it). */
export async function leaveTeam(services: AppServices, viewer: Viewer, teamId: string): Promise<boolean> {
  await commit(services, async (tx, changes) => {
    const team = await lockTeam(tx, teamId);
    const membership = await tx.teamMember.findUnique({
      where: { teamId_userId: { teamId, userId: viewer.id } },
      select: { role: true },
    });
    if (!membership) throw notFound('Membership');
    if (membership.role === 'OWNER') {
      if (team.memberCount > 1) {
        throw conflict('The owner may leave only as the last member: transfer the ownership first.');
      }
      // A team registered for a quiz stays, with its standings: quiz_registrations refuses the delete.
      await tx.team.delete({ where: { id: teamId }, select: { id: true } }).catch((error: unknown) => {
        if (isForeignKeyViolation(error)) throw conflict('The team is registered for a quiz: its last member cannot leave.');
        throw error;
      });
    } else {
      await removeMembership(tx, teamId, viewer.id);
    }
    changes.teams.push(teamId);
  });
  return true;
}

async function removeMembership(tx: Tx, teamId: string, userId: string): Promise<void> {
  await tx.teamMember.delete({ where: { teamId_userId: { teamId, userId } } });
  await tx.team.update({ where: { id: teamId }, data: { memberCount: { decrement: 1 } }, select: { id: true } });
}

export async function removeMember(
  services: AppServices,
  viewer: Viewer,
  teamId: string,
  userId: string,
  query: TeamQuery = {},
): Promise<Team> {
  await commit(services, async (tx, changes) => {
    const team = await lockTeam(tx, teamId);
    requireOwner(team, viewer);
    if (userId === viewer.id) {
      throw badUserInput({ userId: 'The owner cannot be removed: transfer the ownership, or leave as the last member.' });
    }
    const member = await tx.teamMember.findUnique({ where: { teamId_userId: { teamId, userId } }, select: { role: true } });
    if (!member) throw notFound('Member');
    await removeMembership(tx, teamId, userId);
    changes.teams.push(teamId);
  });
  return teamById(services, teamId, query);
}

/** The old owner becomes a MEMBER before the new one becomes OWNER: the one-owner index holds at every row. */
export async function transferOwnership(
  services: AppServices,
  viewer: Viewer,
  teamId: string,
  userId: string,
  query: TeamQuery = {},
): Promise<Team> {
  await commit(services, async (tx, changes) => {
    const team = await lockTeam(tx, teamId);
    requireOwner(team, viewer);
    if (userId === viewer.id) throw badUserInput({ userId: 'You already own this team.' });
    const member = await tx.teamMember.findUnique({ where: { teamId_userId: { teamId, userId } }, select: { role: true } });
    if (!member) throw badUserInput({ userId: 'Must be a member of the team.' });
    await tx.teamMember.update({ where: { teamId_userId: { teamId, userId: viewer.id } }, data: { role: 'MEMBER' } });
    await tx.teamMember.update({ where: { teamId_userId: { teamId, userId } }, data: { role: 'OWNER' } });
    await tx.team.update({ where: { id: teamId }, data: { updatedAt: new Date() }, select: { id: true } });
    changes.teams.push(teamId);
  });
  return teamById(services, teamId, query);
}

// ---------------------------------------------------------------------------
// Live
// ---------------------------------------------------------------------------

const isMember = (services: AppServices, teamId: string, userId: string) =>
  services.db.teamMember.findUnique({ where: { teamId_userId: { teamId, userId } }, select: { role: true } });

/**
 * teamUpdated: members only (anyone else NOT_FOUND, like a team that does not
 * exist). The team now, then after each change; a viewer who is no longer a
 * member (removed, left, or the team disbanded) gets nothing more: the stream ends.
 */
export async function teamUpdates(
  services: AppServices,
  viewer: Viewer,
  teamId: string,
  query: TeamQuery = {},
): Promise<AsyncIterable<Team>> {
  if (!(await isMember(services, teamId, viewer.id))) throw notFound('Team');
  const events = services.pubsub.subscribe('teamUpdated', (event) => event.teamId === teamId);
  return liveRow(events, async () => {
    const [member, team] = await Promise.all([
      isMember(services, teamId, viewer.id),
      services.db.team.findUnique({ ...query, where: { id: teamId } }),
    ]);
    return member ? team : null;
  });
}

/** joinRequestUpdated: the viewer's own requests, and requests to the team the viewer owns. */
export function joinRequestUpdates(
  services: AppServices,
  viewer: Viewer,
  query: JoinRequestQuery = {},
): AsyncIterable<JoinRequest> {
  const read = query.select ? { select: { ...query.select, status: true } } : query;
  return statusChanges(
    services.pubsub.subscribe('joinRequestUpdated', (event) => event.userId === viewer.id || event.ownerId === viewer.id),
    (event) => services.db.joinRequest.findUnique({ ...read, where: { id: event.id } }) as Promise<JoinRequest | null>,
  );
}
