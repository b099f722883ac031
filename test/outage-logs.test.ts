import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../prisma/seed.js';
import { startWorkers, type Workers } from '../src/infra/jobs/worker.js';
import { ALL_JOBS } from '../src/jobs.js';
import { appBehindRedisProxy, injectGraphQL, type Session } from './helpers/app.js';
import { waitFor } from './helpers/ledger.js';
import { memoryLogger } from './helpers/logs.js';
import { sleep } from './harness/wait.js';
import { TimeoutError } from '../src/infra/async.js';

/**
 * A Redis outage must not flood the log: every failed enqueue, queue-store
 * error and publish error is one more of the same. One line per kind of
 * failure per interval (10 s) with the count of those it stands for, no stack
 * for an expected outage error, and the payload's ids in the line that is
 * logged.
 */

const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }';
const ME = '{ me { provisioningStatus accounts { id } } }';
const TRANSFER = 'mutation($input: TransferInput!) { transfer(input: $input) { id status } }';

interface LogLine {
  level: number;
  msg: string;
  suppressed?: number;
  transactionId?: string;
  job?: string;
  err?: Record<string, unknown>;
}

describe('logs during a Redis outage', () => {
  // warn: the failures alone, without the per-request access lines.
  const { logger, text } = memoryLogger('warn');
  let env: Awaited<ReturnType<typeof appBehindRedisProxy>>;
  let workers: Workers | undefined;
  beforeAll(async () => {
    env = await appBehindRedisProxy({ logger });
    await env.app.ready();
    await seed(env.app.services, { demo: false });
    workers = await startWorkers(env.app.services, ALL_JOBS, { observer: env.app.metrics.jobs });
  });
  afterAll(async () => {
    await env.proxy.restore().catch(() => {});
    await workers?.close();
    await env?.close();
  });

  const register = async () => {
    const input = { email: `outage-${randomBytes(5).toString('hex')}@example.com`, password: 'correct horse battery', name: 'O' };
    const registered = await injectGraphQL<{ register: Pick<Session, 'accessToken'> }, unknown>(env.app, REGISTER, { input });
    const session = registered.data!.register;
    const accountId = await waitFor(async () => {
      type Me = { me: { provisioningStatus: string; accounts: Array<{ id: string }> } };
      const me = (await injectGraphQL<Me, unknown>(env.app, ME, {}, session.accessToken)).data?.me;
      return me?.provisioningStatus === 'READY' ? me.accounts[0]!.id : undefined;
    });
    return { token: session.accessToken, accountId };
  };

  it('200 transfers while the store is down: a bounded number of lines, none with a stack, the ids in the first', async () => {
    const alice = await register();
    const bob = await register();
    const from = text().length;
    await env.proxy.cut();

    const transfer = () =>
      injectGraphQL<{ transfer: { id: string; status: string } }, unknown>(
        env.app,
        TRANSFER,
        { input: { fromAccountId: alice.accountId, toAccountId: bob.accountId, amount: '1', idempotencyKey: `o-${randomBytes(6).toString('hex')}` } },
        alice.token,
      );
    const results = await Promise.all(Array.from({ length: 200 }, transfer));
    expect(results.map((result) => result.data?.transfer.status)).toEqual(Array(200).fill('PENDING'));
    const ids = new Set(results.map((result) => result.data!.transfer.id));

    // Every failure the outage causes, at warn and above: enqueues, queue-store and event-bus errors.
    const logged = () => text().slice(from).split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogLine);
    const enqueueLines = () => logged().filter((line) => line.msg === 'could not enqueue settle-transactions; the sweeper will');
    // Before: one line per failed enqueue (200, with a 1.6 kB stack each) plus the store's and the bus's.
    expect(logged().length).toBeLessThanOrEqual(40);
    expect(text().slice(from)).not.toContain('"stack"');

    // 200 failures of one kind are one line, which names its transfer.
    const [first, ...more] = enqueueLines();
    expect(more).toEqual([]);
    expect(first).toMatchObject({ job: 'settle-transactions', suppressed: 0, err: { type: 'Error' } });
    expect(ids.has(first!.transactionId!)).toBe(true);
    expect(Object.keys(first!.err!).sort()).toEqual(['message', 'type']);

    // The next interval's first failure says how many the last line stood for.
    await sleep(10_200);
    const late = await transfer();
    expect(late.data?.transfer.status).toBe('PENDING');
    const [, second, ...rest] = enqueueLines();
    expect(rest).toEqual([]);
    expect(second).toMatchObject({ transactionId: late.data!.transfer.id, suppressed: 199, err: first!.err });
    expect(text().slice(from)).not.toContain('"stack"');
  }, 60_000);
});

describe('the err of a log line', () => {
  const cases: Array<[string, Error]> = [
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })],
    ['our timeouts', new TimeoutError('enqueue timed out after 5000 ms')],
    ['the queues closed', new Error('the queues are closed')],
    [
      'a store unreachable, wrapping its cause',
      new Error('queue store (redis) unreachable: connect ECONNREFUSED', {
        cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }),
      }),
    ],
    ['a cause that is an outage', new Error('publish failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) })],
  ];
  it.each(cases)('%s: name, code and message, no stack', (_what, error) => {
    const { logger, text } = memoryLogger('info');
    logger.warn({ err: error }, 'failed');
    const { err } = JSON.parse(text()) as { err: Record<string, unknown> };
    expect(err).toEqual({ type: error.name, message: error.message, ...('code' in error ? { code: error.code } : {}) });
  });

  it('anything else keeps its stack', () => {
    const { logger, text } = memoryLogger('info');
    logger.error({ err: new TypeError('cannot read properties of undefined') }, 'failed');
    const { err } = JSON.parse(text()) as { err: { type: string; stack: string } };
    expect(err.type).toBe('TypeError');
    expect(err.stack).toMatch(/^TypeError: cannot read properties of undefined\n\s+at /);
  });
});
