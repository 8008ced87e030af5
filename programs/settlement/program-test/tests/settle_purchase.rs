//! Executes settle_purchase on the host. The program runs natively (no SBF toolchain here); the
//! System, SPL Token, Token-2022 and Associated Token programs it calls are the real ones that
//! solana-program-test ships (SBF builds run in its VM), so every CPI is exercised for real.
use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::system_instruction;
use anchor_lang::{AccountDeserialize, InstructionData, ToAccountMetas};
use anchor_spl::associated_token::{get_associated_token_address_with_program_id, spl_associated_token_account};
use anchor_spl::token::spl_token;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_interface::spl_token_2022::extension::StateWithExtensions;
use settlement::{Receipt, SettlePurchaseArgs, SplitArg, NFT_MINT_SEED, RECEIPT_SEED};
use sha2::{Digest, Sha256};
use solana_program_test::{processor, BanksClientError, ProgramTest, ProgramTestContext};
use solana_sdk::instruction::{AccountMeta, Instruction, InstructionError};
use solana_sdk::program_pack::Pack;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::{Transaction, TransactionError};

const USDC_DECIMALS: u8 = 6;
const TREASURY_FUNDING: u64 = 10_000_000;

/// Anchor's `entry` wants `&'info [AccountInfo<'info>]`; program-test hands a shorter-lived slice.
/// Leaking a copy (its AccountInfos share the same RefCells) satisfies the signature in a test.
fn process_instruction(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let accounts: &[AccountInfo] = Box::leak(accounts.to_vec().into_boxed_slice());
    settlement::entry(program_id, accounts, data)
}

struct Env {
    ctx: ProgramTestContext,
    treasury: Keypair,
    usdc_mint: Pubkey,
    treasury_usdc: Pubkey,
}

impl Env {
    async fn start() -> Self {
        let mut program = ProgramTest::new("settlement", settlement::ID, processor!(process_instruction));
        program.prefer_bpf(false);
        let ctx = program.start_with_context().await;
        let treasury = Keypair::new();
        let usdc = Keypair::new();
        let payer = ctx.payer.insecure_clone();
        let rent = ctx.banks_client.get_rent().await.expect("rent");
        let treasury_usdc =
            get_associated_token_address_with_program_id(&treasury.pubkey(), &usdc.pubkey(), &spl_token::ID);
        let setup = [
            system_instruction::transfer(&payer.pubkey(), &treasury.pubkey(), 10_000_000_000),
            system_instruction::create_account(
                &payer.pubkey(),
                &usdc.pubkey(),
                rent.minimum_balance(spl_token::state::Mint::LEN),
                spl_token::state::Mint::LEN as u64,
                &spl_token::ID,
            ),
            spl_token::instruction::initialize_mint2(&spl_token::ID, &usdc.pubkey(), &payer.pubkey(), None, USDC_DECIMALS)
                .expect("init mint"),
            spl_associated_token_account::instruction::create_associated_token_account(
                &payer.pubkey(),
                &treasury.pubkey(),
                &usdc.pubkey(),
                &spl_token::ID,
            ),
            spl_token::instruction::mint_to(&spl_token::ID, &usdc.pubkey(), &treasury_usdc, &payer.pubkey(), &[], TREASURY_FUNDING)
                .expect("mint usdc"),
        ];
        let mut env = Env { ctx, treasury, usdc_mint: usdc.pubkey(), treasury_usdc };
        env.send(&setup, &[&usdc]).await.expect("setup");
        env
    }

    async fn send(&mut self, instructions: &[Instruction], extra: &[&Keypair]) -> Result<(), BanksClientError> {
        let blockhash = self.ctx.get_new_latest_blockhash().await.expect("blockhash");
        let payer = self.ctx.payer.insecure_clone();
        let mut signers: Vec<&Keypair> = vec![&payer];
        signers.extend_from_slice(extra);
        let tx = Transaction::new_signed_with_payer(instructions, Some(&payer.pubkey()), &signers, blockhash);
        self.ctx.banks_client.process_transaction(tx).await
    }

