//! The planning API: ratios from the read model.

use chrono::Utc;
use contract_runtime::{ApiError, RequestContext};
use contracts::planning_api::*;
use service_kit::health::HealthChecker;
use service_kit::http::database_unavailable;
use sqlx::PgPool;

use crate::{ratio, store};

pub struct PlanningService {
    pool: PgPool,
    health: HealthChecker,
}

impl PlanningService {
    pub fn new(pool: PgPool, health: HealthChecker) -> Self {
        Self { pool, health }
    }
}

impl PlanningApi for PlanningService {
    async fn get_ratios(
        &self,
        _context: RequestContext,
        params: GetRatiosParams,
    ) -> Result<GetRatiosResponse, ApiError> {
        let as_of = Utc::now();
        let birth = store::person_birth(&self.pool, params.person_id)
            .await
            .map_err(database_unavailable)?
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "planning knows no person with id {}",
                    params.person_id
                ))
            })?;
        let figures = store::latest_figures(&self.pool, params.person_id, as_of)
            .await
            .map_err(database_unavailable)?;
        Ok(GetRatiosResponse::Ok(vec![
            ratio::net_worth_to_total_assets(figures, birth, as_of.date_naive()),
        ]))
    }

    async fn health(&self, _context: RequestContext) -> Result<HealthResponse, ApiError> {
        Ok(self
            .health
            .respond(HealthResponse::Ok, HealthResponse::ServiceUnavailable)
            .await)
    }
}
