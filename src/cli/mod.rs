//! Command-line shells around the engine.

pub mod diff;
pub mod documents;
pub mod evaluate;
pub mod validate;
