//! What the engine's tests share beyond the event builders, which are
//! `touchline-fixtures` (shared with the binary's tests).

#![allow(dead_code)]

pub mod shards;
pub mod state;
