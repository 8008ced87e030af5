/**
 * Starts the real local chain (Surfpool, in memory unless asked for its SQLite file) for a test file,
 * on free ports with a temporary data dir, with the JSON-RPC fault proxy (dev/surfpool/rpc-faults.ts)
 * in front of it when the tests inject faults. Tests talk to it only through RPC, like the engine does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import { getAssociatedTokenAddressSync, unpackAccount, TOKEN_PROGRAM_ID } from '@solana/spl-token';
import { bootstrapDevChain, readKeypairFile, spawnSurfpool, type ChainState, type SurfpoolProcess } from '../../dev/surfpool';
import { startRpcFaultProxy, type Fault, type RpcFaultProxy } from '../../dev/surfpool/rpc-faults';
import { freePortPair } from '../../dev/net';
import { createSolanaRail, timeoutFetch, type SolanaRail, type SolanaRailDeps } from '../../src/chains/solana';
import type { SettlementAttempt, SettlementJournal } from '../../src/chains/rail';

export interface TestChain {
  /** The fault proxy's URLs when faults are on, else Surfpool's. */
  rpcUrl: string;
  wsUrl: string;
  /** Surfpool itself, behind the proxy. */
  surfpoolRpcUrl: string;
  usdcMint: PublicKey;
  treasury: PublicKey;
  dataDir: string;
  treasuryKeypair: Keypair;
  connection: Connection;
  injectFault(fault: Fault): Promise<void>;
  restart(): Promise<TestChain>;
  /** Stops the chain and removes its data dir. */
  destroy(): Promise<void>;
}

export interface TestChainOptions {
  faultInjection?: boolean;
  funding?: bigint;
  dataDir?: string;
  /** 50 ms: a confirmation takes a slot, and blockhashes expire in 7.5 s. */
  slotMs?: number;
  /** `sqlite` keeps the chain in `${dataDir}/solana/surfpool.sqlite`, so a restart keeps it. */
  state?: ChainState;
  ports?: { rpc: number; ws: number; proxyRpc?: number; proxyWs?: number };
}

export async function startTestChain(opts: TestChainOptions = {}): Promise<TestChain> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'solana-chain-test-'));
  const treasuryKeypairPath = path.join(dataDir, 'solana', 'treasury-keypair.json');
  const node: SurfpoolProcess = await spawnSurfpool({
    rpcPort: opts.ports?.rpc,
    wsPort: opts.ports?.ws,
    slotMs: opts.slotMs ?? 50,
    state: opts.state ?? 'memory',
    dataDir,
    binary: process.env.SURFPOOL_PATH,
  });
  let proxy: RpcFaultProxy | undefined;
  try {
    if (opts.faultInjection ?? true) {
      const port = opts.ports?.proxyRpc ?? (await freePortPair());
      proxy = await startRpcFaultProxy({
        upstreamRpcUrl: node.rpcUrl,
        upstreamWsUrl: node.wsUrl,
        port,
        wsPort: opts.ports?.proxyWs ?? port + 1,
        expireBlockhashes: () => node.child.kill('SIGUSR1'),
      });
    }
    const boot = await bootstrapDevChain(node.rpcUrl, { dataDir, funding: opts.funding ?? 1_000_000_000_000n, treasuryKeypairPath });
    const rpcUrl = proxy?.rpcUrl ?? node.rpcUrl;
    const wsUrl = proxy?.wsUrl ?? node.wsUrl;
    const connection = new Connection(rpcUrl, { commitment: 'confirmed', wsEndpoint: wsUrl, fetch: timeoutFetch(10_000) });
    const stop = async () => {
      closeSocket(connection);
      await proxy?.close();
      await node.stop();
    };
    const ports = {
      rpc: Number(new URL(node.rpcUrl).port),
      ws: Number(new URL(node.wsUrl).port),
      ...(proxy ? { proxyRpc: Number(new URL(proxy.rpcUrl).port), proxyWs: Number(new URL(proxy.wsUrl).port) } : {}),
    };
    return {
      rpcUrl,
      wsUrl,
      surfpoolRpcUrl: node.rpcUrl,
      usdcMint: new PublicKey(boot.usdcMint),
      treasury: new PublicKey(boot.treasury),
      dataDir,
      treasuryKeypair: readKeypairFile(treasuryKeypairPath),
      connection,
      async injectFault(fault) {
        if (!proxy) throw new Error('this test chain was started without faultInjection');
        await proxy.inject(fault);
      },
      async restart() {
        await stop();
        return startTestChain({ ...opts, dataDir, ports });
      },
      async destroy() {
        await stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await proxy?.close();
    await node.stop();
    throw err;
  }
}

/** web3.js reconnects its PubSub socket forever: a stopped test chain must not leave that behind. */
function closeSocket(connection: Connection): void {
  const socket: unknown = Reflect.get(connection, '_rpcWebSocket');
  if (typeof socket !== 'object' || socket === null) return;
  for (const [method, args] of [
    ['setAutoReconnect', [false]],
    ['close', []],
  ] as const) {
    const fn: unknown = Reflect.get(socket, method);
    if (typeof fn === 'function') Reflect.apply(fn, socket, args);
  }
}

export class MemoryJournal implements SettlementJournal {
  readonly rows: SettlementAttempt[] = [];
  async recordAttempt(attempt: Omit<SettlementAttempt, 'createdAt'>): Promise<void> {
    this.rows.push({ ...attempt, createdAt: new Date() });
  }
  async attempts(purchaseId: string): Promise<SettlementAttempt[]> {
    return this.rows.filter((r) => r.purchaseId === purchaseId);
  }
}

export function railFor(chain: TestChain, overrides: Partial<SolanaRailDeps> = {}): SolanaRail {
  return createSolanaRail({
    rpcUrl: chain.rpcUrl,
    wsUrl: chain.wsUrl,
    commitment: 'confirmed',
    treasury: chain.treasuryKeypair,
    usdcMint: chain.usdcMint,
    nftMintSeed: 'test-nft-mint-seed',
    priorityFeeCapMicroLamports: 10_000,
    computeUnitLimit: 1_400_000,
    rpcTimeoutMs: 3_000,
    rpcFailureBudgetMs: 3_000,
    pollIntervalMs: 50,
    ...overrides,
  });
}

/** A wallet's classic-SPL USDC balance; 0 when its ATA does not exist. */
export async function usdcOf(connection: Connection, mint: PublicKey, owner: PublicKey): Promise<bigint> {
  const ata = getAssociatedTokenAddressSync(mint, owner, true, TOKEN_PROGRAM_ID);
  const info = await connection.getAccountInfo(ata);
  return info ? unpackAccount(ata, info, TOKEN_PROGRAM_ID).amount : 0n;
}

export const wallets = (n: number): Keypair[] => Array.from({ length: n }, () => Keypair.generate());

let counter = 0;
export const newPurchaseId = (): string => `pur_${Date.now().toString(36)}_${(counter++).toString(36)}`;
