/**
 * The local Solana chain for dev and tests: litesvm behind real JSON-RPC, state under
 * `${dataDir}/solana/`, and a dev bootstrap (treasury, local USDC mint, funded treasury ATA).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Keypair, PublicKey } from '@solana/web3.js';
import {
  ACCOUNT_SIZE,
  AccountLayout,
  AccountState,
  MINT_SIZE,
  MintLayout,
  TOKEN_PROGRAM_ID,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { Ledger } from './ledger';
import { startRpcServers, type RpcServers } from './rpc-server';

export { type Fault } from './ledger';

const USDC_DECIMALS = 6;
const TREASURY_AIRDROP_LAMPORTS = 1_000n * 1_000_000_000n;

export interface SolanaChainOptions {
  /** 0 picks a free pair of ports (HTTP, HTTP+1 for the WebSocket). */
  port: number;
  /** The app's DATA_DIR; the chain keeps its files under `${dataDir}/solana/`. */
  dataDir: string;
  /** micro-USDC minted to the treasury's USDC account on first start. */
  funding: bigint;
  faultInjection: boolean;
  treasuryKeypairPath: string;
  host?: string;
  /** Slot length; 400 ms like mainnet. Tests shorten it so blockhash expiry takes seconds. */
  slotMs?: number;
  log?: (line: string) => void;
}

interface Bootstrap {
  usdcMint: string;
  treasury: string;
  rpcUrl: string;
}

export interface SolanaChain {
  rpcUrl: string;
  wsUrl: string;
  usdcMint: PublicKey;
  treasury: PublicKey;
  ledger: Ledger;
  stop(): Promise<void>;
}

export function readKeypairFile(file: string): Keypair {
  const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(raw) || raw.length !== 64 || !raw.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new Error(`${file} is not a Solana CLI keypair (a JSON array of 64 bytes)`);
  }
  return Keypair.fromSecretKey(Uint8Array.from(raw as number[]));
}

function loadOrCreateTreasury(file: string): Keypair {
  if (fs.existsSync(file)) return readKeypairFile(file);
  const kp = Keypair.generate();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(Array.from(kp.secretKey)), { mode: 0o600 });
  return kp;
}

function bootstrap(ledger: Ledger, opts: SolanaChainOptions, chainDir: string, rpcUrl: string): Bootstrap {
  const treasury = loadOrCreateTreasury(opts.treasuryKeypairPath).publicKey;
  const file = path.join(chainDir, 'bootstrap.json');
  if (fs.existsSync(file)) {
    const prev = JSON.parse(fs.readFileSync(file, 'utf8')) as Bootstrap;
    if (prev.treasury === treasury.toBase58() && ledger.getAccount(prev.usdcMint)) {
      const current = { ...prev, rpcUrl };
      fs.writeFileSync(file, JSON.stringify(current, null, 2));
      return current;
    }
  }
  if ((ledger.getAccount(treasury.toBase58())?.lamports ?? 0n) < TREASURY_AIRDROP_LAMPORTS / 2n) {
    ledger.airdrop(treasury.toBase58(), TREASURY_AIRDROP_LAMPORTS);
  }
  // Written as state rather than sent as transactions: the mint key is thrown away, and the treasury
  // stays mint authority so dev can top it up with an ordinary mintTo.
  const mint = Keypair.generate().publicKey;
  const mintData = Buffer.alloc(MINT_SIZE);
  MintLayout.encode(
    {
      mintAuthorityOption: 1,
      mintAuthority: treasury,
      supply: opts.funding,
      decimals: USDC_DECIMALS,
      isInitialized: true,
      freezeAuthorityOption: 0,
      freezeAuthority: PublicKey.default,
    },
    mintData,
  );
  const rent = (len: number) => ledger.svm.minimumBalanceForRentExemption(BigInt(len));
  ledger.setAccount(mint.toBase58(), { lamports: rent(MINT_SIZE), data: mintData, owner: TOKEN_PROGRAM_ID.toBase58(), executable: false });
  const ata = getAssociatedTokenAddressSync(mint, treasury);
  const ataData = Buffer.alloc(ACCOUNT_SIZE);
  AccountLayout.encode(
    {
      mint,
      owner: treasury,
      amount: opts.funding,
      delegateOption: 0,
      delegate: PublicKey.default,
      state: AccountState.Initialized,
      isNativeOption: 0,
      isNative: 0n,
      delegatedAmount: 0n,
      closeAuthorityOption: 0,
      closeAuthority: PublicKey.default,
    },
    ataData,
  );
  ledger.setAccount(ata.toBase58(), { lamports: rent(ACCOUNT_SIZE), data: ataData, owner: TOKEN_PROGRAM_ID.toBase58(), executable: false });
  const result = { usdcMint: mint.toBase58(), treasury: treasury.toBase58(), rpcUrl };
  fs.writeFileSync(file, JSON.stringify(result, null, 2));
  return result;
}

async function listenWithFreePorts(ledger: Ledger, opts: SolanaChainOptions): Promise<RpcServers> {
  const host = opts.host ?? '127.0.0.1';
  if (opts.port !== 0) return startRpcServers(ledger, { port: opts.port, host, faultInjection: opts.faultInjection });
  let lastErr: unknown;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    try {
      return await startRpcServers(ledger, { port, host, faultInjection: opts.faultInjection });
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}

export async function startSolanaChain(opts: SolanaChainOptions): Promise<SolanaChain> {
  const chainDir = path.join(opts.dataDir, 'solana');
  const ledger = new Ledger({ dataDir: chainDir, slotMs: opts.slotMs ?? 400 });
  const servers = await listenWithFreePorts(ledger, opts);
  ledger.start();
  const boot = bootstrap(ledger, opts, chainDir, servers.rpcUrl);
  opts.log?.(`solana local chain: rpc ${servers.rpcUrl} ws ${servers.wsUrl}`);
  opts.log?.(`solana treasury ${boot.treasury}  usdc mint ${boot.usdcMint}`);
  let stopped = false;
  return {
    rpcUrl: servers.rpcUrl,
    wsUrl: servers.wsUrl,
    usdcMint: new PublicKey(boot.usdcMint),
    treasury: new PublicKey(boot.treasury),
    ledger,
    async stop() {
      if (stopped) return;
      stopped = true;
      ledger.stop();
      await servers.close();
    },
  };
}
