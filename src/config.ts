/**
 * The only reader of process.env. Every setting is declared here once, validated with zod at boot,
 * and frozen. A bad value stops the process with the variable's name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SETTLEMENT_IDL } from './chains/solana-anchor/idl';
import { durationMs } from './shared/duration';
import { RAILS, type Rail } from './shared/status';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
const nonNegativeBigint = (fallback: string) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a non-negative integer')
    .default(fallback)
    .transform((v) => BigInt(v));
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => {
      try {
        durationMs(v);
        return true;
      } catch {
        return false;
      }
    }, 'must be a duration such as "5 minutes" or "2 days"');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

/** Dev defaults: documented in README and .env.example; never valid against real services. */
export const DEV_ADMIN_TOKEN = 'dev-admin-token';
export const DEV_STRIPE_SECRET_KEY = 'sk_test_123';
export const DEV_STRIPE_WEBHOOK_SECRET = 'whsec_dev_settlement_engine';
/** anvil's first well-known development account. */
export const DEV_EVM_PRIVATE_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export const DEV_NFT_MINT_SEED = 'dev-nft-mint-seed';
/**
 * The id `declare_id!` gives programs/settlement (the committed IDL's address): the stack deploys
 * the compiled program there on its local chain, and Anchor refuses to run under any other id.
 */
export const DEV_SETTLEMENT_PROGRAM_ID: string = SETTLEMENT_IDL.address;
/** anvil's (and Hardhat's) first well-known accounts: published keys, never a production settler. */
const WELL_KNOWN_EVM_KEYS = new Set([
  DEV_EVM_PRIVATE_KEY,
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
]);

/**
 * Settings that may instead come from a file named by `<NAME>_FILE` (the Docker secrets
 * convention); config.ts reads the file, and setting both is an error.
 */
