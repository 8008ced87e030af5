//! Proves that what the TypeScript client encodes (test/fixtures/anchor-vectors.json, checked on
//! the TS side by test/chains/solana-anchor) is what this program decodes, byte for byte.
use anchor_lang::{AnchorDeserialize, Discriminator, InstructionData};
use serde_json::Value;
use settlement::splits::validate_splits;
use settlement::{SettlePurchaseArgs, SplitArg};
use sha2::{Digest, Sha256};

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/fixtures/anchor-vectors.json");
    let text = std::fs::read_to_string(path).expect("read test/fixtures/anchor-vectors.json");
    serde_json::from_str(&text).expect("parse anchor-vectors.json")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn u64_field(value: &Value) -> u64 {
    value.as_str().expect("amounts are decimal strings").parse().expect("u64")
}

fn expected_args(vector: &Value) -> SettlePurchaseArgs {
    let purchase_id: [u8; 32] = Sha256::digest(vector["purchaseId"].as_str().expect("purchaseId").as_bytes()).into();
    assert_eq!(hex(&purchase_id), vector["purchaseIdSha256Hex"].as_str().expect("hash"));
    SettlePurchaseArgs {
        purchase_id,
        pool: u64_field(&vector["pool"]),
        splits: vector["splits"]
            .as_array()
            .expect("splits")
            .iter()
            .map(|split| SplitArg {
                share_bps: u16::try_from(split["shareBps"].as_u64().expect("shareBps")).expect("u16"),
                amount: u64_field(&split["amount"]),
            })
            .collect(),
    }
}

#[test]
fn discriminator_matches_the_fixture() {
    let fixture = vectors();
    assert_eq!(
        hex(settlement::instruction::SettlePurchase::DISCRIMINATOR),
        fixture["discriminatorHex"].as_str().expect("discriminatorHex")
    );
}

#[test]
fn decodes_every_vector_the_client_encoded() {
    let fixture = vectors();
    let list = fixture["vectors"].as_array().expect("vectors");
    assert!(!list.is_empty());
    for vector in list {
        let name = vector["name"].as_str().expect("name");
        let data = unhex(vector["dataHex"].as_str().expect("dataHex"));
        let (discriminator, body) = data.split_at(8);
        assert_eq!(discriminator, settlement::instruction::SettlePurchase::DISCRIMINATOR, "{name}");

        // try_from_slice fails on trailing bytes, so this is an exact decode.
        let decoded = settlement::instruction::SettlePurchase::try_from_slice(body)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        let expected = expected_args(vector);
        assert_eq!(decoded.args, expected, "{name}");

        let reencoded = settlement::instruction::SettlePurchase { args: expected.clone() }.data();
        assert_eq!(hex(&reencoded), hex(&data), "{name}: Rust re-encoding differs");

        // The vectors are largest-remainder splits, which the program must accept.
        assert_eq!(validate_splits(expected.pool, &expected.splits, expected.splits.len()), Ok(()), "{name}");
    }
}

#[test]
fn receipt_space_is_what_init_allocates() {
    use anchor_lang::Space;
    // purchase_id + buyer + nft_mint + pool + split_count + settled_at + bump + nft_mint_bump
    assert_eq!(settlement::Receipt::INIT_SPACE, 32 + 32 + 32 + 8 + 1 + 8 + 1 + 1);
}
