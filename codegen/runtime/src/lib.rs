//! Support code for the crate generated from `contracts/` (`generated/`).
//!
//! Generated code stays small and readable by calling into these hand-written, tested pieces,
//! the way progenitor-generated clients lean on `progenitor-client`. This crate is the
//! toolkit's public API: every public item is documented (`missing_docs` is denied).
#![deny(missing_docs)]

pub mod auth;
pub mod client;
pub mod digit_string;
pub mod double_option;
pub mod health;
pub mod problem;
pub mod server;
pub mod union;
pub mod validate;

pub use auth::{
    ApiKeyAuthenticator, Authenticator, BasicCredentials, BearerAuthenticator, Security, SingleUser,
};
pub use client::{ClientError, HttpClient};
pub use health::{Check, Health, HealthStatus};
pub use problem::{Problem, Violation};
pub use server::{ApiError, RequestContext};

pub mod avro;
pub mod event;
pub mod registry;