    /// A fresh wallet with a USDC associated token account (of `mint`).
    async fn recipient(&mut self, mint: Pubkey) -> Pubkey {
        let owner = Keypair::new().pubkey();
        let payer = self.ctx.payer.pubkey();
        let ix = spl_associated_token_account::instruction::create_associated_token_account(&payer, &owner, &mint, &spl_token::ID);
        self.send(&[ix], &[]).await.expect("recipient ata");
        get_associated_token_address_with_program_id(&owner, &mint, &spl_token::ID)
    }

    async fn token_amount(&mut self, account: Pubkey) -> u64 {
        let data = self.ctx.banks_client.get_account(account).await.expect("rpc").expect("account").data;
        StateWithExtensions::<spl_token_2022::state::Account>::unpack(&data).expect("token account").base.amount
    }

    fn settle_ix(&self, purchase: &str, buyer: Pubkey, pool: u64, splits: &[(u16, u64)], recipients: &[Pubkey]) -> Instruction {
        let purchase_id: [u8; 32] = Sha256::digest(purchase.as_bytes()).into();
        let (receipt, _) = Pubkey::find_program_address(&[RECEIPT_SEED, &purchase_id], &settlement::ID);
        let (nft_mint, _) = Pubkey::find_program_address(&[NFT_MINT_SEED, &purchase_id], &settlement::ID);
        let mut accounts = settlement::accounts::SettlePurchase {
            treasury: self.treasury.pubkey(),
            buyer,
            receipt,
            nft_mint,
            buyer_nft_account: get_associated_token_address_with_program_id(&buyer, &nft_mint, &spl_token_2022::ID),
            usdc_mint: self.usdc_mint,
            treasury_usdc: self.treasury_usdc,
            nft_token_program: spl_token_2022::ID,
            usdc_token_program: spl_token::ID,
            associated_token_program: spl_associated_token_account::ID,
            system_program: solana_sdk::system_program::ID,
        }
        .to_account_metas(None);
        accounts.extend(recipients.iter().map(|r| AccountMeta::new(*r, false)));
        let args = SettlePurchaseArgs {
            purchase_id,
            pool,
            splits: splits.iter().map(|&(share_bps, amount)| SplitArg { share_bps, amount }).collect(),
        };
        Instruction { program_id: settlement::ID, accounts, data: settlement::instruction::SettlePurchase { args }.data() }
    }

    async fn settle(&mut self, ix: Instruction) -> Result<(), BanksClientError> {
        let treasury = self.treasury.insecure_clone();
        self.send(&[ix], &[&treasury]).await
    }
}

fn custom_code(result: Result<(), BanksClientError>) -> Option<u32> {
    match result.expect_err("settlement should fail").unwrap() {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => Some(code),
        _ => None,
    }
}

