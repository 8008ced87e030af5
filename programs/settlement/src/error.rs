use anchor_lang::prelude::*;

/// Codes are stable (6000 + position): append new variants at the end, never reorder.
#[error_code]
#[derive(PartialEq, Eq)]
pub enum SettlementError {
    #[msg("At least one split is required")]
    NoSplits,
    #[msg("Too many splits for one transaction")]
    TooManySplits,
    #[msg("Each share must be between 1 and 10000 basis points")]
    InvalidShare,
    #[msg("Shares must sum to exactly 10000 basis points")]
    SharesNotWhole,
    #[msg("Split amounts must sum to the pool")]
    AmountsNotPool,
    #[msg("A split amount is not its share of the pool (floor, or floor + 1 for the remainder)")]
    AmountNotProportional,
    #[msg("Arithmetic overflow")]
    ArithmeticOverflow,
    #[msg("The pool must be positive")]
    EmptyPool,
    #[msg("Exactly one recipient token account is required per split, in split order")]
    RecipientCountMismatch,
    #[msg("Recipient is not a token account of the USDC mint under the USDC token program")]
    InvalidRecipientAccount,
    #[msg("Recipient token account must be writable")]
    RecipientNotWritable,
    #[msg("The same recipient token account appears twice")]
    DuplicateRecipient,
    #[msg("The treasury cannot pay its own USDC account")]
    RecipientIsTreasury,
    #[msg("The treasury's USDC balance is below the pool")]
    InsufficientTreasury,
}
