/**
 * The local Solana chain for dev and tests: Surfpool (`dev/surfpool/src/main.rs`, a small binary over
 * surfpool-core that setup builds) on fixed ports, offline, with a dev bootstrap (treasury keypair,
 * a local USDC mint the treasury is authority of, the treasury's funded USDC account) recorded in
 * `${dataDir}/solana/bootstrap.json`, where the engine's config finds the mint.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Connection, Keypair, PublicKey, SystemProgram, Transaction } from '@solana/web3.js';
import {
  MINT_SIZE,
  TOKEN_PROGRAM_ID,
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { z } from 'zod';
import { USDC_DECIMALS } from '../../src/shared/money';
import { freePortPair } from '../net';
import { resolveTool } from '../tools';

const TREASURY_LAMPORTS = 1_000n * 1_000_000_000n;

/** Where the chain keeps its state: an SQLite file under DATA_DIR that survives a restart, or memory. */
export type ChainState = 'sqlite' | 'memory';

export interface SurfpoolOptions {
  rpcPort: number;
  wsPort: number;
  host?: string;
  /** Slot length: 400 ms like mainnet; confirmation takes a slot, so tests shorten it. */
  slotMs: number;
  state: ChainState;
  /** The app's DATA_DIR; with `state: 'sqlite'` the file is `${dataDir}/solana/surfpool.sqlite`. */
  dataDir: string;
}

export const surfpoolDbPath = (dataDir: string): string => path.join(dataDir, 'solana', 'surfpool.sqlite');

/** The surfpool binary: SURFPOOL_PATH, else what setup built into .tools/bin, else PATH. */
export function surfpoolBinary(override: string | undefined): string {
  const binary = resolveTool('surfpool', override);
  if (!binary) throw new Error('the surfpool binary is missing: run `npm run setup` (builds dev/surfpool) or set SURFPOOL_PATH');
  return binary;
}

export function surfpoolArgs(opts: SurfpoolOptions): string[] {
  const args = ['--host', opts.host ?? '127.0.0.1', '--rpc-port', String(opts.rpcPort), '--ws-port', String(opts.wsPort)];
  args.push('--slot-time-ms', String(opts.slotMs));
  if (opts.state === 'sqlite') {
    fs.mkdirSync(path.join(opts.dataDir, 'solana'), { recursive: true });
    args.push('--db', surfpoolDbPath(opts.dataDir));
  }
  return args;
}

const rpcAnswer = z.object({
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string() }).optional(),
});

/** One JSON-RPC call; throws the node's error. For the cheatcodes web3.js has no method for. */
export async function rpcCall(rpcUrl: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = rpcAnswer.parse(await res.json());
  if (body.error) throw new Error(`${method}: ${body.error.message} (${body.error.code})`);
  return body.result;
}

/** Resolves once the node at `rpcUrl` answers getHealth. */
export async function waitForSurfpool(rpcUrl: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await rpcCall(rpcUrl, 'getHealth', [])) === 'ok') return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${rpcUrl} did not answer getHealth within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface SurfpoolProcess {
  rpcUrl: string;
  wsUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Spawns surfpool and resolves once it printed its ready line. Without ports it takes a free pair,
 * the WebSocket one up as web3.js expects (retrying when another process took one between the probe
 * and the bind).
 */
export async function spawnSurfpool(
  opts: Omit<SurfpoolOptions, 'rpcPort' | 'wsPort'> & { rpcPort?: number; wsPort?: number; binary?: string; log?: (line: string) => void },
): Promise<SurfpoolProcess> {
  const binary = surfpoolBinary(opts.binary);
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const rpcPort = opts.rpcPort ?? (await freePortPair());
    const wsPort = opts.wsPort ?? rpcPort + 1;
    try {
      return await spawnOnce(binary, { ...opts, rpcPort, wsPort });
    } catch (err) {
      lastErr = err;
      if (opts.rpcPort !== undefined) break;
    }
  }
  throw lastErr;
}

function spawnOnce(binary: string, opts: SurfpoolOptions & { log?: (line: string) => void }): Promise<SurfpoolProcess> {
  const child = spawn(binary, surfpoolArgs(opts), { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      opts.log?.(line);
      output.push(line);
      const ready = /^surfpool ready rpc=(\S+) ws=(\S+)/.exec(line);
      if (ready?.[1] && ready[2]) resolve({ rpcUrl: ready[1], wsUrl: ready[2], child, stop });
    };
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', onLine);
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`surfpool exited (${signal ?? code}) before it was ready:\n${output.join('\n')}`)),
    );
  });
}

