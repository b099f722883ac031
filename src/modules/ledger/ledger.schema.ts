import { queryFromInfo } from '@pothos/plugin-prisma';
import type { Context } from '../../core/context.js';
import type { LedgerAccount } from '../../generated/prisma/client.js';
import { builder } from '../../schema/builder.js';
import { rateLimited } from '../../schema/rate-limits.js';
import { connectionArgs, pageConnection, pageQuery } from '../../schema/connections.js';
import { listOf } from '../../schema/cost.js';
import { submitDeposit, submitTransfer } from './ledger.commands.js';
import {
  available,
  depositInputSchema,
  getAccount,
  getTransaction,
  listAccountTransactions,
  MAX_ACCOUNTS_PER_USER,
  openAccount,
  openAccountInputSchema,
  transactionUpdates,
  transferInputSchema,
} from './ledger.service.js';
import { isOwnerOrAdmin, requireViewer } from '../../core/access.js';

const TransactionStatusEnum = builder.enumType('TransactionStatus', {
  values: ['PENDING', 'COMPLETED', 'FAILED'] as const,
});
const TransactionKindEnum = builder.enumType('TransactionKind', {
  values: ['DEPOSIT', 'TRANSFER', 'PAYMENT', 'REFUND'] as const,
});

// An account can be reached through a transaction's counterparty; its money
// and history stay visible to its owner and admins only.
const ownerOrAdmin = (account: Pick<LedgerAccount, 'ownerId'>, _args: unknown, context: Context) =>
  isOwnerOrAdmin(context.viewer, account.ownerId);

builder.prismaObject('LedgerAccount', {
  fields: (t) => ({
    id: t.exposeID('id'),
    currency: t.exposeString('currency', { description: 'ISO 4217, e.g. "USD".' }),
    balance: t.expose('balance', {
      type: 'BigInt',
      description: 'Settled balance, in minor units. Owner and admins only.',
      authScopes: ownerOrAdmin,
    }),
    available: t.field({
      type: 'BigInt',
      description: 'Balance minus the holds of pending outgoing transactions. Owner and admins only.',
      authScopes: ownerOrAdmin,
      select: { balance: true, held: true },
      resolve: (account) => available(account),
    }),
    owner: t.relation('owner'),
    transactions: t.field({
      type: LedgerTransactionConnection,
      description: 'Incoming and outgoing, newest first. Owner and admins only.',
      authScopes: ownerOrAdmin,
      args: connectionArgs(t),
      resolve: (account, args, context, info) =>
        listAccountTransactions(
          context,
          account.id,
          args,
          pageQuery(context, info),
        ),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const LedgerTransactionType = builder.prismaObject('LedgerTransaction', {
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.expose('kind', { type: TransactionKindEnum }),
    from: t.relation('from', { nullable: true, description: 'null for DEPOSIT.' }),
    to: t.relation('to'),
    amount: t.expose('amount', { type: 'BigInt' }),
    currency: t.exposeString('currency'),
    status: t.expose('status', { type: TransactionStatusEnum }),
    failureReason: t.exposeString('failureReason', { nullable: true }),
    memo: t.exposeString('memo', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    settledAt: t.expose('settledAt', { type: 'DateTime', nullable: true }),
  }),
});

const LedgerTransactionConnection = pageConnection('LedgerTransactionConnection', LedgerTransactionType);

builder.prismaObjectField('User', 'accounts', (t) =>
  t.relation('accounts', {
    description: `Oldest first, at most ${MAX_ACCOUNTS_PER_USER}. Visible to the user themself and to admins only.`,
    authScopes: (user, _args, context) => isOwnerOrAdmin(context.viewer, user.id),
    query: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: MAX_ACCOUNTS_PER_USER },
    complexity: listOf(MAX_ACCOUNTS_PER_USER),
  }),
);

const OpenAccountInput = builder
  .inputType('OpenAccountInput', {
    fields: (t) => ({ currency: t.string({ required: true, description: 'ISO 4217, e.g. "USD".' }) }),
  })
  .validate(openAccountInputSchema);

const DepositInput = builder
  .inputType('DepositInput', {
    fields: (t) => ({
      accountId: t.id({ required: true }),
      amount: t.field({ type: 'BigInt', required: true, description: 'Minor units, 1 to 10^15.' }),
      idempotencyKey: t.string({ required: true, description: '8 to 100 characters; retry with the same key.' }),
    }),
  })
  .validate(depositInputSchema);

const TransferInput = builder
  .inputType('TransferInput', {
    fields: (t) => ({
      fromAccountId: t.id({ required: true }),
      toAccountId: t.id({ required: true }),
      amount: t.field({ type: 'BigInt', required: true, description: 'Minor units, 1 to 10^15.' }),
      idempotencyKey: t.string({ required: true, description: '8 to 100 characters; retry with the same key.' }),
      memo: t.string({ description: 'At most 200 characters.' }),
    }),
  })
  .validate(transferInputSchema);

builder.queryFields((t) => ({
  account: t.prismaField({
    type: 'LedgerAccount',
    nullable: true,
    description: 'Owner or admin; otherwise NOT_FOUND.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => getAccount(context, requireViewer(context), String(args.id), query),
  }),
  ledgerTransaction: t.prismaField({
    type: 'LedgerTransaction',
    nullable: true,
    description: 'The owner of either account, or an admin; otherwise NOT_FOUND.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => getTransaction(context, requireViewer(context), String(args.id), query),
  }),
}));

builder.mutationFields((t) => ({
  openAccount: t.prismaField({
    type: 'LedgerAccount',
    description: 'One account per currency and user.',
    authScopes: { loggedIn: true },
    args: { input: t.arg({ type: OpenAccountInput, required: true }) },
    resolve: (query, _root, { input }, context) => openAccount(context, requireViewer(context), input, query),
  }),
  deposit: t.field({
    type: LedgerTransactionType,
    description: 'Admins only. Money from outside into any account; PENDING at once, settled by a worker.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: DepositInput, required: true }) },
    resolve: (_root, { input }, context) => submitDeposit(context, requireViewer(context), input),
  }),
  transfer: t.field({
    ...rateLimited('mutation'),
    type: LedgerTransactionType,
    description: 'From an account you own. PENDING at once, with a hold on the amount; settled by a worker.',
    authScopes: { loggedIn: true },
    args: { input: t.arg({ type: TransferInput, required: true }) },
    resolve: (_root, { input }, context) => submitTransfer(context, requireViewer(context), input),
  }),
}));

builder.subscriptionField('transactionUpdated', (t) =>
  t.field({
    type: LedgerTransactionType,
    description:
      'Every status change of a transaction your accounts are a party to (created PENDING, then COMPLETED or ' +
      'FAILED); with accountId, of that account only (yours; admins: any, else NOT_FOUND). Signed-in viewers only.',
    authScopes: { loggedIn: true },
    args: { accountId: t.arg.id({ description: 'One of your accounts (admins: any account).' }) },
    subscribe: (_root, { accountId }, context, info) =>
      transactionUpdates(
        context,
        requireViewer(context),
        accountId === null || accountId === undefined ? null : String(accountId),
        queryFromInfo({ context, info }),
      ),
    resolve: (transaction) => transaction,
  }),
);
