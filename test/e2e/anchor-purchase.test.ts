/**
 * The solana-anchor rail through the whole engine: signed webhook → purchase workflow → the
 * settlement program's SBF build, deployed into the local chain as `npm start` deploys it
 * (dev/surfpool/deploy.ts, Surfpool's surfnet_writeProgram). What the program leaves on chain (the receipt PDA, the
 * PurchaseSettled event, the NFT, the payouts) is checked against the read model, and a plan the
 * program refuses fails the purchase with the program's error and its compensations run.
 */
import { EventParser } from '@coral-xyz/anchor';
import { ComputeBudgetProgram, Keypair, PublicKey, TransactionMessage, VersionedTransaction } from '@solana/web3.js';
import { getAssociatedTokenAddressSync, getMint, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, unpackAccount } from '@solana/spl-token';
import Stripe from 'stripe';
import {
  SettlementProgramError,
  buildSettlePurchaseInstruction,
  createSettlementProgram,
  customErrorCode,
  findReceiptAddress,
  programIdFromConfig,
  purchaseIdSeed,
  settlementFailure,
} from '../../src/chains/solana-anchor';
import { ErrorType } from '../../src/shared/errors';
import { purchaseWorkflowId } from '../../src/shared/ids';
import { statusQuery } from '../../src/workflows/definitions';
import { startEngine, type Engine, type PurchaseView } from '../helpers/engine';
import { newPurchaseId, usdcOf } from '../helpers/solana-chain';

let engine: Engine;
let programId: PublicKey;
beforeAll(async () => {
  // A purchase that fails before the pivot is refunded too, so the compensation shows at the dev Stripe.
  engine = await startEngine({ anchor: true, env: { AUTO_REFUND_ON_FAILURE: 'true' } });
  programId = programIdFromConfig(engine.config);
});
afterAll(async () => {
  await engine?.close();
});

const anchorProduct = (collaborators?: { wallet: string; role: string; shareBps: number }[]) =>
  engine.createProduct({ rail: 'solana-anchor', ...(collaborators ? { collaborators } : {}) });

/** The receipt, the settlement's PurchaseSettled event and its compute units, read from the chain. */
async function onChain(purchaseId: string, txId: string) {
  const program = createSettlementProgram(programId);
  const [receiptKey] = findReceiptAddress(programId, purchaseId);
  const info = await engine.chain.connection.getAccountInfo(receiptKey);
  if (info === null) throw new Error(`no receipt at ${receiptKey.toBase58()}`);
  const receipt: unknown = program.coder.accounts.decode('receipt', info.data);
  const tx = await engine.chain.connection.getTransaction(txId, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
  const events = [...new EventParser(programId, program.coder).parseLogs(tx?.meta?.logMessages ?? [])];
  const signatures = await engine.chain.connection.getSignaturesForAddress(receiptKey, undefined, 'confirmed');
  return { receiptKey, owner: info.owner, receipt, events, signatures, units: tx?.meta?.computeUnitsConsumed, err: tx?.meta?.err };
}

function expectSettledThroughProgram(view: PurchaseView, chain: Awaited<ReturnType<typeof onChain>>, buyerWallet: string): void {
  expect(chain.err).toBeNull();
  expect(chain.owner.equals(programId)).toBe(true);
  expect(chain.receipt).toMatchObject({
    purchaseId: [...purchaseIdSeed(view.purchaseId)],
    buyer: new PublicKey(buyerWallet),
    nftMint: new PublicKey(view.settlement.nftId ?? ''),
    splitCount: view.payouts.length,
  });
  expect(String((chain.receipt as { pool: unknown }).pool)).toBe(view.creatorPoolMicroUsdc);
  // The one PurchaseSettled event is what the read model shows.
  expect(chain.events.map((e) => e.name)).toEqual(['purchaseSettled']);
  const event: unknown = chain.events[0]?.data;
  expect(event).toMatchObject({
    purchaseId: [...purchaseIdSeed(view.purchaseId)],
    receipt: chain.receiptKey,
    nftMint: new PublicKey(view.settlement.nftId ?? ''),
    splitCount: view.payouts.length,
  });
  expect(String((event as { pool: unknown }).pool)).toBe(view.creatorPoolMicroUsdc);
  // Exactly one transaction ever touched the receipt: the settlement.
  expect(chain.signatures.map((s) => s.signature)).toEqual([view.settlement.txId]);
}

it('a paid checkout on solana-anchor settles through the program: receipt PDA, event, NFT and payouts match the read model', async () => {
  const product = await anchorProduct();
  const refs = await engine.checkout(product.id);
  const treasuryBefore = await usdcOf(engine.chain.connection, engine.chain.usdcMint, engine.chain.treasury);
  expect((await engine.pay(refs)).status).toBe(200);
  const view = await engine.waitForStatus(refs.purchaseId, ['settled', 'failed']);
  expect(view).toMatchObject({ status: 'settled', creatorPoolMicroUsdc: '21580000', settlement: { rail: 'solana-anchor' } });
  expect(view.payouts.map((p) => p.amountMicroUsdc)).toEqual(['12948000', '6474000', '2158000']);

  const chain = await onChain(refs.purchaseId, view.settlement.txId ?? '');
  expectSettledThroughProgram(view, chain, refs.buyerWallet);
  process.stdout.write(
    `solana-anchor settlement through the engine: ${chain.units} compute units, receipt ${chain.receiptKey.toBase58()}\n`,
  );

  for (const p of view.payouts) {
    expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, new PublicKey(p.wallet))).toBe(BigInt(p.amountMicroUsdc ?? -1));
  }
  expect(treasuryBefore - (await usdcOf(engine.chain.connection, engine.chain.usdcMint, engine.chain.treasury))).toBe(21_580_000n);
  const nft = new PublicKey(view.settlement.nftId ?? '');
  const mint = await getMint(engine.chain.connection, nft, 'confirmed', TOKEN_2022_PROGRAM_ID);
  expect(mint.supply).toBe(1n);
  expect(mint.mintAuthority).toBeNull();
  const buyerAta = getAssociatedTokenAddressSync(nft, new PublicKey(refs.buyerWallet), false, TOKEN_2022_PROGRAM_ID);
  expect(unpackAccount(buyerAta, await engine.chain.connection.getAccountInfo(buyerAta), TOKEN_2022_PROGRAM_ID).amount).toBe(1n);

  const rows = await engine.db.collaboratorPayment.findMany({ where: { purchaseId: refs.purchaseId } });
  expect(new Set(rows.map((r) => r.txId))).toEqual(new Set([view.settlement.txId]));
  const sums = await engine.db.journalEntry.groupBy({ by: ['transactionId'], _sum: { amountMicro: true } });
  for (const s of sums) expect(s._sum.amountMicro).toBe(0n);
});

