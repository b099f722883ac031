import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, KNOWN_ENV_VARIABLES, loadConfig } from '../src/config.js';
import { spawnServer } from './helpers/server-process.js';

const SECRET = 'a-production-secret-of-at-least-32-bytes!';
const DATABASE_URL = 'postgresql://app:app@db.internal:5432/switchyard';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-config-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs fn, expecting a ConfigError; returns its message. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('defaults (docs/contract.md, "Configuration")', () => {
  it('embedded mode: PORT 4000, HOST 127.0.0.1, DATA_DIR .data, and the documented values', () => {
    // JWT_SECRET given so that nothing is written under the real .data.
    const config = loadConfig({ JWT_SECRET: SECRET });
    expect(config).toMatchObject({
      mode: 'embedded',
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: resolve('.data'),
      redisUrl: undefined,
      jwtSecret: SECRET,
      adminEmail: 'admin@switchyard.local',
      adminPassword: undefined,
      welcomeCredit: 10000n,
      houseOpeningBalance: 1000000000000n,
      logLevel: 'info',
    });
    expect(typeof config.welcomeCredit).toBe('bigint');
    expect(typeof config.houseOpeningBalance).toBe('bigint');
  });

  it('production mode (DATABASE_URL set): HOST defaults to 0.0.0.0', () => {
    const config = loadConfig({ DATABASE_URL, JWT_SECRET: SECRET });
    expect(config).toMatchObject({ mode: 'production', host: '0.0.0.0', port: 4000, databaseUrl: DATABASE_URL });
  });

  it('WORKERS follows the defaultWorkers option (inline for npm start, off for start:api) unless set', () => {
    const base = { JWT_SECRET: SECRET };
    expect(loadConfig(base, { defaultWorkers: 'inline' }).workers).toBe('inline');
    expect(loadConfig(base, { defaultWorkers: 'off' }).workers).toBe('off');
    expect(loadConfig(base).workers).toBe('off');
    expect(loadConfig({ ...base, WORKERS: 'off' }, { defaultWorkers: 'inline' }).workers).toBe('off');
    expect(loadConfig({ ...base, WORKERS: 'inline' }, { defaultWorkers: 'off' }).workers).toBe('inline');
  });

  it('explicit values override the defaults', () => {
    const dataDir = tempDir();
    const config = loadConfig({
      DATABASE_URL,
      JWT_SECRET: SECRET,
      PORT: '8080',
      HOST: '10.0.0.5',
      DATA_DIR: dataDir,
      ADMIN_EMAIL: '  Root@Example.COM ',
      WELCOME_CREDIT: '25000',
      HOUSE_OPENING_BALANCE: '90071992547409930',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '10.0.0.5',
      dataDir,
      adminEmail: 'root@example.com',
      welcomeCredit: 25000n,
      // Past Number.MAX_SAFE_INTEGER: parsed as a BigInt, not through a float.
      houseOpeningBalance: 90071992547409930n,
      logLevel: 'debug',
    });
  });

  it('a variable set to an empty string counts as unset', () => {
    const config = loadConfig({ JWT_SECRET: SECRET, PORT: '', DATA_DIR: '', HOST: '', LOG_LEVEL: '', WORKERS: '' });
    expect(config).toMatchObject({ port: 4000, dataDir: resolve('.data'), host: '127.0.0.1', logLevel: 'info' });
    expect(config.workers).toBe('off');
  });
});

