//! The person API: each change and its event atomically — create, replace and delete in one
//! statement each (the outbox insert appended to the change, one round trip), a patch in a
//! transaction that reads the row first (its event carries the fields it does not change).

use chrono::{DateTime, NaiveDate, Utc};
use contract_runtime::{ApiError, RequestContext, Violation};
use contracts::events;
use contracts::person_api::*;
use service_kit::conventions::UNKNOWN_DATE_OF_BIRTH;
use service_kit::health::HealthChecker;
use service_kit::http::database_unavailable;
use service_kit::outbox::{Outbox, OutboxError};
use service_kit::pagination::Page;
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::{self, PersonFields, PersonRow};

pub struct PersonService {
    pool: PgPool,
    outbox: Outbox,
    health: HealthChecker,
}

impl PersonService {
    pub fn new(pool: PgPool, outbox: Outbox, health: HealthChecker) -> Self {
        Self {
            pool,
            outbox,
            health,
        }
    }
}

/// The canonical event of a person (an unknown date of birth travels as
/// [`UNKNOWN_DATE_OF_BIRTH`], see there).
pub fn canonical(row: &PersonRow) -> events::Person {
    canonical_of(
        row.id,
        &PersonFields {
            first_name: &row.first_name,
            last_name: &row.last_name,
            date_of_birth: row.date_of_birth,
        },
    )
}

/// The canonical event of person `id` with `fields`: what a change publishes, built before
/// the change runs (in the change's statement, see `Outbox::change_and_publish`).
fn canonical_of(id: Uuid, fields: &PersonFields<'_>) -> events::Person {
    events::Person {
        id,
        first_name: fields.first_name.to_string(),
        last_name: fields.last_name.to_string(),
        date_of_birth: fields
            .date_of_birth
            .map(|d| d.date_naive())
            .unwrap_or(UNKNOWN_DATE_OF_BIRTH),
    }
}

/// The earliest date of birth the API accepts: the canonical event carries an unknown date
/// of birth as [`UNKNOWN_DATE_OF_BIRTH`] (0001-01-01), so no real one may be that early.
pub const EARLIEST_DATE_OF_BIRTH: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("1900-01-01 is a valid date"),
};

/// Why `date_of_birth` is refused on `today` (UTC), if it is: before
/// [`EARLIEST_DATE_OF_BIRTH`] or in the future. The OpenAPI spec cannot bound a date-time,
/// so this rule is the handler's.
pub fn date_of_birth_violation(
    date_of_birth: Option<DateTime<Utc>>,
    today: NaiveDate,
) -> Option<Violation> {
    let date = date_of_birth?.date_naive();
    let message = if date < EARLIEST_DATE_OF_BIRTH {
        format!("must not be before {EARLIEST_DATE_OF_BIRTH}")
    } else if date > today {
        format!("must not be in the future (today is {today})")
    } else {
        return None;
    };
    Some(Violation::new("/body/date_of_birth", message))
}

fn check_date_of_birth(date_of_birth: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    match date_of_birth_violation(date_of_birth, Utc::now().date_naive()) {
        Some(violation) => Err(ApiError::Invalid(vec![violation])),
        None => Ok(()),
    }
}

fn to_model(row: PersonRow) -> Person {
    Person {
        id: row.id,
        created: row.created,
        modified: row.modified,
        first_name: row.first_name,
        last_name: row.last_name,
        date_of_birth: row.date_of_birth,
    }
}

fn outbox_failed(error: OutboxError) -> ApiError {
    if error.is_transient() {
        let dependency = match &error {
            OutboxError::Codec(_) => "schema registry",
            OutboxError::Database(_) => "database",
        };
        service_kit::http::unavailable(dependency, &error)
    } else {
        ApiError::internal(error)
    }
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no person with id {id}"))
}

impl PersonApi for PersonService {
    async fn list_persons(
        &self,
        context: RequestContext,
        params: ListPersonsParams,
    ) -> Result<ListPersonsResponse, ApiError> {
        let count = store::count(&self.pool)
            .await
            .map_err(database_unavailable)?;
        let page = Page::of(&context, "/api/persons/", params.page, count)?;
        let rows = store::page(&self.pool, page.offset, page.limit)
            .await
            .map_err(database_unavailable)?;
        Ok(ListPersonsResponse::Ok(PersonPage {
            count,
            next: page.next,
            previous: page.previous,
            results: rows.into_iter().map(to_model).collect(),
        }))
    }

