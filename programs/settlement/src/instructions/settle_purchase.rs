use anchor_lang::prelude::*;
use anchor_spl::associated_token::AssociatedToken;
use anchor_spl::token_interface::spl_token_2022::instruction::AuthorityType;
use anchor_spl::token_interface::{
    self, Mint, MintTo, SetAuthority, TokenAccount, TokenInterface, TransferChecked,
};

use crate::constants::{NFT_MINT_SEED, RECEIPT_SEED};
use crate::error::SettlementError;
use crate::events::PurchaseSettled;
use crate::splits::validate_splits;
use crate::state::Receipt;

/// One payout: `amount` micro-USDC for a `share_bps` share of the pool. The recipient is the
/// remaining account at the same index.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitArg {
    pub share_bps: u16,
    pub amount: u64,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct SettlePurchaseArgs {
    /// SHA-256 of the purchase id string (UTF-8). Purchase ids are up to 64 bytes, but a PDA seed
    /// is at most 32, so the hash is the seed; the client derives it the same way.
    pub purchase_id: [u8; 32],
    /// Micro-USDC to pay out; the split amounts must add up to it.
    pub pool: u64,
    pub splits: Vec<SplitArg>,
}

/// Remaining accounts: one writable USDC token account per split, in split order.
#[derive(Accounts)]
#[instruction(args: SettlePurchaseArgs)]
pub struct SettlePurchase<'info> {
    /// Owns the USDC being paid out and pays rent for the new accounts.
    #[account(mut)]
    pub treasury: Signer<'info>,

    /// Wallet that receives the NFT; recorded in the receipt.
    /// CHECK: any wallet may own the NFT; it only authorizes its token account and is never read.
    pub buyer: UncheckedAccount<'info>,

    #[account(
        init,
        payer = treasury,
        space = 8 + Receipt::INIT_SPACE,
        seeds = [RECEIPT_SEED, args.purchase_id.as_ref()],
        bump,
    )]
    pub receipt: Box<Account<'info, Receipt>>,

    /// Supply 1, decimals 0: the receipt PDA mints one token, then gives up the mint authority.
    #[account(
        init,
        payer = treasury,
        seeds = [NFT_MINT_SEED, args.purchase_id.as_ref()],
        bump,
        mint::decimals = 0,
        mint::authority = receipt,
        mint::token_program = nft_token_program,
    )]
    pub nft_mint: Box<InterfaceAccount<'info, Mint>>,

    #[account(
        init,
        payer = treasury,
        associated_token::mint = nft_mint,
        associated_token::authority = buyer,
        associated_token::token_program = nft_token_program,
    )]
    pub buyer_nft_account: Box<InterfaceAccount<'info, TokenAccount>>,

    #[account(mint::token_program = usdc_token_program)]
    pub usdc_mint: Box<InterfaceAccount<'info, Mint>>,

    #[account(
        mut,
        token::mint = usdc_mint,
        token::authority = treasury,
        token::token_program = usdc_token_program,
    )]
    pub treasury_usdc: Box<InterfaceAccount<'info, TokenAccount>>,

    pub nft_token_program: Interface<'info, TokenInterface>,
    pub usdc_token_program: Interface<'info, TokenInterface>,
    pub associated_token_program: Program<'info, AssociatedToken>,
    pub system_program: Program<'info, System>,
}

impl<'info> SettlePurchase<'info> {
    fn validate(&self, recipients: &[AccountInfo<'info>], args: &SettlePurchaseArgs) -> Result<()> {
        validate_splits(args.pool, &args.splits, recipients.len())?;
        require_gte!(self.treasury_usdc.amount, args.pool, SettlementError::InsufficientTreasury);

        for (index, recipient) in recipients.iter().enumerate() {
            require!(recipient.is_writable, SettlementError::RecipientNotWritable);
            require_keys_neq!(
                recipient.key(),
                self.treasury_usdc.key(),
                SettlementError::RecipientIsTreasury
            );
            require_keys_eq!(
                *recipient.owner,
                self.usdc_token_program.key(),
                SettlementError::InvalidRecipientAccount
            );
            let account = TokenAccount::try_deserialize(&mut &recipient.try_borrow_data()?[..])
                .map_err(|_| SettlementError::InvalidRecipientAccount)?;
            require_keys_eq!(
                account.mint,
                self.usdc_mint.key(),
                SettlementError::InvalidRecipientAccount
            );
            let earlier = recipients.get(..index).unwrap_or_default();
            require!(
                earlier.iter().all(|other| other.key() != recipient.key()),
                SettlementError::DuplicateRecipient
            );
        }
        Ok(())
    }

    #[access_control(ctx.accounts.validate(ctx.remaining_accounts, &args))]
    pub fn settle_purchase(
        mut ctx: Context<'_, '_, 'info, 'info, Self>,
        args: SettlePurchaseArgs,
    ) -> Result<()> {
        let split_count =
            u8::try_from(args.splits.len()).map_err(|_| SettlementError::TooManySplits)?;
        let settled_at = Clock::get()?.slot;
        let receipt_bump = ctx.bumps.receipt;

        let accounts = &mut ctx.accounts;
        let receipt = &mut accounts.receipt;
        receipt.purchase_id = args.purchase_id;
        receipt.buyer = accounts.buyer.key();
        receipt.nft_mint = accounts.nft_mint.key();
        receipt.pool = args.pool;
        receipt.split_count = split_count;
        receipt.settled_at = settled_at;
        receipt.bump = receipt_bump;
        receipt.nft_mint_bump = ctx.bumps.nft_mint;

        let bump_seed = [receipt_bump];
        let signer_seeds: &[&[&[u8]]] =
            &[&[RECEIPT_SEED, args.purchase_id.as_ref(), bump_seed.as_ref()]];

        token_interface::mint_to(
            CpiContext::new_with_signer(
                accounts.nft_token_program.to_account_info(),
                MintTo {
                    mint: accounts.nft_mint.to_account_info(),
                    to: accounts.buyer_nft_account.to_account_info(),
                    authority: accounts.receipt.to_account_info(),
                },
                signer_seeds,
            ),
            1,
        )?;
        // Without a mint authority nobody can ever mint a second token: the supply stays 1.
        token_interface::set_authority(
            CpiContext::new_with_signer(
                accounts.nft_token_program.to_account_info(),
                SetAuthority {
                    current_authority: accounts.receipt.to_account_info(),
                    account_or_mint: accounts.nft_mint.to_account_info(),
                },
                signer_seeds,
            ),
            AuthorityType::MintTokens,
            None,
        )?;

        let decimals = accounts.usdc_mint.decimals;
        for (split, recipient) in args.splits.iter().zip(ctx.remaining_accounts.iter()) {
            if split.amount == 0 {
                continue;
            }
            token_interface::transfer_checked(
                CpiContext::new(
                    accounts.usdc_token_program.to_account_info(),
                    TransferChecked {
                        from: accounts.treasury_usdc.to_account_info(),
                        mint: accounts.usdc_mint.to_account_info(),
                        to: recipient.clone(),
                        authority: accounts.treasury.to_account_info(),
                    },
                ),
                split.amount,
                decimals,
            )?;
        }

        emit!(PurchaseSettled {
            purchase_id: args.purchase_id,
            receipt: accounts.receipt.key(),
            buyer: accounts.buyer.key(),
            nft_mint: accounts.nft_mint.key(),
            pool: args.pool,
            split_count,
            settled_at,
        });
        Ok(())
    }
}
