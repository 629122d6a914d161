//! Command-line shells around the engine.

pub mod documents;
pub mod evaluate;
