/**
 * NODE_ENV=production refuses every dev default at once, and secrets can come from `<NAME>_FILE`.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@solana/web3.js';
import bs58 from 'bs58';
import {
  ConfigError,
  DEV_ADMIN_TOKEN,
  DEV_EVM_PRIVATE_KEY,
  DEV_NFT_MINT_SEED,
  DEV_STRIPE_SECRET_KEY,
  DEV_STRIPE_WEBHOOK_SECRET,
  loadConfig,
  SECRET_SETTINGS,
} from '../../src/config';

const secret = (prefix = '') => `${prefix}${randomBytes(24).toString('hex')}`;

/** A production environment with nothing unsafe in it. */
function safeEnv(): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    ADMIN_TOKEN: secret(),
    STRIPE_SECRET_KEY: secret('sk_live_'),
    STRIPE_WEBHOOK_SECRET: secret('whsec_'),
    TREASURY_KEYPAIR: bs58.encode(Keypair.generate().secretKey),
    NFT_MINT_SEED: secret(),
    DATABASE_URL: 'postgresql://settlement:pw@db.internal:5432/settlement',
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
  };
}

/** The settings a production boot refuses, in the order the error names them. */
function refused(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.variable);
    throw err;
  }
  return [];
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-secrets-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const writeSecret = (name: string, content: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
};

describe('NODE_ENV=production', () => {
  it('boots with real-looking secrets, and without an EVM rail unless EVM_RPC_URL names a chain', () => {
    const config = loadConfig(safeEnv());
    expect(config.NODE_ENV).toBe('production');
    expect(config.evmConfigured).toBe(false);
    expect(
      loadConfig({ ...safeEnv(), EVM_RPC_URL: 'https://rpc.example', EVM_PRIVATE_KEY: `0x${randomBytes(32).toString('hex')}` })
        .evmConfigured,
    ).toBe(true);
  });

  it('with no settings, names every unsafe setting in one error', () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: 'production' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const names = (error as ConfigError).problems.map((p) => p.variable);
    expect(names.sort()).toEqual(
      [
        'ADMIN_TOKEN',
        'DATABASE_URL',
        'NFT_MINT_SEED',
        'STRIPE_SECRET_KEY',
        'STRIPE_WEBHOOK_SECRET',
        'TEMPORAL_ADDRESS',
        'TREASURY_KEYPAIR',
      ].sort(),
    );
    for (const name of names) expect((error as Error).message).toContain(name);
    expect((error as Error).message).toMatch(/^unsafe settings for NODE_ENV=production: /);
  });

  it('refuses the dev defaults given explicitly', () => {
    expect(
      refused({
        ...safeEnv(),
        ADMIN_TOKEN: DEV_ADMIN_TOKEN,
        STRIPE_SECRET_KEY: DEV_STRIPE_SECRET_KEY,
        STRIPE_WEBHOOK_SECRET: DEV_STRIPE_WEBHOOK_SECRET,
        NFT_MINT_SEED: DEV_NFT_MINT_SEED,
        EVM_RPC_URL: 'https://rpc.example',
        EVM_PRIVATE_KEY: DEV_EVM_PRIVATE_KEY,
      }),
    ).toEqual(['ADMIN_TOKEN', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'EVM_PRIVATE_KEY', 'NFT_MINT_SEED']);
  });

  it.each([
    ['ADMIN_TOKEN missing', { ADMIN_TOKEN: undefined }, 'ADMIN_TOKEN', 'missing'],
    ['ADMIN_TOKEN too short', { ADMIN_TOKEN: 'short-but-valid-elsewhere' }, 'ADMIN_TOKEN', 'shorter than 32'],
    ['ADMIN_READONLY_TOKEN too short', { ADMIN_READONLY_TOKEN: 'readonly-token' }, 'ADMIN_READONLY_TOKEN', 'shorter than 32'],
    ['ADMIN_READONLY_TOKEN the dev admin token', { ADMIN_READONLY_TOKEN: DEV_ADMIN_TOKEN }, 'ADMIN_READONLY_TOKEN', 'development default'],
    ['STRIPE_SECRET_KEY missing', { STRIPE_SECRET_KEY: undefined }, 'STRIPE_SECRET_KEY', 'missing'],
    ['STRIPE_SECRET_KEY the dev default', { STRIPE_SECRET_KEY: DEV_STRIPE_SECRET_KEY }, 'STRIPE_SECRET_KEY', 'development default'],
    ['STRIPE_SECRET_KEY too short', { STRIPE_SECRET_KEY: 'sk_live_abc' }, 'STRIPE_SECRET_KEY', 'shorter than 32'],
    ['STRIPE_WEBHOOK_SECRET missing', { STRIPE_WEBHOOK_SECRET: '' }, 'STRIPE_WEBHOOK_SECRET', 'missing'],
    [
      'STRIPE_WEBHOOK_SECRET the dev default',
      { STRIPE_WEBHOOK_SECRET: DEV_STRIPE_WEBHOOK_SECRET },
      'STRIPE_WEBHOOK_SECRET',
      'development default',
    ],
    ['STRIPE_WEBHOOK_SECRET too short', { STRIPE_WEBHOOK_SECRET: 'whsec_abc' }, 'STRIPE_WEBHOOK_SECRET', 'shorter than 32'],
    ['no treasury key', { TREASURY_KEYPAIR: undefined }, 'TREASURY_KEYPAIR', 'missing'],
    ['EVM rail without a key', { EVM_RPC_URL: 'https://rpc.example' }, 'EVM_PRIVATE_KEY', 'missing'],
    [
      'EVM rail with the anvil key',
      { EVM_RPC_URL: 'https://rpc.example', EVM_PRIVATE_KEY: DEV_EVM_PRIVATE_KEY },
      'EVM_PRIVATE_KEY',
      'anvil',
    ],
    ['NFT_MINT_SEED missing', { NFT_MINT_SEED: undefined }, 'NFT_MINT_SEED', 'missing'],
    ['NFT_MINT_SEED the dev default', { NFT_MINT_SEED: DEV_NFT_MINT_SEED }, 'NFT_MINT_SEED', 'development default'],
    ['NFT_MINT_SEED too short', { NFT_MINT_SEED: 'a-seed-of-20-letters' }, 'NFT_MINT_SEED', 'shorter than 32'],
    ['DATABASE_URL missing', { DATABASE_URL: undefined }, 'DATABASE_URL', 'missing'],
    ['TEMPORAL_ADDRESS missing', { TEMPORAL_ADDRESS: undefined }, 'TEMPORAL_ADDRESS', 'missing'],
  ])('refuses %s', (_case, override, variable, detail) => {
    const env = { ...safeEnv(), ...override };
    expect(refused(env)).toEqual([variable]);
    expect(() => loadConfig(env)).toThrow(new RegExp(`${variable} \\([^)]*${detail}`));
  });

  it('takes the treasury key from TREASURY_KEYPAIR_PATH as well', () => {
    expect(refused({ ...safeEnv(), TREASURY_KEYPAIR: undefined, TREASURY_KEYPAIR_PATH: '/run/secrets/treasury.json' })).toEqual([]);
  });

  it('reports invalid values together with the unsafe ones', () => {
    expect(refused({ ...safeEnv(), PORT: 'eighty', ADMIN_TOKEN: DEV_ADMIN_TOKEN, DATABASE_URL: undefined })).toEqual([
      'PORT',
      'ADMIN_TOKEN',
      'DATABASE_URL',
    ]);
  });

  it('leaves development and test on their embedded defaults', () => {
    expect(loadConfig({}).ADMIN_TOKEN).toBe(DEV_ADMIN_TOKEN);
    expect(loadConfig({ NODE_ENV: 'test' }).NFT_MINT_SEED).toBe(DEV_NFT_MINT_SEED);
    expect(loadConfig({}).evmConfigured).toBe(true);
  });
});

