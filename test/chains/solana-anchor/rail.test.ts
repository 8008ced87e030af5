/**
 * The rail's own decisions (idempotency checks, journaling before sending, error mapping) against a
 * scripted RPC. The settlement program does not run here; sbf-program.test.ts runs its SBF build.
 */
import { Keypair, PublicKey, TransactionMessage, VersionedTransaction, type Connection } from '@solana/web3.js';
import { BN } from '@coral-xyz/anchor';
import bs58 from 'bs58';
import { ErrorType } from '../../../src/shared/errors';
import { Rail } from '../../../src/shared/status';
import type { SettlementAttempt, SettlementJournal, SettlementRequest } from '../../../src/chains/rail';
import {
  SETTLEMENT_IDL,
  createSettlementProgram,
  createSolanaAnchorRail,
  findNftMintAddress,
  findReceiptAddress,
  purchaseIdSeed,
} from '../../../src/chains/solana-anchor';

const programId = Keypair.generate().publicKey;
const usdcMint = Keypair.generate().publicKey;
const treasury = Keypair.generate();

const request = (overrides: Partial<SettlementRequest> = {}): SettlementRequest => ({
  purchaseId: 'pur_rail_00000001',
  buyerWallet: Keypair.generate().publicKey.toBase58(),
  nft: { name: 'Track', symbol: 'TRK', uri: 'https://example.invalid/1.json' },
  payouts: [
    { wallet: Keypair.generate().publicKey.toBase58(), amountMicroUsdc: 2_619_000n },
    { wallet: Keypair.generate().publicKey.toBase58(), amountMicroUsdc: 1_091_250n },
    { wallet: Keypair.generate().publicKey.toBase58(), amountMicroUsdc: 654_750n },
  ],
  ...overrides,
});

const POOL = 2_619_000n + 1_091_250n + 654_750n;

/** The logs of a transaction in which the program emitted PurchaseSettled (Borsh, after its discriminator). */
function settledLogs(purchaseId: string, pool = POOL): string[] {
  const discriminator = SETTLEMENT_IDL.events?.find((e) => e.name === 'PurchaseSettled')?.discriminator ?? [];
  const u64 = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return b;
  };
  const data = Buffer.concat([
    Buffer.from(discriminator),
    purchaseIdSeed(purchaseId),
    findReceiptAddress(programId, purchaseId)[0].toBuffer(),
    Keypair.generate().publicKey.toBuffer(),
    findNftMintAddress(programId, purchaseId)[0].toBuffer(),
    u64(pool),
    Buffer.from([3]),
    u64(42n),
  ]);
  const id = programId.toBase58();
  return [`Program ${id} invoke [1]`, `Program data: ${data.toString('base64')}`, `Program ${id} success`];
}

function memoryJournal(initial: SettlementAttempt[] = []) {
  const attempts = [...initial];
  const journal: SettlementJournal = {
    recordAttempt: async (attempt) => {
      attempts.push({ ...attempt, createdAt: new Date() });
    },
    attempts: async (purchaseId) => attempts.filter((a) => a.purchaseId === purchaseId),
  };
  return { journal, attempts };
}

type RpcMethod =
  | 'getAccountInfo'
  | 'getSignaturesForAddress'
  | 'getSignatureStatuses'
  | 'getBlockHeight'
  | 'getLatestBlockhash'
  | 'getRecentPrioritizationFees'
  | 'sendRawTransaction'
  | 'getTransaction'
  | 'getMultipleAccountsInfo'
  | 'getTokenAccountBalance';
