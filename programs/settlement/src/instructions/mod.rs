pub mod settle_purchase;

pub use settle_purchase::*;