#[tokio::test]
async fn settles_once_mints_one_nft_and_pays_every_split() {
    let mut env = Env::start().await;
    let buyer = Keypair::new().pubkey();
    let recipients = [env.recipient(env.usdc_mint).await, env.recipient(env.usdc_mint).await, env.recipient(env.usdc_mint).await];
    let splits = [(6000, 2_619_000), (2500, 1_091_250), (1500, 654_750)];
    let pool = 4_365_000;

    let ix = env.settle_ix("pur_e2e_00000001", buyer, pool, &splits, &recipients);
    env.settle(ix.clone()).await.expect("first settlement");

    for (recipient, (_, amount)) in recipients.iter().zip(splits) {
        assert_eq!(env.token_amount(*recipient).await, amount);
    }
    assert_eq!(env.token_amount(env.treasury_usdc).await, TREASURY_FUNDING - pool);

    let receipt_key = ix.accounts[2].pubkey;
    let nft_mint = ix.accounts[3].pubkey;
    assert_eq!(env.token_amount(ix.accounts[4].pubkey).await, 1);
    let mint_data = env.ctx.banks_client.get_account(nft_mint).await.unwrap().unwrap();
    assert_eq!(mint_data.owner, spl_token_2022::ID);
    let mint = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&mint_data.data).unwrap().base;
    assert_eq!((mint.supply, mint.decimals), (1, 0));
    assert!(mint.mint_authority.is_none(), "nobody can mint a second token");

    let receipt_data = env.ctx.banks_client.get_account(receipt_key).await.unwrap().unwrap().data;
    let receipt = Receipt::try_deserialize(&mut receipt_data.as_slice()).unwrap();
    assert_eq!(receipt.purchase_id, <[u8; 32]>::from(Sha256::digest(b"pur_e2e_00000001")));
    assert_eq!((receipt.buyer, receipt.nft_mint, receipt.pool, receipt.split_count), (buyer, nft_mint, pool, 3));
    assert_eq!(Pubkey::find_program_address(&[RECEIPT_SEED, &receipt.purchase_id], &settlement::ID).1, receipt.bump);

    // The same purchase again: the receipt already exists, so `init` fails and nothing moves.
    // System program error 0 is AccountAlreadyInUse: the receipt's `init` refused.
    assert_eq!(custom_code(env.settle(ix).await), Some(0), "a second settlement of the same purchase must fail");
    assert_eq!(env.token_amount(env.treasury_usdc).await, TREASURY_FUNDING - pool);
}

#[tokio::test]
async fn rejects_bad_plans_and_bad_recipients_with_typed_errors() {
    let mut env = Env::start().await;
    let buyer = Keypair::new().pubkey();
    let a = env.recipient(env.usdc_mint).await;
    let b = env.recipient(env.usdc_mint).await;

    let shares_short = env.settle_ix("pur_e2e_bad_0001", buyer, 100, &[(5000, 50), (4999, 50)], &[a, b]);
    assert_eq!(custom_code(env.settle(shares_short).await), Some(6003)); // SharesNotWhole

    let one_recipient = env.settle_ix("pur_e2e_bad_0002", buyer, 100, &[(5000, 50), (5000, 50)], &[a]);
    assert_eq!(custom_code(env.settle(one_recipient).await), Some(6008)); // RecipientCountMismatch

    let twice = env.settle_ix("pur_e2e_bad_0003", buyer, 100, &[(5000, 50), (5000, 50)], &[a, a]);
    assert_eq!(custom_code(env.settle(twice).await), Some(6011)); // DuplicateRecipient

    let other_mint = Keypair::new();
    let payer = env.ctx.payer.pubkey();
    let rent = env.ctx.banks_client.get_rent().await.unwrap();
    let make_mint = [
        system_instruction::create_account(&payer, &other_mint.pubkey(), rent.minimum_balance(spl_token::state::Mint::LEN), spl_token::state::Mint::LEN as u64, &spl_token::ID),
        spl_token::instruction::initialize_mint2(&spl_token::ID, &other_mint.pubkey(), &payer, None, USDC_DECIMALS).unwrap(),
    ];
    env.send(&make_mint, &[&other_mint]).await.expect("other mint");
    let wrong_mint = env.recipient(other_mint.pubkey()).await;
    let foreign = env.settle_ix("pur_e2e_bad_0004", buyer, 100, &[(5000, 50), (5000, 50)], &[a, wrong_mint]);
    assert_eq!(custom_code(env.settle(foreign).await), Some(6009)); // InvalidRecipientAccount

    let too_much = env.settle_ix("pur_e2e_bad_0005", buyer, TREASURY_FUNDING + 2, &[(5000, TREASURY_FUNDING / 2 + 1), (5000, TREASURY_FUNDING / 2 + 1)], &[a, b]);
    assert_eq!(custom_code(env.settle(too_much).await), Some(6013)); // InsufficientTreasury

    assert_eq!(env.token_amount(env.treasury_usdc).await, TREASURY_FUNDING);
    assert_eq!(env.token_amount(a).await, 0);
}
