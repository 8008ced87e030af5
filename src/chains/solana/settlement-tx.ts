/** Builds the one atomic settlement transaction (docs/architecture.md §6): compute budget, NFT mint, payouts. */
import { ComputeBudgetProgram, Keypair, PublicKey, SystemProgram, TransactionInstruction } from '@solana/web3.js';
import {
  ASSOCIATED_TOKEN_PROGRAM_ID,
  AuthorityType,
  ExtensionType,
  LENGTH_SIZE,
  TOKEN_2022_PROGRAM_ID,
  TYPE_SIZE,
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMetadataPointerInstruction,
  createInitializeMintInstruction,
  createMintToInstruction,
  createSetAuthorityInstruction,
  createTransferCheckedInstruction,
  getMintLen,
} from '@solana/spl-token';
import { createInitializeInstruction, pack, type TokenMetadata } from '@solana/spl-token-metadata';
import { USDC_DECIMALS } from '../../shared/money';
import { associatedTokenAddress } from './derivations';

export interface SettlementPlanInput {
  treasury: PublicKey;
  nftMint: Keypair;
  buyer: PublicKey;
  nft: { name: string; symbol: string; uri: string };
  usdcMint: PublicKey;
  usdcProgram: PublicKey;
  payouts: readonly { wallet: PublicKey; amount: bigint }[];
  computeUnitLimit: number;
  priorityFeeMicroLamports: number;
  rentForNftMint: number;
  /**
   * Whether to carry an idempotent create for every recipient's USDC account. Off only after those
   * accounts were created beforehand, to make room for more payouts.
   */
  createRecipientAccounts: boolean;
}

export function nftMintSizes(
  nft: { name: string; symbol: string; uri: string },
  mint: PublicKey,
  updateAuthority: PublicKey,
): { space: number; fundedSpace: number } {
  const metadata: TokenMetadata = { mint, updateAuthority, name: nft.name, symbol: nft.symbol, uri: nft.uri, additionalMetadata: [] };
  const space = getMintLen([ExtensionType.MetadataPointer]);
  // The metadata is appended by a realloc inside Token-2022, which only works if rent for it is already there.
  return { space, fundedSpace: space + TYPE_SIZE + LENGTH_SIZE + pack(metadata).length };
}

export function buyerNftAccount(nftMint: PublicKey, buyer: PublicKey): PublicKey {
  return associatedTokenAddress(nftMint, buyer, true, TOKEN_2022_PROGRAM_ID);
}

/** Addresses worth putting in a lookup table: everything that is neither a signer nor an invoked program. */
export function lookupCandidates(
  input: Pick<SettlementPlanInput, 'treasury' | 'usdcMint' | 'usdcProgram' | 'payouts' | 'createRecipientAccounts'>,
): PublicKey[] {
  const treasuryAta = associatedTokenAddress(input.usdcMint, input.treasury, true, input.usdcProgram);
  const out = [input.usdcMint, treasuryAta];
  for (const p of input.payouts) {
    if (input.createRecipientAccounts) out.push(p.wallet);
    out.push(associatedTokenAddress(input.usdcMint, p.wallet, true, input.usdcProgram));
  }
  return out;
}

export function settlementInstructions(input: SettlementPlanInput): TransactionInstruction[] {
  const { treasury, nftMint, buyer, usdcMint, usdcProgram } = input;
  const mint = nftMint.publicKey;
  const { space } = nftMintSizes(input.nft, mint, treasury);
  const buyerAta = buyerNftAccount(mint, buyer);
  const treasuryAta = associatedTokenAddress(usdcMint, treasury, true, usdcProgram);
  const ixs: TransactionInstruction[] = [
    ComputeBudgetProgram.setComputeUnitLimit({ units: input.computeUnitLimit }),
    ComputeBudgetProgram.setComputeUnitPrice({ microLamports: input.priorityFeeMicroLamports }),
    SystemProgram.createAccount({
      fromPubkey: treasury,
      newAccountPubkey: mint,
      space,
      lamports: input.rentForNftMint,
      programId: TOKEN_2022_PROGRAM_ID,
    }),
    createInitializeMetadataPointerInstruction(mint, treasury, mint, TOKEN_2022_PROGRAM_ID),
    createInitializeMintInstruction(mint, 0, treasury, null, TOKEN_2022_PROGRAM_ID),
    createInitializeInstruction({
      programId: TOKEN_2022_PROGRAM_ID,
      metadata: mint,
      updateAuthority: treasury,
      mint,
      mintAuthority: treasury,
      name: input.nft.name,
      symbol: input.nft.symbol,
      uri: input.nft.uri,
    }),
    createAssociatedTokenAccountIdempotentInstruction(treasury, buyerAta, buyer, mint, TOKEN_2022_PROGRAM_ID, ASSOCIATED_TOKEN_PROGRAM_ID),
    createMintToInstruction(mint, buyerAta, treasury, 1n, [], TOKEN_2022_PROGRAM_ID),
    // With no mint authority the supply is fixed at 1 forever: that is what makes it an NFT.
    createSetAuthorityInstruction(mint, treasury, AuthorityType.MintTokens, null, [], TOKEN_2022_PROGRAM_ID),
  ];
  const created = new Set<string>();
  for (const p of input.payouts) {
    const ata = associatedTokenAddress(usdcMint, p.wallet, true, usdcProgram);
    if (input.createRecipientAccounts && !created.has(ata.toBase58())) {
      created.add(ata.toBase58());
      ixs.push(
        createAssociatedTokenAccountIdempotentInstruction(treasury, ata, p.wallet, usdcMint, usdcProgram, ASSOCIATED_TOKEN_PROGRAM_ID),
      );
    }
    ixs.push(createTransferCheckedInstruction(treasuryAta, usdcMint, ata, treasury, p.amount, USDC_DECIMALS, [], usdcProgram));
  }
  return ixs;
}
