/** The local chain (Surfpool) itself, through unmodified web3.js / spl-token over HTTP JSON-RPC and PubSub. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  Keypair,
  LAMPORTS_PER_SOL,
  SystemProgram,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
  sendAndConfirmTransaction,
} from '@solana/web3.js';
import { TOKEN_PROGRAM_ID, createMint, getAccount, getMint, getOrCreateAssociatedTokenAccount, mintTo, transfer } from '@solana/spl-token';
import { MemoryJournal, newPurchaseId, railFor, startTestChain, usdcOf, type TestChain } from '../../helpers/solana-chain';

const rpc = async (url: string, method: string, params: unknown[] = [], raw?: string) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: raw ?? JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }),
  });
  return { status: res.status, body: (await res.json()) as { result?: unknown; error?: { code: number; message: string }; id: unknown } };
};

describe('local Solana chain', () => {
  let chain: TestChain;
  beforeAll(async () => {
    chain = await startTestChain({ faultInjection: false });
  });
  afterAll(async () => {
    await chain.destroy();
  });

  test('spl-token helpers: airdrop, createMint, ATA, mintTo, transfer via sendAndConfirmTransaction', async () => {
    const { connection } = chain;
    const payer = Keypair.generate();
    const sig = await connection.requestAirdrop(payer.publicKey, 2 * LAMPORTS_PER_SOL);
    await connection.confirmTransaction({ signature: sig, ...(await connection.getLatestBlockhash()) }, 'confirmed');
    expect(await connection.getBalance(payer.publicKey)).toBe(2 * LAMPORTS_PER_SOL);

    const mint = await createMint(connection, payer, payer.publicKey, null, 6);
    const alice = await getOrCreateAssociatedTokenAccount(connection, payer, mint, payer.publicKey);
    const bob = Keypair.generate();
    const bobAta = await getOrCreateAssociatedTokenAccount(connection, payer, mint, bob.publicKey);
    await mintTo(connection, payer, mint, alice.address, payer, 5_000_000n);
    await transfer(connection, payer, alice.address, bobAta.address, payer, 1_500_000n);
    expect((await getAccount(connection, alice.address)).amount).toBe(3_500_000n);
    expect((await getAccount(connection, bobAta.address)).amount).toBe(1_500_000n);
    expect((await getMint(connection, mint)).supply).toBe(5_000_000n);
    expect((await connection.getTokenSupply(mint)).value.amount).toBe('5000000');
    expect((await connection.getTokenAccountBalance(bobAta.address)).value).toMatchObject({ amount: '1500000', decimals: 6 });
    const owned = await connection.getTokenAccountsByOwner(bob.publicKey, { mint });
    expect(owned.value.map((v) => v.pubkey.toBase58())).toEqual([bobAta.address.toBase58()]);
    const byProgram = await connection.getTokenAccountsByOwner(payer.publicKey, { programId: TOKEN_PROGRAM_ID });
    expect(byProgram.value).toHaveLength(1);

    // A plain SOL transfer, confirmed over the PubSub socket.
    const to = Keypair.generate().publicKey;
    const transferSig = await sendAndConfirmTransaction(
      connection,
      new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: 1_012_345 })),
      [payer],
    );
    expect(await connection.getBalance(to)).toBe(1_012_345);
    const status = (await connection.getSignatureStatuses([transferSig])).value[0];
    expect(status?.err).toBeNull();
    expect(['confirmed', 'finalized']).toContain(status?.confirmationStatus);
    const tx = await connection.getTransaction(transferSig, { maxSupportedTransactionVersion: 0 });
    expect(tx?.meta?.err).toBeNull();
    expect(tx?.meta?.fee).toBe(5000);
    expect(tx?.transaction.message.staticAccountKeys.map((k) => k.toBase58())).toContain(to.toBase58());
  });

  test('fees, rent, blockhash, simulation, priority fees, multiple accounts, account subscription', async () => {
    const { connection } = chain;
    const payer = chain.treasuryKeypair;
    // The chain makes blocks on a clock: read the height on both sides of the blockhash.
    const heightBefore = await connection.getBlockHeight();
    const latest = await connection.getLatestBlockhash();
    const heightAfter = await connection.getBlockHeight();
    expect(latest.lastValidBlockHeight - 150).toBeGreaterThanOrEqual(heightBefore);
    // Surfpool counts lastValidBlockHeight from the processed height, which can be a block ahead of confirmed.
    expect(latest.lastValidBlockHeight - 150).toBeLessThanOrEqual(heightAfter + 1);
    expect((await connection.isBlockhashValid(latest.blockhash)).value).toBe(true);
    // The node's Rent sysvar charges 5,080 lamports per byte, counting 128 bytes of account overhead.
    expect(await connection.getMinimumBalanceForRentExemption(165)).toBe((165 + 128) * 5_080);
    const msg = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: latest.blockhash,
      instructions: [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 })],
    }).compileToV0Message();
    expect((await connection.getFeeForMessage(msg)).value).toBe(5000);
    const vtx = new VersionedTransaction(msg);
    vtx.sign([payer]);
    const sim = await connection.simulateTransaction(vtx, { sigVerify: true });
    expect(sim.value.err).toBeNull();
    expect(sim.value.logs?.join('\n')).toContain('11111111111111111111111111111111 success');
    expect(Array.isArray(await connection.getRecentPrioritizationFees())).toBe(true);
    const multi = await connection.getMultipleAccountsInfo([payer.publicKey, Keypair.generate().publicKey]);
    expect(multi[0]?.lamports).toBeGreaterThan(0);
    expect(multi[1]).toBeNull();
    expect(await connection.getVersion()).toHaveProperty('solana-core');

    const watched = Keypair.generate().publicKey;
    const seen = new Promise<number>((resolve) => {
      const id = connection.onAccountChange(watched, (info) => {
        void connection.removeAccountChangeListener(id);
        resolve(info.lamports);
      });
    });
    await new Promise((r) => setTimeout(r, 200)); // let the subscription reach the server
    await sendAndConfirmTransaction(
      connection,
      new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: watched, lamports: 1_000_000 })),
      [payer],
    );
    expect(await seen).toBe(1_000_000);
  });

  test('JSON-RPC errors have the standard shape; faults exist only in the proxy', async () => {
    const unknown = await rpc(chain.rpcUrl, 'noSuchMethod');
    expect(unknown.body).toEqual({ jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 7 });
    expect((await rpc(chain.rpcUrl, 'dev_injectFault', [{ kind: 'expireBlockhash' }])).body.error?.code).toBe(-32601);
    expect((await rpc(chain.rpcUrl, 'getBalance', ['not a key'])).body.error?.code).toBe(-32602);
    expect((await rpc(chain.rpcUrl, '', [], '{not json')).body.error?.code).toBe(-32700);
    const batch = await fetch(chain.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'getSlot' },
        { jsonrpc: '2.0', id: 2, method: 'getHealth' },
      ]),
    });
    expect(((await batch.json()) as { result: unknown }[]).map((r) => r.result)[1]).toBe('ok');
    const sendBad = await rpc(chain.rpcUrl, 'sendTransaction', ['AAAA', { encoding: 'base64' }]);
    expect(sendBad.body.error?.code).toBe(-32602);
  });

  test('scripts/solana-smoke.ts, an independent web3.js/spl-token client, passes against the chain', async () => {
    const root = path.resolve(__dirname, '../../..');
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        path.join(root, 'node_modules/.bin/tsx'),
        [path.join(root, 'scripts/solana-smoke.ts'), chain.rpcUrl],
        { cwd: root, timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    expect(out).toContain("balances { alice: '750000', bob: '250000' }");
    expect(out.trim().endsWith('OK')).toBe(true);
  });

  test('bootstrap: treasury keypair file, funded USDC account, bootstrap.json', async () => {
    const boot = JSON.parse(fs.readFileSync(path.join(chain.dataDir, 'solana', 'bootstrap.json'), 'utf8')) as Record<string, string>;
    expect(boot).toEqual({ usdcMint: chain.usdcMint.toBase58(), treasury: chain.treasury.toBase58() });
    const keyFile = JSON.parse(fs.readFileSync(path.join(chain.dataDir, 'solana', 'treasury-keypair.json'), 'utf8')) as number[];
    expect(keyFile).toHaveLength(64);
    expect((await getMint(chain.connection, chain.usdcMint)).decimals).toBe(6);
    expect(await usdcOf(chain.connection, chain.usdcMint, chain.treasury)).toBe(1_000_000_000_000n);
  });
});

test('with its SQLite file, state, signatures and settlements survive a restart of the chain', async () => {
  let chain = await startTestChain({ faultInjection: false, state: 'sqlite' });
  try {
    const rail = railFor(chain);
    const journal = new MemoryJournal();
    const wallet = Keypair.generate().publicKey;
    const req = {
      purchaseId: newPurchaseId(),
      buyerWallet: Keypair.generate().publicKey.toBase58(),
      nft: { name: 'Persist', symbol: 'P', uri: 'https://example.test/p.json' },
      payouts: [{ wallet: wallet.toBase58(), amountMicroUsdc: 777n }],
    };
    const first = await rail.settle(req, journal);
    const heightBefore = await chain.connection.getBlockHeight();
    const mintBefore = chain.usdcMint.toBase58();
    const treasuryBefore = await rail.treasuryBalanceMicroUsdc();

    chain = await chain.restart();
    expect(fs.statSync(path.join(chain.dataDir, 'solana', 'surfpool.sqlite')).size).toBeGreaterThan(0);
    expect(chain.usdcMint.toBase58()).toBe(mintBefore);
    expect(await chain.connection.getBlockHeight()).toBeGreaterThanOrEqual(heightBefore);
    const status = (await chain.connection.getSignatureStatuses([first.txId], { searchTransactionHistory: true })).value[0];
    expect(status?.err).toBeNull();
    const after = railFor(chain);
    expect(await after.treasuryBalanceMicroUsdc()).toBe(treasuryBefore);
    expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(777n);
    expect(await after.settle(req, journal)).toEqual({ ...first, alreadySettled: true });
    expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(777n);
    // And it keeps working after the restart.
    const next = await after.settle({ ...req, purchaseId: newPurchaseId() }, journal);
    expect(next.alreadySettled).toBe(false);
    expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(1554n);
  } finally {
    await chain.destroy();
  }
});
