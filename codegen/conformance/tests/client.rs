//! The generated typed clients against the generated routers, served on a local port.

use std::sync::{Arc, Mutex};

use contract_conformance::toy::{BalanceSheets, PASSWORD, Persons, USERNAME};
use contract_runtime::{ClientError, HttpClient, SingleUser};
use contracts::accounting_api::{self, BalanceSheetInput};
use contracts::person_api::{
    self, CreatePersonResponse, DeletePersonResponse, GetPersonResponse, HealthResponse,
    ListPersonsResponse, PersonInput, PersonPatch, UpdatePersonResponse,
};
use uuid::Uuid;

/// Serves `router` on 127.0.0.1 and returns its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

async fn person_client() -> (person_api::Client, String) {
    let auth = Arc::new(SingleUser::new(USERNAME, PASSWORD));
    let base_url = serve(person_api::router(Arc::new(Persons::default()), auth)).await;
    let http = HttpClient::new(&base_url).with_credentials(USERNAME, PASSWORD);
    (person_api::Client::new(http), base_url)
}

#[tokio::test]
async fn every_person_operation_round_trips() {
    let (client, _) = person_client().await;
    let input = PersonInput {
        first_name: "Bart".into(),
        last_name: "Simpson".into(),
        date_of_birth: Some("1980-02-23T00:00:00Z".parse().expect("date-time")),
    };
    let CreatePersonResponse::Created(created) =
        client.create_person(&input).await.expect("create");
    assert_eq!(created.first_name, "Bart");
    assert_eq!(created.date_of_birth, input.date_of_birth);

    let GetPersonResponse::Ok(found) = client.get_person(created.id).await.expect("get");
    assert_eq!(found, created);

    let ListPersonsResponse::Ok(page) = client.list_persons(Some(1)).await.expect("list");
    assert_eq!(page.count, 1);
    assert_eq!(page.results, std::slice::from_ref(&created));

    let clear = PersonPatch {
        date_of_birth: Some(None),
        ..PersonPatch::default()
    };
    let UpdatePersonResponse::Ok(updated) = client
        .update_person(created.id, &clear)
        .await
        .expect("patch");
    assert_eq!(updated.date_of_birth, None);
    assert_eq!(updated.first_name, "Bart");

    let DeletePersonResponse::NoContent = client.delete_person(created.id).await.expect("delete");
    let error = client.get_person(created.id).await.expect_err("gone");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
    assert!(matches!(error, ClientError::Problem(_)), "{error}");

    let HealthResponse::Ok(health) = client.health().await.expect("health") else {
        panic!("toy persons are healthy");
    };
    assert!(health.is_ok());
}

#[tokio::test]
async fn problems_are_decoded_into_errors() {
    let (client, base_url) = person_client().await;
    let too_long = PersonInput {
        first_name: "x".repeat(51),
        last_name: String::new(),
        date_of_birth: None,
    };
    let error = client.create_person(&too_long).await.expect_err("invalid");
    let problem = error.problem().expect("a problem document");
    assert_eq!(problem.status, 400);
    let pointers: Vec<_> = problem
        .errors
        .iter()
        .flatten()
        .map(|v| v.pointer.as_str())
        .collect();
    assert_eq!(pointers, ["/body/first_name", "/body/last_name"]);

    let stranger = person_api::Client::new(HttpClient::new(&base_url));
    let error = stranger
        .list_persons(None)
        .await
        .expect_err("unauthenticated");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    assert!(
        stranger.health().await.is_ok(),
        "health needs no credentials"
    );
}

#[tokio::test]
async fn the_observer_sees_each_exchange() {
    let auth = Arc::new(SingleUser::new(USERNAME, PASSWORD));
    let base_url = serve(accounting_api::router(
        Arc::new(BalanceSheets::default()),
        auth,
    ))
    .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let http = HttpClient::new(&base_url)
        .with_credentials(USERNAME, PASSWORD)
        .with_observer(move |exchange| {
            log.lock().expect("log").push(exchange.to_string());
        });
    let client = accounting_api::Client::new(http);
    let input = BalanceSheetInput {
        person_id: Uuid::new_v4(),
        date_calculated: None,
        assets: 3_340_000,
        liabilities: 537_300,
    };
    let accounting_api::CreateBalanceSheetResponse::Created(sheet) =
        client.create_balance_sheet(&input).await.expect("create");
    assert_eq!(sheet.liabilities, 537_300);
    let accounting_api::HealthResponse::ServiceUnavailable(health) =
        client.health().await.expect("health")
    else {
        panic!("the toy accounting service reports no database");
    };
    assert!(!health.is_ok());

    let seen = seen.lock().expect("log");
    assert_eq!(seen.len(), 2);
    assert!(
        seen[0].starts_with(&format!("POST {base_url}/api/balance-sheets/\n")),
        "{}",
        seen[0]
    );
    assert!(seen[0].contains("-> 201 Created"), "{}", seen[0]);
    assert!(
        seen[1].contains("-> 503 Service Unavailable"),
        "{}",
        seen[1]
    );
}
