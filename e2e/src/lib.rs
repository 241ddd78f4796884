//! Integration tests against the real local stack live in `tests/`; this crate has no code.
//!
//! Bring the stack up and run them with `cargo xtask stack test`, or by hand:
//! `cargo xtask stack up && cargo xtask stack connectors && cargo test -p e2e`.
