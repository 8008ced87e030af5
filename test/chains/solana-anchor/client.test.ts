import { Keypair, PublicKey, SystemProgram } from '@solana/web3.js';
import { ASSOCIATED_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, getAssociatedTokenAddressSync } from '@solana/spl-token';
import { DEV_SETTLEMENT_PROGRAM_ID, loadConfig } from '../../../src/config';
import { isDomainError, ErrorType } from '../../../src/shared/errors';
import { splitLargestRemainder } from '../../../src/shared/money';
import {
  SETTLEMENT_IDL,
  SettlementProgramError,
  assertSettlePurchaseSplits,
  buildSettlePurchaseInstruction,
  createSettlementProgram,
  customErrorCode,
  encodeSettlePurchaseData,
  findNftMintAddress,
  findReceiptAddress,
  programIdFromConfig,
  purchaseIdSeed,
  settlementFailure,
  sharesFromAmounts,
  type SettlePurchaseParams,
} from '../../../src/chains/solana-anchor';
import vectors from '../../fixtures/anchor-vectors.json';

const toParams = (vector: (typeof vectors.vectors)[number]): SettlePurchaseParams => ({
  purchaseId: vector.purchaseId,
  pool: BigInt(vector.pool),
  splits: vector.splits.map((s) => ({ shareBps: s.shareBps, amount: BigInt(s.amount) })),
});

const expectDomainError = (fn: () => unknown, type: ErrorType) => {
  try {
    fn();
  } catch (err) {
    expect(isDomainError(err, type)).toBe(true);
    return;
  }
  throw new Error(`expected a DomainError of type ${type}`);
};

describe('shared instruction vectors (decoded by programs/settlement/tests/instruction_vectors.rs)', () => {
  it('uses the IDL discriminator of settle_purchase', () => {
    const ix = SETTLEMENT_IDL.instructions.find((i) => i.name === 'settle_purchase');
    expect(Buffer.from(ix?.discriminator ?? []).toString('hex')).toBe(vectors.discriminatorHex);
  });

  it.each(vectors.vectors.map((v) => [v.name, v] as const))('encodes %s exactly as the fixture', (_name, vector) => {
    expect(purchaseIdSeed(vector.purchaseId).toString('hex')).toBe(vector.purchaseIdSha256Hex);
    const data = encodeSettlePurchaseData(toParams(vector));
    expect(data.toString('hex')).toBe(vector.dataHex);
    expect(data.subarray(0, 8).toString('hex')).toBe(vectors.discriminatorHex);
  });

  it('holds only plans the program accepts', () => {
    for (const vector of vectors.vectors) {
      const params = toParams(vector);
      expect(() => assertSettlePurchaseSplits(params.pool, params.splits)).not.toThrow();
    }
  });

  it('rejects values that do not fit the Borsh types', () => {
    const base = toParams(vectors.vectors[0]!);
    expectDomainError(() => encodeSettlePurchaseData({ ...base, pool: 1n << 64n }), ErrorType.ValidationFailed);
    expectDomainError(() => encodeSettlePurchaseData({ ...base, splits: [{ shareBps: 70_000, amount: 1n }] }), ErrorType.ValidationFailed);
    expectDomainError(() => encodeSettlePurchaseData({ ...base, purchaseId: 'short' }), ErrorType.ValidationFailed);
  });
});

describe('committed IDL (idl/settlement.json)', () => {
  const ix = SETTLEMENT_IDL.instructions.find((i) => i.name === 'settle_purchase');
  const typeFields = (name: string) => {
    const def = SETTLEMENT_IDL.types?.find((t) => t.name === name);
    return def?.type.kind === 'struct'
      ? (def.type.fields ?? []).map((f) => (typeof f === 'object' && 'name' in f ? f.name : f))
      : undefined;
  };

  it('declares settle_purchase with its accounts in order and one args struct', () => {
    expect(SETTLEMENT_IDL.instructions.map((i) => i.name)).toEqual(['settle_purchase']);
    expect(ix?.accounts.map((a) => a.name)).toEqual([
      'treasury',
      'buyer',
      'receipt',
      'nft_mint',
      'buyer_nft_account',
      'usdc_mint',
      'treasury_usdc',
      'nft_token_program',
      'usdc_token_program',
      'associated_token_program',
      'system_program',
    ]);
    expect(ix?.args).toEqual([{ name: 'args', type: { defined: { name: 'SettlePurchaseArgs' } } }]);
    expect(typeFields('SettlePurchaseArgs')).toEqual(['purchase_id', 'pool', 'splits']);
    expect(typeFields('SplitArg')).toEqual(['share_bps', 'amount']);
  });

  it('declares the Receipt account, the PurchaseSettled event, the seeds and the error codes the client uses', () => {
    expect(SETTLEMENT_IDL.accounts?.map((a) => a.name)).toEqual(['Receipt']);
    expect(typeFields('Receipt')).toEqual([
      'purchase_id',
      'buyer',
      'nft_mint',
      'pool',
      'split_count',
      'settled_at',
      'bump',
      'nft_mint_bump',
    ]);
    expect(SETTLEMENT_IDL.events?.map((e) => e.name)).toEqual(['PurchaseSettled']);
    const constant = (name: string) => SETTLEMENT_IDL.constants?.find((c) => c.name === name)?.value;
    expect(constant('RECEIPT_SEED')).toBe(JSON.stringify([...Buffer.from('receipt')]).replace(/,/g, ', '));
    expect(constant('NFT_MINT_SEED')).toBe(JSON.stringify([...Buffer.from('nft_mint')]).replace(/,/g, ', '));
    expect(constant('MAX_SPLITS')).toBe('16');
    const idlErrors = Object.fromEntries((SETTLEMENT_IDL.errors ?? []).map((e) => [e.name, e.code]));
    expect(idlErrors).toEqual(SettlementProgramError);
  });
});

