//! The shell oracle: generated scripts, run by real shells in a sandbox of stub programs, and
//! compared with what reconguard reports. See `tests/it/shell_oracle.rs`.

pub mod generate;
pub mod sandbox;
