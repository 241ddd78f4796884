//! Planning's read model.

use chrono::{DateTime, NaiveDate, Utc};
use contracts::events;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::ratio::Figures;

pub async fn upsert_person(
    tx: &mut PgConnection,
    person: &events::Person,
    date_of_birth: Option<NaiveDate>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO person (id, first_name, last_name, date_of_birth, applied_events) VALUES ($1, $2, $3, $4, 1) \
         ON CONFLICT (id) DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, \
         date_of_birth = EXCLUDED.date_of_birth, applied_events = person.applied_events + 1, updated_at = now()",
    )
    .bind(person.id)
    .bind(&person.first_name)
    .bind(&person.last_name)
    .bind(date_of_birth)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn delete_person(tx: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM person WHERE id = $1")
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn upsert_balance_sheet(
    tx: &mut PgConnection,
    sheet: &events::BalanceSheet,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO balance_sheet (id, person_id, date_calculated, assets, liabilities, applied_events) VALUES ($1, $2, $3, $4, $5, 1) \
         ON CONFLICT (id) DO UPDATE SET person_id = EXCLUDED.person_id, date_calculated = EXCLUDED.date_calculated, \
         assets = EXCLUDED.assets, liabilities = EXCLUDED.liabilities, \
         applied_events = balance_sheet.applied_events + 1, updated_at = now()",
    )
    .bind(sheet.id)
    .bind(sheet.person_id)
    .bind(sheet.date_calculated)
    .bind(sheet.assets)
    .bind(sheet.liabilities)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn delete_balance_sheet(tx: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM balance_sheet WHERE id = $1")
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// The person's date of birth: `None` when planning never heard of the person,
/// `Some(None)` when the date is unknown.
pub async fn person_birth(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Option<NaiveDate>>> {
    sqlx::query_scalar("SELECT date_of_birth FROM person WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The figures of the person's latest balance sheet dated no later than `as_of`.
pub async fn latest_figures(
    pool: &PgPool,
    person_id: Uuid,
    as_of: DateTime<Utc>,
) -> sqlx::Result<Option<Figures>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT assets, liabilities FROM balance_sheet WHERE person_id = $1 AND date_calculated <= $2 \
         ORDER BY date_calculated DESC, id DESC LIMIT 1",
    )
    .bind(person_id)
    .bind(as_of)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(assets, liabilities)| Figures {
        assets,
        liabilities,
    }))
}