describe('<NAME>_FILE secrets', () => {
  it('reads each secret setting from its file, dropping the trailing newline', () => {
    const admin = secret();
    const config = loadConfig({ ADMIN_TOKEN_FILE: writeSecret('admin', `${admin}\n`) });
    expect(config.ADMIN_TOKEN).toBe(admin);
    expect(Object.keys(config)).not.toContain('ADMIN_TOKEN_FILE');
  });

  it('boots production with every secret from a file', () => {
    const values = safeEnv();
    const env: Record<string, string | undefined> = { NODE_ENV: 'production' };
    for (const name of SECRET_SETTINGS) {
      const value = values[name] ?? (name === 'EVM_PRIVATE_KEY' ? `0x${randomBytes(32).toString('hex')}` : secret());
      values[name] = value;
      env[`${name}_FILE`] = writeSecret(name.toLowerCase(), `${value}\n`);
    }
    const config = loadConfig({ ...env, TEMPORAL_ADDRESS: 'temporal.internal:7233', EVM_RPC_URL: 'https://rpc.example' });
    for (const name of SECRET_SETTINGS) expect({ name, value: config[name] }).toEqual({ name, value: values[name] });
  });

  it('refuses a setting given both directly and as a file', () => {
    const file = writeSecret('both', secret());
    expect(() => loadConfig({ ADMIN_TOKEN: secret(), ADMIN_TOKEN_FILE: file })).toThrow(/ADMIN_TOKEN_FILE \(ADMIN_TOKEN is set too/);
  });

  it('names the variable whose file cannot be read', () => {
    expect(() => loadConfig({ STRIPE_WEBHOOK_SECRET_FILE: path.join(dir, 'absent') })).toThrow(
      /STRIPE_WEBHOOK_SECRET_FILE \(cannot read .*ENOENT/,
    );
  });

  it('checks a secret from a file like any other: a dev default in the file is refused in production', () => {
    expect(refused({ ...safeEnv(), ADMIN_TOKEN: undefined, ADMIN_TOKEN_FILE: writeSecret('dev-admin', `${DEV_ADMIN_TOKEN}\n`) })).toEqual([
      'ADMIN_TOKEN',
    ]);
  });
});
