import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KNOWN_ENV_VARIABLES, loadConfig } from '../src/config.js';
import { startApiLaunch } from './harness/launch.js';

/**
 * Docker engines don't run on our machines, so this is the check the deployment
 * files get: docker-compose.yml parses and has the production topology, the app
 * services set only variables src/config.ts knows, and the Dockerfile has the
 * stages and entry points the compose file relies on.
 */

const ROOT = resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

type Env = Record<string, string>;

interface Service {
  image?: string;
  build?: string | { context?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: unknown;
  depends_on?: string[] | Record<string, { condition?: string }>;
  deploy?: { replicas?: number };
  ports?: Array<string | number | { target?: number; published?: string | number }>;
  volumes?: Array<string | { type?: string; source?: string }>;
  healthcheck?: { test?: string | string[] };
  [key: string]: unknown;
}

interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

// `merge: true`: the file shares settings through YAML merge keys (`<<: *app`), as compose does.
const compose = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const services = compose.services;

/** Services that run our image: their environment is read by src/config.ts. */
const appServices = Object.entries(services).filter(
  ([, service]) => service.build !== undefined || service.image?.startsWith('switchyard') === true,
);

/** The environment a service declares, in either of compose's two forms. */
function environmentOf(service: Service): Env {
  const env: Env = {};
  const declared = service.environment ?? {};
  if (Array.isArray(declared)) {
    for (const entry of declared) {
      const eq = entry.indexOf('=');
      env[eq === -1 ? entry : entry.slice(0, eq)] = eq === -1 ? '' : entry.slice(eq + 1);
    }
  } else {
    for (const [name, value] of Object.entries(declared)) env[name] = value === null ? '' : String(value);
  }
  return env;
}

/** Compose's interpolation (`$$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`) against `host`. */
function interpolate(value: string, host: Env): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (match, name, op, arg) => {
    if (match === '$$') return '$';
    const current = host[name as string];
    const unset = current === undefined || (op?.startsWith(':') && current === '');
    if (op?.endsWith('?') && unset) throw new Error(`${name}: ${arg}`);
    if (op?.endsWith('-') && unset) return arg as string;
    return current ?? '';
  });
}

function commandOf(service: Service): string {
  return Array.isArray(service.command) ? service.command.join(' ') : (service.command ?? '');
}

