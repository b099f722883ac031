import { randomBytes } from 'node:crypto';
import type { AppServices } from '../src/core/context.js';
import { AppError } from '../src/core/errors.js';
import { hashPassword } from '../src/modules/auth/auth.service.js';
import { ensureHouse } from '../src/modules/ledger/ledger.service.js';
import { createUser } from '../src/modules/users/users.service.js';

export const DEMO_EMAIL = 'demo@switchyard.local';
export const DEMO_PASSWORD = 'switchyard-demo';

export interface SeedResult {
  adminEmail: string;
  /** Set only when this run generated the admin's password: it is shown once and never stored in clear. */
  generatedAdminPassword?: string;
  adminCreated: boolean;
  demoCreated: boolean;
}

/**
 * Creates the house account and, when no admin exists, the admin (every mode);
 * with `demo`, a demo
 * user with a few strategies and a team, and two items for sale. Safe to run on every start and from many
 * processes at once: the unique email decides which one creates a row.
 */
export async function seed(services: AppServices, options: { demo: boolean }): Promise<SeedResult> {
  const { config, db } = services;
  const result: SeedResult = { adminEmail: config.adminEmail, adminCreated: false, demoCreated: false };
  await ensureHouse(services);

  if ((await db.user.count({ where: { role: 'ADMIN' } })) === 0) {
    const password = config.adminPassword ?? randomBytes(12).toString('base64url');
    const created = await createIfAbsent(services, {
      email: config.adminEmail,
      name: 'Administrator',
      passwordHash: await hashPassword(password),
      role: 'ADMIN',
      provisioningStatus: 'READY',
    });
    result.adminCreated = created;
    if (created && !config.adminPassword) result.generatedAdminPassword = password;
  }

  if (options.demo && !(await db.user.findUnique({ where: { email: DEMO_EMAIL } }))) {
    const created = await createIfAbsent(services, {
      email: DEMO_EMAIL,
      name: 'Demo Trader',
      passwordHash: await hashPassword(DEMO_PASSWORD),
      provisioningStatus: 'READY',
    });
    if (created) {
      const demo = await db.user.findUniqueOrThrow({ where: { email: DEMO_EMAIL } });
      await db.strategy.createMany({
        data: [
          {
            ownerId: demo.id,
            name: 'BTC momentum',
            asset: 'BTC-USD',
            description: '20/50 moving-average crossover.',
            params: { fast: 20, slow: 50 },
          },
          {
            ownerId: demo.id,
            name: 'ETH mean reversion',
            asset: 'ETH-USD',
            description: 'Buys 2σ below the 24h mean.',
            params: { window: 24, sigma: 2 },
          },
          { ownerId: demo.id, name: 'SOL breakout', asset: 'SOL', description: null, params: { lookback: 14 } },
        ],
      });
      // A team to ask to join (README, "Teams"): the demo user owns it.
      await db.user.update({ where: { id: demo.id }, data: { skills: ['typescript', 'graphql', 'postgres'] } });
      await db.team.create({
        data: {
          name: 'Switchyard Builders',
          description: 'We build the reference GraphQL backend over a weekend.',
          skills: ['typescript', 'graphql', 'postgres', 'rust'],
          maxSize: 5,
          members: { create: { userId: demo.id, role: 'OWNER' } },
        },
      });
      result.demoCreated = true;
    }
  }
  if (options.demo) {
    // By SKU, so that a later start neither duplicates them nor resets their stock.
    await db.inventoryItem.createMany({
      data: [
        { sku: 'SY-HOODIE', name: 'Switchyard hoodie', price: 4500n, currency: 'USD', stock: 50, limitPerUser: 2 },
        { sku: 'SY-STICKERS', name: 'Sticker pack', price: 300n, currency: 'USD', stock: 1000, limitPerUser: null },
      ],
      skipDuplicates: true,
    });
  }
  return result;
}

async function createIfAbsent(services: AppServices, data: Parameters<typeof createUser>[1]): Promise<boolean> {
  try {
    await createUser(services, data);
    return true;
  } catch (error) {
    if (error instanceof AppError && error.code === 'CONFLICT') return false;
    throw error;
  }
}
