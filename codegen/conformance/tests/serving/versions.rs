//! `versions.yaml`: responses described by `examples` only (any JSON), integer status keys,
//! `300` and `203` as variants of their own.

use std::sync::Arc;

use contract_runtime::{ApiError, HttpClient, RequestContext, Security};
use serde_json::json;

use super::serve;
use crate::versions_api::*;

struct Versions;

impl VersionsApi for Versions {
    async fn list_versionsv2(
        &self,
        _context: RequestContext,
    ) -> Result<ListVersionsv2Response, ApiError> {
        Ok(ListVersionsv2Response::MultipleChoices(
            json!({"versions": [{"status": "CURRENT", "id": "v2.0"}]}),
        ))
    }

    async fn get_version_detailsv2(
        &self,
        _context: RequestContext,
    ) -> Result<GetVersionDetailsv2Response, ApiError> {
        Ok(GetVersionDetailsv2Response::NonAuthoritativeInformation(
            json!({"version": {"status": "CURRENT", "id": "v2.0"}}),
        ))
    }
}

#[tokio::test]
async fn example_only_responses_carry_any_json_with_their_status() {
    let base = serve(router_with_security(Arc::new(Versions), Security::new())).await;
    let client = Client::new(HttpClient::new(base));
    assert_eq!(
        client.list_versionsv2().await.expect("answered"),
        ListVersionsv2Response::MultipleChoices(
            json!({"versions": [{"status": "CURRENT", "id": "v2.0"}]})
        )
    );
    assert_eq!(
        client.get_version_detailsv2().await.expect("answered"),
        GetVersionDetailsv2Response::NonAuthoritativeInformation(
            json!({"version": {"status": "CURRENT", "id": "v2.0"}})
        )
    );
}