describe('rate limits', () => {
  it('default to the contract’s table, on, trusting no proxy', () => {
    const config = loadConfig({ JWT_SECRET: SECRET, DATA_DIR: tempDir() });
    expect(config.rateLimitsEnabled).toBe(true);
    expect(config.trustProxy).toBe(false);
    expect(config.rateLimits).toEqual({
      loginFailures: { limit: 5, duration: 900 },
      login: { limit: 30, duration: 60 },
      register: { limit: 20, duration: 3600 },
      refreshToken: { limit: 60, duration: 60 },
      anonymous: { limit: 600, duration: 60 },
      user: { limit: 1200, duration: 60 },
      mutation: { limit: 120, duration: 60 },
    });
    expect([config.maxSubscriptionsPerUser, config.maxAnonymousConnectionsPerIp]).toEqual([50, 20]);
  });

  it('reads <limit>/<seconds>, RATE_LIMITS=off and TRUST_PROXY as Fastify does', () => {
    const config = (env: Record<string, string>) => loadConfig({ JWT_SECRET: SECRET, DATA_DIR: tempDir(), ...env });
    expect(config({ RATE_LIMIT_LOGIN: '7/30' }).rateLimits.login).toEqual({ limit: 7, duration: 30 });
    expect(config({ RATE_LIMITS: 'off' }).rateLimitsEnabled).toBe(false);
    expect(config({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(config({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(config({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8');
  });
});

describe('JWT_SECRET', () => {
  it('production without JWT_SECRET is refused with one line naming the variable', () => {
    const message = configError(() => loadConfig({ DATABASE_URL }));
    expect(message).toContain('JWT_SECRET');
  });

  it('a blank JWT_SECRET counts as missing in production', () => {
    expect(configError(() => loadConfig({ DATABASE_URL, JWT_SECRET: '   ' }))).toContain('JWT_SECRET');
  });

  it('a secret shorter than 32 bytes is refused, in production and in embedded mode', () => {
    const short = 'x'.repeat(31);
    expect(configError(() => loadConfig({ DATABASE_URL, JWT_SECRET: short }))).toMatch(/JWT_SECRET.*32 bytes/);
    expect(configError(() => loadConfig({ DATA_DIR: tempDir(), JWT_SECRET: short }))).toContain('JWT_SECRET');
  });

  it('counts bytes, not characters: 32 bytes is enough, 31 bytes of multi-byte text is not', () => {
    expect(loadConfig({ DATABASE_URL, JWT_SECRET: 'x'.repeat(32) }).jwtSecret).toBe('x'.repeat(32));
    expect(loadConfig({ DATABASE_URL, JWT_SECRET: 'é'.repeat(16) }).jwtSecret).toBe('é'.repeat(16)); // 32 bytes
    expect(configError(() => loadConfig({ DATABASE_URL, JWT_SECRET: `${'é'.repeat(15)}x` }))).toContain('JWT_SECRET');
  });

  it('embedded mode generates a secret into DATA_DIR and reuses it on the next load', () => {
    const dataDir = join(tempDir(), 'nested', 'data'); // created on demand
    const first = loadConfig({ DATA_DIR: dataDir });
    expect(Buffer.byteLength(first.jwtSecret)).toBeGreaterThanOrEqual(32);

    const file = join(dataDir, 'jwt-secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(first.jwtSecret);
    expect(statSync(file).mode & 0o777).toBe(0o600); // readable by the owner only

    const second = loadConfig({ DATA_DIR: dataDir });
    expect(second.jwtSecret).toBe(first.jwtSecret);

    // Another data directory gets its own secret.
    expect(loadConfig({ DATA_DIR: tempDir() }).jwtSecret).not.toBe(first.jwtSecret);
  });

  it('an explicit JWT_SECRET wins over, and does not create, the generated one', () => {
    const dataDir = tempDir();
    expect(loadConfig({ DATA_DIR: dataDir, JWT_SECRET: SECRET }).jwtSecret).toBe(SECRET);
    expect(() => statSync(join(dataDir, 'jwt-secret'))).toThrow(/ENOENT/);
  });

  it('a stored secret that is too short (truncated or hand-edited) is refused, not used', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'jwt-secret'), '\n');
    const message = configError(() => loadConfig({ DATA_DIR: dataDir }));
    expect(message).toContain(join(dataDir, 'jwt-secret'));
    expect(message).toContain('32 bytes');
  });
});

describe('invalid values throw a ConfigError naming the variable', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '4000.5'],
    ['WORKERS', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['WELCOME_CREDIT', '-5'],
    ['WELCOME_CREDIT', '1e3'],
    ['HOUSE_OPENING_BALANCE', 'lots'],
    ['ADMIN_EMAIL', 'not-an-email'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon'],
    ['RATE_LIMITS', 'maybe'],
    ['RATE_LIMIT_LOGIN', '30'],
    ['RATE_LIMIT_LOGIN', '0/60'],
    ['RATE_LIMIT_REGISTER', '20/0'],
    ['RATE_LIMIT_USER', '1200/86401'],
  ])('%s=%s', (variable, value) => {
    const message = configError(() => loadConfig({ JWT_SECRET: SECRET, [variable]: value }));
    expect(message).toContain(variable);
  });
});

it('KNOWN_ENV_VARIABLES lists every variable of docs/contract.md', () => {
  expect(KNOWN_ENV_VARIABLES).toEqual(
    expect.arrayContaining([
      'PORT',
      'HOST',
      'DATABASE_URL',
      'DATA_DIR',
      'REDIS_URL',
      'WORKERS',
      'JWT_SECRET',
      'ADMIN_EMAIL',
      'ADMIN_PASSWORD',
      'WELCOME_CREDIT',
      'HOUSE_OPENING_BALANCE',
      'LOG_LEVEL',
    ]),
  );
});

describe('the process', () => {
  it('with DATABASE_URL and no JWT_SECRET, exits non-zero with one stderr line naming JWT_SECRET', async () => {
    const server = await spawnServer({
      env: { DATABASE_URL: 'postgresql://app:app@127.0.0.1:1/switchyard' },
      killAfterMs: 20_000,
    });
    const { code, signal } = await server.closed;
    const stdout = server.stdout();
    const stderr = server.stderr();

    expect(signal).toBeNull(); // exited by itself, not killed by the 20 s guard
    expect(code).not.toBe(0);
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('JWT_SECRET');
    expect(stderr).not.toMatch(/\bat .+:\d+:\d+/); // no stack frames
    expect(stdout).not.toContain('Switchyard is running');
  });
});
