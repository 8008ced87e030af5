/**
 * Fault injection on the real local chain: dropped transactions, lost and delayed confirmations,
 * blockhash expiry, failing and dead RPCs. The invariant in every case: the purchase pays out once.
 */
import net from 'node:net';
import { Keypair, SystemProgram, Transaction, sendAndConfirmTransaction } from '@solana/web3.js';
import { createMint, getOrCreateAssociatedTokenAccount, mintTo, transfer } from '@solana/spl-token';
import { DomainError, ErrorType, isDomainError } from '../../../src/shared/errors';
import { toDomainError } from '../../../src/chains/solana/errors';
import type { SettlementRequest } from '../../../src/chains/rail';
import { MemoryJournal, newPurchaseId, railFor, startTestChain, usdcOf, wallets, type TestChain } from '../../helpers/solana-chain';

let chain: TestChain;
beforeAll(async () => {
  chain = await startTestChain({ faultInjection: true });
});
afterEach(async () => {
  await chain.injectFault({ kind: 'clear' });
});
afterAll(async () => {
  await chain.destroy();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const oneRecipient = () => {
  const [w] = wallets(1);
  const req: SettlementRequest = {
    purchaseId: newPurchaseId(),
    buyerWallet: Keypair.generate().publicKey.toBase58(),
    nft: { name: 'Fault', symbol: 'FLT', uri: 'https://example.test/f.json' },
    payouts: [{ wallet: w!.publicKey.toBase58(), amountMicroUsdc: 1_234_567n }],
  };
  return { req, wallet: w!.publicKey };
};

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as DomainError,
  );

/** A first attempt that dies after its journalled send (RPC down) while the chain dropped the transaction: nothing landed. */
async function failAfterJournalledSend(rail: ReturnType<typeof railFor>, req: SettlementRequest, journal: MemoryJournal): Promise<void> {
  await chain.injectFault({ kind: 'loseNextTransaction' });
  await chain.injectFault({ kind: 'failRequestsAfterNextSend', n: 100_000 });
  expect((await errorOf(rail.settle(req, journal)))?.type).toBe(ErrorType.RpcUnavailable);
  await chain.injectFault({ kind: 'clear' });
}

test('dropped transaction: BlockhashExpired after expiry, then the retry re-signs and pays once', async () => {
  const rail = railFor(chain);
  const journal = new MemoryJournal();
  const { req, wallet } = oneRecipient();
  const before = await rail.treasuryBalanceMicroUsdc();
  await chain.injectFault({ kind: 'loseNextTransaction' });
  const pending = errorOf(rail.settle(req, journal));
  await sleep(500);
  await chain.injectFault({ kind: 'expireBlockhash' });
  const err = await pending;
  expect(isDomainError(err, ErrorType.BlockhashExpired)).toBe(true);
  expect(journal.rows).toHaveLength(1);
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(0n);
  expect(await rail.treasuryBalanceMicroUsdc()).toBe(before);

  const result = await rail.settle(req, journal);
  expect(result.alreadySettled).toBe(false);
  expect(journal.rows).toHaveLength(2);
  expect(result.txId).toBe(journal.rows[1]!.txId);
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(1_234_567n);
  expect(before - (await rail.treasuryBalanceMicroUsdc())).toBe(1_234_567n);
});

test('a dropped send is broadcast again while its blockhash is valid: it lands within seconds, once', async () => {
  const rail = railFor(chain, { rebroadcastIntervalMs: 500 });
  const journal = new MemoryJournal();
  const { req, wallet } = oneRecipient();
  await chain.injectFault({ kind: 'loseNextTransaction' });
  const started = Date.now();
  const result = await rail.settle(req, journal);
  // Without the rebroadcast it would have waited out the blockhash (150 slots, about a minute).
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(result.alreadySettled).toBe(false);
  expect(journal.rows).toHaveLength(1);
  expect(result.txId).toBe(journal.rows[0]!.txId);
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(1_234_567n);
});

test('a retry while the previous blockhash is still valid rebroadcasts the journalled bytes instead of re-signing', async () => {
  const rail = railFor(chain);
  const journal = new MemoryJournal();
  const { req, wallet } = oneRecipient();
  await failAfterJournalledSend(rail, req, journal);
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(0n);
  const started = Date.now();
  const result = await rail.settle(req, journal);
  expect(Date.now() - started).toBeLessThan(20_000);
  // The first attempt's own bytes landed: no second signature, paid once.
  expect(result.alreadySettled).toBe(true);
  expect(journal.rows).toHaveLength(1);
  expect(result.txId).toBe(journal.rows[0]!.txId);
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(1_234_567n);
});

test('a journalled attempt without its bytes (written before they were kept) is waited out, then re-signed once', async () => {
  const rail = railFor(chain);
  const journal = new MemoryJournal();
  const { req, wallet } = oneRecipient();
  await failAfterJournalledSend(rail, req, journal);
  delete journal.rows[0]!.signedTx;
  const started = Date.now();
  const retry = rail.settle(req, journal);
  await sleep(300);
  expect(journal.rows).toHaveLength(1); // still waiting on the first attempt's blockhash
  await chain.injectFault({ kind: 'expireBlockhash' });
  const result = await retry;
  expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  expect(result.alreadySettled).toBe(false);
  expect(journal.rows).toHaveLength(2);
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(1_234_567n);
});

test('lost confirmation: RPC fails after the send; the retry finds the landed signature and pays nothing more', async () => {
  const rail = railFor(chain);
  const journal = new MemoryJournal();
  const { req, wallet } = oneRecipient();
  await chain.injectFault({ kind: 'failRequestsAfterNextSend', n: 100_000 });
  const err = await errorOf(rail.settle(req, journal));
  expect(err?.type).toBe(ErrorType.RpcUnavailable);
  await chain.injectFault({ kind: 'clear' });
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(1_234_567n);
  const balance = await rail.treasuryBalanceMicroUsdc();

  const result = await rail.settle(req, journal);
  expect(result).toEqual({ txId: journal.rows[0]!.txId, nftId: rail.nftMintFor(req.purchaseId).toBase58(), alreadySettled: true });
  expect(journal.rows).toHaveLength(1);
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(1_234_567n);
  expect(await rail.treasuryBalanceMicroUsdc()).toBe(balance);
});

test('delayed confirmation within the blockhash window just takes longer', async () => {
  const rail = railFor(chain);
  const { req, wallet } = oneRecipient();
  await chain.injectFault({ kind: 'delayConfirmation', ms: 1_500 });
  const started = Date.now();
  const result = await rail.settle(req, new MemoryJournal());
  expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
  expect(result.alreadySettled).toBe(false);
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(1_234_567n);
});

test('status invisible past expiry: the deterministic mint account stops a second payment', async () => {
  const rail = railFor(chain);
  const journal = new MemoryJournal();
  const { req, wallet } = oneRecipient();
  await chain.injectFault({ kind: 'delayConfirmation', ms: 60_000 });
  const pending = errorOf(rail.settle(req, journal));
  await sleep(500);
  await chain.injectFault({ kind: 'expireBlockhash' });
  expect((await pending)?.type).toBe(ErrorType.BlockhashExpired);
  // It did land; only its status is hidden.
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(1_234_567n);
  const balance = await rail.treasuryBalanceMicroUsdc();
  const result = await rail.settle(req, journal);
  expect(result.alreadySettled).toBe(true);
  expect(result.txId).toBe(journal.rows[0]!.txId);
  expect(journal.rows).toHaveLength(1);
  expect(await rail.treasuryBalanceMicroUsdc()).toBe(balance);
});

test('an expired blockhash is rejected by the chain and maps to BlockhashExpired', async () => {
  const payer = chain.treasuryKeypair;
  const { blockhash } = await chain.connection.getLatestBlockhash();
  const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
    SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 }),
  );
  tx.sign(payer);
  await chain.injectFault({ kind: 'expireBlockhash' });
  expect((await chain.connection.isBlockhashValid(blockhash)).value).toBe(false);
  const err = await chain.connection.sendRawTransaction(tx.serialize()).catch((e: unknown) => e);
  expect(toDomainError(err, {}).type).toBe(ErrorType.BlockhashExpired);
});

