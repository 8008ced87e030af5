import { ComputeBudgetProgram, Keypair, Transaction, sendAndConfirmTransaction } from '@solana/web3.js';
import {
  TOKEN_2022_PROGRAM_ID,
  createTransferCheckedInstruction,
  getAssociatedTokenAddressSync,
  getMint,
  getAccount,
  getTokenMetadata,
} from '@solana/spl-token';
import { isDomainError, ErrorType } from '../../../src/shared/errors';
import type { SettlementRequest } from '../../../src/chains/rail';
import { MemoryJournal, newPurchaseId, railFor, startTestChain, usdcOf, wallets, type TestChain } from '../../helpers/solana-chain';

let chain: TestChain;
beforeAll(async () => {
  chain = await startTestChain();
});
afterAll(async () => {
  await chain.destroy();
});

const request = (payouts: { wallet: string; amountMicroUsdc: bigint }[], buyer = Keypair.generate()): SettlementRequest => ({
  purchaseId: newPurchaseId(),
  buyerWallet: buyer.publicKey.toBase58(),
  nft: { name: 'Track #1', symbol: 'TRK', uri: 'https://example.test/nft/1.json' },
  payouts,
});

test('happy path: NFT supply 1 in the buyer Token-2022 ATA, exact payouts, treasury debited by the pool', async () => {
  const rail = railFor(chain);
  const [a, b, c] = wallets(3);
  const buyer = Keypair.generate();
  const req = request(
    [
      { wallet: a!.publicKey.toBase58(), amountMicroUsdc: 5_000_001n },
      { wallet: b!.publicKey.toBase58(), amountMicroUsdc: 2_999_999n },
      { wallet: c!.publicKey.toBase58(), amountMicroUsdc: 1n },
    ],
    buyer,
  );
  const before = await rail.treasuryBalanceMicroUsdc();
  const result = await rail.settle(req, new MemoryJournal());
  expect(result.alreadySettled).toBe(false);
  expect(result.nftId).toBe(rail.nftMintFor(req.purchaseId).toBase58());

  const mint = await getMint(chain.connection, rail.nftMintFor(req.purchaseId), 'confirmed', TOKEN_2022_PROGRAM_ID);
  expect(mint.supply).toBe(1n);
  expect(mint.decimals).toBe(0);
  expect(mint.mintAuthority).toBeNull();
  const ata = getAssociatedTokenAddressSync(mint.address, buyer.publicKey, false, TOKEN_2022_PROGRAM_ID);
  expect((await getAccount(chain.connection, ata, 'confirmed', TOKEN_2022_PROGRAM_ID)).amount).toBe(1n);
  const held = await chain.connection.getTokenAccountsByOwner(buyer.publicKey, { programId: TOKEN_2022_PROGRAM_ID });
  expect(held.value.map((v) => v.pubkey.toBase58())).toEqual([ata.toBase58()]);
  const meta = await getTokenMetadata(chain.connection, mint.address, 'confirmed', TOKEN_2022_PROGRAM_ID);
  expect(meta).toMatchObject({ name: 'Track #1', symbol: 'TRK', uri: 'https://example.test/nft/1.json' });

  expect(await usdcOf(chain.connection, chain.usdcMint, a!.publicKey)).toBe(5_000_001n);
  expect(await usdcOf(chain.connection, chain.usdcMint, b!.publicKey)).toBe(2_999_999n);
  expect(await usdcOf(chain.connection, chain.usdcMint, c!.publicKey)).toBe(1n);
  expect(before - (await rail.treasuryBalanceMicroUsdc())).toBe(8_000_001n);

  const tx = await chain.connection.getTransaction(result.txId, { maxSupportedTransactionVersion: 0, commitment: 'confirmed' });
  expect(tx?.version).toBe(0);
  expect(tx?.meta?.err).toBeNull();
});

test('settling the same purchase again moves nothing and reports the first signature', async () => {
  const rail = railFor(chain);
  const [a] = wallets(1);
  const req = request([{ wallet: a!.publicKey.toBase58(), amountMicroUsdc: 1_000_000n }]);
  const journal = new MemoryJournal();
  const first = await rail.settle(req, journal);
  const balance = await rail.treasuryBalanceMicroUsdc();
  const second = await rail.settle(req, journal);
  expect(second).toEqual({ txId: first.txId, nftId: first.nftId, alreadySettled: true });
  // Even with the journal lost, the deterministic mint tells the chain's answer.
  const third = await rail.settle(req, new MemoryJournal());
  expect(third).toEqual({ txId: first.txId, nftId: first.nftId, alreadySettled: true });
  expect(await rail.treasuryBalanceMicroUsdc()).toBe(balance);
  expect(await usdcOf(chain.connection, chain.usdcMint, a!.publicKey)).toBe(1_000_000n);
});

