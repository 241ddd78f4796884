//! Test-only crate: the tests under `tests/` exercise the generated `contracts` crate the way
//! services use it (Avro round trips, generated routers and clients) and check that
//! `generated/` matches the contracts.
