import { Keypair } from '@solana/web3.js';
import { ErrorType, isDomainError } from '../../../src/shared/errors';
import { MAX_SOLANA_PAYOUTS } from '../../../src/chains/solana';
import { MemoryJournal, newPurchaseId, railFor, startTestChain, usdcOf, wallets, type TestChain } from '../../helpers/solana-chain';

let chain: TestChain;
beforeAll(async () => {
  chain = await startTestChain();
});
afterAll(async () => {
  await chain.destroy();
});

const settleWith = async (count: number, maxPayouts?: number) => {
  // 600k compute units is the COMPUTE_UNIT_LIMIT default: the worst case must fit in it.
  const rail = railFor(chain, { computeUnitLimit: 600_000, ...(maxPayouts === undefined ? {} : { maxPayouts }) });
  const recipients = wallets(count);
  const result = await rail.settle(
    {
      purchaseId: newPurchaseId(),
      buyerWallet: Keypair.generate().publicKey.toBase58(),
      nft: { name: 'N'.repeat(32), symbol: 'S'.repeat(10), uri: 'https://example.test/' + 'u'.repeat(179) },
      payouts: recipients.map((w, i) => ({ wallet: w.publicKey.toBase58(), amountMicroUsdc: BigInt(1_000 + i) })),
    },
    new MemoryJournal(),
  );
  return { result, recipients };
};

test('10 collaborators settle in one transaction with exact amounts', async () => {
  const { result, recipients } = await settleWith(10);
  expect(result.alreadySettled).toBe(false);
  const tx = await chain.connection.getTransaction(result.txId, { maxSupportedTransactionVersion: 0, commitment: 'confirmed' });
  expect(tx?.transaction.message.addressTableLookups.length).toBeGreaterThan(0);
  expect(tx?.meta?.loadedAddresses?.writable.length).toBeGreaterThanOrEqual(10);
  for (const [i, w] of recipients.entries()) expect(await usdcOf(chain.connection, chain.usdcMint, w.publicKey)).toBe(BigInt(1_000 + i));
});

test(`MAX_SOLANA_PAYOUTS (${MAX_SOLANA_PAYOUTS}) fits, one more does not`, async () => {
  const { result } = await settleWith(MAX_SOLANA_PAYOUTS);
  expect(result.alreadySettled).toBe(false);
  // Past the cap the transaction itself no longer fits, so the cap is not arbitrary.
  const over = await settleWith(MAX_SOLANA_PAYOUTS + 1, 64).catch((e: unknown) => e);
  expect(isDomainError(over, ErrorType.InvalidSplits)).toBe(true);
  await expect(settleWith(MAX_SOLANA_PAYOUTS + 1)).rejects.toMatchObject({ type: ErrorType.InvalidSplits });
});

test('two purchases of one product settle at once although their recipient-account transactions are identical', async () => {
  // Twelve new recipients do not fit beside the settlement, so each purchase first creates their
  // accounts in small transactions. Two purchases of the same product sign those with the same
  // payer, instructions and blockhash: the same signature, and the second send is AlreadyProcessed.
  const rail = railFor(chain, { computeUnitLimit: 600_000 });
  const recipients = wallets(MAX_SOLANA_PAYOUTS);
  const settle = () =>
    rail.settle(
      {
        purchaseId: newPurchaseId(),
        buyerWallet: Keypair.generate().publicKey.toBase58(),
        nft: { name: 'Shared product', symbol: 'S', uri: 'https://example.test/n.json' },
        payouts: recipients.map((w, i) => ({ wallet: w.publicKey.toBase58(), amountMicroUsdc: BigInt(1_000 + i) })),
      },
      new MemoryJournal(),
    );
  const results = await Promise.all([settle(), settle()]);
  expect(results.map((r) => r.alreadySettled)).toEqual([false, false]);
  for (const [i, w] of recipients.entries())
    expect(await usdcOf(chain.connection, chain.usdcMint, w.publicKey)).toBe(2n * BigInt(1_000 + i));
});