export const SECRET_SETTINGS = [
  'ADMIN_TOKEN',
  'ADMIN_READONLY_TOKEN',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'TREASURY_KEYPAIR',
  'EVM_PRIVATE_KEY',
  'NFT_MINT_SEED',
  'DATABASE_URL',
  'TEMPORAL_API_KEY',
  'CREATOR_WEBHOOK_SECRET',
] as const;
/** The shortest secret production accepts (tokens, keys, seeds). */
const MIN_PRODUCTION_SECRET_LENGTH = 32;

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('.data'),

  // HTTP API
  HOST: z.string().default('127.0.0.1'),
  PORT: port(3000),
  PUBLIC_BASE_URL: optionalString,
  ADMIN_TOKEN: z.string().min(8).default(DEV_ADMIN_TOKEN),
  ADMIN_READONLY_TOKEN: optionalString,
  WEBHOOK_BODY_LIMIT: z.string().default('256kb'),
  /**
   * Which process acts on stored Stripe events (starts or signals the purchase run): `worker` keeps
   * the API's event loop for acknowledgements and reads; `api` acts right after acknowledging;
   * `separate`: neither, `node dist/stripe-event-actor.js` does.
   */
  STRIPE_EVENTS_ACTED_ON_BY: z.enum(['api', 'worker', 'separate']).default('worker'),
  /** Purchases whose status read the API keeps in memory, dropped on PostgreSQL's change notification; 0 turns it off. */
  STATUS_CACHE_ENTRIES: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  /** Abuse limits per client address and RATE_LIMIT_WINDOW; 0 turns a limit off. */
  RATE_LIMIT_WINDOW: duration('1 minute'),
  CHECKOUT_RATE_LIMIT: z.coerce.number().int().min(0).default(20),
  ADMIN_AUTH_FAILURE_LIMIT: z.coerce.number().int().min(0).default(10),

  // PostgreSQL (embedded in dev when DATABASE_URL is unset)
  DATABASE_URL: optionalString,
  PG_PORT: port(54329),

  // Temporal
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('settlement'),
  /** Workflow tasks one worker runs at once (they share one thread; see src/worker.ts). */
  WORKER_WORKFLOW_TASK_SLOTS: z.coerce.number().int().min(2).max(1000).default(10),
  /**
   * Workflows one worker keeps in memory between tasks (the sticky cache; at least the task slots).
   * Each costs memory for as long as it waits; one evicted is replayed from its history at its next task.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2).max(100_000).default(100),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: bool(false),
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_UI_URL: optionalString,
  TEMPORAL_CLI_PATH: optionalString,

  // Stripe
  STRIPE_SECRET_KEY: z.string().startsWith('sk_').default(DEV_STRIPE_SECRET_KEY),
  STRIPE_WEBHOOK_SECRET: z.string().startsWith('whsec_').default(DEV_STRIPE_WEBHOOK_SECRET),
  /** Set to stripe-mock's URL in dev; unset means the real Stripe API. */
  STRIPE_API_BASE: optionalString,
  STRIPE_MOCK_PORT: port(12111),
  STRIPE_MOCK_PATH: optionalString,
  /** `npm run bench`'s load generator (vegeta); unset means the one set-up installs in .tools/bin. */
  VEGETA_PATH: optionalString,
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),

  // Money policy
  PLATFORM_FEE_BPS: z.coerce.number().int().min(0).max(10_000).default(1000),
  APPROVAL_THRESHOLD_CENTS: nonNegativeBigint('100000'),
  APPROVAL_TIMEOUT: duration('7 days'),
  AUTO_REFUND_ON_FAILURE: bool(false),
  TREASURY_RECHECK_INTERVAL: duration('5 minutes'),
  HOLD_TTL: duration('2 days'),
  /**
   * Risk limits, checked in the treasury reservation's transaction; a purchase over one waits for
   * approval. Daily volume: gross cents per rail per UTC day, `solana=250000,evm=100000` or one
   * number for every rail; unset turns it off. Velocity: purchases per buyer wallet per window; 0 off.
   */
  RISK_DAILY_VOLUME_LIMIT_CENTS: optionalString,
  RISK_BUYER_VELOCITY_LIMIT: z.coerce.number().int().min(0).default(0),
  RISK_BUYER_VELOCITY_WINDOW: duration('1 hour'),
  /** How often a run waiting on the emergency pause re-reads it, in case the resume signal was lost. */
  SETTLEMENT_PAUSE_RECHECK_INTERVAL: duration('1 minute'),

  // Solana
  SOLANA_RPC_URL: optionalString,
  SOLANA_RPC_PORT: port(8899),
  /** The RPC's WebSocket (signature notifications); unset, derived from SOLANA_RPC_URL (ws/wss, port + 1). */
  SOLANA_WS_URL: optionalString,
  SOLANA_COMMITMENT: z.enum(['processed', 'confirmed', 'finalized']).default('confirmed'),
  TREASURY_KEYPAIR_PATH: optionalString,
  TREASURY_KEYPAIR: optionalString,
  USDC_MINT: optionalString,
  NFT_MINT_SEED: z.string().min(8).default(DEV_NFT_MINT_SEED),
  PRIORITY_FEE_CAP_MICROLAMPORTS: z.coerce.number().int().min(0).default(100_000),
  COMPUTE_UNIT_LIMIT: z.coerce.number().int().positive().default(600_000),
  SETTLEMENT_PROGRAM_ID: optionalString,
  DEV_TREASURY_FUNDING_MICRO_USDC: nonNegativeBigint('1000000000000'),
  /** The stack's local chain (Surfpool): its binary, where it keeps its state, its slot length. */
  SURFPOOL_PATH: optionalString,
  SOLANA_CHAIN_STATE: z.enum(['sqlite', 'memory']).default('sqlite'),
  SOLANA_SLOT_MS: z.coerce.number().int().min(1).max(10_000).default(400),
  /** The stack puts the JSON-RPC fault proxy (`dev_injectFault`) on the Solana ports, Surfpool behind it. */
  SOLANA_FAULT_INJECTION: bool(false),

  // EVM
  EVM_RPC_URL: optionalString,
  EVM_RPC_PORT: port(8545),
  EVM_PRIVATE_KEY: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/)
    .default(DEV_EVM_PRIVATE_KEY),
  EVM_CONFIRMATIONS: z.coerce.number().int().min(1).default(1),
  EVM_MAX_FEE_GWEI: z.coerce.number().int().positive().default(200),
  EVM_SPLITTER_ADDRESS: optionalString,
  EVM_USDC_ADDRESS: optionalString,

  // Schedules and thresholds
  RECONCILIATION_CRON: z.string().default('0 9 * * MON'),
  TRIAL_CHECK_CRON: z.string().default('0 8 * * *'),
  SCHEDULE_CATCHUP_WINDOW: duration('1 day'),
  TREASURY_WARNING_BALANCE_CENTS: nonNegativeBigint('200000'),
  RUNWAY_WARNING_DAYS: z.coerce.number().int().min(0).default(7),
  ALERT_WEBHOOK_URL: optionalString,
  TRIAL_REMINDER_DAYS: z.coerce.number().int().min(0).default(3),
  TRIAL_END_POLICY: z.enum(['cancel', 'past_due']).default('cancel'),
  SUBSCRIPTION_TRIAL_DAYS: z.coerce.number().int().min(1).max(730).default(14),
  /** Engine health, checked by the `engine-health-check` schedule; alerts fire and clear through the outbox. */
  HEALTH_CHECK_CRON: z.string().default('* * * * *'),
  HEALTH_WINDOW: duration('15 minutes'),
  HEALTH_MIN_SUCCESS_RATE_PCT: z.coerce.number().int().min(0).max(100).default(95),
  HEALTH_MAX_PENDING: z.coerce.number().int().min(0).default(100),
  HEALTH_PENDING_MAX_AGE: duration('3 minutes'),
  /** Creator webhooks (`payout.settled`): comma-separated endpoints, each signed with the secret. */
  CREATOR_WEBHOOK_URLS: optionalString,
  CREATOR_WEBHOOK_SECRET: optionalString,
  CREATOR_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(12),
  /** How old a creator's signed ownership proof may be (GET /api/creators/:wallet/earnings). */
  WALLET_PROOF_MAX_AGE: duration('5 minutes'),
  STUCK_AFTER_MINUTES: z.coerce.number().int().positive().default(15),
  STUCK_ATTEMPTS: z.coerce.number().int().positive().default(5),
  OTEL_ENABLED: bool(false),
  /** The worker's Temporal SDK metrics (Prometheus, /metrics); 0 turns the endpoint off. */
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
});

