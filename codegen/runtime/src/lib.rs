//! Support code for the crate generated from `contracts/` (`generated/`).
//!
//! Generated code stays small and readable by calling into these hand-written, tested pieces,
//! the way progenitor-generated clients lean on `progenitor-client`.

pub mod avro;
pub mod event;
pub mod registry;
