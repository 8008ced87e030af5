//! Settlement program: one `Receipt` PDA per purchase, the buyer's NFT minted and the creator pool
//! paid out of the treasury's USDC in a single instruction. This file only dispatches.
use anchor_lang::prelude::*;

// Linked for its symbols only: the builtins an SBF build through upstream LLVM lacks.
#[cfg(target_os = "solana")]
use solana_compiler_builtins as _;

pub mod constants;
pub mod error;
pub mod events;
pub mod instructions;
pub mod splits;
pub mod state;

pub use constants::*;
pub use error::*;
pub use events::*;
pub use instructions::*;
pub use state::*;

declare_id!("5rhVyEFzRHEFiA87gV7HNSPM5WAampZg2YWPz4wGX2xq");

#[program]
pub mod settlement {
    use super::*;

    /// Mint the purchase's NFT to the buyer and pay every split from the treasury, once per purchase.
    pub fn settle_purchase<'info>(
        ctx: Context<'_, '_, 'info, 'info, SettlePurchase<'info>>,
        args: SettlePurchaseArgs,
    ) -> Result<()> {
        SettlePurchase::settle_purchase(ctx, args)
    }
}
