/**
 * The settlement program as the SVM runs it: the SBPF v3 shared object that `npm run build:program`
 * compiles (scripts/build-program.mjs; setup builds it when missing), loaded into litesvm next to
 * the real System, SPL Token, Token-2022 and Associated Token programs. Instructions come from the
 * committed IDL through @coral-xyz/anchor's coder (src/chains/solana-anchor), as in production.
 * The last case runs the solana-anchor rail itself against the local chain (Surfpool), the program
 * deployed there as `npm start` deploys it.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  ComputeBudgetProgram,
  Keypair,
  PublicKey,
  SystemProgram,
  TransactionMessage,
  VersionedTransaction,
  type TransactionInstruction,
} from '@solana/web3.js';
import {
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToInstruction,
  getAssociatedTokenAddressSync,
  unpackAccount,
  unpackMint,
  MINT_SIZE,
} from '@solana/spl-token';
import { address, getTransactionDecoder, lamports } from '@solana/kit';
import { FailedTransactionMetadata, LiteSVM, type TransactionMetadata } from 'litesvm';
import {
  SETTLEMENT_IDL,
  SettlementProgramError,
  buildSettlePurchaseInstruction,
  createSettlementProgram,
  createSolanaAnchorRail,
  customErrorCode,
  findNftMintAddress,
  findReceiptAddress,
  purchaseIdSeed,
  type SettlePurchaseSplit,
} from '../../../src/chains/solana-anchor';
import { deploySettlementProgram } from '../../../dev/surfpool/deploy';
import { MemoryJournal, newPurchaseId, startTestChain, usdcOf, type TestChain } from '../../helpers/solana-chain';

const PROGRAM_SO = path.resolve(__dirname, '../../../programs/settlement/target/deploy/settlement.so');
// Anchor refuses to run under any id but its declare_id!, which the IDL records.
const programId = new PublicKey(SETTLEMENT_IDL.address);
const USDC_DECIMALS = 6;
const decoder = getTransactionDecoder();

type Outcome = TransactionMetadata | FailedTransactionMetadata;

function send(svm: LiteSVM, payer: Keypair, instructions: TransactionInstruction[], signers: Keypair[] = []): Outcome {
  // A fresh blockhash per transaction, so repeating the same instructions is a new transaction.
  svm.expireBlockhash();
  const message = new TransactionMessage({
    payerKey: payer.publicKey,
    recentBlockhash: svm.latestBlockhash(),
    instructions,
  }).compileToV0Message();
  const tx = new VersionedTransaction(message);
  tx.sign([payer, ...signers]);
  return svm.sendTransaction(decoder.decode(tx.serialize()));
}

function expectOk(outcome: Outcome): TransactionMetadata {
  if (outcome instanceof FailedTransactionMetadata) {
    throw new Error(`transaction failed: ${outcome.err().toString()}\n${outcome.meta().logs().join('\n')}`);
  }
  return outcome;
}

function expectFailed(outcome: Outcome): FailedTransactionMetadata {
  if (!(outcome instanceof FailedTransactionMetadata)) throw new Error(`transaction succeeded:\n${outcome.logs().join('\n')}`);
  return outcome;
}

function account(svm: LiteSVM, key: PublicKey) {
  const acc = svm.getAccount(address(key.toBase58()));
  if (!acc.exists) throw new Error(`${key.toBase58()} does not exist`);
  return {
    data: Buffer.from(acc.data),
    owner: new PublicKey(acc.programAddress),
    lamports: Number(acc.lamports),
    executable: acc.executable,
  };
}

function usdcBalance(svm: LiteSVM, owner: PublicKey, mint: PublicKey): bigint {
  const ata = getAssociatedTokenAddressSync(mint, owner, true, TOKEN_PROGRAM_ID);
  return unpackAccount(ata, account(svm, ata), TOKEN_PROGRAM_ID).amount;
}

/** litesvm with the program, a classic-SPL USDC mint, a funded treasury and three payees' token accounts. */
function world(treasuryUsdc: bigint) {
  const svm = new LiteSVM();
  svm.addProgramFromFile(address(programId.toBase58()), PROGRAM_SO);
  const treasury = Keypair.generate();
  svm.airdrop(address(treasury.publicKey.toBase58()), lamports(100_000_000_000n));
  const mint = Keypair.generate();
  const payees = [Keypair.generate(), Keypair.generate(), Keypair.generate()].map((kp) => kp.publicKey);
  const ata = (owner: PublicKey) => getAssociatedTokenAddressSync(mint.publicKey, owner, false, TOKEN_PROGRAM_ID);
  expectOk(
    send(
      svm,
      treasury,
      [
        SystemProgram.createAccount({
          fromPubkey: treasury.publicKey,
          newAccountPubkey: mint.publicKey,
          lamports: Number(svm.minimumBalanceForRentExemption(BigInt(MINT_SIZE))),
          space: MINT_SIZE,
          programId: TOKEN_PROGRAM_ID,
        }),
        createInitializeMint2Instruction(mint.publicKey, USDC_DECIMALS, treasury.publicKey, null, TOKEN_PROGRAM_ID),
        ...[treasury.publicKey, ...payees].map((owner) =>
          createAssociatedTokenAccountIdempotentInstruction(treasury.publicKey, ata(owner), owner, mint.publicKey, TOKEN_PROGRAM_ID),
        ),
        createMintToInstruction(mint.publicKey, ata(treasury.publicKey), treasury.publicKey, treasuryUsdc, [], TOKEN_PROGRAM_ID),
      ],
      [mint],
    ),
  );
  return { svm, treasury, usdcMint: mint.publicKey, payees, recipients: payees.map(ata) };
}

