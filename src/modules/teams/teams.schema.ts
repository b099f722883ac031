import { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../../schema/builder.js';
import type { GraphQLResolveInfo } from 'graphql';
import { connectionArgs, fieldNamesAt, pageConnection, pageQuery } from '../../schema/connections.js';
import { listOf } from '../../schema/cost.js';
import type { Context } from '../../core/context.js';
import type { Team } from '../../generated/prisma/client.js';
import { requireUser } from '../users/users.service.js';
import { UserType } from '../users/users.schema.js';
import { requireViewer } from '../../core/access.js';
import {
  createTeam,
  createTeamInputSchema,
  getTeam,
  joinMessageSchema,
  joinRequestUpdates,
  leaveTeam,
  listMyJoinRequests,
  listTeams,
  joinRequestCountSchema,
  MAX_JOIN_REQUESTS_LISTED,
  MAX_TEAM_SIZE,
  type MemberSelection,
  type MemberWithUser,
  membersOf,
  MIN_TEAM_SIZE,
  removeMember,
  requestToJoin,
  respondToJoinRequest,
  setSkills,
  suggestionCountSchema,
  suggestTeams,
  teamFilterSchema,
  teamJoinRequests,
  type TeamRow,
  teamUpdates,
  transferOwnership,
  updateTeam,
  updateTeamInputSchema,
  userSkillsSchema,
  withdrawJoinRequest,
} from './teams.service.js';

const TeamRoleEnum = builder.enumType('TeamRole', { values: ['OWNER', 'MEMBER'] as const });
const JoinRequestStatusEnum = builder.enumType('JoinRequestStatus', {
  values: ['PENDING', 'ACCEPTED', 'REJECTED', 'WITHDRAWN'] as const,
});

// Plain fields rather than Prisma relations for a team's members and their
// users: a page reads them with the teams (teams.service.ts, listTeams), and a
// relation would read each member's user again, one call per member.
const TeamMemberType = builder.prismaObject('TeamMember', {
  fields: (t) => ({
    user: t.field({
      type: UserType,
      resolve: (member, _args, context) => (member as Partial<MemberWithUser>).user ?? requireUser(context, member.userId),
    }),
    role: t.expose('role', { type: TeamRoleEnum }),
    joinedAt: t.expose('joinedAt', { type: 'DateTime' }),
  }),
});

const TeamType = builder.prismaObject('Team', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { description: '3–50 characters, unique case-insensitively.' }),
    description: t.exposeString('description', { nullable: true, description: 'At most 2,000 characters.' }),
    skills: t.exposeStringList('skills', {
      description: `What the team looks for: at most 10, lower-cased, de-duplicated.`,
    }),
    maxSize: t.exposeInt('maxSize', { description: `${MIN_TEAM_SIZE}–${MAX_TEAM_SIZE}, the owner included.` }),
    memberCount: t.exposeInt('memberCount'),
    // No `select`: rows read on the pool have no Prisma selection to match, and would be read again.
    openSeats: t.int({ resolve: (team) => team.maxSize - team.memberCount }),
    // The OWNER among the members, which a page has read with the team.
    owner: t.field({
      type: UserType,
      resolve: async (team, _args, context) =>
        (await membersOfRow(context, team)).find((member) => member.role === 'OWNER')!.user,
    }),
    members: t.field({
      type: [TeamMemberType],
      description: 'The owner included, oldest first.',
      complexity: listOf(MAX_TEAM_SIZE),
      resolve: (team, _args, context) => membersOfRow(context, team),
    }),
    joinRequests: t.prismaField({
      type: ['JoinRequest'],
      description: `The team’s owner sees them (oldest first, the first ${MAX_JOIN_REQUESTS_LISTED} by default); anyone else gets [].`,
      // Depends on the viewer: a shared subscription result that selects it is executed per subscriber.
      authScopes: { loggedIn: true },
      args: {
        status: t.arg({ type: JoinRequestStatusEnum, defaultValue: 'PENDING' }),
        first: t.arg.int({ defaultValue: MAX_JOIN_REQUESTS_LISTED, validate: joinRequestCountSchema.nullish() }),
      },
      resolve: (query, team, args, context) =>
        teamJoinRequests(context, context.viewer, team.id, args.status ?? 'PENDING', args.first ?? MAX_JOIN_REQUESTS_LISTED, query),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

/** A team row's members: read with it (a page, suggestions), or else now. */
const membersOfRow = (context: Context, team: Team): MemberWithUser[] | Promise<MemberWithUser[]> =>
  (team as TeamRow).members ?? membersOf(context, team.id);

/**
 * What a read of teams must bring of their members (null: nothing): the user
 * fields asked under `members { user }` and `owner`, at `path` of the field.
 */
function memberSelection(info: GraphQLResolveInfo, path: string[]): MemberSelection {
  const fields = fieldNamesAt(info, path);
  if (!fields.has('members') && !fields.has('owner')) return null;
  return new Set([...fieldNamesAt(info, [...path, 'members', 'user']), ...fieldNamesAt(info, [...path, 'owner'])]);
}

const JoinRequestType = builder.prismaObject('JoinRequest', {
  fields: (t) => ({
    id: t.exposeID('id'),
    team: t.relation('team'),
    user: t.relation('user'),
    message: t.exposeString('message', { nullable: true, description: 'At most 500 characters.' }),
    status: t.expose('status', { type: JoinRequestStatusEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    decidedAt: t.expose('decidedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.prismaObjectFields('User', (t) => ({
  skills: t.exposeStringList('skills', { description: 'Lower-cased, de-duplicated; visible to anyone signed in.' }),
  team: t.field({
    type: TeamType,
    nullable: true,
    description: 'The user’s current team, or null.',
    select: (_args, _context, nestedSelection) => ({ membership: { select: { team: nestedSelection(true) } } }),
    resolve: (user) => user.membership?.team ?? null,
  }),
}));

const TeamConnection = pageConnection('TeamConnection', TeamType);
const JoinRequestConnection = pageConnection('JoinRequestConnection', JoinRequestType);

const CreateTeamInput = builder
  .inputType('CreateTeamInput', {
    fields: (t) => ({
      name: t.string({ required: true, description: '3–50 characters, unique case-insensitively.' }),
      description: t.string({ description: 'At most 2,000 characters.' }),
      skills: t.stringList({ description: 'At most 10, each 1–30 characters.' }),
      maxSize: t.int({ required: true, description: `${MIN_TEAM_SIZE}–${MAX_TEAM_SIZE}, the owner included.` }),
    }),
  })
  .validate(createTeamInputSchema);

const UpdateTeamInput = builder
  .inputType('UpdateTeamInput', {
    fields: (t) => ({
      name: t.string(),
      description: t.string({ description: 'null clears it.' }),
      skills: t.stringList(),
      maxSize: t.int({ description: 'Not below memberCount.' }),
    }),
  })
  .validate(updateTeamInputSchema);

const TeamFilter = builder
  .inputType('TeamFilter', {
    fields: (t) => ({
      search: t.string({ description: 'Case-insensitive substring of name or description, matched literally.' }),
      skill: t.string({ description: 'Teams looking for this skill.' }),
      hasOpenSeats: t.boolean({ description: 'true: teams with an open seat; false: full teams.' }),
    }),
  })
  .validate(teamFilterSchema);

builder.queryFields((t) => ({
  team: t.prismaField({
    type: 'Team',
    nullable: true,
    description: 'Any team; NOT_FOUND when there is none. Signed-in viewers only.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => getTeam(context, String(args.id), query),
  }),
  teams: t.field({
    type: TeamConnection,
    description: 'Every team, newest first. Signed-in viewers only.',
    authScopes: { loggedIn: true },
    args: { ...connectionArgs(t), filter: t.arg({ type: TeamFilter }) },
    resolve: (_root, args, context, info) => listTeams(context, args, memberSelection(info, ['edges', 'node'])),
  }),
  suggestedTeams: t.field({
    type: [TeamType],
    description:
      'Teams with an open seat, those looking for most of your skills first (ties: newest); never your own team.',
    authScopes: { loggedIn: true },
    args: { first: t.arg.int({ defaultValue: 10, validate: suggestionCountSchema.nullish() }) },
    resolve: (_root, args, context, info) =>
      suggestTeams(context, requireViewer(context), args.first ?? 10, memberSelection(info, [])),
  }),
  myJoinRequests: t.field({
    type: JoinRequestConnection,
    description: 'Your join requests, newest first.',
    authScopes: { loggedIn: true },
    args: connectionArgs(t),
    resolve: (_root, args, context, info) =>
      listMyJoinRequests(context, requireViewer(context), args, pageQuery(context, info)),
  }),
}));

builder.mutationFields((t) => ({
  setMySkills: t.prismaField({
    type: 'User',
    description: 'At most 20 skills, each 1–30 characters; stored lower-cased and de-duplicated.',
    authScopes: { loggedIn: true },
    args: { skills: t.arg.stringList({ required: true, validate: userSkillsSchema }) },
    resolve: (query, _root, args, context) => setSkills(context, requireViewer(context), args.skills, query),
  }),
  createTeam: t.prismaField({
    type: 'Team',
    description: 'You become its OWNER; CONFLICT while you are in a team, or when the name is taken.',
    authScopes: { loggedIn: true },
    args: { input: t.arg({ type: CreateTeamInput, required: true }) },
    resolve: (query, _root, { input }, context) => createTeam(context, requireViewer(context), input, query),
  }),
  updateTeam: t.prismaField({
    type: 'Team',
    description: 'The owner only.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateTeamInput, required: true }) },
    resolve: (query, _root, args, context) =>
      updateTeam(context, requireViewer(context), String(args.id), args.input, query),
  }),
  requestToJoin: t.prismaField({
    type: 'JoinRequest',
    description: 'CONFLICT while you are in a team or already asked this one; CAPACITY_REACHED when it is full.',
    authScopes: { loggedIn: true },
    args: {
      teamId: t.arg.id({ required: true }),
      message: t.arg.string({ description: 'At most 500 characters.', validate: joinMessageSchema }),
    },
    resolve: (query, _root, args, context) =>
      requestToJoin(context, requireViewer(context), String(args.teamId), args.message, query),
  }),
  withdrawJoinRequest: t.prismaField({
    type: 'JoinRequest',
    description: 'The requester only; PENDING requests only (else CONFLICT).',
    authScopes: { loggedIn: true },
    args: { requestId: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) =>
      withdrawJoinRequest(context, requireViewer(context), String(args.requestId), query),
  }),
  respondToJoinRequest: t.prismaField({
    type: 'JoinRequest',
    description:
      'The team’s owner only; PENDING requests only (else CONFLICT). Accepting into a full team is CAPACITY_REACHED ' +
      '(the request stays PENDING); accepting someone who joined another team meanwhile is CONFLICT (the request ' +
      'becomes WITHDRAWN).',
    authScopes: { loggedIn: true },
    args: { requestId: t.arg.id({ required: true }), accept: t.arg.boolean({ required: true }) },
    resolve: (query, _root, args, context) =>
      respondToJoinRequest(context, requireViewer(context), String(args.requestId), args.accept, query),
  }),
  leaveTeam: t.boolean({
    description: 'The owner may leave only as the last member, which disbands the team (else CONFLICT).',
    authScopes: { loggedIn: true },
    args: { teamId: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => leaveTeam(context, requireViewer(context), String(args.teamId)),
  }),
  removeMember: t.prismaField({
    type: 'Team',
    description: 'The owner only; the owner cannot be removed.',
    authScopes: { loggedIn: true },
    args: { teamId: t.arg.id({ required: true }), userId: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) =>
      removeMember(context, requireViewer(context), String(args.teamId), String(args.userId), query),
  }),
  transferTeamOwnership: t.prismaField({
    type: 'Team',
    description: 'The owner only; userId must be a member. You stay as a MEMBER.',
    authScopes: { loggedIn: true },
    args: { teamId: t.arg.id({ required: true }), userId: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) =>
      transferOwnership(context, requireViewer(context), String(args.teamId), String(args.userId), query),
  }),
}));

builder.subscriptionFields((t) => ({
  teamUpdated: t.field({
    type: TeamType,
    description:
      'Members only (anyone else NOT_FOUND): the team now, then after every change. Ends when you are no longer a member.',
    authScopes: { loggedIn: true },
    args: { teamId: t.arg.id({ required: true }) },
    subscribe: (_root, args, context, info) =>
      teamUpdates(context, requireViewer(context), String(args.teamId), queryFromInfo({ context, info })),
    resolve: (team) => team,
  }),
  joinRequestUpdated: t.field({
    type: JoinRequestType,
    description: 'Requests you made, and requests to the team you own: each new one and each decision.',
    authScopes: { loggedIn: true },
    subscribe: (_root, _args, context, info) =>
      joinRequestUpdates(context, requireViewer(context), queryFromInfo({ context, info })),
    resolve: (request) => request,
  }),
}));
