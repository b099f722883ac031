import { z } from 'zod';
import { builder } from '../../schema/builder.js';
import { rateLimited } from '../../schema/rate-limits.js';
import { connectionArgs, pageConnection, pageQuery } from '../../schema/connections.js';
import { AuthPayload, RegisterInput, signIn } from '../auth/auth.schema.js';
import { register } from './users.commands.js';
import { findUserById, getUser, listUsers } from './users.service.js';
import { isOwnerOrAdmin, requireViewer } from '../../core/access.js';

const RoleEnum = builder.enumType('Role', { values: ['USER', 'ADMIN'] as const });
const ProvisioningStatusEnum = builder.enumType('ProvisioningStatus', {
  values: ['PENDING', 'READY', 'FAILED'] as const,
});

export const UserType = builder.prismaObject('User', {
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email', {
      description: 'Visible to the user themself and to admins only.',
      authScopes: (user, _args, context) => isOwnerOrAdmin(context.viewer, user.id),
    }),
    name: t.exposeString('name'),
    role: t.expose('role', { type: RoleEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    provisioningStatus: t.expose('provisioningStatus', { type: ProvisioningStatusEnum }),
  }),
});

const UserConnection = pageConnection('UserConnection', UserType);

builder.queryFields((t) => ({
  // A plain field, not a prismaField: the row is read on the pool without the
  // operation's selection, so fields that need relations (team) load them.
  me: t.field({
    type: UserType,
    nullable: true,
    description: 'The signed-in user; null when anonymous (an expired or invalid token is UNAUTHENTICATED).',
    resolve: (_root, _args, context) => {
      if (context.authError) throw context.authError;
      return context.viewer ? findUserById(context, context.viewer.id) : null;
    },
  }),
  user: t.prismaField({
    type: 'User',
    nullable: true,
    description: 'Yourself, or anyone for admins; otherwise NOT_FOUND.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => getUser(context, requireViewer(context), String(args.id), query),
  }),
  users: t.field({
    type: UserConnection,
    description: 'Admins only: every user, newest first; `search` matches email or name.',
    authScopes: { admin: true },
    args: {
      ...connectionArgs(t),
      search: t.arg.string({ validate: z.string().max(200, 'Search must be at most 200 characters.') }),
    },
    resolve: (_root, args, context, info) =>
      listUsers(context, args, pageQuery(context, info)),
  }),
}));

builder.objectField(AuthPayload, 'user', (t) => t.field({ type: UserType, resolve: (session) => session.user }));

builder.mutationField('register', (t) =>
  t.field({
    ...rateLimited('register'),
    type: AuthPayload,
    args: { input: t.arg({ type: RegisterInput, required: true }) },
    resolve: (_root, { input }, context) => signIn(context, register(context, input)),
  }),
);
