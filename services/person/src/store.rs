//! The person table.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{FromRow, PgConnection, PgPool, Postgres};
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct PersonRow {
    pub id: Uuid,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<DateTime<Utc>>,
}

/// The writable fields.
pub struct PersonFields<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub date_of_birth: Option<DateTime<Utc>>,
}

pub async fn count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM person")
        .fetch_one(pool)
        .await
}

pub async fn page(pool: &PgPool, offset: i64, limit: i64) -> sqlx::Result<Vec<PersonRow>> {
    sqlx::query_as("SELECT * FROM person ORDER BY last_name, first_name, id LIMIT $1 OFFSET $2")
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
}

pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<PersonRow>> {
    sqlx::query_as("SELECT * FROM person WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The row, locked until the transaction ends, so concurrent changes of one person publish
/// their events in the order they commit (a PATCH reads the row to build its full event).
pub async fn get_for_update(tx: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<PersonRow>> {
    sqlx::query_as("SELECT * FROM person WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(tx)
        .await
}

/// The change of a person's create, replace and delete: one statement each, returning the
/// row (the id for a delete), to which the outbox appends its event
/// ([`service_kit::outbox::Outbox::change_and_publish`]).
pub type Change<'a> = Query<'a, Postgres, PgArguments>;

/// Inserts a person with the id the service chose (its event names it before the insert).
pub fn insert<'a>(id: Uuid, fields: &PersonFields<'a>) -> Change<'a> {
    sqlx::query(
        "INSERT INTO person (id, created, modified, first_name, last_name, date_of_birth) \
         VALUES ($1, now(), now(), $2, $3, $4) RETURNING *",
    )
    .bind(id)
    .bind(fields.first_name)
    .bind(fields.last_name)
    .bind(fields.date_of_birth)
}

/// Sets every writable field; the UPDATE locks the row until it commits, so concurrent
/// changes of one person publish their events in the order they commit.
pub fn update<'a>(id: Uuid, fields: &PersonFields<'a>) -> Change<'a> {
    sqlx::query(
        "UPDATE person SET modified = now(), first_name = $2, last_name = $3, date_of_birth = $4 \
         WHERE id = $1 RETURNING *",
    )
    .bind(id)
    .bind(fields.first_name)
    .bind(fields.last_name)
    .bind(fields.date_of_birth)
}

pub fn delete<'a>(id: Uuid) -> Change<'a> {
    sqlx::query("DELETE FROM person WHERE id = $1 RETURNING id").bind(id)
}