test('invalid wallets are typed errors and nothing is sent', async () => {
  const rail = railFor(chain);
  const journal = new MemoryJournal();
  const good = Keypair.generate().publicKey.toBase58();
  expect(rail.isValidWallet(good)).toBe(true);
  expect(rail.isValidWallet('not-base58-0OIl')).toBe(false);
  expect(rail.isValidWallet('0x0000000000000000000000000000000000000000')).toBe(false);
  // A PDA is 32 valid bytes but off the curve: nobody holds its key.
  const pda = rail.treasuryUsdcAccount();
  expect(rail.isValidWallet((await pda).toBase58())).toBe(false);

  await expect(rail.settle({ ...request([{ wallet: good, amountMicroUsdc: 1n }]), buyerWallet: 'nope' }, journal)).rejects.toMatchObject({
    type: ErrorType.InvalidWallet,
  });
  await expect(rail.settle(request([{ wallet: (await pda).toBase58(), amountMicroUsdc: 1n }]), journal)).rejects.toMatchObject({
    type: ErrorType.InvalidWallet,
  });
  expect(journal.rows).toHaveLength(0);
});

test('insufficient treasury: typed error before sending, nothing moved', async () => {
  const rail = railFor(chain);
  const journal = new MemoryJournal();
  const balance = await rail.treasuryBalanceMicroUsdc();
  const [a] = wallets(1);
  const err = await rail
    .settle(request([{ wallet: a!.publicKey.toBase58(), amountMicroUsdc: balance + 1n }]), journal)
    .catch((e: unknown) => e);
  expect(isDomainError(err, ErrorType.InsufficientTreasury)).toBe(true);
  expect(journal.rows).toHaveLength(0);
  expect(await rail.treasuryBalanceMicroUsdc()).toBe(balance);
  expect(await usdcOf(chain.connection, chain.usdcMint, a!.publicKey)).toBe(0n);
});

test('priority fee follows recent fees on the treasury account, capped by the setting', async () => {
  const treasury = chain.treasuryKeypair;
  const rail = railFor(chain, { priorityFeeCapMicroLamports: 20_000 });
  const ata = await rail.treasuryUsdcAccount();
  // Recent traffic on the treasury's USDC account paid 50k micro-lamports per CU.
  for (let i = 0; i < 3; i += 1) {
    await sendAndConfirmTransaction(
      chain.connection,
      new Transaction().add(
        ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 50_000 }),
        createTransferCheckedInstruction(ata, chain.usdcMint, ata, treasury.publicKey, BigInt(i), 6),
      ),
      [treasury],
    );
  }
  const [a] = wallets(1);
  const result = await rail.settle(request([{ wallet: a!.publicKey.toBase58(), amountMicroUsdc: 10n }]), new MemoryJournal());
  const tx = await chain.connection.getTransaction(result.txId, { maxSupportedTransactionVersion: 0, commitment: 'confirmed' });
  const keys = tx!.transaction.message.staticAccountKeys;
  const priceIx = tx!.transaction.message.compiledInstructions.find(
    (ix) => keys[ix.programIdIndex]?.equals(ComputeBudgetProgram.programId) && ix.data[0] === 3,
  );
  expect(Buffer.from(priceIx!.data).readBigUInt64LE(1)).toBe(20_000n);
});

test('a confirmation the node announces over the WebSocket is read at once, not at the next status poll', async () => {
  // A poll interval longer than the test's timeout: only the signature notification can end the wait.
  const rail = railFor(chain, { subscribeSignatures: true, pollIntervalMs: 600_000 });
  const [a] = wallets(1);
  const result = await rail.settle(request([{ wallet: a!.publicKey.toBase58(), amountMicroUsdc: 7n }]), new MemoryJournal());
  expect(result.alreadySettled).toBe(false);
  expect(await usdcOf(chain.connection, chain.usdcMint, a!.publicKey)).toBe(7n);
}, 60_000);