describe('buildSettlePurchaseInstruction', () => {
  const programId = programIdFromConfig(loadConfig({ SETTLEMENT_PROGRAM_ID: Keypair.generate().publicKey.toBase58() }));
  const treasury = Keypair.generate().publicKey;
  const buyer = Keypair.generate().publicKey;
  const usdcMint = Keypair.generate().publicKey;
  const recipients = [Keypair.generate().publicKey, Keypair.generate().publicKey, Keypair.generate().publicKey];
  const params = toParams(vectors.vectors[2]!);

  it('targets config.SETTLEMENT_PROGRAM_ID with IDL-ordered accounts, then the recipients in split order', async () => {
    const ix = await buildSettlePurchaseInstruction(params, { programId, treasury, buyer, usdcMint, recipients });
    expect(ix.programId.equals(programId)).toBe(true);
    expect(ix.data.toString('hex')).toBe(vectors.vectors[2]!.dataHex);

    const [receipt] = findReceiptAddress(programId, params.purchaseId);
    const [nftMint] = findNftMintAddress(programId, params.purchaseId);
    const expected = [
      [treasury, true, true],
      [buyer, false, false],
      [receipt, false, true],
      [nftMint, false, true],
      [getAssociatedTokenAddressSync(nftMint, buyer, true, TOKEN_2022_PROGRAM_ID), false, true],
      [usdcMint, false, false],
      [getAssociatedTokenAddressSync(usdcMint, treasury, false, TOKEN_PROGRAM_ID), false, true],
      [TOKEN_2022_PROGRAM_ID, false, false],
      [TOKEN_PROGRAM_ID, false, false],
      [ASSOCIATED_TOKEN_PROGRAM_ID, false, false],
      [SystemProgram.programId, false, false],
      ...recipients.map((r) => [r, false, true] as const),
    ] as const;
    expect(ix.keys.map((k) => [k.pubkey.toBase58(), k.isSigner, k.isWritable])).toEqual(
      expected.map(([key, signer, writable]) => [key.toBase58(), signer, writable]),
    );
  });

  it('derives the PDAs and the buyer ATA the way Anchor resolves them from the IDL seeds', async () => {
    const program = createSettlementProgram(programId);
    const settlePurchase = program.methods['settlePurchase'];
    if (!settlePurchase) throw new Error('no settlePurchase in the IDL');
    const purchaseId = [...purchaseIdSeed(params.purchaseId)];
    const resolved = await settlePurchase({ purchaseId, pool: params.pool.toString(), splits: [] })
      .accountsPartial({
        treasury,
        buyer,
        usdcMint,
        nftTokenProgram: TOKEN_2022_PROGRAM_ID,
        usdcTokenProgram: TOKEN_PROGRAM_ID,
        treasuryUsdc: PublicKey.default,
      })
      .pubkeys();
    const [receipt] = findReceiptAddress(programId, params.purchaseId);
    const [nftMint] = findNftMintAddress(programId, params.purchaseId);
    expect(String(resolved.receipt)).toBe(receipt.toBase58());
    expect(String(resolved.nftMint)).toBe(nftMint.toBase58());
    expect(String(resolved.buyerNftAccount)).toBe(getAssociatedTokenAddressSync(nftMint, buyer, true, TOKEN_2022_PROGRAM_ID).toBase58());
  });

  it('needs one recipient per split', async () => {
    await expect(
      buildSettlePurchaseInstruction(params, { programId, treasury, buyer, usdcMint, recipients: recipients.slice(1) }),
    ).rejects.toMatchObject({
      type: ErrorType.InvalidSplits,
    });
  });

  it('refuses to run without SETTLEMENT_PROGRAM_ID off the local chain', () => {
    expect(() => programIdFromConfig(loadConfig({ SOLANA_RPC_URL: 'http://127.0.0.1:1' }))).toThrow(/SETTLEMENT_PROGRAM_ID/);
    expect(() => programIdFromConfig({ settlementProgramId: 'not-a-key' })).toThrow(/SETTLEMENT_PROGRAM_ID/);
  });

  it('defaults to the program the stack deploys on its local chain, never in production', () => {
    expect(DEV_SETTLEMENT_PROGRAM_ID).toBe(SETTLEMENT_IDL.address);
    expect(programIdFromConfig(loadConfig({})).toBase58()).toBe(SETTLEMENT_IDL.address);
    const explicit = Keypair.generate().publicKey.toBase58();
    expect(loadConfig({ SOLANA_RPC_URL: 'http://127.0.0.1:1', SETTLEMENT_PROGRAM_ID: explicit }).settlementProgramId).toBe(explicit);
    const production = loadConfig({
      NODE_ENV: 'production',
      ADMIN_TOKEN: 'a'.repeat(40),
      STRIPE_SECRET_KEY: `sk_live_${'b'.repeat(40)}`,
      STRIPE_WEBHOOK_SECRET: `whsec_${'c'.repeat(40)}`,
      TREASURY_KEYPAIR_PATH: '/run/secrets/treasury.json',
      NFT_MINT_SEED: 'd'.repeat(40),
      DATABASE_URL: 'postgresql://u:p@db:5432/settlement',
      TEMPORAL_ADDRESS: 'temporal:7233',
    });
    expect(production.settlementProgramId).toBeUndefined();
  });
});

