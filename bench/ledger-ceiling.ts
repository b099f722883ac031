/**
 * The ledger's ceiling: the worker's settlement, called in a loop from one
 * process, with no queue. `node --import tsx bench/ledger-ceiling.ts '<job>'`
 * with the worker's environment (DATABASE_URL, REDIS_URL for the Redis event
 * bus, WORKER_CONCURRENCY): it builds the services the worker builds (Prisma,
 * the event bus, no queues), records `transfers` PENDING transfers between the
 * given accounts through the ledger service (not timed), then settles them all
 * with the very function the settlement job calls (`settlePendingTransfers`:
 * batches of ledger_settle_batch plus the COMPLETED events), SETTLEMENT_LANES
 * calls at a time, as many as the worker runs such jobs at once. Prints one
 * JSON line (CeilingResult).
 *
 * So the bench's settled/s over this one's is the share of the settlement's own
 * rate that the queue — enqueue, claim, completion — leaves.
 */
import { loadConfig } from '../src/config.js';
import type { AppServices } from '../src/core/context.js';
import { AppError } from '../src/core/errors.js';
import { createAppEventBus } from '../src/events.js';
import { closeDb, createDb } from '../src/infra/db.js';
import { deferredQueues } from '../src/infra/jobs/producer.js';
import { createLogger } from '../src/infra/logger.js';
import { QUEUE_NAMES } from '../src/jobs.js';
import { SETTLEMENT_LANES } from '../src/modules/ledger/ledger.jobs.js';
import { settlePendingTransfers, transfer } from '../src/modules/ledger/ledger.service.js';

export interface CeilingJob {
  accountIds: string[];
  transfers: number;
  /** Idempotency keys are `${keyPrefix}-${n}`. */
  keyPrefix: string;
  amountMax: number;
}

export interface CeilingResult {
  /** Recorded PENDING (a transfer refused for funds is skipped). */
  recorded: number;
  settled: number;
  concurrency: number;
  settleSeconds: number;
  settledPerSecond: number;
  /** This process's CPU while settling, % of one core. */
  cpuPercent: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as CeilingJob;
  const config = loadConfig(process.env, { requireJwtSecret: false });
  const databaseUrl = config.databaseUrl;
  if (!databaseUrl) throw new Error('DATABASE_URL is required');
  const log = createLogger(config.logLevel).child({ role: 'ledger-ceiling' });
  const db = createDb(databaseUrl, undefined, log);
  // As the worker: jobs publish, never listen.
  const pubsub = createAppEventBus({ config, log, databaseUrl }, { listen: false });
  await pubsub.start();
  // No queue: never started, so any enqueue would throw (none is made: settling enqueues nothing).
  const queues = deferredQueues({ config, log, databaseUrl }, { queueNames: QUEUE_NAMES });
  const services: AppServices = { db, config, log, queues, pubsub };
  // Recording as many at once as the worker has slots; settling as many as it runs settlement jobs at once.
  const recorders = config.workerConcurrency;
  const concurrency = SETTLEMENT_LANES;
  try {
    const accounts = await db.ledgerAccount.findMany({ where: { id: { in: job.accountIds } }, select: { id: true, ownerId: true } });
    if (accounts.length < 2) throw new Error('the ceiling needs at least two accounts');

    // Recorded through the service, as the API records them; not timed.
    const ids: string[] = [];
    let next = 0;
    await inParallel(recorders, async () => {
      while (next < job.transfers) {
        const n = next++;
        const fromIndex = Math.floor(Math.random() * accounts.length);
        let toIndex = Math.floor(Math.random() * (accounts.length - 1));
        if (toIndex >= fromIndex) toIndex += 1;
        const from = accounts[fromIndex]!;
        const to = accounts[toIndex]!;
        try {
          const { transaction } = await transfer(
            services,
            { id: from.ownerId, role: 'USER' },
            {
              fromAccountId: from.id,
              toAccountId: to.id,
              amount: BigInt(1 + Math.floor(Math.random() * job.amountMax)),
              idempotencyKey: `${job.keyPrefix}-${n}`,
            },
          );
          ids.push(transaction.id);
        } catch (error) {
          if (!(error instanceof AppError && error.code === 'INSUFFICIENT_FUNDS')) throw error;
        }
      }
    });

    // Timed: the worker's settlement, `concurrency` at a time, until nothing is left. The line tells the bench
    // to read PostgreSQL's CPU.
    process.stdout.write('settling\n');
    let settled = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await inParallel(concurrency, async () => {
      for (;;) {
        const round = await settlePendingTransfers(services);
        settled += round.settled;
        if (!round.more && round.settled === 0) return;
      }
    });
    const settleSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const result: CeilingResult = {
      recorded: ids.length,
      settled,
      concurrency,
      settleSeconds,
      settledPerSecond: settled / settleSeconds,
      cpuPercent: ((cpu.user + cpu.system) / 1e6 / settleSeconds) * 100,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await queues.close();
    await pubsub.close();
    await closeDb(db);
  }
}

async function inParallel(n: number, loop: () => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: n }, loop));
}

main().catch((error: unknown) => {
  process.stderr.write(`ledger ceiling: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
