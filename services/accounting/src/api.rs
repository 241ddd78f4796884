//! The balance-sheet API. Requests write only the balance-sheet table; the event comes from
//! the change-data capture of that table (see `cdc`). Writes store the request's trace context
//! in the row's `traceparent` column, so the captured change continues the request's trace.

use chrono::Utc;
use contract_runtime::{ApiError, RequestContext};
use contracts::accounting_api::*;
use service_kit::health::HealthChecker;
use service_kit::http::database_unavailable;
use service_kit::pagination::Page;
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::{self, BalanceSheetChanges, BalanceSheetRow};

pub struct AccountingService {
    pool: PgPool,
    health: HealthChecker,
}

impl AccountingService {
    pub fn new(pool: PgPool, health: HealthChecker) -> Self {
        Self { pool, health }
    }
}

fn to_model(row: BalanceSheetRow) -> BalanceSheet {
    BalanceSheet {
        id: row.id,
        person_id: row.person_id,
        date_calculated: row.date_calculated,
        assets: row.assets,
        liabilities: row.liabilities,
    }
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no balance sheet with id {id}"))
}

impl AccountingApi for AccountingService {
    async fn list_balance_sheets(
        &self,
        context: RequestContext,
        params: ListBalanceSheetsParams,
    ) -> Result<ListBalanceSheetsResponse, ApiError> {
        let count = store::count(&self.pool)
            .await
            .map_err(database_unavailable)?;
        let page = Page::of(&context, "/api/balance-sheets/", params.page, count)?;
        let rows = store::page(&self.pool, page.offset, page.limit)
            .await
            .map_err(database_unavailable)?;
        Ok(ListBalanceSheetsResponse::Ok(BalanceSheetPage {
            count,
            next: page.next,
            previous: page.previous,
            results: rows.into_iter().map(to_model).collect(),
        }))
    }

    async fn create_balance_sheet(
        &self,
        _context: RequestContext,
        body: BalanceSheetInput,
    ) -> Result<CreateBalanceSheetResponse, ApiError> {
        let row = BalanceSheetRow {
            id: Uuid::new_v4(),
            person_id: body.person_id,
            date_calculated: body.date_calculated.unwrap_or_else(Utc::now),
            assets: body.assets,
            liabilities: body.liabilities,
        };
        let traceparent = service_kit::trace::current_traceparent();
        let row = store::insert(&self.pool, &row, traceparent.as_deref())
            .await
            .map_err(database_unavailable)?;
        tracing::info!(balance_sheet_id = %row.id, person_id = %row.person_id, "balance sheet created");
        Ok(CreateBalanceSheetResponse::Created(to_model(row)))
    }

    async fn get_balance_sheet(
        &self,
        _context: RequestContext,
        params: GetBalanceSheetParams,
    ) -> Result<GetBalanceSheetResponse, ApiError> {
        let row = store::get(&self.pool, params.id)
            .await
            .map_err(database_unavailable)?
            .ok_or_else(|| not_found(params.id))?;
        Ok(GetBalanceSheetResponse::Ok(to_model(row)))
    }

    async fn replace_balance_sheet(
        &self,
        _context: RequestContext,
        params: ReplaceBalanceSheetParams,
        body: BalanceSheetInput,
    ) -> Result<ReplaceBalanceSheetResponse, ApiError> {
        // A replacement without `date_calculated` keeps the stored one.
        let changes = BalanceSheetChanges {
            person_id: Some(body.person_id),
            date_calculated: body.date_calculated,
            assets: Some(body.assets),
            liabilities: Some(body.liabilities),
        };
        let traceparent = service_kit::trace::current_traceparent();
        let row = store::update(&self.pool, params.id, &changes, traceparent.as_deref())
            .await
            .map_err(database_unavailable)?
            .ok_or_else(|| not_found(params.id))?;
        Ok(ReplaceBalanceSheetResponse::Ok(to_model(row)))
    }

    async fn update_balance_sheet(
        &self,
        _context: RequestContext,
        params: UpdateBalanceSheetParams,
        body: BalanceSheetPatch,
    ) -> Result<UpdateBalanceSheetResponse, ApiError> {
        let changes = BalanceSheetChanges {
            person_id: body.person_id,
            date_calculated: body.date_calculated,
            assets: body.assets,
            liabilities: body.liabilities,
        };
        let traceparent = service_kit::trace::current_traceparent();
        let row = store::update(&self.pool, params.id, &changes, traceparent.as_deref())
            .await
            .map_err(database_unavailable)?
            .ok_or_else(|| not_found(params.id))?;
        Ok(UpdateBalanceSheetResponse::Ok(to_model(row)))
    }

    async fn delete_balance_sheet(
        &self,
        _context: RequestContext,
        params: DeleteBalanceSheetParams,
    ) -> Result<DeleteBalanceSheetResponse, ApiError> {
        if !store::delete(&self.pool, params.id)
            .await
            .map_err(database_unavailable)?
        {
            return Err(not_found(params.id));
        }
        Ok(DeleteBalanceSheetResponse::NoContent)
    }

    async fn health(&self, _context: RequestContext) -> Result<HealthResponse, ApiError> {
        Ok(self
            .health
            .respond(HealthResponse::Ok, HealthResponse::ServiceUnavailable)
            .await)
    }
}
