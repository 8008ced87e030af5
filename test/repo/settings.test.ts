/** The settings are documented and deployable: .env.example, the README table and docker-compose.yml all match the config schema. */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig, ConfigError, settingNames } from '../../src/config';

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

it('docker-compose.yml sets only settings the config schema knows, with pinned images', () => {
  const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { image?: string; build?: unknown; environment?: Record<string, string> }>;
  };
  for (const name of ['postgres', 'temporal', 'temporal-ui', 'api', 'worker']) expect(compose.services[name]).toBeDefined();
  for (const [name, svc] of Object.entries(compose.services)) {
    if (svc.image) expect({ name, image: svc.image }).toEqual({ name, image: expect.stringMatching(/:[0-9][\w.-]*$/) });
  }
  for (const app of ['api', 'worker', 'migrate']) {
    const env = compose.services[app]?.environment ?? {};
    const unknown = Object.keys(env).filter((k) => !settingNames.includes(k));
    expect({ app, unknown }).toEqual({ app, unknown: [] });
    // and the values pass validation
    expect(() => loadConfig({ ...env })).not.toThrow();
  }
});

it('an invalid setting stops the boot with its name', () => {
  expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
  expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^invalid setting PORT: /);
  expect(() => loadConfig({ PLATFORM_FEE_BPS: '10001' })).toThrow(/PLATFORM_FEE_BPS/);
  expect(() => loadConfig({ APPROVAL_TIMEOUT: 'soon' })).toThrow(/APPROVAL_TIMEOUT/);
  expect(() => loadConfig({ STRIPE_SECRET_KEY: 'pk_live_nope' })).toThrow(/STRIPE_SECRET_KEY/);
  expect(() => loadConfig({ APPROVAL_THRESHOLD_CENTS: '12.5' })).toThrow(/APPROVAL_THRESHOLD_CENTS/);
});
