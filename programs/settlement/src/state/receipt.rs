use anchor_lang::prelude::*;

/// Proof that a purchase settled. Its address (`["receipt", purchase_id]`) is what makes settlement
/// happen at most once: a second `settle_purchase` fails on `init` of an existing account.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// SHA-256 of the purchase id string, as in the PDA seed.
    pub purchase_id: [u8; 32],
    pub buyer: Pubkey,
    pub nft_mint: Pubkey,
    /// Micro-USDC paid out across all splits.
    pub pool: u64,
    pub split_count: u8,
    /// Slot of settlement.
    pub settled_at: u64,
    pub bump: u8,
    pub nft_mint_bump: u8,
}