describe('docker-compose.yml', () => {
  it('has the production topology: postgres, redis, a one-shot migrate and the api', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'redis', 'migrate', 'api']));
    for (const key of Object.keys(compose)) {
      expect(
        ['name', 'services', 'volumes', 'networks', 'configs', 'secrets'].includes(key) || key.startsWith('x-'),
        key,
      ).toBe(true);
    }
    for (const [name, service] of Object.entries(services)) {
      expect(service.image ?? service.build, `${name} needs an image or a build`).toBeTruthy();
    }
    expect(services.postgres?.image).toMatch(/^postgres:16/);
    expect(services.redis?.image).toMatch(/^redis:7/);
    expect(services.postgres?.healthcheck?.test).toBeTruthy();
    expect(services.redis?.healthcheck?.test).toBeTruthy();
  });

  it('runs two api replicas without a host port they would both claim', () => {
    const api = services.api!;
    expect(api.deploy?.replicas).toBe(2);
    for (const port of api.ports ?? []) {
      const spec = typeof port === 'object' ? `${port.published ?? ''}:${port.target}` : String(port);
      const parts = spec.split(':');
      if (parts.length < 2 || parts.at(-2) === '') continue; // container port only: an ephemeral host port each
      const published = parts.at(-2)!;
      const range = published.match(/^(\d+)-(\d+)$/);
      expect(range, `api publishes the fixed host port ${published}: use a range or expose`).not.toBeNull();
      expect(Number(range![2]) - Number(range![1]) + 1).toBeGreaterThanOrEqual(api.deploy?.replicas ?? 1);
    }
  });

  it('migrates once before the api starts', () => {
    expect(commandOf(services.migrate!)).toBe('node dist/src/infra/migrate-cli.js');
    expect(services.migrate?.restart ?? 'no').toBe('no');
    expect(services.migrate?.deploy?.replicas ?? 1).toBe(1);
    expect(services.migrate?.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' } });
    expect(services.api?.depends_on).toMatchObject({
      migrate: { condition: 'service_completed_successfully' },
      redis: { condition: 'service_healthy' },
    });
    expect(commandOf(services.api!)).toMatch(/^node dist\/src\/server\.js --api$/);
  });

  it('runs two worker replicas of the same image after the migration, with Redis', () => {
    const worker = services.worker!;
    expect(worker).toBeDefined();
    expect(worker.image).toBe(services.api?.image);
    expect(worker.build).toEqual(services.api?.build);
    expect(worker.deploy?.replicas).toBe(2);
    expect(commandOf(worker)).toBe('node dist/workers/index.js');
    expect(worker.ports ?? []).toEqual([]);
    expect(worker.depends_on).toMatchObject({
      migrate: { condition: 'service_completed_successfully' },
      redis: { condition: 'service_healthy' },
    });
    expect(appServices.map(([name]) => name)).toContain('worker');
    const build = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    expect(build.include).toContain('workers');
    expect(existsSync(join(ROOT, 'workers/index.ts'))).toBe(true);
  });

  it('refers only to services and volumes it declares', () => {
    const conditions = ['service_started', 'service_healthy', 'service_completed_successfully'];
    for (const [name, service] of Object.entries(services)) {
      const deps = service.depends_on ?? [];
      const entries: Array<[string, { condition?: string }]> = Array.isArray(deps)
        ? deps.map((dep) => [dep, {}])
        : Object.entries(deps);
      for (const [dep, spec] of entries) {
        expect(services[dep], `${name} depends on unknown service ${dep}`).toBeDefined();
        if (spec.condition) expect(conditions, `${name} -> ${dep}`).toContain(spec.condition);
        if (spec.condition === 'service_healthy')
          expect(services[dep]?.healthcheck, `${dep} has no healthcheck`).toBeTruthy();
      }
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '');
        if (/^[A-Za-z0-9][\w.-]*$/.test(source))
          expect(compose.volumes, `${name} uses undeclared volume ${source}`).toHaveProperty(source);
      }
    }
  });

  it('gives the app services only variables src/config.ts knows', () => {
    expect(appServices.map(([name]) => name)).toEqual(expect.arrayContaining(['migrate', 'api']));
    for (const [name, service] of appServices) {
      // An env_file would hide names from this check.
      expect(service.env_file, `${name} uses env_file`).toBeUndefined();
      const unknown = Object.keys(environmentOf(service)).filter((variable) => !KNOWN_ENV_VARIABLES.includes(variable));
      expect(unknown, `${name} sets variables src/config.ts does not know`).toEqual([]);
    }
  });

  it('sets what production requires, and loadConfig accepts it', () => {
    const host: Env = { JWT_SECRET: 'x'.repeat(48) };
    for (const [name, service] of appServices) {
      const env = environmentOf(service);
      expect(Object.keys(env), name).toEqual(expect.arrayContaining(['DATABASE_URL', 'JWT_SECRET', 'NODE_ENV']));
      // The secret comes from the host and compose refuses to start without it.
      expect(env.JWT_SECRET, name).toMatch(/^\$\{JWT_SECRET:\?[^}]+\}$/);
      expect(() => interpolate(env.JWT_SECRET!, {})).toThrow(/JWT_SECRET/);

      const resolved = Object.fromEntries(Object.entries(env).map(([key, value]) => [key, interpolate(value, host)]));
      const config = loadConfig(resolved, { defaultWorkers: 'off' });
      expect(config.mode, name).toBe('production');
      expect(config.nodeEnv, name).toBe('production');
      expect(new URL(config.databaseUrl!).hostname, name).toBe('postgres');
      if (config.redisUrl) expect(new URL(config.redisUrl).hostname, name).toBe('redis');
    }
    const api = loadConfig(
      Object.fromEntries(Object.entries(environmentOf(services.api!)).map(([k, v]) => [k, interpolate(v, host)])),
    );
    expect(api.host).toBe('0.0.0.0');
    expect(api.redisUrl).toBeDefined();
    expect(api.workers).toBe('off');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile').replace(/\\\n/g, ' ');
  const lines = dockerfile.split('\n').map((line) => line.trim());
  const stages = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of lines) {
    const from = line.match(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i);
    if (from) {
      current = [line];
      stages.set(from[2] ?? `#${stages.size}`, current);
    } else if (line && !line.startsWith('#')) current.push(line);
  }
  const stage = (name: string) => (stages.get(name) ?? []).join('\n');

  it('builds in deps, build and runtime stages on node:20-bookworm-slim', () => {
    expect([...stages.keys()]).toEqual(['deps', 'build', 'runtime']);
    expect(dockerfile).toMatch(/node:20-bookworm-slim/);
    // Generation runs in the postinstall, so prisma/ and scripts/ are copied before `npm ci`.
    const deps = stage('deps');
    expect(deps.indexOf('COPY prisma')).toBeGreaterThan(-1);
    expect(deps.indexOf('COPY scripts')).toBeGreaterThan(-1);
    expect(deps.indexOf('COPY prisma')).toBeLessThan(deps.indexOf('RUN npm ci'));
    expect(deps.indexOf('COPY scripts')).toBeLessThan(deps.indexOf('RUN npm ci'));
    expect(stage('build')).toMatch(/^RUN npm run build$/m);
  });

  it('runs the api as a non-root user from production dependencies and dist/', () => {
    const runtime = stage('runtime');
    expect(runtime).toMatch(/^RUN npm ci --omit=dev/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(runtime).toMatch(/^COPY prisma\/migrations \.\/prisma\/migrations$/m);
    const user = runtime.match(/^USER\s+(\S+)$/m)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runtime).toMatch(/^EXPOSE 4000$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\/health/m);
    const cmd = runtime.match(/^CMD\s+(\[.*\])$/m)?.[1];
    expect(JSON.parse(cmd ?? 'null')).toEqual(['node', 'dist/src/server.js', '--api']);
  });

  it('runs node with the malloc settings and node flags of the npm start scripts', () => {
    const { env, nodeArgs } = startApiLaunch(ROOT);
    // The settings the bench measures with; none at all would make this test vacuous.
    expect(Object.keys(env).length + nodeArgs.length).toBeGreaterThan(0);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const prefix = scripts['start:api']!.slice(0, scripts['start:api']!.indexOf('--import tsx'));
    for (const name of ['start', 'start:worker']) expect(scripts[name], name).toContain(prefix);
    // ENV after the runtime stage's npm ci, so that npm ci runs without them.
    const runtime = stage('runtime');
    const envLines = runtime.split('\n').filter((line) => line.startsWith('ENV '));
    const imageEnv = Object.fromEntries(
      envLines.flatMap((line) => line.slice(4).trim().split(/\s+/)).map((pair) => pair.split(/=(.*)/s).slice(0, 2)),
    ) as Env;
    expect(imageEnv).toMatchObject(env);
    expect((imageEnv.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)).toEqual(nodeArgs);
    const lastEnv = runtime.lastIndexOf('\nENV MALLOC');
    expect(lastEnv).toBeGreaterThan(runtime.indexOf('RUN npm ci'));
  });

  it('points at files the build produces', () => {
    const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(build.compilerOptions).toMatchObject({ rootDir: '.', outDir: 'dist' });
    // dist/src/x.js comes from src/x.ts.
    expect(existsSync(join(ROOT, 'src/server.ts'))).toBe(true);
    expect(existsSync(join(ROOT, 'src/infra/migrate-cli.ts'))).toBe(true);
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'src/generated']));
    for (const needed of ['src', 'prisma', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      expect(ignored, `.dockerignore drops ${needed}`).not.toContain(needed);
    }
  });
});