type RawConfig = z.infer<typeof schema>;

export interface Config extends RawConfig {
  dataDir: string;
  databaseUrl: string;
  /** true when DATABASE_URL is unset and the dev stack runs PostgreSQL itself */
  embeddedPostgres: boolean;
  temporalAddress: string;
  temporalUiUrl: string;
  publicBaseUrl: string;
  solanaRpcUrl: string;
  evmRpcUrl: string;
  treasuryKeypairPath: string;
  /**
   * SETTLEMENT_PROGRAM_ID, or on the stack's local chain outside production (SOLANA_RPC_URL unset)
   * the program the stack deploys there; undefined leaves the solana-anchor rail unwired.
   */
  settlementProgramId: string | undefined;
  /** false in production unless EVM_RPC_URL names a chain: no rail then points at a local anvil */
  evmConfigured: boolean;
  /** CREATOR_WEBHOOK_URLS split; empty when creator webhooks are off */
  creatorWebhookUrls: readonly string[];
  /** RISK_DAILY_VOLUME_LIMIT_CENTS parsed: a rail without an entry has no daily limit */
  riskDailyVolumeLimitCents: Readonly<Partial<Record<Rail, bigint>>>;
}

export interface ConfigProblem {
  variable: string;
  detail: string;
}

export class ConfigError extends Error {
  /** every setting at fault; `variable` is the first of them */
  readonly problems: readonly ConfigProblem[];
  readonly variable: string;
  constructor(variable: string, detail: string);
  constructor(problems: readonly ConfigProblem[], heading: string);
  constructor(first: string | readonly ConfigProblem[], detail: string) {
    const problems = typeof first === 'string' ? [{ variable: first, detail }] : first;
    super(
      typeof first === 'string'
        ? `invalid setting ${first}: ${detail}`
        : `${detail}: ${problems.map((p) => `${p.variable} (${p.detail})`).join('; ')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
    this.variable = problems[0]?.variable ?? '?';
  }
}

const given = (v: string | undefined): v is string => v !== undefined && v !== '';

/** Replaces each `<NAME>_FILE` of a secret setting by the file's content (one trailing newline dropped). */
function resolveSecretFiles(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const resolved = { ...env };
  const problems: ConfigProblem[] = [];
  for (const name of SECRET_SETTINGS) {
    const file = env[`${name}_FILE`];
    delete resolved[`${name}_FILE`];
    // An empty secret (`ADMIN_TOKEN=` in an env file) is an unset one.
    if (env[name] === '') delete resolved[name];
    if (!given(file)) continue;
    if (given(env[name])) {
      problems.push({ variable: `${name}_FILE`, detail: `${name} is set too; give one of them` });
      continue;
    }
    try {
      resolved[name] = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push({ variable: `${name}_FILE`, detail: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, 'unusable secret files');
  return resolved;
}

/**
 * Production runs against real money: every dev default that would boot silently is refused, all
 * of them in one error so an operator fixes the deployment in one pass.
 */
function productionProblems(env: Record<string, string | undefined>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const secret = (name: string, value: string | undefined, devDefault?: string) => {
    if (!given(value)) problems.push({ variable: name, detail: 'missing' });
    else if (devDefault !== undefined && value === devDefault) problems.push({ variable: name, detail: 'the development default' });
    else if (value.length < MIN_PRODUCTION_SECRET_LENGTH)
      problems.push({ variable: name, detail: `shorter than ${MIN_PRODUCTION_SECRET_LENGTH} characters` });
  };
  secret('ADMIN_TOKEN', env.ADMIN_TOKEN, DEV_ADMIN_TOKEN);
  if (given(env.ADMIN_READONLY_TOKEN)) {
    secret('ADMIN_READONLY_TOKEN', env.ADMIN_READONLY_TOKEN, DEV_ADMIN_TOKEN);
    if (env.ADMIN_READONLY_TOKEN === env.ADMIN_TOKEN) problems.push({ variable: 'ADMIN_READONLY_TOKEN', detail: 'equal to ADMIN_TOKEN' });
  }
  secret('STRIPE_SECRET_KEY', env.STRIPE_SECRET_KEY, DEV_STRIPE_SECRET_KEY);
  secret('STRIPE_WEBHOOK_SECRET', env.STRIPE_WEBHOOK_SECRET, DEV_STRIPE_WEBHOOK_SECRET);
  if (!given(env.TREASURY_KEYPAIR) && !given(env.TREASURY_KEYPAIR_PATH)) {
    problems.push({
      variable: 'TREASURY_KEYPAIR',
      detail: 'missing: give TREASURY_KEYPAIR, TREASURY_KEYPAIR_FILE or TREASURY_KEYPAIR_PATH (no dev key is generated in production)',
    });
  }
  if (given(env.EVM_RPC_URL) || given(env.EVM_PRIVATE_KEY)) {
    if (!given(env.EVM_PRIVATE_KEY)) problems.push({ variable: 'EVM_PRIVATE_KEY', detail: 'missing while the EVM rail is configured' });
    else if (WELL_KNOWN_EVM_KEYS.has(env.EVM_PRIVATE_KEY.toLowerCase()))
      problems.push({ variable: 'EVM_PRIVATE_KEY', detail: 'a published anvil development key' });
  }
  secret('NFT_MINT_SEED', env.NFT_MINT_SEED, DEV_NFT_MINT_SEED);
  if (!given(env.DATABASE_URL))
    problems.push({ variable: 'DATABASE_URL', detail: 'missing (there is no embedded PostgreSQL in production)' });
  if (!given(env.TEMPORAL_ADDRESS))
    problems.push({ variable: 'TEMPORAL_ADDRESS', detail: 'missing (there is no embedded Temporal server in production)' });
  return problems;
}

export function loadConfig(input: Record<string, string | undefined> = process.env): Readonly<Config> {
  const env = resolveSecretFiles(input);
  const parsed = schema.safeParse(env);
  const production = env.NODE_ENV === 'production';
  if (production) {
    // Invalid values and unsafe ones together, one entry per setting.
    const problems = parsed.success ? [] : parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), detail: i.message }));
    for (const p of productionProblems(env)) if (!problems.some((q) => q.variable === p.variable)) problems.push(p);
    if (problems.length > 0) throw new ConfigError(problems, 'unsafe settings for NODE_ENV=production');
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue?.path[0] ?? '?'), issue?.message ?? 'invalid');
  }
  const raw = parsed.data;
  const creatorWebhookUrls = (raw.CREATOR_WEBHOOK_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  for (const u of creatorWebhookUrls) {
    if (!URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol))
      throw new ConfigError('CREATOR_WEBHOOK_URLS', `not an http(s) URL: ${u}`);
  }
  // An unsigned notification could be forged by anyone who learns the endpoint.
  if (creatorWebhookUrls.length > 0 && (raw.CREATOR_WEBHOOK_SECRET ?? '').length < 16) {
    throw new ConfigError('CREATOR_WEBHOOK_SECRET', 'required (at least 16 characters) when CREATOR_WEBHOOK_URLS is set');
  }
  const riskDailyVolumeLimitCents = parseDailyVolumeLimits(raw.RISK_DAILY_VOLUME_LIMIT_CENTS);
  const dataDir = path.resolve(raw.DATA_DIR);
  return Object.freeze({
    ...raw,
    dataDir,
    databaseUrl: raw.DATABASE_URL ?? `postgresql://postgres:postgres@127.0.0.1:${raw.PG_PORT}/settlement`,
    embeddedPostgres: raw.DATABASE_URL === undefined,
    temporalAddress: raw.TEMPORAL_ADDRESS ?? `127.0.0.1:${raw.TEMPORAL_PORT}`,
    temporalUiUrl: raw.TEMPORAL_UI_URL ?? `http://127.0.0.1:${raw.TEMPORAL_UI_PORT}`,
    publicBaseUrl: raw.PUBLIC_BASE_URL ?? `http://localhost:${raw.PORT}`,
    solanaRpcUrl: raw.SOLANA_RPC_URL ?? `http://127.0.0.1:${raw.SOLANA_RPC_PORT}`,
    evmRpcUrl: raw.EVM_RPC_URL ?? `http://127.0.0.1:${raw.EVM_RPC_PORT}`,
    treasuryKeypairPath: raw.TREASURY_KEYPAIR_PATH ?? path.join(dataDir, 'solana', 'treasury-keypair.json'),
    settlementProgramId:
      raw.SETTLEMENT_PROGRAM_ID ?? (production || raw.SOLANA_RPC_URL !== undefined ? undefined : DEV_SETTLEMENT_PROGRAM_ID),
    evmConfigured: !production || raw.EVM_RPC_URL !== undefined,
    creatorWebhookUrls,
    riskDailyVolumeLimitCents,
  });
}

