use anchor_lang::prelude::*;

/// Seed of the per-purchase receipt PDA: `["receipt", purchase_id]`.
#[constant]
pub const RECEIPT_SEED: &[u8] = b"receipt";

/// Seed of the per-purchase NFT mint PDA: `["nft_mint", purchase_id]`.
#[constant]
pub const NFT_MINT_SEED: &[u8] = b"nft_mint";

/// Shares are whole basis points of the pool and must sum to this.
#[constant]
pub const BPS_DENOMINATOR: u16 = 10_000;

/// Upper bound on payouts in one transaction (account list and compute budget).
#[constant]
pub const MAX_SPLITS: u8 = 16;
