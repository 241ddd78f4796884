//! The person API: each change and its event in one transaction.

use contract_runtime::{ApiError, RequestContext};
use contracts::events;
use contracts::person_api::*;
use service_kit::conventions::UNKNOWN_DATE_OF_BIRTH;
use service_kit::health::HealthChecker;
use service_kit::http::database_unavailable;
use service_kit::outbox::{Outbox, OutboxError};
use service_kit::pagination::Page;
use sqlx::PgPool;

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

    /// Runs `change` and publishes the person's resulting state, atomically.
    async fn change_and_publish(
        &self,
        change: impl AsyncFnOnce(&mut sqlx::PgConnection) -> Result<Option<PersonRow>, sqlx::Error>,
    ) -> Result<Option<PersonRow>, ApiError> {
        let mut tx = self.pool.begin().await.map_err(database_unavailable)?;
        let Some(row) = change(&mut tx).await.map_err(database_unavailable)? else {
            return Ok(None);
        };
        self.outbox
            .publish(&mut tx, &canonical(&row))
            .await
            .map_err(outbox_failed)?;
        tx.commit().await.map_err(database_unavailable)?;
        Ok(Some(row))
    }
}

/// The canonical event of a person (an unknown date of birth travels as
/// [`UNKNOWN_DATE_OF_BIRTH`], see there).
pub fn canonical(row: &PersonRow) -> events::Person {
    events::Person {
        id: row.id,
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        date_of_birth: row
            .date_of_birth
            .map(|d| d.date_naive())
            .unwrap_or(UNKNOWN_DATE_OF_BIRTH),
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

fn not_found(id: uuid::Uuid) -> ApiError {
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
        let fields = PersonFields {
            first_name: &body.first_name,
            last_name: &body.last_name,
            date_of_birth: body.date_of_birth,
        };
        let row = self
            .change_and_publish(async |tx| store::insert(tx, &fields).await.map(Some))
            .await?
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
        let fields = PersonFields {
            first_name: &body.first_name,
            last_name: &body.last_name,
            date_of_birth: body.date_of_birth,
        };
        let row = self
            .change_and_publish(async |tx| store::update(tx, params.id, &fields).await)
            .await?
            .ok_or_else(|| not_found(params.id))?;
        Ok(ReplacePersonResponse::Ok(to_model(row)))
    }

    async fn update_person(
        &self,
        _context: RequestContext,
        params: UpdatePersonParams,
        body: PersonPatch,
    ) -> Result<UpdatePersonResponse, ApiError> {
        let row = self
            .change_and_publish(async |tx| {
                let Some(current) = store::get_for_update(tx, params.id).await? else {
                    return Ok(None);
                };
                let fields = PersonFields {
                    first_name: body.first_name.as_deref().unwrap_or(&current.first_name),
                    last_name: body.last_name.as_deref().unwrap_or(&current.last_name),
                    date_of_birth: body.date_of_birth.unwrap_or(current.date_of_birth),
                };
                store::update(tx, params.id, &fields).await
            })
            .await?
            .ok_or_else(|| not_found(params.id))?;
        Ok(UpdatePersonResponse::Ok(to_model(row)))
    }

    async fn delete_person(
        &self,
        _context: RequestContext,
        params: DeletePersonParams,
    ) -> Result<DeletePersonResponse, ApiError> {
        let mut tx = self.pool.begin().await.map_err(database_unavailable)?;
        if !store::delete(&mut tx, params.id)
            .await
            .map_err(database_unavailable)?
        {
            return Err(not_found(params.id));
        }
        // A tombstone on the compacted entity topic: "this person is gone".
        self.outbox
            .publish_tombstone::<events::Person>(&mut tx, &params.id.to_string())
            .await
            .map_err(outbox_failed)?;
        tx.commit().await.map_err(database_unavailable)?;
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