/** `solana=250000,evm=100000`, or one number for every rail; unset means no daily limit. */
function parseDailyVolumeLimits(value: string | undefined): Partial<Record<Rail, bigint>> {
  const limits: Partial<Record<Rail, bigint>> = {};
  if (value === undefined) return limits;
  const bad = (detail: string) => new ConfigError('RISK_DAILY_VOLUME_LIMIT_CENTS', detail);
  if (/^\d+$/.test(value.trim())) {
    for (const rail of RAILS) limits[rail] = BigInt(value.trim());
    return limits;
  }
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const m = /^([a-z-]+)=(\d+)$/.exec(part);
    if (!m) throw bad(`"${part}" is not <rail>=<cents>`);
    const rail = RAILS.find((r) => r === m[1]);
    if (!rail) throw bad(`unknown rail ${m[1]} (rails: ${RAILS.join(', ')})`);
    if (limits[rail] !== undefined) throw bad(`rail ${rail} is given twice`);
    limits[rail] = BigInt(m[2] ?? '0');
  }
  return limits;
}

/**
 * The environment to hand to child processes (the dev stack's worker, API and tools), without the
 * API's PORT, which stripe-mock would also bind. Child processes validate it with loadConfig().
 */
export function childProcessEnv(overrides: Record<string, string> = {}, omit: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...overrides };
  for (const name of omit) delete env[name];
  return env;
}

/** The executable search path, for locating the embedded stack's tools. */
export const executablePath = (): string => process.env.PATH ?? '';

/** Names of every setting, for the docker-compose and .env.example drift tests. */
export const settingNames: readonly string[] = Object.keys(schema.shape);
/** The `<NAME>_FILE` variants loadConfig also reads. */
export const secretFileSettingNames: readonly string[] = SECRET_SETTINGS.map((n) => `${n}_FILE`);
