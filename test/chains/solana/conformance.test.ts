/**
 * Clients we did not write, against the local chain (Surfpool) with a settled purchase: @solana/kit's
 * RPC and RPC subscriptions, and @solana/spl-token over web3.js. What explorers and accounting tools
 * read: jsonParsed accounts, token accounts and transactions, the settlement's token movements from
 * its pre/post token balances (exactly, per collaborator), getProgramAccounts with filters,
 * getSignaturesForAddress, getBlock, simulateTransaction with logs, and signature and account
 * notifications over WebSocket.
 */
import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createSolanaRpcSubscriptions,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  signature as toSignature,
  type Address,
} from '@solana/kit';
import { Keypair, PublicKey } from '@solana/web3.js';
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, getAccount, getAssociatedTokenAddressSync, getMint } from '@solana/spl-token';
import { z } from 'zod';
import { MemoryJournal, newPurchaseId, railFor, startTestChain, type TestChain } from '../../helpers/solana-chain';

let chain: TestChain;
let rpc: ReturnType<typeof createSolanaRpc>;
let subscriptions: ReturnType<typeof createSolanaRpcSubscriptions>;
const payees = [Keypair.generate(), Keypair.generate(), Keypair.generate()].map((k) => k.publicKey);
const amounts = [13_478_400n, 5_391_360n, 8_087_040n];
const pool = amounts.reduce((a, b) => a + b, 0n);
const buyer = Keypair.generate().publicKey;
let settlement: { txId: string; nftId: string };

beforeAll(async () => {
  chain = await startTestChain({ faultInjection: false });
  rpc = createSolanaRpc(chain.rpcUrl);
  subscriptions = createSolanaRpcSubscriptions(chain.wsUrl);
  settlement = await railFor(chain).settle(
    {
      purchaseId: newPurchaseId(),
      buyerWallet: buyer.toBase58(),
      nft: { name: 'Conformance', symbol: 'CNF', uri: 'https://example.test/c.json' },
      payouts: payees.map((p, i) => ({ wallet: p.toBase58(), amountMicroUsdc: amounts[i]! })),
    },
    new MemoryJournal(),
  );
});
afterAll(async () => {
  await chain.destroy();
});

const kitAddress = (key: PublicKey): Address => address(key.toBase58());

const tokenAmount = z.object({ amount: z.string(), decimals: z.number(), uiAmountString: z.string() });
const parsedTokenAccount = z.object({
  program: z.literal('spl-token'),
  parsed: z.object({
    type: z.literal('account'),
    info: z.object({ mint: z.string(), owner: z.string(), state: z.string(), tokenAmount }),
  }),
});

test('jsonParsed: the USDC mint and every collaborator token account; spl-token reads the same', async () => {
  const mint = await rpc.getAccountInfo(kitAddress(chain.usdcMint), { encoding: 'jsonParsed', commitment: 'confirmed' }).send();
  const parsedMint = z
    .object({
      program: z.literal('spl-token'),
      parsed: z.object({
        type: z.literal('mint'),
        info: z.object({
          decimals: z.number(),
          mintAuthority: z.string(),
          freezeAuthority: z.string().nullable(),
          supply: z.string(),
          isInitialized: z.boolean(),
        }),
      }),
    })
    .parse(mint.value?.data);
  expect(parsedMint.parsed.info).toEqual({
    decimals: 6,
    mintAuthority: chain.treasury.toBase58(),
    supply: '1000000000000',
    isInitialized: true,
    freezeAuthority: null,
  });
  expect(mint.value?.owner).toBe(TOKEN_PROGRAM_ID.toBase58());

  for (const [i, payee] of payees.entries()) {
    const owned = await rpc
      .getTokenAccountsByOwner(kitAddress(payee), { mint: kitAddress(chain.usdcMint) }, { encoding: 'jsonParsed', commitment: 'confirmed' })
      .send();
    expect(owned.value).toHaveLength(1);
    const account = parsedTokenAccount.parse(owned.value[0]?.account.data);
    expect(account.parsed.info).toMatchObject({ mint: chain.usdcMint.toBase58(), owner: payee.toBase58(), state: 'initialized' });
    expect(account.parsed.info.tokenAmount).toMatchObject({ amount: amounts[i]!.toString(), decimals: 6 });
    expect(owned.value[0]?.pubkey).toBe(getAssociatedTokenAddressSync(chain.usdcMint, payee).toBase58());
    expect((await getAccount(chain.connection, getAssociatedTokenAddressSync(chain.usdcMint, payee))).amount).toBe(amounts[i]);
  }
  // The buyer's NFT: Token-2022, supply 1, no mint authority left, held by the buyer.
  const nftMint = new PublicKey(settlement.nftId);
  const nft = await getMint(chain.connection, nftMint, 'confirmed', TOKEN_2022_PROGRAM_ID);
  expect(nft.supply).toBe(1n);
  expect(nft.mintAuthority).toBeNull();
  const held = await rpc
    .getTokenAccountsByOwner(kitAddress(buyer), { programId: kitAddress(TOKEN_2022_PROGRAM_ID) }, { encoding: 'jsonParsed' })
    .send();
  const nftAccount = z
    .object({ program: z.literal('spl-token-2022'), parsed: parsedTokenAccount.shape.parsed })
    .parse(held.value[0]?.account.data);
  expect(nftAccount.parsed.info).toMatchObject({ mint: settlement.nftId, owner: buyer.toBase58() });
  expect(nftAccount.parsed.info.tokenAmount.amount).toBe('1');
});

