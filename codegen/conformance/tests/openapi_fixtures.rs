//! The code generated from the OpenAPI fixture specs (`codegen/tests/fixtures/openapi/`),
//! compiled here so that CI proves it builds and is clippy-clean, and served: toy handlers
//! behind the generated routers, good and bad requests, the typed clients against the routers.
//!
//! The generated modules under `openapi_fixtures/` are checked in; the codegen test
//! `conformance_fixture_modules_are_up_to_date` fails when they differ from what the generator
//! makes of the specs (rerun it with `UPDATE_OPENAPI_FIXTURES=1` to rewrite them).

// The modules are what a service crate would hold; here only some items are used by the tests.
#[allow(dead_code)]
#[path = "openapi_fixtures/petstore_api.rs"]
mod petstore_api;

#[allow(dead_code)]
#[path = "openapi_fixtures/dropshot_style_api.rs"]
mod dropshot_style_api;

#[allow(dead_code)]
#[path = "openapi_fixtures/datasets_api.rs"]
mod datasets_api;

#[allow(dead_code)]
#[path = "openapi_fixtures/versions_api.rs"]
mod versions_api;

#[allow(dead_code)]
#[path = "openapi_fixtures/inventory_3_1_api.rs"]
mod inventory_3_1_api;

#[allow(dead_code)]
#[path = "openapi_fixtures/supported_api.rs"]
mod supported_api;

/// The toy handlers and the requests that drive them.
mod serving;
