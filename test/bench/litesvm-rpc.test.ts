/**
 * The bench's in-process chain: the Solana rail (createSolanaRail, unchanged) settles on a LiteSVM
 * behind web3.js's Connection, finds its settlement again from the journal and from the chain alone,
 * and preflight failures come back in a node's words, which the rail's error mapping reads.
 */
import { Connection, Keypair, type PublicKey, SendTransactionError, TransactionMessage, VersionedTransaction } from '@solana/web3.js';
import bs58 from 'bs58';
import { TOKEN_2022_PROGRAM_ID, createTransferInstruction, getAssociatedTokenAddressSync, unpackMint } from '@solana/spl-token';
import { createSolanaRail, type SolanaRail } from '../../src/chains/solana';
import { preflightFailureOf } from '../../src/chains/solana/errors';
import { createDevUsdcMint } from '../../dev/surfpool';
import { airdrop, inProcessChain, type InProcessChain } from '../../bench/litesvm-rpc';
import { MemoryJournal, newPurchaseId, usdcOf, wallets } from '../helpers/solana-chain';

const FUNDING = 1_000_000_000n;

interface World {
  chain: InProcessChain;
  connection: Connection;
  treasury: Keypair;
  usdcMint: PublicKey;
  rail: SolanaRail;
}

async function world(): Promise<World> {
  const chain = inProcessChain();
  const connection = new Connection('http://litesvm.in-process', { commitment: 'confirmed', fetch: chain.fetch });
  const treasury = Keypair.generate();
  airdrop(chain.svm, treasury.publicKey, 100n * 1_000_000_000n);
  const usdcMint = await createDevUsdcMint(connection, treasury, FUNDING);
  const rail = createSolanaRail({
    connection,
    treasury,
    usdcMint,
    commitment: 'confirmed',
    nftMintSeed: 'litesvm-rpc-test-seed-0123456789abcdef',
    priorityFeeCapMicroLamports: 10_000,
    computeUnitLimit: 400_000,
  });
  return { chain, connection, treasury, usdcMint, rail };
}

const request = (payees: PublicKey[], amounts: bigint[]) => ({
  purchaseId: newPurchaseId(),
  buyerWallet: Keypair.generate().publicKey.toBase58(),
  nft: { name: 'Track', symbol: 'TRK', uri: 'https://example.test/track.json' },
  payouts: payees.map((w, i) => ({ wallet: w.toBase58(), amountMicroUsdc: amounts[i] ?? 0n })),
});

/** A signed USDC transfer from the treasury; its blockhash is the chain's latest. */
async function transfer(w: World, to: PublicKey, amount: bigint): Promise<VersionedTransaction> {
  const from = getAssociatedTokenAddressSync(w.usdcMint, w.treasury.publicKey);
  const { blockhash } = await w.connection.getLatestBlockhash();
  const message = new TransactionMessage({
    payerKey: w.treasury.publicKey,
    recentBlockhash: blockhash,
    instructions: [createTransferInstruction(from, to, w.treasury.publicKey, amount)],
  }).compileToV0Message();
  const tx = new VersionedTransaction(message);
  tx.sign([w.treasury]);
  return tx;
}

describe('the Solana rail on an in-process LiteSVM', () => {
  it('settles the NFT and every payout in one transaction, and pays nobody twice', async () => {
    const w = await world();
    const payees = wallets(3).map((k) => k.publicKey);
    const settlement = request(payees, [600_000n, 300_000n, 100_000n]);
    const journal = new MemoryJournal();

    const first = await w.rail.settle(settlement, journal);
    expect(first.alreadySettled).toBe(false);
    expect(await Promise.all(payees.map((p) => usdcOf(w.connection, w.usdcMint, p)))).toEqual([600_000n, 300_000n, 100_000n]);
    expect(await w.rail.treasuryBalanceMicroUsdc()).toBe(FUNDING - 1_000_000n);
    const mint = await w.connection.getAccountInfo(w.rail.nftMintFor(settlement.purchaseId));
    expect(mint?.owner.equals(TOKEN_2022_PROGRAM_ID)).toBe(true);
    if (!mint) throw new Error('no NFT mint');
    expect(unpackMint(w.rail.nftMintFor(settlement.purchaseId), mint, TOKEN_2022_PROGRAM_ID).supply).toBe(1n);

    // Again from the journal (signature status), and from the chain alone (the mint's history).
    expect(await w.rail.settle(settlement, journal)).toEqual({ ...first, alreadySettled: true });
    expect(await w.rail.settle(settlement, new MemoryJournal())).toEqual({ ...first, alreadySettled: true });
    expect(await usdcOf(w.connection, w.usdcMint, payees[0] ?? Keypair.generate().publicKey)).toBe(600_000n);
    expect(await w.rail.treasuryBalanceMicroUsdc()).toBe(FUNDING - 1_000_000n);
  });

  it('answers a send the program refuses with the preflight failure a node returns, and lands nothing', async () => {
    const w = await world();
    const [payee] = wallets(1).map((k) => k.publicKey);
    if (!payee) throw new Error('no payee');
    await w.rail.settle(request([payee], [1n]), new MemoryJournal());
    const payeeAccount = getAssociatedTokenAddressSync(w.usdcMint, payee);

    const overdraw = await transfer(w, payeeAccount, FUNDING * 2n);
    const refused = await w.connection.sendRawTransaction(overdraw.serialize()).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(SendTransactionError);
    expect(preflightFailureOf(refused)?.err).toEqual({ InstructionError: [0, { Custom: 1 }] });
    expect(preflightFailureOf(refused)?.logs.some((l) => /insufficient funds/i.test(l))).toBe(true);
    const [status] = (await w.connection.getSignatureStatuses([sigOf(overdraw)])).value;
    expect(status).toBeNull();
    expect(await usdcOf(w.connection, w.usdcMint, payee)).toBe(1n);
  });

  it('reports bytes it already executed as already processed, and a resend without preflight as their signature', async () => {
    const w = await world();
    const [payee] = wallets(1).map((k) => k.publicKey);
    if (!payee) throw new Error('no payee');
    await w.rail.settle(request([payee], [1n]), new MemoryJournal());
    const payeeAccount = getAssociatedTokenAddressSync(w.usdcMint, payee);
    const tx = await transfer(w, payeeAccount, 5n);

    const signature = await w.connection.sendRawTransaction(tx.serialize());
    expect(signature).toBe(sigOf(tx));
    const again = await w.connection.sendRawTransaction(tx.serialize()).catch((err: unknown) => err);
    expect(preflightFailureOf(again)?.err).toBe('AlreadyProcessed');
    expect(await w.connection.sendRawTransaction(tx.serialize(), { skipPreflight: true })).toBe(signature);
    const [status] = (await w.connection.getSignatureStatuses([signature])).value;
    expect(status).toMatchObject({ err: null, confirmationStatus: 'finalized' });
    expect(await usdcOf(w.connection, w.usdcMint, payee)).toBe(6n);
    const history = await w.connection.getSignaturesForAddress(payeeAccount);
    expect(history.map((h) => h.signature)).toEqual([signature, expect.any(String)]);
  });

  it('answers a method it does not serve as a node does: method not found', async () => {
    const w = await world();
    await expect(w.connection.getVersion()).rejects.toThrow(/Method not found/);
  });
});

const sigOf = (tx: VersionedTransaction): string => bs58.encode(tx.signatures[0] ?? new Uint8Array());
