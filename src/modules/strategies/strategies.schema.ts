import { builder } from '../../schema/builder.js';
import { connectionArgs, nodeSelection, pageConnection } from '../../schema/connections.js';
import { UserType } from '../users/users.schema.js';
import { requireUser, type StoredUser } from '../users/users.service.js';
import type { Strategy } from '../../generated/prisma/client.js';
import {
  createStrategy,
  createStrategyInputSchema,
  deleteStrategy,
  getStrategy,
  listStrategies,
  strategyFilterSchema,
  updateStrategy,
  updateStrategyInputSchema,
} from './strategies.service.js';
import { requireViewer } from '../../core/access.js';

const StrategyType = builder.prismaObject('Strategy', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    asset: t.exposeString('asset'),
    params: t.expose('params', { type: 'JSON' }),
    // Not a Prisma relation field: that one looks up, for every row, whether the
    // query that read it loaded the relation, which cost a page of twenty a tenth
    // of its CPU. A page joins the owner in; a single strategy reads it by id.
    owner: t.field({
      type: UserType,
      resolve: (strategy, _args, context) =>
        (strategy as Strategy & { owner?: StoredUser }).owner ?? requireUser(context, strategy.ownerId),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const StrategyConnection = pageConnection('StrategyConnection', StrategyType);

const CreateStrategyInput = builder
  .inputType('CreateStrategyInput', {
    fields: (t) => ({
      name: t.string({ required: true }),
      asset: t.string({ required: true, description: 'e.g. "BTC" or "BTC-USD".' }),
      description: t.string(),
      params: t.field({ type: 'JSON', description: 'A JSON object, at most 16 KB.' }),
    }),
  })
  .validate(createStrategyInputSchema);

const UpdateStrategyInput = builder
  .inputType('UpdateStrategyInput', {
    fields: (t) => ({
      name: t.string(),
      asset: t.string(),
      description: t.string({ description: 'null clears it.' }),
      params: t.field({ type: 'JSON' }),
    }),
  })
  .validate(updateStrategyInputSchema);

const StrategyFilter = builder
  .inputType('StrategyFilter', {
    fields: (t) => ({
      asset: t.string({ description: 'Exact asset.' }),
      search: t.string({ description: 'Case-insensitive substring of name or description.' }),
      ownerId: t.id({ description: 'Admins only: strategies of one user.' }),
    }),
  })
  .validate(strategyFilterSchema);

builder.queryFields((t) => ({
  strategy: t.prismaField({
    type: 'Strategy',
    nullable: true,
    description: 'Owner or admin; otherwise NOT_FOUND.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => getStrategy(context, requireViewer(context), String(args.id), query),
  }),
  strategies: t.field({
    type: StrategyConnection,
    description: 'Your strategies, newest first; admins see everyone’s.',
    authScopes: { loggedIn: true },
    args: { ...connectionArgs(t), filter: t.arg({ type: StrategyFilter }) },
    resolve: (_root, args, context, info) => {
      const { fields, relations } = nodeSelection(info, ['owner']);
      return listStrategies(context, requireViewer(context), args, {
        fields,
        owner: fields.has('owner') ? relations.owner! : null,
      });
    },
  }),
}));

builder.mutationFields((t) => ({
  createStrategy: t.prismaField({
    type: 'Strategy',
    authScopes: { loggedIn: true },
    args: { input: t.arg({ type: CreateStrategyInput, required: true }) },
    resolve: (query, _root, { input }, context) => createStrategy(context, requireViewer(context), input, query),
  }),
  updateStrategy: t.prismaField({
    type: 'Strategy',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateStrategyInput, required: true }) },
    resolve: (query, _root, args, context) =>
      updateStrategy(context, requireViewer(context), String(args.id), args.input, query),
  }),
  deleteStrategy: t.id({
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => deleteStrategy(context, requireViewer(context), String(args.id)),
  }),
}));
