//! Pure split validation: no accounts, no syscalls, so it is unit-tested on the host.
use crate::constants::{BPS_DENOMINATOR, MAX_SPLITS};
use crate::error::SettlementError;
use crate::instructions::SplitArg;

/// Checks a payout plan against the pool it claims to divide.
///
/// - there is at least one split and at most `MAX_SPLITS`, and one recipient account per split;
/// - the pool is positive, each share is 1..=10000 bps and the shares sum to exactly 10000;
/// - the amounts sum to the pool (checked: a sum past `u64::MAX` is an error, not a wrap);
/// - each amount is `floor(pool * share / 10000)` or one more, which is what a largest-remainder
///   split (src/shared/money.ts `splitLargestRemainder`) produces, so amounts follow the shares.
pub fn validate_splits(
    pool: u64,
    splits: &[SplitArg],
    recipient_count: usize,
) -> Result<(), SettlementError> {
    if splits.is_empty() {
        return Err(SettlementError::NoSplits);
    }
    if splits.len() > usize::from(MAX_SPLITS) {
        return Err(SettlementError::TooManySplits);
    }
    if recipient_count != splits.len() {
        return Err(SettlementError::RecipientCountMismatch);
    }
    if pool == 0 {
        return Err(SettlementError::EmptyPool);
    }

    let mut share_sum: u16 = 0;
    let mut amount_sum: u64 = 0;
    for split in splits {
        if split.share_bps == 0 || split.share_bps > BPS_DENOMINATOR {
            return Err(SettlementError::InvalidShare);
        }
        share_sum = share_sum
            .checked_add(split.share_bps)
            .ok_or(SettlementError::ArithmeticOverflow)?;
        amount_sum = amount_sum
            .checked_add(split.amount)
            .ok_or(SettlementError::ArithmeticOverflow)?;
    }
    if share_sum != BPS_DENOMINATOR {
        return Err(SettlementError::SharesNotWhole);
    }
    if amount_sum != pool {
        return Err(SettlementError::AmountsNotPool);
    }

    for split in splits {
        let floor = u128::from(pool)
            .checked_mul(u128::from(split.share_bps))
            .and_then(|product| product.checked_div(u128::from(BPS_DENOMINATOR)))
            .ok_or(SettlementError::ArithmeticOverflow)?;
        let ceiling = floor.checked_add(1).ok_or(SettlementError::ArithmeticOverflow)?;
        let amount = u128::from(split.amount);
        if amount != floor && amount != ceiling {
            return Err(SettlementError::AmountNotProportional);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(share_bps: u16, amount: u64) -> SplitArg {
        SplitArg { share_bps, amount }
    }

    #[test]
    fn accepts_a_single_full_share() {
        assert_eq!(validate_splits(900_000, &[split(10_000, 900_000)], 1), Ok(()));
    }

    #[test]
    fn accepts_a_largest_remainder_split() {
        // 100 split 3 ways (3334/3333/3333 bps): floors 33/33/33, the leftover unit goes to the first.
        let splits = [split(3334, 34), split(3333, 33), split(3333, 33)];
        assert_eq!(validate_splits(100, &splits, 3), Ok(()));
    }

    #[test]
    fn accepts_the_largest_pool() {
        let splits = [split(5_000, u64::MAX / 2 + 1), split(5_000, u64::MAX / 2)];
        assert_eq!(validate_splits(u64::MAX, &splits, 2), Ok(()));
    }

    #[test]
    fn rejects_empty_splits() {
        assert_eq!(validate_splits(100, &[], 0), Err(SettlementError::NoSplits));
    }

    #[test]
    fn rejects_too_many_splits() {
        let splits = vec![split(500, 5); usize::from(MAX_SPLITS) + 1];
        assert_eq!(validate_splits(85, &splits, splits.len()), Err(SettlementError::TooManySplits));
    }

    #[test]
    fn rejects_mismatched_recipient_count() {
        let splits = [split(5_000, 50), split(5_000, 50)];
        assert_eq!(validate_splits(100, &splits, 1), Err(SettlementError::RecipientCountMismatch));
        assert_eq!(validate_splits(100, &splits, 3), Err(SettlementError::RecipientCountMismatch));
    }

    #[test]
    fn rejects_an_empty_pool() {
        assert_eq!(validate_splits(0, &[split(10_000, 0)], 1), Err(SettlementError::EmptyPool));
    }

    #[test]
    fn rejects_zero_and_oversized_shares() {
        assert_eq!(
            validate_splits(100, &[split(0, 0), split(10_000, 100)], 2),
            Err(SettlementError::InvalidShare)
        );
        assert_eq!(validate_splits(100, &[split(10_001, 100)], 1), Err(SettlementError::InvalidShare));
    }

    #[test]
    fn rejects_shares_that_do_not_sum_to_10000() {
        let short = [split(5_000, 50), split(4_999, 50)];
        assert_eq!(validate_splits(100, &short, 2), Err(SettlementError::SharesNotWhole));
        let over = [split(5_000, 50), split(5_001, 50)];
        assert_eq!(validate_splits(100, &over, 2), Err(SettlementError::SharesNotWhole));
    }

    #[test]
    fn rejects_share_sum_overflow() {
        // 7 × 10000 bps passes the per-share bound but overflows a u16 sum.
        let splits = vec![split(10_000, 1); 7];
        assert_eq!(validate_splits(7, &splits, 7), Err(SettlementError::ArithmeticOverflow));
    }

    #[test]
    fn rejects_amount_sum_overflow() {
        let splits = [split(5_000, u64::MAX), split(5_000, 1)];
        assert_eq!(validate_splits(u64::MAX, &splits, 2), Err(SettlementError::ArithmeticOverflow));
    }

    #[test]
    fn rejects_amounts_that_do_not_sum_to_the_pool() {
        let splits = [split(5_000, 50), split(5_000, 49)];
        assert_eq!(validate_splits(100, &splits, 2), Err(SettlementError::AmountsNotPool));
    }

    #[test]
    fn rejects_amounts_that_ignore_the_shares() {
        // Sums match, but 90/10 is not a 50/50 split of 100.
        let splits = [split(5_000, 90), split(5_000, 10)];
        assert_eq!(validate_splits(100, &splits, 2), Err(SettlementError::AmountNotProportional));
    }
}