test('a lost send still runs preflight: a failing transaction is rejected by the chain, the next good one is lost', async () => {
  const payer = chain.treasuryKeypair;
  const { blockhash } = await chain.connection.getLatestBlockhash();
  const empty = Keypair.generate();
  const to = Keypair.generate().publicKey;
  const transfer = (from: Keypair) => {
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
      SystemProgram.transfer({ fromPubkey: from.publicKey, toPubkey: to, lamports: 1_000_000 }),
    );
    tx.sign(...new Set([payer, from]));
    return tx.serialize();
  };
  await chain.injectFault({ kind: 'loseNextTransaction' });
  // Sent from an account with no SOL: the node's own preflight answers, and the fault stays armed.
  await expect(chain.connection.sendRawTransaction(transfer(empty))).rejects.toThrow(/simulation failed/i);
  const lost = await chain.connection.sendRawTransaction(transfer(payer));
  await sleep(500);
  expect((await chain.connection.getSignatureStatuses([lost], { searchTransactionHistory: true })).value[0]).toBeNull();
  expect(await chain.connection.getBalance(to)).toBe(0);
  // The fault was used up: the same bytes sent again land.
  const again = await chain.connection.sendRawTransaction(transfer(payer));
  expect(again).toBe(lost);
  for (let i = 0; i < 100 && (await chain.connection.getBalance(to)) === 0; i += 1) await sleep(50);
  expect(await chain.connection.getBalance(to)).toBe(1_000_000);
});

