//! The balance-sheet table: the only thing the request path writes. Debezium captures it.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

/// A balance-sheet row, as sqlx reads it and as Debezium's change events carry it.
#[derive(Debug, Clone, FromRow, serde::Deserialize)]
pub struct BalanceSheetRow {
    pub id: Uuid,
    pub person_id: Uuid,
    pub date_calculated: DateTime<Utc>,
    pub assets: i64,
    pub liabilities: i64,
}

pub async fn count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM balance_sheet")
        .fetch_one(pool)
        .await
}

pub async fn page(pool: &PgPool, offset: i64, limit: i64) -> sqlx::Result<Vec<BalanceSheetRow>> {
    sqlx::query_as(
        "SELECT * FROM balance_sheet ORDER BY date_calculated DESC, id LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<BalanceSheetRow>> {
    sqlx::query_as("SELECT * FROM balance_sheet WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Inserts `row`; `traceparent` (the request's trace context) is captured with it.
pub async fn insert(
    pool: &PgPool,
    row: &BalanceSheetRow,
    traceparent: Option<&str>,
) -> sqlx::Result<BalanceSheetRow> {
    sqlx::query_as(
        "INSERT INTO balance_sheet (id, person_id, date_calculated, assets, liabilities, traceparent) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
    )
    .bind(row.id)
    .bind(row.person_id)
    .bind(row.date_calculated)
    .bind(row.assets)
    .bind(row.liabilities)
    .bind(traceparent)
    .fetch_one(pool)
    .await
}

/// The fields a PUT or PATCH changes; `None` keeps the stored value.
#[derive(Debug, Default)]
pub struct BalanceSheetChanges {
    pub person_id: Option<Uuid>,
    pub date_calculated: Option<DateTime<Utc>>,
    pub assets: Option<i64>,
    pub liabilities: Option<i64>,
}

/// Applies `changes` in one statement, so concurrent updates of one sheet cannot lose each
/// other's fields. The row's `traceparent` becomes this request's (or none), so the
/// change's CDC record continues this request's trace, not the create's.
pub async fn update(
    pool: &PgPool,
    id: Uuid,
    changes: &BalanceSheetChanges,
    traceparent: Option<&str>,
) -> sqlx::Result<Option<BalanceSheetRow>> {
    sqlx::query_as(
        "UPDATE balance_sheet SET person_id = COALESCE($2, person_id), \
         date_calculated = COALESCE($3, date_calculated), assets = COALESCE($4, assets), \
         liabilities = COALESCE($5, liabilities), traceparent = $6 WHERE id = $1 RETURNING *",
    )
    .bind(id)
    .bind(changes.person_id)
    .bind(changes.date_calculated)
    .bind(changes.assets)
    .bind(changes.liabilities)
    .bind(traceparent)
    .fetch_optional(pool)
    .await
}

pub async fn delete(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    let deleted = sqlx::query("DELETE FROM balance_sheet WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected() == 1)
}
