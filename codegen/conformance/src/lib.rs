//! Test-only crate: the tests under `tests/` exercise the generated `contracts` crate the way
//! services use it (Avro round trips, generated routers and clients) and check that
//! `generated/` matches the contracts.
//!
//! [`toy`] holds in-memory handlers of the person and accounting APIs for those tests;
//! [`avro_fixture`] is the code generated from codegen's fixture using every supported Avro
//! construct (checked against the generator by `codegen/tests/avro_snapshots.rs`).

pub mod avro_fixture;

pub mod toy {
    //! In-memory implementations of the generated handler traits, counting the calls that
    //! reach them so tests can prove invalid requests never do.

    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::Utc;
    use contract_runtime::{ApiError, Check, Health, RequestContext};
    use contracts::accounting_api::{self, AccountingApi, BalanceSheet, BalanceSheetInput};
    use contracts::person_api::{self, PersonApi};
    use contracts::person_api::{Person, PersonInput, PersonPage, PersonPatch};
    use uuid::Uuid;

    pub const USERNAME: &str = "root";
    pub const PASSWORD: &str = "P@ssw0rd1";

    #[derive(Debug, Default)]
    pub struct Persons {
        persons: Mutex<BTreeMap<Uuid, Person>>,
        calls: AtomicUsize,
    }

    impl Persons {
        /// How many requests reached the handler.
        pub fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }

