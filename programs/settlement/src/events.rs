use anchor_lang::prelude::*;

/// Emitted once per purchase, after the NFT is minted and every split is paid.
#[event]
pub struct PurchaseSettled {
    pub purchase_id: [u8; 32],
    pub receipt: Pubkey,
    pub buyer: Pubkey,
    pub nft_mint: Pubkey,
    pub pool: u64,
    pub split_count: u8,
    /// Slot of settlement.
    pub settled_at: u64,
}
