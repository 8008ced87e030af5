pub mod receipt;

pub use receipt::*;