export function readKeypairFile(file: string): Keypair {
  const bytes = z
    .array(z.number().int().min(0).max(255))
    .length(64)
    .safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!bytes.success) throw new Error(`${file} is not a Solana CLI keypair (a JSON array of 64 bytes)`);
  return Keypair.fromSecretKey(Uint8Array.from(bytes.data));
}

function loadOrCreateTreasury(file: string): Keypair {
  if (fs.existsSync(file)) return readKeypairFile(file);
  const kp = Keypair.generate();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(Array.from(kp.secretKey)), { mode: 0o600 });
  return kp;
}

const bootstrapFile = z.object({ usdcMint: z.string(), treasury: z.string() });
export type Bootstrap = z.infer<typeof bootstrapFile>;

export interface BootstrapOptions {
  dataDir: string;
  /** micro-USDC minted to the treasury's USDC account when the mint is created. */
  funding: bigint;
  treasuryKeypairPath: string;
}

/**
 * The dev bootstrap, done once per chain state: the treasury gets SOL (written with the
 * `surfnet_setAccount` cheatcode), then `createDevUsdcMint` makes the USDC mint and funds the
 * treasury's USDC account with `funding`. Kept when the recorded mint still exists.
 */
export async function bootstrapDevChain(rpcUrl: string, opts: BootstrapOptions): Promise<Bootstrap> {
  const treasury = loadOrCreateTreasury(opts.treasuryKeypairPath);
  const connection = new Connection(rpcUrl, 'confirmed');
  const file = path.join(opts.dataDir, 'solana', 'bootstrap.json');
  const write = (boot: Bootstrap) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(boot, null, 2));
    return boot;
  };
  const prev = fs.existsSync(file) ? bootstrapFile.safeParse(JSON.parse(fs.readFileSync(file, 'utf8'))) : undefined;
  if (prev?.success && prev.data.treasury === treasury.publicKey.toBase58()) {
    if (await connection.getAccountInfo(new PublicKey(prev.data.usdcMint))) return prev.data;
  }
  if (BigInt(await connection.getBalance(treasury.publicKey)) < TREASURY_LAMPORTS / 2n) {
    await rpcCall(rpcUrl, 'surfnet_setAccount', [
      treasury.publicKey.toBase58(),
      { lamports: Number(TREASURY_LAMPORTS), owner: SystemProgram.programId.toBase58() },
    ]);
  }
  const mint = await createDevUsdcMint(connection, treasury, opts.funding);
  return write({ usdcMint: mint.toBase58(), treasury: treasury.publicKey.toBase58() });
}

/**
 * Creates a USDC mint on the chain behind `connection` in one ordinary transaction: the mint (the
 * treasury is its authority, so dev can top it up with a plain mintTo; the mint key is thrown away),
 * the treasury's USDC account, and `funding` micro-USDC minted into it. The treasury pays.
 */
export async function createDevUsdcMint(connection: Connection, treasury: Keypair, funding: bigint): Promise<PublicKey> {
  const mint = Keypair.generate();
  const ata = getAssociatedTokenAddressSync(mint.publicKey, treasury.publicKey);
  const tx = new Transaction().add(
    SystemProgram.createAccount({
      fromPubkey: treasury.publicKey,
      newAccountPubkey: mint.publicKey,
      lamports: await connection.getMinimumBalanceForRentExemption(MINT_SIZE),
      space: MINT_SIZE,
      programId: TOKEN_PROGRAM_ID,
    }),
    createInitializeMint2Instruction(mint.publicKey, USDC_DECIMALS, treasury.publicKey, null),
    createAssociatedTokenAccountIdempotentInstruction(treasury.publicKey, ata, treasury.publicKey, mint.publicKey),
    createMintToInstruction(mint.publicKey, ata, treasury.publicKey, funding),
  );
  const latest = await connection.getLatestBlockhash('confirmed');
  tx.recentBlockhash = latest.blockhash;
  tx.feePayer = treasury.publicKey;
  tx.sign(treasury, mint);
  await confirmed(connection, await connection.sendRawTransaction(tx.serialize()), latest.lastValidBlockHeight);
  return mint.publicKey;
}

/** Polls the signature's status (no PubSub socket to leave behind) until it is confirmed. */
async function confirmed(connection: Connection, signature: string, lastValidBlockHeight: number): Promise<void> {
  for (;;) {
    const status = (await connection.getSignatureStatuses([signature])).value[0];
    if (status?.err) throw new Error(`${signature} failed: ${JSON.stringify(status.err)}`);
    if (status?.confirmationStatus === 'confirmed' || status?.confirmationStatus === 'finalized') return;
    if ((await connection.getBlockHeight('confirmed')) > lastValidBlockHeight) throw new Error(`${signature} expired unconfirmed`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