    async fn create_person(
        &self,
        _context: RequestContext,
        body: PersonInput,
    ) -> Result<CreatePersonResponse, ApiError> {
        check_date_of_birth(body.date_of_birth)?;
        let fields = PersonFields {
            first_name: &body.first_name,
            last_name: &body.last_name,
            date_of_birth: body.date_of_birth,
        };
        let id = Uuid::new_v4();
        let row: PersonRow = self
            .outbox
            .change_and_publish(
                &self.pool,
                store::insert(id, &fields),
                &canonical_of(id, &fields),
            )
            .await
            .map_err(outbox_failed)?
            .ok_or_else(|| ApiError::internal("insert returned no row"))?;
        tracing::info!(person_id = %row.id, "person created");
        Ok(CreatePersonResponse::Created(to_model(row)))
    }

    async fn get_person(
        &self,
        _context: RequestContext,
        params: GetPersonParams,
    ) -> Result<GetPersonResponse, ApiError> {
        let row = store::get(&self.pool, params.id)
            .await
            .map_err(database_unavailable)?
            .ok_or_else(|| not_found(params.id))?;
        Ok(GetPersonResponse::Ok(to_model(row)))
    }

    async fn replace_person(
        &self,
        _context: RequestContext,
        params: ReplacePersonParams,
        body: PersonInput,
    ) -> Result<ReplacePersonResponse, ApiError> {
        check_date_of_birth(body.date_of_birth)?;
        let fields = PersonFields {
            first_name: &body.first_name,
            last_name: &body.last_name,
            date_of_birth: body.date_of_birth,
        };
        let row: PersonRow = self
            .outbox
            .change_and_publish(
                &self.pool,
                store::update(params.id, &fields),
                &canonical_of(params.id, &fields),
            )
            .await
            .map_err(outbox_failed)?
            .ok_or_else(|| not_found(params.id))?;
        Ok(ReplacePersonResponse::Ok(to_model(row)))
    }

    async fn update_person(
        &self,
        _context: RequestContext,
        params: UpdatePersonParams,
        body: PersonPatch,
    ) -> Result<UpdatePersonResponse, ApiError> {
        check_date_of_birth(body.date_of_birth.flatten())?;
        // The event carries every field, so the unchanged ones are read first, with the row
        // locked until the commit: concurrent changes publish in the order they commit.
        let mut tx = self.pool.begin().await.map_err(database_unavailable)?;
        let current = store::get_for_update(&mut tx, params.id)
            .await
            .map_err(database_unavailable)?
            .ok_or_else(|| not_found(params.id))?;
        let fields = PersonFields {
            first_name: body.first_name.as_deref().unwrap_or(&current.first_name),
            last_name: body.last_name.as_deref().unwrap_or(&current.last_name),
            date_of_birth: body.date_of_birth.unwrap_or(current.date_of_birth),
        };
        let row: PersonRow = self
            .outbox
            .change_and_publish(
                &mut *tx,
                store::update(params.id, &fields),
                &canonical_of(params.id, &fields),
            )
            .await
            .map_err(outbox_failed)?
            .ok_or_else(|| ApiError::internal("the locked row was not updated"))?;
        tx.commit().await.map_err(database_unavailable)?;
        Ok(UpdatePersonResponse::Ok(to_model(row)))
    }

    async fn delete_person(
        &self,
        _context: RequestContext,
        params: DeletePersonParams,
    ) -> Result<DeletePersonResponse, ApiError> {
        // A tombstone on the compacted entity topic: "this person is gone".
        let _: (Uuid,) = self
            .outbox
            .change_and_publish_tombstone::<events::Person, _>(
                &self.pool,
                store::delete(params.id),
                &params.id.to_string(),
            )
            .await
            .map_err(outbox_failed)?
            .ok_or_else(|| not_found(params.id))?;
        tracing::info!(person_id = %params.id, "person deleted");
        Ok(DeletePersonResponse::NoContent)
    }

    async fn health(&self, _context: RequestContext) -> Result<HealthResponse, ApiError> {
        Ok(self
            .health
            .respond(HealthResponse::Ok, HealthResponse::ServiceUnavailable)
            .await)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn dates_of_birth_from_1900_to_today_are_accepted() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        let at = |y, m, d, h| Some(Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap());
        let cases = [
            (None, None),
            (at(1980, 2, 23, 0), None),
            (at(1900, 1, 1, 0), None),
            (at(2026, 12, 2, 23), None),
            (at(1899, 12, 31, 23), Some("must not be before 1900-01-01")),
            (at(1, 1, 1, 0), Some("must not be before 1900-01-01")),
            (
                at(2026, 12, 3, 0),
                Some("must not be in the future (today is 2026-12-02)"),
            ),
        ];
        for (date_of_birth, expected) in cases {
            let violation = date_of_birth_violation(date_of_birth, today);
            assert_eq!(
                violation.as_ref().map(|v| v.message.as_str()),
                expected,
                "{date_of_birth:?}"
            );
            if let Some(violation) = violation {
                assert_eq!(violation.pointer, "/body/date_of_birth");
            }
        }
    }
}