describe('split plans', () => {
  it('recovers the shares of a largest-remainder split from its amounts', () => {
    const shareSets = [[10_000], [6000, 2500, 1500], [3334, 3333, 3333], [1, 9999], Array<number>(16).fill(625), [7, 13, 9980]];
    for (const shares of shareSets) {
      for (const pool of [20_001n, 4_365_000n, 1_000_003n, 999_999_999_999n, (1n << 64n) - 1n]) {
        const amounts = splitLargestRemainder(
          pool,
          shares.map((shareBps) => ({ shareBps })),
        );
        expect(sharesFromAmounts(amounts).map((s) => s.shareBps)).toEqual(shares);
      }
    }
  });

  it('mirrors the program: empty, too many, bad shares, wrong sums and disproportionate amounts fail', () => {
    expectDomainError(() => assertSettlePurchaseSplits(100n, []), ErrorType.InvalidSplits);
    expectDomainError(() => assertSettlePurchaseSplits(17n, Array(17).fill({ shareBps: 588, amount: 1n })), ErrorType.InvalidSplits);
    expectDomainError(() => assertSettlePurchaseSplits(0n, [{ shareBps: 10_000, amount: 0n }]), ErrorType.InvalidSplits);
    expectDomainError(
      () =>
        assertSettlePurchaseSplits(100n, [
          { shareBps: 5000, amount: 50n },
          { shareBps: 4999, amount: 50n },
        ]),
      ErrorType.InvalidSplits,
    );
    expectDomainError(
      () =>
        assertSettlePurchaseSplits(100n, [
          { shareBps: 5000, amount: 50n },
          { shareBps: 5000, amount: 49n },
        ]),
      ErrorType.InvalidSplits,
    );
    expectDomainError(
      () =>
        assertSettlePurchaseSplits(100n, [
          { shareBps: 5000, amount: 90n },
          { shareBps: 5000, amount: 10n },
        ]),
      ErrorType.InvalidSplits,
    );
  });
});

describe('program failures', () => {
  it('reads the custom error code from a TransactionError or from the logs', () => {
    expect(customErrorCode({ InstructionError: [3, { Custom: 6013 }] })).toBe(6013);
    expect(customErrorCode(null, ['Program x failed: custom program error: 0x177d'])).toBe(6013);
    expect(
      customErrorCode(null, ['Program log: AnchorError occurred. Error Code: SharesNotWhole. Error Number: 6003. Error Message: x.']),
    ).toBe(6003);
    expect(customErrorCode('AccountInUse')).toBeUndefined();
  });

  it('maps codes to the rail error types', () => {
    expect(settlementFailure(SettlementProgramError.InsufficientTreasury, 'x').type).toBe(ErrorType.InsufficientTreasury);
    expect(settlementFailure(SettlementProgramError.SharesNotWhole, 'x').type).toBe(ErrorType.InvalidSplits);
    expect(settlementFailure(SettlementProgramError.InvalidRecipientAccount, 'x').type).toBe(ErrorType.SettlementRejected);
    expect(settlementFailure(undefined, 'x').type).toBe(ErrorType.SettlementRejected);
  });

  it("names the program's error in the message", () => {
    expect(settlementFailure(SettlementProgramError.RecipientIsTreasury, 'simulation failed').message).toBe(
      'RecipientIsTreasury (6012): simulation failed',
    );
    expect(settlementFailure(undefined, 'simulation failed').message).toBe('simulation failed');
  });
});