it('duplicate deliveries and a retried settlement whose confirmation was lost land nothing twice', async () => {
  const product = await anchorProduct();
  const refs = await engine.checkout(product.id);
  // The settlement lands, then the chain stops answering for a while: the activity fails after
  // its send and is retried, and the retry finds the receipt instead of paying again.
  await engine.chain.injectFault({ kind: 'failRequestsAfterNextSend', n: 5 });
  const responses = await Promise.all([engine.pay(refs), engine.pay(refs), engine.pay(refs)]);
  expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
  const view = await engine
    .waitForStatus(refs.purchaseId, ['settled', 'failed'], 120_000)
    .finally(() => engine.chain.injectFault({ kind: 'clear' }));
  const attempts = await engine.db.settlementAttempt.findMany({ where: { purchaseId: refs.purchaseId } });
  expect(attempts.map((a) => a.txId)).toEqual([view.settlement.txId]);
  expect(view.status).toBe('settled');
  expect(await (await engine.pay(refs)).json()).toMatchObject({ outcome: 'duplicate' });

  expectSettledThroughProgram(view, await onChain(refs.purchaseId, view.settlement.txId ?? ''), refs.buyerWallet);
  for (const p of view.payouts) {
    expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, new PublicKey(p.wallet))).toBe(BigInt(p.amountMicroUsdc ?? -1));
  }
  expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: refs.purchaseId } })).toBe(3);
  expect(await engine.db.journalTransaction.count({ where: { purchaseId: refs.purchaseId, kind: 'purchase_settled' } })).toBe(1);
});

it('twelve new collaborators: their accounts are created first, then one settlement pays them all', async () => {
  // 833 bps × 11 + 837 bps, as in the chaos run's widest share table.
  const collaborators = Array.from({ length: 12 }, (_, i) => ({
    wallet: Keypair.generate().publicKey.toBase58(),
    role: `collaborator-${i + 1}`,
    shareBps: i === 11 ? 837 : 833,
  }));
  const product = await anchorProduct(collaborators);
  const refs = await engine.checkout(product.id);
  await engine.pay(refs);
  const view = await engine.waitForStatus(refs.purchaseId, ['settled', 'failed']);
  expect(view.status).toBe('settled');
  expectSettledThroughProgram(view, await onChain(refs.purchaseId, view.settlement.txId ?? ''), refs.buyerWallet);
  const paid = view.payouts.reduce((sum, p) => sum + BigInt(p.amountMicroUsdc ?? 0), 0n);
  expect(paid.toString()).toBe(view.creatorPoolMicroUsdc);
  for (const p of view.payouts) {
    expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, new PublicKey(p.wallet))).toBe(BigInt(p.amountMicroUsdc ?? -1));
  }
});

