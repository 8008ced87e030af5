/** The settings are documented and deployable: .env.example, the README table and docker-compose.yml all match the config schema. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@solana/web3.js';
import { parse } from 'yaml';
import { WORKER_PROCESS } from '../../dev/stack';
import {
  ConfigError,
  DEV_ADMIN_TOKEN,
  DEV_EVM_PRIVATE_KEY,
  DEV_NFT_MINT_SEED,
  DEV_STRIPE_SECRET_KEY,
  DEV_STRIPE_WEBHOOK_SECRET,
  loadConfig,
  SECRET_SETTINGS,
  secretFileSettingNames,
  settingNames,
} from '../../src/config';

const root = path.resolve(__dirname, '../..');

it('.env.example documents exactly the settings of the config schema', () => {
  const names = fs
    .readFileSync(path.join(root, '.env.example'), 'utf8')
    .split('\n')
    .map((l) => /^([A-Z][A-Z0-9_]*)=/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
  expect([...names].sort()).toEqual([...settingNames].sort());
});

it('the README settings table lists every setting', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const missing = settingNames.filter((n) => !readme.includes(`| \`${n}\``));
  expect(missing).toEqual([]);
});

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  secrets?: string[];
  healthcheck?: { test?: string[] };
}
const compose = () => {
  const text = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
  return { text, doc: parse(text) as { services: Record<string, ComposeService>; secrets?: Record<string, { file: string }> } };
};
const APPS = ['api', 'worker'];

it('docker-compose.yml sets only settings the config schema knows, with pinned images', () => {
  const { doc } = compose();
  for (const name of ['postgres', 'temporal', 'temporal-ui', 'api', 'worker']) expect(doc.services[name]).toBeDefined();
  for (const [name, svc] of Object.entries(doc.services)) {
    if (svc.image)
      expect({ name, image: svc.image }).toEqual({ name, image: expect.stringMatching(/:[0-9][\w.-]*$|^settlement-engine:local$/) });
  }
  for (const app of [...APPS, 'migrate']) {
    const env = doc.services[app]?.environment ?? {};
    const unknown = Object.keys(env).filter((k) => !settingNames.includes(k) && !secretFileSettingNames.includes(k));
    expect({ app, unknown }).toEqual({ app, unknown: [] });
  }
});

it('docker-compose.yml boots the apps in production with every secret from a Docker secret file, and no dev default', () => {
  const { text, doc } = compose();
  for (const devDefault of [
    DEV_ADMIN_TOKEN,
    DEV_STRIPE_SECRET_KEY,
    DEV_STRIPE_WEBHOOK_SECRET,
    DEV_EVM_PRIVATE_KEY,
    DEV_NFT_MINT_SEED,
    'postgres:postgres@',
    'POSTGRES_PASSWORD:',
  ]) {
    expect({ devDefault, found: text.includes(devDefault) }).toEqual({ devDefault, found: false });
  }
  const declared = doc.secrets ?? {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-secrets-'));
  try {
    for (const app of APPS) {
      const svc = doc.services[app] as ComposeService;
      const env = svc.environment ?? {};
      expect({ app, NODE_ENV: env.NODE_ENV }).toEqual({ app, NODE_ENV: 'production' });
      // no secret in plain text: each one is a file under /run/secrets that the service mounts
      expect({ app, plain: SECRET_SETTINGS.filter((n) => n in env) }).toEqual({ app, plain: [] });
      const files = Object.entries(env).filter(([k]) => k.endsWith('_FILE') || k === 'TREASURY_KEYPAIR_PATH');
      const realEnv: Record<string, string> = { ...env };
      for (const [name, value] of files) {
        const secret = /^\/run\/secrets\/([\w-]+)$/.exec(value)?.[1];
        expect({ app, name, secret: secret !== undefined && svc.secrets?.includes(secret) && secret in declared }).toEqual({
          app,
          name,
          secret: true,
        });
        // what the operator would put in the file: a real-looking value
        const file = path.join(dir, `${app}-${name}`);
        fs.writeFileSync(
          file,
          name === 'TREASURY_KEYPAIR_PATH'
            ? JSON.stringify(Array.from(Keypair.generate().secretKey))
            : name === 'DATABASE_URL_FILE'
              ? 'postgresql://settlement:pw@postgres:5432/settlement\n'
              : `${name.startsWith('STRIPE_SECRET') ? 'sk_live_' : name.startsWith('STRIPE_WEBHOOK') ? 'whsec_' : ''}${randomBytes(24).toString('hex')}\n`,
        );
        realEnv[name] = file;
      }
      expect(() => loadConfig(realEnv)).not.toThrow();
      // the compiled entry points of the image, with a health check
      // the worker's process flags are the dev stack's (dev/stack.ts WORKER_PROCESS)
      const command = app === 'api' ? ['node', 'dist/server.js'] : ['node', ...WORKER_PROCESS.nodeArgs, 'dist/worker.js'];
      expect({ app, command: svc.command }).toEqual({ app, command });
      expect({ app, healthcheck: svc.healthcheck?.test?.join(' ') }).toEqual({
        app,
        healthcheck: expect.stringContaining('scripts/healthcheck.mjs'),
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it("docker-compose.yml sets Temporal's schema up with temporal-sql-tool, not the auto-setup image", () => {
  const { doc } = compose();
  expect(Object.values(doc.services).map((s) => s.image ?? '')).not.toContainEqual(expect.stringContaining('auto-setup'));
  expect(doc.services.temporal?.image).toMatch(/^temporalio\/server:/);
  const schema = Object.values(doc.services).find(
    (s) => s.image?.startsWith('temporalio/admin-tools:') && JSON.stringify(s.command).includes('temporal-sql-tool'),
  );
  expect(schema).toBeDefined();
  for (const step of ['create-database', 'setup-schema', 'update-schema', 'temporal_visibility'])
    expect(JSON.stringify(schema?.command)).toContain(step);
});

it('an invalid setting stops the boot with its name', () => {
  expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
  expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^invalid setting PORT: /);
  expect(() => loadConfig({ PLATFORM_FEE_BPS: '10001' })).toThrow(/PLATFORM_FEE_BPS/);
  expect(() => loadConfig({ APPROVAL_TIMEOUT: 'soon' })).toThrow(/APPROVAL_TIMEOUT/);
  expect(() => loadConfig({ STRIPE_SECRET_KEY: 'pk_live_nope' })).toThrow(/STRIPE_SECRET_KEY/);
  expect(() => loadConfig({ APPROVAL_THRESHOLD_CENTS: '12.5' })).toThrow(/APPROVAL_THRESHOLD_CENTS/);
});

it("the image sets the worker's malloc as the dev stack does", () => {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  expect(dockerfile).toContain(`ENV MALLOC_ARENA_MAX=${WORKER_PROCESS.env.MALLOC_ARENA_MAX}\n`);
  expect(dockerfile).toContain(`ENV MALLOC_CONF=${WORKER_PROCESS.env.MALLOC_CONF}\n`);
  expect(dockerfile).toContain('install -y --no-install-recommends libjemalloc2');
  expect(dockerfile).toContain('ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2\n');
});
