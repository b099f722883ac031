import type { Context } from '../../core/context.js';
import { builder } from '../../schema/builder.js';
import { rateLimited } from '../../schema/rate-limits.js';
import {
  login,
  loginInputSchema,
  logout,
  refreshSession,
  registerInputSchema,
  type Session,
} from './auth.service.js';

/** A new session; its `user` field is added by the users module (users.schema.ts), which owns that type. */
export const AuthPayload = builder.objectRef<Session>('AuthPayload').implement({
  fields: (t) => ({
    accessToken: t.exposeString('accessToken'),
    refreshToken: t.exposeString('refreshToken'),
    expiresIn: t.exposeInt('expiresIn', { description: 'Seconds until accessToken expires.' }),
  }),
});

export const RegisterInput = builder
  .inputType('RegisterInput', {
    fields: (t) => ({
      email: t.string({ required: true }),
      password: t.string({ required: true }),
      name: t.string({ required: true }),
    }),
  })
  .validate(registerInputSchema);

const LoginInput = builder
  .inputType('LoginInput', {
    fields: (t) => ({
      email: t.string({ required: true }),
      password: t.string({ required: true }),
    }),
  })
  .validate(loginInputSchema);

/** The rest of this response is the new session's own view (its user's email, say). */
export async function signIn(context: Context, session: Promise<Session>): Promise<Session> {
  const result = await session;
  context.viewer = { id: result.user.id, role: result.user.role };
  context.authError = null;
  return result;
}

builder.mutationFields((t) => ({
  login: t.field({
    ...rateLimited('login'),
    type: AuthPayload,
    args: { input: t.arg({ type: LoginInput, required: true }) },
    resolve: (_root, { input }, context) =>
      signIn(
        context,
        login(context, input, context.loginFailures ? { limiter: context.loginFailures, clientIp: context.clientIp } : undefined),
      ),
  }),
  refreshToken: t.field({
    ...rateLimited('refreshToken'),
    type: AuthPayload,
    description: 'Rotates the session: the presented token stops working.',
    args: { refreshToken: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => signIn(context, refreshSession(context, args.refreshToken)),
  }),
  logout: t.boolean({
    description: 'Ends the session the refresh token belongs to.',
    args: { refreshToken: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => logout(context, args.refreshToken),
  }),
}));