/** A scripted RPC: what the rail sends is confirmed (with `sentErr`), anything else is unknown to it. */
function fakeConnection(overrides: Partial<Record<RpcMethod, jest.Mock>> = {}, sentErr: unknown = null) {
  const sent = new Set<string>();
  const rpc: Record<RpcMethod, jest.Mock> = {
    getAccountInfo: jest.fn(async () => null),
    getSignaturesForAddress: jest.fn(async () => []),
    getSignatureStatuses: jest.fn(async ([sig]: string[]) => ({
      value: [sent.has(sig ?? '') ? { err: sentErr, confirmationStatus: 'confirmed' } : null],
    })),
    getBlockHeight: jest.fn(async () => 1_000),
    getLatestBlockhash: jest.fn(async () => ({ blockhash: Keypair.generate().publicKey.toBase58(), lastValidBlockHeight: 1_150 })),
    getRecentPrioritizationFees: jest.fn(async () => [{ slot: 1, prioritizationFee: 5_000 }]),
    sendRawTransaction: jest.fn(async (raw: Uint8Array) => {
      const signature = VersionedTransaction.deserialize(raw).signatures[0];
      const txId = bs58.encode(signature ?? new Uint8Array());
      sent.add(txId);
      return txId;
    }),
    getTransaction: jest.fn(async () => ({ meta: { err: null, logMessages: settledLogs('pur_rail_00000001') } })),
    getMultipleAccountsInfo: jest.fn(async (keys: PublicKey[]) => keys.map(() => null)),
    getTokenAccountBalance: jest.fn(async () => ({ value: { amount: '123456789' } })),
    ...overrides,
  };
  return { rpc, connection: rpc as unknown as Connection };
}

const railWith = (connection: Connection, options: { pollIntervalMs?: number } = {}) =>
  createSolanaAnchorRail({ connection, treasury, programId, usdcMint, priorityFeeCapMicroLamports: 1_000, ...options });