        fn call(&self) -> std::sync::MutexGuard<'_, BTreeMap<Uuid, Person>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.persons.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    fn not_found(id: Uuid) -> ApiError {
        ApiError::NotFound(format!("no person {id}"))
    }

    impl PersonApi for Persons {
        async fn list_persons(
            &self,
            context: RequestContext,
            params: person_api::ListPersonsParams,
        ) -> Result<person_api::ListPersonsResponse, ApiError> {
            let persons = self.call();
            let page = params.page.unwrap_or(1);
            let results: Vec<Person> = persons
                .values()
                .skip(usize::try_from((page - 1) * 10).unwrap_or(usize::MAX))
                .take(10)
                .cloned()
                .collect();
            if page > 1 && results.is_empty() {
                return Err(ApiError::NotFound("no such page".into()));
            }
            let count = i64::try_from(persons.len()).unwrap_or(i64::MAX);
            let next = (page * 10 < count)
                .then(|| context.url(&format!("/api/persons/?page={}", page + 1)));
            Ok(person_api::ListPersonsResponse::Ok(PersonPage {
                count,
                next,
                previous: None,
                results,
            }))
        }

        async fn create_person(
            &self,
            _context: RequestContext,
            body: PersonInput,
        ) -> Result<person_api::CreatePersonResponse, ApiError> {
            let now = Utc::now();
            let person = Person {
                id: Uuid::new_v4(),
                created: now,
                modified: now,
                first_name: body.first_name,
                last_name: body.last_name,
                date_of_birth: body.date_of_birth,
            };
            self.call().insert(person.id, person.clone());
            Ok(person_api::CreatePersonResponse::Created(person))
        }

        async fn get_person(
            &self,
            _context: RequestContext,
            params: person_api::GetPersonParams,
        ) -> Result<person_api::GetPersonResponse, ApiError> {
            let person = self
                .call()
                .get(&params.id)
                .cloned()
                .ok_or_else(|| not_found(params.id))?;
            Ok(person_api::GetPersonResponse::Ok(person))
        }

        async fn replace_person(
            &self,
            _context: RequestContext,
            params: person_api::ReplacePersonParams,
            body: PersonInput,
        ) -> Result<person_api::ReplacePersonResponse, ApiError> {
            let mut persons = self.call();
            let person = persons
                .get_mut(&params.id)
                .ok_or_else(|| not_found(params.id))?;
            person.first_name = body.first_name;
            person.last_name = body.last_name;
            person.date_of_birth = body.date_of_birth;
            person.modified = Utc::now();
            Ok(person_api::ReplacePersonResponse::Ok(person.clone()))
        }

        async fn delete_person(
            &self,
            _context: RequestContext,
            params: person_api::DeletePersonParams,
        ) -> Result<person_api::DeletePersonResponse, ApiError> {
            self.call()
                .remove(&params.id)
                .ok_or_else(|| not_found(params.id))?;
            Ok(person_api::DeletePersonResponse::NoContent)
        }

        async fn update_person(
            &self,
            _context: RequestContext,
            params: person_api::UpdatePersonParams,
            body: PersonPatch,
        ) -> Result<person_api::UpdatePersonResponse, ApiError> {
            let mut persons = self.call();
            let person = persons
                .get_mut(&params.id)
                .ok_or_else(|| not_found(params.id))?;
            if let Some(first_name) = body.first_name {
                person.first_name = first_name;
            }
            if let Some(last_name) = body.last_name {
                person.last_name = last_name;
            }
            if let Some(date_of_birth) = body.date_of_birth {
                person.date_of_birth = date_of_birth;
            }
            person.modified = Utc::now();
            Ok(person_api::UpdatePersonResponse::Ok(person.clone()))
        }

        async fn health(
            &self,
            _context: RequestContext,
        ) -> Result<person_api::HealthResponse, ApiError> {
            let health =
                Health::from_checks(BTreeMap::from([("memory".to_string(), Check::ready())]));
            Ok(person_api::HealthResponse::Ok(health))
        }
    }

    /// Balance sheets, for the digit-string extension.
    #[derive(Debug, Default)]
    pub struct BalanceSheets {
        sheets: Mutex<BTreeMap<Uuid, BalanceSheet>>,
    }

    impl BalanceSheets {
        fn sheets(&self) -> std::sync::MutexGuard<'_, BTreeMap<Uuid, BalanceSheet>> {
            self.sheets.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    impl AccountingApi for BalanceSheets {
        async fn list_balance_sheets(
            &self,
            _context: RequestContext,
            _params: accounting_api::ListBalanceSheetsParams,
        ) -> Result<accounting_api::ListBalanceSheetsResponse, ApiError> {
            let results: Vec<BalanceSheet> = self.sheets().values().cloned().collect();
            Ok(accounting_api::ListBalanceSheetsResponse::Ok(
                accounting_api::BalanceSheetPage {
                    count: i64::try_from(results.len()).unwrap_or(i64::MAX),
                    next: None,
                    previous: None,
                    results,
                },
            ))
        }

        async fn create_balance_sheet(
            &self,
            _context: RequestContext,
            body: BalanceSheetInput,
        ) -> Result<accounting_api::CreateBalanceSheetResponse, ApiError> {
            let sheet = BalanceSheet {
                id: Uuid::new_v4(),
                person_id: body.person_id,
                date_calculated: body.date_calculated.unwrap_or_else(Utc::now),
                assets: body.assets,
                liabilities: body.liabilities,
            };
            self.sheets().insert(sheet.id, sheet.clone());
            Ok(accounting_api::CreateBalanceSheetResponse::Created(sheet))
        }

        async fn get_balance_sheet(
            &self,
            _context: RequestContext,
            params: accounting_api::GetBalanceSheetParams,
        ) -> Result<accounting_api::GetBalanceSheetResponse, ApiError> {
            let sheet = self.sheets().get(&params.id).cloned();
            let sheet = sheet.ok_or_else(|| ApiError::NotFound("no balance sheet".into()))?;
            Ok(accounting_api::GetBalanceSheetResponse::Ok(sheet))
        }

        async fn replace_balance_sheet(
            &self,
            _context: RequestContext,
            _params: accounting_api::ReplaceBalanceSheetParams,
            _body: BalanceSheetInput,
        ) -> Result<accounting_api::ReplaceBalanceSheetResponse, ApiError> {
            Err(ApiError::Internal("not needed by the tests".into()))
        }

        async fn update_balance_sheet(
            &self,
            _context: RequestContext,
            params: accounting_api::UpdateBalanceSheetParams,
            body: accounting_api::BalanceSheetPatch,
        ) -> Result<accounting_api::UpdateBalanceSheetResponse, ApiError> {
            let mut sheets = self.sheets();
            let sheet = sheets
                .get_mut(&params.id)
                .ok_or_else(|| ApiError::NotFound("no balance sheet".into()))?;
            if let Some(liabilities) = body.liabilities {
                sheet.liabilities = liabilities;
            }
            if let Some(assets) = body.assets {
                sheet.assets = assets;
            }
            Ok(accounting_api::UpdateBalanceSheetResponse::Ok(
                sheet.clone(),
            ))
        }

        async fn delete_balance_sheet(
            &self,
            _context: RequestContext,
            _params: accounting_api::DeleteBalanceSheetParams,
        ) -> Result<accounting_api::DeleteBalanceSheetResponse, ApiError> {
            Ok(accounting_api::DeleteBalanceSheetResponse::NoContent)
        }

        async fn health(
            &self,
            _context: RequestContext,
        ) -> Result<accounting_api::HealthResponse, ApiError> {
            let health = Health::from_checks(BTreeMap::from([(
                "database".to_string(),
                Check::not_ready("toy has no database"),
            )]));
            Ok(accounting_api::HealthResponse::ServiceUnavailable(health))
        }
    }
}
