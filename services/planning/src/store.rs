//! Planning's read model.

use chrono::{DateTime, NaiveDate, Utc};
use contracts::events;
use service_kit::consumer::entity::Collapsed;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::ratio::Figures;

/// Applies a batch of person changes as two statements: the deletes, then one multi-row
/// upsert that adds each person's upserts to its `applied_events` (a row deleted first
/// starts again from them). `date_of_birth` maps the event's date to the stored one.
pub async fn apply_persons(
    tx: &mut PgConnection,
    batch: &Collapsed<'_, events::Person>,
    date_of_birth: impl Fn(&events::Person) -> Option<NaiveDate>,
) -> sqlx::Result<()> {
    if !batch.deletes.is_empty() {
        sqlx::query("DELETE FROM person WHERE id = ANY($1)")
            .bind(&batch.deletes)
            .execute(&mut *tx)
            .await?;
    }
    if batch.upserts.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = batch.upserts.iter().map(|u| u.state.id).collect();
    let first_names: Vec<&str> = batch
        .upserts
        .iter()
        .map(|u| u.state.first_name.as_str())
        .collect();
    let last_names: Vec<&str> = batch
        .upserts
        .iter()
        .map(|u| u.state.last_name.as_str())
        .collect();
    let births: Vec<Option<NaiveDate>> = batch
        .upserts
        .iter()
        .map(|u| date_of_birth(u.state))
        .collect();
    let counts: Vec<i64> = batch.upserts.iter().map(|u| i64::from(u.upserts)).collect();
    sqlx::query(
        "INSERT INTO person (id, first_name, last_name, date_of_birth, applied_events) \
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::date[], $5::bigint[]) \
         ON CONFLICT (id) DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, \
         date_of_birth = EXCLUDED.date_of_birth, applied_events = person.applied_events + EXCLUDED.applied_events, \
         updated_at = now()",
    )
    .bind(&ids)
    .bind(&first_names)
    .bind(&last_names)
    .bind(&births)
    .bind(&counts)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`apply_persons`] for balance sheets.
pub async fn apply_balance_sheets(
    tx: &mut PgConnection,
    batch: &Collapsed<'_, events::BalanceSheet>,
) -> sqlx::Result<()> {
    if !batch.deletes.is_empty() {
        sqlx::query("DELETE FROM balance_sheet WHERE id = ANY($1)")
            .bind(&batch.deletes)
            .execute(&mut *tx)
            .await?;
    }
    if batch.upserts.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = batch.upserts.iter().map(|u| u.state.id).collect();
    let persons: Vec<Uuid> = batch.upserts.iter().map(|u| u.state.person_id).collect();
    let dates: Vec<DateTime<Utc>> = batch
        .upserts
        .iter()
        .map(|u| u.state.date_calculated)
        .collect();
    let assets: Vec<i64> = batch.upserts.iter().map(|u| u.state.assets).collect();
    let liabilities: Vec<i64> = batch.upserts.iter().map(|u| u.state.liabilities).collect();
    let counts: Vec<i64> = batch.upserts.iter().map(|u| i64::from(u.upserts)).collect();
    sqlx::query(
        "INSERT INTO balance_sheet (id, person_id, date_calculated, assets, liabilities, applied_events) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[]) \
         ON CONFLICT (id) DO UPDATE SET person_id = EXCLUDED.person_id, date_calculated = EXCLUDED.date_calculated, \
         assets = EXCLUDED.assets, liabilities = EXCLUDED.liabilities, \
         applied_events = balance_sheet.applied_events + EXCLUDED.applied_events, updated_at = now()",
    )
    .bind(&ids)
    .bind(&persons)
    .bind(&dates)
    .bind(&assets)
    .bind(&liabilities)
    .bind(&counts)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

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