test("jsonParsed transaction: pre/post token balances give the settlement's USDC movements exactly", async () => {
  const tx = await rpc
    .getTransaction(toSignature(settlement.txId), { encoding: 'jsonParsed', maxSupportedTransactionVersion: 0, commitment: 'confirmed' })
    .send();
  expect(tx?.meta?.err).toBeNull();
  const balance = z.object({ accountIndex: z.number(), mint: z.string(), owner: z.string(), uiTokenAmount: tokenAmount });
  const pre = z.array(balance).parse(tx?.meta?.preTokenBalances);
  const post = z.array(balance).parse(tx?.meta?.postTokenBalances);
  const usdcOf = (list: z.infer<typeof balance>[], owner: PublicKey) =>
    BigInt(list.find((b) => b.mint === chain.usdcMint.toBase58() && b.owner === owner.toBase58())?.uiTokenAmount.amount ?? '0');
  for (const [i, payee] of payees.entries()) expect(usdcOf(post, payee) - usdcOf(pre, payee)).toBe(amounts[i]);
  expect(usdcOf(pre, chain.treasury) - usdcOf(post, chain.treasury)).toBe(pool);
  // Every USDC movement is one of those: nothing else changed hands.
  const moved = post
    .filter((b) => b.mint === chain.usdcMint.toBase58())
    .map((b) => BigInt(b.uiTokenAmount.amount) - usdcOf(pre, new PublicKey(b.owner)));
  expect(moved.reduce((a, b) => a + b, 0n)).toBe(0n);
  // And the NFT: minted to the buyer.
  expect(post.find((b) => b.mint === settlement.nftId)).toMatchObject({
    owner: buyer.toBase58(),
    uiTokenAmount: { amount: '1', decimals: 0 },
  });

  // Parsed instructions: the three transferChecked of USDC, with their amounts.
  const parsedIx = z.object({
    program: z.string(),
    parsed: z.object({ type: z.string(), info: z.record(z.string(), z.unknown()) }),
  });
  const instructions = (tx?.transaction.message.instructions ?? []).flatMap((ix) => {
    const parsed = parsedIx.safeParse(ix);
    return parsed.success ? [parsed.data] : [];
  });
  const transfers = instructions.filter((ix) => ix.program === 'spl-token' && ix.parsed.type === 'transferChecked');
  // (kit turns the numbers in parsed instructions into bigints)
  const checked = z.object({ tokenAmount: z.object({ amount: z.string(), decimals: z.bigint() }) });
  expect(transfers.map((t) => checked.parse(t.parsed.info).tokenAmount)).toEqual(amounts.map((a) => ({ amount: String(a), decimals: 6n })));
  expect(transfers.every((t) => t.parsed.info.authority === chain.treasury.toBase58())).toBe(true);
});

