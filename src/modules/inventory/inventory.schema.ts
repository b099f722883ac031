import { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../../schema/builder.js';
import { rateLimited } from '../../schema/rate-limits.js';
import { connectionArgs, pageConnection, pageQuery } from '../../schema/connections.js';
import { submitPurchase } from './inventory.commands.js';
import { STOCK_FEED_INTERVAL_MS, stockUpdates } from './stock-feed.js';
import { MAX_SALES_REPORT_ROWS, salesReport, type SalesReportRow } from './sales-report.js';
import {
  createItem,
  createItemInputSchema,
  getItem,
  getOrder,
  listItems,
  listMyOrders,
  MAX_QUANTITY,
  MAX_STOCK,
  orderUpdates,
  purchaseInputSchema,
  restock,
  restockQuantitySchema,
} from './inventory.service.js';
import { requireViewer } from '../../core/access.js';

const OrderStatusEnum = builder.enumType('OrderStatus', {
  values: ['RESERVED', 'PAID', 'FULFILLED', 'CANCELLED'] as const,
});

const InventoryItemType = builder.prismaObject('InventoryItem', {
  fields: (t) => ({
    id: t.exposeID('id'),
    sku: t.exposeString('sku'),
    name: t.exposeString('name'),
    price: t.expose('price', { type: 'BigInt', description: 'Per unit, in minor units of `currency`.' }),
    currency: t.exposeString('currency', { description: 'ISO 4217, e.g. "USD".' }),
    stock: t.exposeInt('stock', { description: 'Units still available to buy.' }),
    limitPerUser: t.exposeInt('limitPerUser', {
      nullable: true,
      description: 'The most units one buyer may hold in orders that are not CANCELLED; null: no limit.',
    }),
  }),
});

const OrderType = builder.prismaObject('Order', {
  fields: (t) => ({
    id: t.exposeID('id'),
    buyer: t.relation('buyer'),
    item: t.relation('item'),
    quantity: t.exposeInt('quantity'),
    total: t.expose('total', { type: 'BigInt', description: 'Price × quantity, in minor units of the item’s currency.' }),
    status: t.expose('status', { type: OrderStatusEnum }),
    failureReason: t.exposeString('failureReason', { nullable: true, description: 'Why it was CANCELLED.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const InventoryItemConnection = pageConnection('InventoryItemConnection', InventoryItemType);

const OrderConnection = pageConnection('OrderConnection', OrderType);

const CreateItemInput = builder
  .inputType('CreateItemInput', {
    fields: (t) => ({
      sku: t.string({ required: true, description: '3 to 40 upper-case letters, digits or dashes; unique.' }),
      name: t.string({ required: true, description: '1 to 200 characters.' }),
      price: t.field({ type: 'BigInt', required: true, description: 'Per unit, minor units, 0 to 10^15.' }),
      currency: t.string({ required: true, description: 'ISO 4217, e.g. "USD".' }),
      stock: t.int({ required: true, description: `0 to ${MAX_STOCK}.` }),
      limitPerUser: t.int({ description: '1 to 1000 units per buyer; null or absent: no limit.' }),
    }),
  })
  .validate(createItemInputSchema);

const PurchaseInput = builder
  .inputType('PurchaseInput', {
    fields: (t) => ({
      itemId: t.id({ required: true }),
      quantity: t.int({ defaultValue: 1, description: `1 to ${MAX_QUANTITY}.` }),
      accountId: t.id({ required: true, description: 'Your account in the item’s currency; it pays.' }),
      idempotencyKey: t.string({ required: true, description: '8 to 100 characters; retry with the same key.' }),
    }),
  })
  .validate(purchaseInputSchema);

builder.queryFields((t) => ({
  item: t.prismaField({
    type: 'InventoryItem',
    nullable: true,
    description: 'Anyone; NOT_FOUND when there is no such item.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => getItem(context, String(args.id), query),
  }),
  items: t.field({
    type: InventoryItemConnection,
    description: 'Every item, newest first. Anyone.',
    args: connectionArgs(t),
    resolve: (_root, args, context, info) =>
      listItems(context, args, pageQuery(context, info)),
  }),
  order: t.prismaField({
    type: 'Order',
    nullable: true,
    description: 'The buyer or an admin; otherwise NOT_FOUND.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => getOrder(context, requireViewer(context), String(args.id), query),
  }),
  myOrders: t.field({
    type: OrderConnection,
    description: 'Your orders, newest first.',
    authScopes: { loggedIn: true },
    args: connectionArgs(t),
    resolve: (_root, args, context, info) =>
      listMyOrders(context, requireViewer(context), args, pageQuery(context, info)),
  }),
}));

const SalesReportRowType = builder.objectRef<SalesReportRow>('SalesReportRow').implement({
  fields: (t) => ({
    item: t.field({ type: InventoryItemType, resolve: (row) => row.item }),
    orders: t.exposeInt('orders', { description: 'FULFILLED orders of the item.' }),
    units: t.exposeInt('units', { description: 'Units those orders bought.' }),
    revenue: t.expose('revenue', { type: 'BigInt', description: 'Their totals, in minor units of the item’s currency.' }),
  }),
});

builder.queryFields((t) => ({
  salesReport: t.field({
    type: [SalesReportRowType],
    description:
      `Admins only. FULFILLED orders placed from \`from\` (inclusive) to \`to\` (exclusive), either end open when absent, ` +
      `grouped by item, most revenue first; the first \`first\` items (1 to ${MAX_SALES_REPORT_ROWS}).`,
    authScopes: { admin: true },
    args: {
      from: t.arg({ type: 'DateTime' }),
      to: t.arg({ type: 'DateTime' }),
      first: t.arg.int({ defaultValue: MAX_SALES_REPORT_ROWS }),
    },
    resolve: (_root, args, context) => salesReport(context, args),
  }),
}));

builder.mutationFields((t) => ({
  createItem: t.prismaField({
    type: 'InventoryItem',
    description: 'Admins only.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateItemInput, required: true }) },
    resolve: (query, _root, { input }, context) => createItem(context, input, query),
  }),
  restock: t.prismaField({
    type: 'InventoryItem',
    description: `Admins only. Adds quantity (1 to ${MAX_STOCK}) units to the stock, which stays at most ${MAX_STOCK}.`,
    authScopes: { admin: true },
    args: {
      itemId: t.arg.id({ required: true }),
      quantity: t.arg.int({ required: true, validate: restockQuantitySchema }),
    },
    resolve: (query, _root, args, context) => restock(context, String(args.itemId), args.quantity, query),
  }),
  purchase: t.field({
    ...rateLimited('mutation'),
    type: OrderType,
    description:
      'Reserves the units and holds the total on accountId at once (RESERVED), or fails with SOLD_OUT / LIMIT_EXCEEDED / INSUFFICIENT_FUNDS, writing nothing; a worker then settles the payment: PAID → FULFILLED, or CANCELLED with the stock returned if the ledger gave up on it.',
    authScopes: { loggedIn: true },
    args: { input: t.arg({ type: PurchaseInput, required: true }) },
    resolve: (_root, { input }, context) => submitPurchase(context, requireViewer(context), input),
  }),
}));

builder.subscriptionFields((t) => ({
  orderUpdated: t.field({
    type: OrderType,
    description:
      'Every status change of your orders (RESERVED, PAID, FULFILLED, CANCELLED); with orderId, of that order only ' +
      '(yours; admins: any, else NOT_FOUND). Signed-in viewers only.',
    authScopes: { loggedIn: true },
    args: { orderId: t.arg.id({ description: 'One of your orders (admins: any order).' }) },
    subscribe: (_root, { orderId }, context, info) =>
      orderUpdates(
        context,
        requireViewer(context),
        orderId === null || orderId === undefined ? null : String(orderId),
        queryFromInfo({ context, info }),
      ),
    resolve: (order) => order,
  }),
  stockChanged: t.field({
    type: InventoryItemType,
    description:
      'The item as it is now, then after each change of its stock. Bursts are coalesced (at most one event per ' +
      `${STOCK_FEED_INTERVAL_MS} ms per item); the last value is always delivered. Anyone; NOT_FOUND for an unknown item.`,
    args: { itemId: t.arg.id({ required: true }) },
    subscribe: (_root, { itemId }, context) => stockUpdates(context, String(itemId)),
    resolve: (item) => item,
  }),
}));
