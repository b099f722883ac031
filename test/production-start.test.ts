import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { spawnServer, stopAll } from './helpers/server-process.js';

/**
 * A first production start without ADMIN_PASSWORD: the admin's generated
 * password never reaches stdout (where a log collector would keep it); it is
 * written to DATA_DIR/admin-password, readable by its owner only.
 */
describe('the first production start without ADMIN_PASSWORD', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-production-'));
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await stopAll({ graceMs: 0 });
    await drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes the generated password to a file of its own instead of printing it', async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    const server = await spawnServer({
      listen: true,
      env: {
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        JWT_SECRET: 'production-start-secret-0123456789abcdef',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        ADMIN_EMAIL: 'root@production.test',
        DATA_DIR: dataDir,
      },
      waitForBanner: true,
      timeoutMs: 60_000,
    });
    const file = join(dataDir, 'admin-password');
    const password = readFileSync(file, 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(server.stdout()).toContain(`password generated into ${file}`);
    expect(server.stdout()).not.toContain(password);
    expect(server.stderr()).not.toContain(password);
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($input: LoginInput!) { login(input: $input) { user { role } } }',
        variables: { input: { email: 'root@production.test', password } },
      }),
    });
    expect(await response.json()).toEqual({ data: { login: { user: { role: 'ADMIN' } } } });
  }, 90_000);
});