describe('createSolanaAnchorRail', () => {
  it('is the solana-anchor rail and validates wallets', () => {
    const rail = railWith(fakeConnection().connection);
    expect(rail.rail).toBe(Rail.SolanaAnchor);
    expect(rail.isValidWallet(Keypair.generate().publicKey.toBase58())).toBe(true);
    expect(rail.isValidWallet(findReceiptAddress(programId, 'pur_rail_00000001')[0].toBase58())).toBe(false);
    expect(rail.isValidWallet('0xabc')).toBe(false);
  });

  it('returns the existing settlement when the receipt already exists, sending nothing', async () => {
    const { rpc, connection } = fakeConnection({
      getAccountInfo: jest.fn(async () => ({ data: Buffer.alloc(0), owner: programId, executable: false, lamports: 1 })),
      // Newest first; a failed attempt landing in the settlement's slot can be listed after it.
      getSignaturesForAddress: jest.fn(async () => [
        { signature: 'newest', err: null },
        { signature: 'settling-tx', err: null },
        { signature: 'refused-duplicate', err: { InstructionError: [2, { Custom: 0 }] } },
      ]),
    });
    const { journal, attempts } = memoryJournal();
    const result = await railWith(connection).settle(request(), journal);
    expect(result).toEqual({
      txId: 'settling-tx',
      nftId: findNftMintAddress(programId, 'pur_rail_00000001')[0].toBase58(),
      alreadySettled: true,
    });
    expect(rpc.sendRawTransaction).not.toHaveBeenCalled();
    expect(attempts).toHaveLength(0);
  });

  it('returns a journaled attempt that landed instead of signing a new one', async () => {
    const { rpc, connection } = fakeConnection({
      getSignatureStatuses: jest.fn(async () => ({ value: [{ err: null, confirmationStatus: 'confirmed' }] })),
    });
    const { journal } = memoryJournal([{ purchaseId: 'pur_rail_00000001', txId: 'earlier', validUntil: 900n, createdAt: new Date() }]);
    const result = await railWith(connection).settle(request(), journal);
    expect(result.txId).toBe('earlier');
    expect(result.alreadySettled).toBe(true);
    expect(rpc.sendRawTransaction).not.toHaveBeenCalled();
  });

  it('broadcasts a journaled attempt the node never saw again, from its journaled bytes, instead of waiting out its blockhash', async () => {
    const earlier = new VersionedTransaction(
      new TransactionMessage({
        payerKey: treasury.publicKey,
        recentBlockhash: Keypair.generate().publicKey.toBase58(),
        instructions: [],
      }).compileToV0Message(),
    );
    earlier.sign([treasury]);
    const txId = bs58.encode(earlier.signatures[0] ?? new Uint8Array());
    const { rpc, connection } = fakeConnection();
    const { journal } = memoryJournal([
      { purchaseId: 'pur_rail_00000001', txId, validUntil: 1_150n, signedTx: earlier.serialize(), createdAt: new Date() },
    ]);
    const result = await railWith(connection, { pollIntervalMs: 50 }).settle(request(), journal);
    expect(result).toMatchObject({ txId, alreadySettled: true });
    expect(rpc.sendRawTransaction).toHaveBeenCalledTimes(1);
    expect(rpc.sendRawTransaction.mock.calls[0]).toEqual([earlier.serialize(), { skipPreflight: true, maxRetries: 0 }]);
  });

  it('journals the signed bytes with the signature before sending', async () => {
    const { rpc, connection } = fakeConnection();
    const { journal, attempts } = memoryJournal();
    await railWith(connection).settle(request(), journal);
    const sent = rpc.sendRawTransaction.mock.calls[0]?.[0] as Uint8Array;
    expect(attempts.map((a) => [a.txId, Buffer.from(a.signedTx ?? []).toString('base64')])).toEqual([
      [bs58.encode(VersionedTransaction.deserialize(sent).signatures[0] ?? new Uint8Array()), Buffer.from(sent).toString('base64')],
    ]);
  });

  it('tries a read the node did not answer again in place, so one lost request does not fail the attempt', async () => {
    const { rpc, connection } = fakeConnection();
    const outage = () => Promise.reject(new Error('503 Service Unavailable: {"error":{"message":"injected outage"}}'));
    rpc.getLatestBlockhash.mockImplementationOnce(outage);
    rpc.getSignatureStatuses.mockImplementationOnce(outage);
    const { journal, attempts } = memoryJournal();
    const result = await railWith(connection).settle(request(), journal);
    expect(result.alreadySettled).toBe(false);
    expect(rpc.sendRawTransaction).toHaveBeenCalledTimes(1);
    expect(attempts).toHaveLength(1);
  });

  it('broadcasts the same signed bytes again while the node has no status for them, so a dropped send lands', async () => {
    const { rpc, connection } = fakeConnection();
    const deliver = rpc.sendRawTransaction.getMockImplementation();
    // The first send is acknowledged and then dropped: the node never has a status for it.
    rpc.sendRawTransaction.mockImplementationOnce(async (raw: Uint8Array) =>
      bs58.encode(VersionedTransaction.deserialize(raw).signatures[0] ?? new Uint8Array()),
    );
    rpc.sendRawTransaction.mockImplementation(async (raw: Uint8Array) => deliver?.(raw));
    const { journal, attempts } = memoryJournal();
    const result = await railWith(connection, { pollIntervalMs: 50 }).settle(request(), journal);
    expect(result.alreadySettled).toBe(false);
    const sends = rpc.sendRawTransaction.mock.calls.map(([raw]) => Buffer.from(raw as Uint8Array).toString('base64'));
    expect(sends).toHaveLength(2);
    expect(new Set(sends).size).toBe(1); // the same bytes, never a second signature
    expect(attempts).toHaveLength(1);
    expect(rpc.sendRawTransaction.mock.calls[1]?.[1]).toEqual({ skipPreflight: true, maxRetries: 0 });
  });

  it('journals the signature before sending, then sends one transaction ending in settle_purchase', async () => {
    const { journal, attempts } = memoryJournal();
    let journaledAtSend = 0;
    const { rpc, connection } = fakeConnection({
      // An expired earlier attempt that never landed: re-signing is allowed.
      getBlockHeight: jest.fn(async () => 2_000),
    });
    const send = rpc.sendRawTransaction.getMockImplementation();
    rpc.sendRawTransaction.mockImplementation(async (raw: Uint8Array) => {
      journaledAtSend = attempts.length;
      return send?.(raw);
    });
    attempts.push({ purchaseId: 'pur_rail_00000001', txId: 'expired', validUntil: 1_500n, createdAt: new Date(0) });
    const result = await railWith(connection).settle(request(), journal);

    expect(journaledAtSend).toBe(2);
    const raw = rpc.sendRawTransaction.mock.calls[0]?.[0] as Uint8Array;
    const tx = VersionedTransaction.deserialize(raw);
    const keys = tx.message.staticAccountKeys;
    const last = tx.message.compiledInstructions.at(-1);
    expect(keys[last?.programIdIndex ?? -1]?.equals(programId)).toBe(true);
    expect(result).toEqual({
      txId: attempts[1]?.txId,
      nftId: findNftMintAddress(programId, 'pur_rail_00000001')[0].toBase58(),
      alreadySettled: false,
    });
    expect(attempts[1]?.validUntil).toBe(1_150n);
  });

  it('reports the NFT from the PurchaseSettled event, and refuses an event whose pool differs', async () => {
    const wrongPool = fakeConnection({
      getTransaction: jest.fn(async () => ({ meta: { err: null, logMessages: settledLogs('pur_rail_00000001', POOL - 1n) } })),
    });
    await expect(railWith(wrongPool.connection).settle(request(), memoryJournal().journal)).rejects.toMatchObject({
      type: ErrorType.Internal,
    });
    const noEvent = fakeConnection({ getTransaction: jest.fn(async () => ({ meta: { err: null, logMessages: [] } })) });
    await expect(railWith(noEvent.connection).settle(request(), memoryJournal().journal)).rejects.toMatchObject({
      type: ErrorType.Internal,
    });
    const notYet = fakeConnection({ getTransaction: jest.fn(async () => null) });
    await expect(railWith(notYet.connection).settle(request(), memoryJournal().journal)).rejects.toMatchObject({
      type: ErrorType.RpcUnavailable,
    });
  });

  it('reads a settlement whose logs were truncated before its event from the receipt account', async () => {
    const purchaseId = 'pur_rail_00000001';
    const nftMint = findNftMintAddress(programId, purchaseId)[0];
    const receipt = (pool: bigint, id = purchaseId) =>
      createSettlementProgram(programId).coder.accounts.encode('receipt', {
        purchaseId: [...purchaseIdSeed(id)],
        buyer: Keypair.generate().publicKey,
        nftMint,
        pool: new BN(pool.toString()),
        splitCount: 3,
        settledAt: new BN(42),
        bump: 255,
        nftMintBump: 254,
      });
    const truncated = (data: Buffer) => {
      const sent = { value: false };
      return fakeConnection({
        sendRawTransaction: jest.fn(async (raw: Uint8Array) => {
          sent.value = true;
          return bs58.encode(VersionedTransaction.deserialize(raw).signatures[0] ?? new Uint8Array());
        }),
        getSignatureStatuses: jest.fn(async () => ({ value: [sent.value ? { err: null, confirmationStatus: 'confirmed' } : null] })),
        // Before the send there is no receipt; after it, the settle instruction has written one.
        getAccountInfo: jest.fn(async () => (sent.value ? { data, owner: programId, executable: false, lamports: 1 } : null)),
        getTransaction: jest.fn(async () => ({
          meta: {
            err: null,
            logMessages: [`Program ${programId.toBase58()} invoke [1]`, 'Program log: Instruction: SettlePurchase', 'Log truncated'],
          },
        })),
      });
    };
    const result = await railWith(truncated(await receipt(POOL)).connection).settle(request(), memoryJournal().journal);
    expect(result).toMatchObject({ nftId: nftMint.toBase58(), alreadySettled: false });
    // The receipt must be this purchase's, for this pool.
    await expect(railWith(truncated(await receipt(POOL - 1n)).connection).settle(request(), memoryJournal().journal)).rejects.toMatchObject(
      { type: ErrorType.Internal },
    );
    await expect(
      railWith(truncated(await receipt(POOL, 'pur_other')).connection).settle(request(), memoryJournal().journal),
    ).rejects.toMatchObject({ type: ErrorType.Internal });
  });

  it('creates new recipients first in transactions of their own when the settlement has no room for them', async () => {
    const { rpc, connection } = fakeConnection();
    // 12.000000 USDC split 833 bps × 11 + 837 bps.
    const payouts = Array.from({ length: 12 }, (_, i) => ({
      wallet: Keypair.generate().publicKey.toBase58(),
      amountMicroUsdc: i === 11 ? 1_004_400n : 999_600n,
    }));
    const pool = payouts.reduce((sum, p) => sum + p.amountMicroUsdc, 0n);
    rpc.getTransaction.mockImplementation(async () => ({ meta: { err: null, logMessages: settledLogs('pur_rail_00000001', pool) } }));
    const { journal, attempts } = memoryJournal();
    const result = await railWith(connection).settle(request({ payouts }), journal);
    expect(result.alreadySettled).toBe(false);
    const sent = rpc.sendRawTransaction.mock.calls.map((call) => VersionedTransaction.deserialize(call[0] as Uint8Array));
    // 12 accounts, 4 per transaction, then the settlement alone; only the settlement is journaled.
    expect(sent).toHaveLength(4);
    const last = sent.at(-1)?.message;
    expect(last?.staticAccountKeys[last.compiledInstructions.at(-1)?.programIdIndex ?? -1]?.equals(programId)).toBe(true);
    expect(attempts).toHaveLength(1);
  });

  it('maps a program error in the confirmation to a typed error', async () => {
    const { connection } = fakeConnection({}, { InstructionError: [5, { Custom: 6013 }] });
    await expect(railWith(connection).settle(request(), memoryJournal().journal)).rejects.toMatchObject({
      type: ErrorType.InsufficientTreasury,
    });
  });

  it('rejects bad input before touching the chain', async () => {
    const { rpc, connection } = fakeConnection();
    const rail = railWith(connection);
    const { journal } = memoryJournal();
    await expect(rail.settle(request({ buyerWallet: 'nope' }), journal)).rejects.toMatchObject({ type: ErrorType.InvalidWallet });
    const wallet = Keypair.generate().publicKey.toBase58();
    const twice = [
      { wallet, amountMicroUsdc: 50_000n },
      { wallet, amountMicroUsdc: 50_000n },
    ];
    await expect(rail.settle(request({ payouts: twice }), journal)).rejects.toMatchObject({ type: ErrorType.InvalidSplits });
    await expect(rail.settle(request({ payouts: [] }), journal)).rejects.toMatchObject({ type: ErrorType.InvalidSplits });
    expect(rpc.getAccountInfo).not.toHaveBeenCalled();
  });

  it('reports the treasury balance and whether the program is deployed', async () => {
    const missing = railWith(fakeConnection().connection);
    await expect(missing.treasuryBalanceMicroUsdc()).resolves.toBe(0n);
    await expect(missing.ping()).rejects.toMatchObject({ type: ErrorType.RpcUnavailable });

    const deployed = railWith(
      fakeConnection({
        getAccountInfo: jest.fn(async () => ({ executable: true, data: Buffer.alloc(0), owner: PublicKey.default, lamports: 1 })),
      }).connection,
    );
    await expect(deployed.treasuryBalanceMicroUsdc()).resolves.toBe(123_456_789n);
    await expect(deployed.ping()).resolves.toBeUndefined();
  });
});