async function settleIx(w: ReturnType<typeof world>, purchaseId: string, buyer: PublicKey, pool: bigint, splits: SettlePurchaseSplit[]) {
  const ix = await buildSettlePurchaseInstruction(
    { purchaseId, pool, splits },
    { programId, treasury: w.treasury.publicKey, buyer, usdcMint: w.usdcMint, recipients: w.recipients },
  );
  return [ComputeBudgetProgram.setComputeUnitLimit({ units: 400_000 }), ix];
}

// 21.58 USDC split 60/30/10 by largest remainder, as the workflow computes it.
const POOL = 21_580_000n;
const SPLITS: SettlePurchaseSplit[] = [
  { shareBps: 6_000, amount: 12_948_000n },
  { shareBps: 3_000, amount: 6_474_000n },
  { shareBps: 1_000, amount: 2_158_000n },
];

beforeAll(() => {
  if (!fs.existsSync(PROGRAM_SO)) throw new Error(`${PROGRAM_SO} is missing: run npm run build:program (setup does it)`);
});

describe('settlement.so in litesvm', () => {
  it('settles a purchase once: receipt, a one-of-one NFT with no mint authority, exact USDC', async () => {
    const w = world(100_000_000n);
    const buyer = Keypair.generate().publicKey;
    const purchaseId = newPurchaseId();

    const settled = expectOk(send(w.svm, w.treasury, await settleIx(w, purchaseId, buyer, POOL, SPLITS)));
    const units = settled.computeUnitsConsumed();
    process.stdout.write(`settle_purchase (3 payouts, new NFT mint + ATA) consumed ${units} compute units\n`);
    // The program's share of the transaction fits the default per-instruction budget.
    expect(units).toBeGreaterThan(0n);
    expect(units).toBeLessThan(200_000n);

    const [receiptKey] = findReceiptAddress(programId, purchaseId);
    const [nftMint] = findNftMintAddress(programId, purchaseId);
    const receiptAccount = account(w.svm, receiptKey);
    expect(receiptAccount.owner.equals(programId)).toBe(true);
    const receipt = createSettlementProgram(programId).coder.accounts.decode('receipt', receiptAccount.data);
    expect(Buffer.from(receipt.purchaseId)).toEqual(purchaseIdSeed(purchaseId));
    expect(receipt.buyer.equals(buyer)).toBe(true);
    expect(receipt.nftMint.equals(nftMint)).toBe(true);
    expect(receipt.pool.toString()).toBe(POOL.toString());
    expect(receipt.splitCount).toBe(3);

    const mint = unpackMint(nftMint, account(w.svm, nftMint), TOKEN_2022_PROGRAM_ID);
    expect(mint.supply).toBe(1n);
    expect(mint.decimals).toBe(0);
    expect(mint.mintAuthority).toBeNull();
    const buyerNft = getAssociatedTokenAddressSync(nftMint, buyer, true, TOKEN_2022_PROGRAM_ID);
    const held = unpackAccount(buyerNft, account(w.svm, buyerNft), TOKEN_2022_PROGRAM_ID);
    expect(held.amount).toBe(1n);
    expect(held.owner.equals(buyer)).toBe(true);

    expect(w.payees.map((payee) => usdcBalance(w.svm, payee, w.usdcMint))).toEqual(SPLITS.map((s) => s.amount));
    expect(usdcBalance(w.svm, w.treasury.publicKey, w.usdcMint)).toBe(100_000_000n - POOL);

    // The same purchase again: the receipt PDA exists, so the program's `init` refuses it.
    const again = expectFailed(send(w.svm, w.treasury, await settleIx(w, purchaseId, buyer, POOL, SPLITS)));
    expect(again.meta().logs().join('\n')).toMatch(/already in use/);
    expect(w.payees.map((payee) => usdcBalance(w.svm, payee, w.usdcMint))).toEqual(SPLITS.map((s) => s.amount));
    expect(usdcBalance(w.svm, w.treasury.publicKey, w.usdcMint)).toBe(100_000_000n - POOL);
  });

  it('rejects a plan whose shares do not sum to 10,000 bps with SharesNotWhole, moving nothing', async () => {
    const w = world(100_000_000n);
    const purchaseId = newPurchaseId();
    const pool = 19_422_000n;
    // 6,000 + 2,000 + 1,000 = 9,000 bps.
    const splits: SettlePurchaseSplit[] = [
      { shareBps: 6_000, amount: 12_948_000n },
      { shareBps: 2_000, amount: 4_316_000n },
      { shareBps: 1_000, amount: 2_158_000n },
    ];
    const failed = expectFailed(send(w.svm, w.treasury, await settleIx(w, purchaseId, Keypair.generate().publicKey, pool, splits)));
    // settle_purchase (instruction 1, after the compute budget) failed with the program's own error.
    const err = failed.err();
    expect(typeof err === 'object' && 'index' in err ? err.index : undefined).toBe(1);
    expect(customErrorCode(null, failed.meta().logs())).toBe(SettlementProgramError.SharesNotWhole);
    expect(w.svm.getAccount(address(findReceiptAddress(programId, purchaseId)[0].toBase58())).exists).toBe(false);
    expect(usdcBalance(w.svm, w.treasury.publicKey, w.usdcMint)).toBe(100_000_000n);
  });
});

