/**
 * Starts the real local chain (litesvm behind JSON-RPC over HTTP) for a test file, on free ports
 * with a temporary data dir. Tests talk to it only through RPC, like the engine does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import { getAssociatedTokenAddressSync, unpackAccount, TOKEN_PROGRAM_ID } from '@solana/spl-token';
import { startSolanaChain, readKeypairFile, type Fault, type SolanaChain } from '../../dev/solana-chain';
import { createSolanaRail, timeoutFetch, type SolanaRail, type SolanaRailDeps } from '../../src/chains/solana';
import type { SettlementAttempt, SettlementJournal } from '../../src/chains/rail';

export interface TestChain extends SolanaChain {
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
  slotMs?: number;
  port?: number;
}

export async function startTestChain(opts: TestChainOptions = {}): Promise<TestChain> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'solana-chain-test-'));
  const treasuryKeypairPath = path.join(dataDir, 'solana', 'treasury-keypair.json');
  const chain = await startSolanaChain({
    port: opts.port ?? 0,
    dataDir,
    funding: opts.funding ?? 1_000_000_000_000n,
    faultInjection: opts.faultInjection ?? true,
    treasuryKeypairPath,
    slotMs: opts.slotMs ?? 50,
  });
  const connection = new Connection(chain.rpcUrl, {
    commitment: 'confirmed',
    wsEndpoint: chain.wsUrl,
    fetch: timeoutFetch(10_000) as never,
  });
  // web3.js reconnects its PubSub socket forever; a stopped test chain should not leave that behind.
  const closeSocket = () => {
    const socket = (connection as unknown as { _rpcWebSocket?: { setAutoReconnect(v: boolean): void; close(): void } })._rpcWebSocket;
    socket?.setAutoReconnect(false);
    socket?.close();
  };
  const test: TestChain = {
    ...chain,
    dataDir,
    treasuryKeypair: readKeypairFile(treasuryKeypairPath),
    connection,
    async injectFault(fault) {
      const res = await fetch(chain.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'dev_injectFault', params: [fault] }),
      });
      const body = (await res.json()) as { error?: { message: string } };
      if (body.error) throw new Error(body.error.message);
    },
    async restart() {
      closeSocket();
      await chain.stop();
      const port = Number(new URL(chain.rpcUrl).port);
      return startTestChain({ ...opts, dataDir, port });
    },
    async destroy() {
      closeSocket();
      await chain.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return test;
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