it('the deployed program rejects a plan whose shares are not whole (6003 SharesNotWhole), and nothing moves', async () => {
  // The engine never builds such a plan (the product API and the rail check shares first), so it
  // is sent here the way the rail sends, straight to the program on the engine's chain.
  const treasury = engine.chain.treasuryKeypair;
  const usdcMint = engine.chain.usdcMint;
  const purchaseId = newPurchaseId();
  const recipients = [0, 1, 2].map(() => getAssociatedTokenAddressSync(usdcMint, Keypair.generate().publicKey, false, TOKEN_PROGRAM_ID));
  const settleIx = await buildSettlePurchaseInstruction(
    {
      purchaseId,
      pool: 19_422_000n,
      // 6,000 + 2,000 + 1,000 = 9,000 bps
      splits: [
        { shareBps: 6_000, amount: 12_948_000n },
        { shareBps: 2_000, amount: 4_316_000n },
        { shareBps: 1_000, amount: 2_158_000n },
      ],
    },
    { programId, treasury: treasury.publicKey, buyer: Keypair.generate().publicKey, usdcMint, recipients },
  );
  const { blockhash } = await engine.chain.connection.getLatestBlockhash('confirmed');
  const tx = new VersionedTransaction(
    new TransactionMessage({
      payerKey: treasury.publicKey,
      recentBlockhash: blockhash,
      instructions: [ComputeBudgetProgram.setComputeUnitLimit({ units: 400_000 }), settleIx],
    }).compileToV0Message(),
  );
  tx.sign([treasury]);
  const treasuryBefore = await usdcOf(engine.chain.connection, usdcMint, treasury.publicKey);
  const err: unknown = await engine.chain.connection.sendRawTransaction(tx.serialize(), { preflightCommitment: 'confirmed' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  const logs = (err as { logs?: string[] }).logs ?? [];
  const code = customErrorCode((err as { transactionError?: unknown }).transactionError, logs);
  expect(code).toBe(SettlementProgramError.SharesNotWhole);
  expect(settlementFailure(code, 'rejected')).toMatchObject({ type: ErrorType.InvalidSplits });
  expect(await engine.chain.connection.getAccountInfo(findReceiptAddress(programId, purchaseId)[0])).toBeNull();
  expect(await usdcOf(engine.chain.connection, usdcMint, treasury.publicKey)).toBe(treasuryBefore);
});

it("a plan the program refuses (a payout into the treasury's own account, 6012 RecipientIsTreasury) fails the purchase cleanly: hold voided, card refunded, nothing moved", async () => {
  // The product API and the rail accept any Solana wallet as a collaborator; only the program knows
  // that the treasury's USDC account cannot be paid from itself.
  const treasury = engine.chain.treasury;
  const artist = Keypair.generate().publicKey;
  const writer = Keypair.generate().publicKey;
  const product = await anchorProduct([
    { wallet: artist.toBase58(), role: 'artist', shareBps: 6_000 },
    { wallet: treasury.toBase58(), role: 'producer', shareBps: 3_000 },
    { wallet: writer.toBase58(), role: 'writer', shareBps: 1_000 },
  ]);
  const refs = await engine.checkout(product.id);
  const treasuryBefore = await usdcOf(engine.chain.connection, engine.chain.usdcMint, treasury);
  expect((await engine.pay(refs)).status).toBe(200);
  const view = await engine.waitForStatus(refs.purchaseId, ['settled', 'failed']);
  expect(view).toMatchObject({ status: 'failed', settlement: { rail: 'solana-anchor', txId: null, nftId: null } });
  expect(view.failure?.type).toBe(ErrorType.SettlementRejected);
  expect(view.failure?.message).toMatch(/^RecipientIsTreasury \(6012\): /);

  // The compensations ran, newest first: the treasury hold is voided and the card refunded in full.
  const state = await engine.temporal.client.workflow.getHandle(purchaseWorkflowId(refs.purchaseId)).query(statusQuery);
  expect(state.compensations).toEqual([
    { name: 'voidTreasuryHold', ok: true },
    { name: 'refundPayment', ok: true },
  ]);
  expect((await engine.db.treasuryHold.findUniqueOrThrow({ where: { purchaseId: refs.purchaseId } })).status).toBe('voided');
  const base = new URL(engine.devStripe.baseUrl);
  const stripe = new Stripe(engine.config.STRIPE_SECRET_KEY, { host: base.hostname, port: Number(base.port), protocol: 'http' });
  const charge = await stripe.charges.retrieve(refs.chargeId);
  expect(charge.amount_refunded).toBe(2_500);

  // Nothing moved on chain and nothing was booked: no receipt, no USDC out, no payout rows.
  expect(await engine.chain.connection.getAccountInfo(findReceiptAddress(programId, refs.purchaseId)[0])).toBeNull();
  expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, treasury)).toBe(treasuryBefore);
  for (const wallet of [artist, writer]) expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, wallet)).toBe(0n);
  expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: refs.purchaseId } })).toBe(0);
  expect(await engine.db.journalTransaction.count({ where: { purchaseId: refs.purchaseId, kind: 'purchase_settled' } })).toBe(0);
});