describe('the solana-anchor rail against the local chain with settlement.so', () => {
  let chain: TestChain;
  beforeAll(async () => {
    chain = await startTestChain({ faultInjection: false });
    await deploySettlementProgram(chain.rpcUrl, PROGRAM_SO);
  });
  afterAll(async () => {
    await chain.destroy();
  });

  it('settles through JSON-RPC, then answers alreadySettled for the same purchase', async () => {
    const rail = createSolanaAnchorRail({
      connection: chain.connection,
      treasury: chain.treasuryKeypair,
      programId,
      usdcMint: chain.usdcMint,
      priorityFeeCapMicroLamports: 1_000,
    });
    await rail.ping();
    const journal = new MemoryJournal();
    const purchaseId = newPurchaseId();
    const buyer = Keypair.generate().publicKey;
    const payees = [Keypair.generate(), Keypair.generate(), Keypair.generate()].map((kp) => kp.publicKey);
    const before = await rail.treasuryBalanceMicroUsdc();
    const request = {
      purchaseId,
      buyerWallet: buyer.toBase58(),
      nft: { name: 'Track', symbol: 'TRK', uri: 'https://example.invalid/1.json' },
      payouts: payees.map((payee, i) => ({ wallet: payee.toBase58(), amountMicroUsdc: SPLITS[i]!.amount })),
    };

    const result = await rail.settle(request, journal);
    expect(result.alreadySettled).toBe(false);
    expect(result.nftId).toBe(findNftMintAddress(programId, purchaseId)[0].toBase58());
    expect(journal.rows.map((row) => row.txId)).toEqual([result.txId]);
    for (const [i, payee] of payees.entries()) expect(await usdcOf(chain.connection, chain.usdcMint, payee)).toBe(SPLITS[i]!.amount);
    expect(await rail.treasuryBalanceMicroUsdc()).toBe(before - POOL);
    const tx = await chain.connection.getTransaction(result.txId, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
    expect(tx?.meta?.err).toBeNull();
    process.stdout.write(
      `solana-anchor rail settlement (ATAs + settle_purchase) consumed ${tx?.meta?.computeUnitsConsumed} compute units\n`,
    );

    const again = await rail.settle(request, journal);
    expect(again).toEqual({ txId: result.txId, nftId: result.nftId, alreadySettled: true });
    expect(await rail.treasuryBalanceMicroUsdc()).toBe(before - POOL);
  });
});