test('getProgramAccounts with dataSize and memcmp filters finds every USDC account', async () => {
  const accounts = await rpc
    .getProgramAccounts(kitAddress(TOKEN_PROGRAM_ID), {
      encoding: 'jsonParsed',
      commitment: 'confirmed',
      filters: [{ dataSize: 165n }, { memcmp: { offset: 0n, bytes: kitAddress(chain.usdcMint), encoding: 'base58' } }],
    })
    .send();
  const owners = accounts.map((a) => parsedTokenAccount.parse(a.account.data).parsed.info.owner).sort();
  expect(owners).toEqual([chain.treasury, ...payees].map((k) => k.toBase58()).sort());
});

test('getSignaturesForAddress and getBlock list the settlement', async () => {
  const history = await rpc.getSignaturesForAddress(address(settlement.nftId), { commitment: 'confirmed' }).send();
  expect(history.map((h) => h.signature)).toEqual([settlement.txId]);
  const [entry] = history;
  expect(entry?.err).toBeNull();
  const block = await rpc
    .getBlock(entry!.slot, { commitment: 'confirmed', maxSupportedTransactionVersion: 0, transactionDetails: 'signatures', rewards: false })
    .send();
  expect(block?.signatures).toContain(settlement.txId);
  expect(typeof block?.blockhash).toBe('string');
});

test('simulateTransaction with logs, then the same transfer sent, seen over signature and account subscriptions', async () => {
  const payer = await createKeyPairSignerFromBytes(chain.treasuryKeypair.secretKey);
  const recipient = address(Keypair.generate().publicKey.toBase58());
  // At least the rent-exempt minimum of an empty account: a smaller transfer to a new account fails.
  const rent = await rpc.getMinimumBalanceForRentExemption(0n).send();
  const data = new Uint8Array(12);
  const view = new DataView(data.buffer);
  view.setUint32(0, 2, true); // SystemInstruction::Transfer
  view.setBigUint64(4, rent, true);
  const { value: latest } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(latest, m),
    (m) =>
      appendTransactionMessageInstruction(
        {
          programAddress: address('11111111111111111111111111111111'),
          accounts: [
            { address: payer.address, role: AccountRole.WRITABLE_SIGNER },
            { address: recipient, role: AccountRole.WRITABLE },
          ],
          data,
        },
        m,
      ),
  );
  const signed = await signTransactionMessageWithSigners(message);
  const wire = getBase64EncodedWireTransaction(signed);

  const simulation = await rpc.simulateTransaction(wire, { encoding: 'base64', sigVerify: true, commitment: 'confirmed' }).send();
  expect(simulation.value.err).toBeNull();
  expect(simulation.value.logs).toEqual([
    'Program 11111111111111111111111111111111 invoke [1]',
    'Program 11111111111111111111111111111111 success',
  ]);
  expect(simulation.value.unitsConsumed).toBe(150n);

  const abort = new AbortController();
  try {
    const accountNotes = await subscriptions
      .accountNotifications(recipient, { commitment: 'confirmed', encoding: 'base64' })
      .subscribe({ abortSignal: abort.signal });
    const signature = getSignatureFromTransaction(signed);
    const signatureNotes = await subscriptions
      .signatureNotifications(signature, { commitment: 'confirmed' })
      .subscribe({ abortSignal: abort.signal });
    // kit's iterators drop what arrives before their first next(): ask for both first notifications now.
    const firstOf = <T>(notes: AsyncIterable<T>) => notes[Symbol.asyncIterator]().next();
    const [signatureNote, accountNote] = [firstOf(signatureNotes), firstOf(accountNotes)];
    expect(await rpc.sendTransaction(wire, { encoding: 'base64' }).send()).toBe(signature);
    expect((await signatureNote).value?.value).toEqual({ err: null });
    const account = (await accountNote).value?.value;
    expect(account?.lamports).toBe(rent);
    expect(account?.owner).toBe('11111111111111111111111111111111');
  } finally {
    abort.abort();
  }
});