test('failing RPC (503s) gives RpcUnavailable with nothing sent; a later retry pays once', async () => {
  const rail = railFor(chain);
  const journal = new MemoryJournal();
  const { req, wallet } = oneRecipient();
  await chain.injectFault({ kind: 'failNextRequests', n: 100_000 });
  await expect(rail.settle(req, journal)).rejects.toMatchObject({ type: ErrorType.RpcUnavailable });
  await expect(rail.treasuryBalanceMicroUsdc()).rejects.toMatchObject({ type: ErrorType.RpcUnavailable });
  await expect(rail.ping()).rejects.toMatchObject({ type: ErrorType.RpcUnavailable });
  await chain.injectFault({ kind: 'clear' });
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(0n);
  await rail.settle(req, journal);
  await rail.settle(req, journal);
  expect(await usdcOf(chain.connection, chain.usdcMint, wallet)).toBe(1_234_567n);
});

test('a dead port and a hanging server both give RpcUnavailable', async () => {
  const dead = railFor(chain, { rpcUrl: 'http://127.0.0.1:1' });
  const { req } = oneRecipient();
  await expect(dead.settle(req, new MemoryJournal())).rejects.toMatchObject({ type: ErrorType.RpcUnavailable });
  await expect(dead.ping()).rejects.toMatchObject({ type: ErrorType.RpcUnavailable });

  const sockets: net.Socket[] = [];
  const hanging = net.createServer((s) => sockets.push(s)); // accepts, never answers
  await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', () => r()));
  const port = (hanging.address() as net.AddressInfo).port;
  try {
    const slow = railFor(chain, { rpcUrl: `http://127.0.0.1:${port}`, rpcTimeoutMs: 300 });
    const started = Date.now();
    await expect(slow.treasuryBalanceMicroUsdc()).rejects.toMatchObject({ type: ErrorType.RpcUnavailable });
    expect(Date.now() - started).toBeLessThan(5_000);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => hanging.close(() => r()));
  }
});

test("the token program's insufficient-funds failure maps to InsufficientTreasury", async () => {
  const payer = Keypair.generate();
  await chain.connection.confirmTransaction({
    signature: await chain.connection.requestAirdrop(payer.publicKey, 1e9),
    ...(await chain.connection.getLatestBlockhash()),
  });
  const mint = await createMint(chain.connection, payer, payer.publicKey, null, 6);
  const from = await getOrCreateAssociatedTokenAccount(chain.connection, payer, mint, payer.publicKey);
  const to = await getOrCreateAssociatedTokenAccount(chain.connection, payer, mint, Keypair.generate().publicKey);
  await mintTo(chain.connection, payer, mint, from.address, payer, 10n);
  const err = await transfer(chain.connection, payer, from.address, to.address, payer, 11n).catch((e: unknown) => e);
  const mapped = toDomainError(err, {});
  expect(mapped.type).toBe(ErrorType.InsufficientTreasury);
  expect(JSON.stringify(mapped.details?.logs)).toContain('insufficient funds');
  // And a plain program failure is a SettlementRejected carrying logs.
  const bad = new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: payer.publicKey, lamports: 1e12 }));
  const other = await sendAndConfirmTransaction(chain.connection, bad, [payer]).catch((e: unknown) => e);
  expect(toDomainError(other, {}).type).toBe(ErrorType.SettlementRejected);
});
