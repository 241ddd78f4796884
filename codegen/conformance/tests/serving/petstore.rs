//! `petstore.yaml`: `allOf`, `oneOf` with a discriminator, `anyOf`, defaults, `readOnly` /
//! `writeOnly`, `multipleOf`, `uniqueItems`, `min/maxProperties`, unsigned ranges, formats,
//! ECMA patterns with look-around, header / cookie / array / nullable query parameters,
//! `4XX` and `default` responses, response headers, declared `403`/`409`/`429` with the spec's
//! own `Error` schema, form, multipart, octet-stream and text bodies, bearer and API-key
//! (header, query, cookie) security with alternatives.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use contract_runtime::server::MultipartBody;
use contract_runtime::{
    ApiError, ApiKeyAuthenticator, BearerAuthenticator, ClientError, HttpClient, RequestContext,
    Security,
};
use serde_json::json;

use super::{Calls, call, serve};
use crate::petstore_api::*;

const TOKEN: &str = "good-token";
const KEY: &str = "good-key";

struct Tokens;

impl BearerAuthenticator for Tokens {
    fn authenticate(&self, scheme: &str, token: &str, scopes: &[&str]) -> Option<String> {
        (token == TOKEN).then(|| format!("{scheme} user{}", scopes.join(",")))
    }
}

struct Keys;

impl ApiKeyAuthenticator for Keys {
    fn authenticate(&self, scheme: &str, key: &str) -> Option<String> {
        (key == KEY).then(|| format!("{scheme} holder"))
    }
}

#[derive(Default)]
struct Shop {
    calls: Calls,
    pets: Mutex<BTreeMap<u64, Pet>>,
    photos: Mutex<BTreeMap<u64, Bytes>>,
    /// What the handler was given, for the tests to inspect.
    last_list: Mutex<Option<ListPetsParams>>,
    last_new_pet: Mutex<Option<NewPet>>,
    last_principal: Mutex<Option<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn error(code: i32, message: &str) -> Error {
    Error {
        code,
        message: message.to_string(),
    }
}

impl Shop {
    fn enter(&self, context: &RequestContext) {
        self.calls.hit();
        *lock(&self.last_principal) = context.principal.clone();
    }
}

impl PetstoreApi for Shop {
    async fn list_pets(
        &self,
        context: RequestContext,
        params: ListPetsParams,
    ) -> Result<ListPetsResponse, ApiError> {
        self.enter(&context);
        *lock(&self.last_list) = Some(params.clone());
        match params.cursor.as_deref() {
            Some("expired") => {
                return Ok(ListPetsResponse::ClientError {
                    status: StatusCode::GONE,
                    body: error(410, "the cursor expired"),
                });
            }
            Some("broken") => {
                return Ok(ListPetsResponse::Default {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    body: error(503, "the shelf is being restocked"),
                });
            }
            _ => {}
        }
        let pets: Vec<Pet> = lock(&self.pets)
            .values()
            .filter(|pet| {
                params
                    .tags
                    .as_ref()
                    .is_none_or(|tags| pet.tag.as_ref().is_some_and(|t| tags.contains(t)))
            })
            .take(usize::from(params.limit))
            .cloned()
            .collect();
        Ok(ListPetsResponse::Ok {
            body: pets,
            headers: ListPetsOkHeaders {
                x_rate_limit: 100,
                x_next: Some("/pets?cursor=2".into()),
            },
        })
    }

    async fn create_pet(
        &self,
        context: RequestContext,
        body: NewPet,
    ) -> Result<CreatePetResponse, ApiError> {
        self.enter(&context);
        *lock(&self.last_new_pet) = Some(body.clone());
        match body.name.as_str() {
            "Flood" => {
                return Ok(CreatePetResponse::TooManyRequests {
                    body: error(429, "one pet a minute"),
                    headers: CreatePetTooManyRequestsHeaders { retry_after: 60 },
                });
            }
            "Full" => {
                // The document says 400; the variant's status is what is sent, in both.
                return Ok(CreatePetResponse::Default {
                    status: StatusCode::INSUFFICIENT_STORAGE,
                    body: contract_runtime::Problem::new(StatusCode::BAD_REQUEST)
                        .with_detail("the shop is full"),
                });
            }
            name if lock(&self.pets).values().any(|p| p.name == name) => {
                return Ok(CreatePetResponse::Conflict(error(409, "taken")));
            }
            _ => {}
        }
        let mut pets = lock(&self.pets);
        let id = pets.keys().next_back().map_or(1, |last| last + 1);
        let pet = Pet {
            name: body.name,
            tag: body.tag,
            kind: body.kind,
            weight_kg: body.weight_kg,
            age_months: body.age_months,
            status: body.status,
            vaccinated: body.vaccinated,
            homepage: body.homepage,
            chip_code: body.chip_code,
            callback_url: body.callback_url,
            id: Some(id),
            created_at: Some(chrono::Utc::now()),
        };
        pets.insert(id, pet.clone());
        Ok(CreatePetResponse::Created(pet))
    }

    async fn show_pet_by_id(
        &self,
        context: RequestContext,
        params: ShowPetByIdParams,
    ) -> Result<ShowPetByIdResponse, ApiError> {
        self.enter(&context);
        Ok(match lock(&self.pets).get(&params.pet_id) {
            Some(pet) => ShowPetByIdResponse::Ok(pet.clone()),
            None => ShowPetByIdResponse::NotFound,
        })
    }

    async fn update_pet(
        &self,
        context: RequestContext,
        params: UpdatePetParams,
        body: Pet,
    ) -> Result<UpdatePetResponse, ApiError> {
        self.enter(&context);
        let mut pets = lock(&self.pets);
        let Some(stored) = pets.get_mut(&params.pet_id) else {
            return Err(ApiError::NotFound(format!("no pet {}", params.pet_id)));
        };
        // The read-only fields stay the shop's.
        let (id, created_at) = (stored.id, stored.created_at);
        *stored = Pet {
            id,
            created_at,
            ..body
        };
        Ok(UpdatePetResponse::Ok(stored.clone()))
    }

    async fn delete_pet(
        &self,
        context: RequestContext,
        params: DeletePetParams,
    ) -> Result<DeletePetResponse, ApiError> {
        self.enter(&context);
        if params.api_key.as_deref() != Some("owner") {
            return Ok(DeletePetResponse::Forbidden(error(403, "not your pet")));
        }
        lock(&self.pets).remove(&params.pet_id);
        Ok(DeletePetResponse::NoContent)
    }

    async fn download_photo(
        &self,
        context: RequestContext,
        params: DownloadPhotoParams,
    ) -> Result<DownloadPhotoResponse, ApiError> {
        self.enter(&context);
        Ok(match lock(&self.photos).get(&params.pet_id) {
            Some(photo) => DownloadPhotoResponse::Ok(photo.clone()),
            None => DownloadPhotoResponse::NotFound,
        })
    }

    async fn upload_photo(
        &self,
        context: RequestContext,
        params: UploadPhotoParams,
        body: Bytes,
    ) -> Result<UploadPhotoResponse, ApiError> {
        self.enter(&context);
        lock(&self.photos).insert(params.pet_id, body);
        Ok(UploadPhotoResponse::NoContent)
    }

    async fn attach_document(
        &self,
        context: RequestContext,
        _params: AttachDocumentParams,
        body: MultipartBody,
    ) -> Result<AttachDocumentResponse, ApiError> {
        self.enter(&context);
        let file = body
            .part("file")
            .ok_or_else(|| ApiError::internal("the router let a body without `file` through"))?;
        Ok(AttachDocumentResponse::Created(file.bytes.len() as u64))
    }

    async fn replace_notes(
        &self,
        context: RequestContext,
        _params: ReplaceNotesParams,
        body: Option<String>,
    ) -> Result<ReplaceNotesResponse, ApiError> {
        self.enter(&context);
        Ok(ReplaceNotesResponse::Ok(body.unwrap_or_default()))
    }

    async fn register_owner(
        &self,
        context: RequestContext,
        body: Owner,
    ) -> Result<RegisterOwnerResponse, ApiError> {
        self.enter(&context);
        assert!(body.password.is_some(), "the request carried the password");
        // The handler returns the owner as given, password included: the router must not send it.
        Ok(RegisterOwnerResponse::Created(body))
    }

    async fn search_pets(
        &self,
        context: RequestContext,
        body: Query,
    ) -> Result<SearchPetsResponse, ApiError> {
        self.enter(&context);
        let pets = lock(&self.pets);
        let found = pets
            .values()
            .filter(|pet| match &body {
                Query::ByName(query) => pet.name == query.name,
                Query::ByTags(query) => pet.tag.as_ref().is_some_and(|t| query.tags.contains(t)),
            })
            .cloned()
            .collect();
        Ok(SearchPetsResponse::Ok(found))
    }

    async fn ping(&self, context: RequestContext) -> Result<PingResponse, ApiError> {
        self.enter(&context);
        Ok(PingResponse::Ok(()))
    }
}

fn shop() -> (Arc<Shop>, Router) {
    let shop = Arc::new(Shop::default());
    let security = Security::new()
        .with_bearer(Arc::new(Tokens))
        .with_api_key(Arc::new(Keys));
    let router = router_with_security(Arc::clone(&shop), security);
    (shop, router)
}

fn rex() -> NewPet {
    NewPet {
        name: "Rex".into(),
        tag: Some("good".into()),
        kind: Animal::Dog(Dog {
            pet_type: "dog".into(),
            breed: DogBreed::Husky,
        }),
        weight_kg: Some(12.3),
        age_months: Some(30),
        status: Some(PetStatus::Available),
        vaccinated: true,
        homepage: Some("https://rex.example/".into()),
        chip_code: None,
        callback_url: None,
    }
}

#[tokio::test]
async fn good_requests_reach_the_handler_through_the_typed_client() {
    let (shop, router) = shop();
    let base = serve(router).await;
    let client = Client::new(HttpClient::new(&base).with_bearer_token(TOKEN));

    // `allOf` merged, `oneOf` by discriminator, the handler's `Pet` with its read-only fields.
    let CreatePetResponse::Created(created) = client.create_pet(&rex()).await.expect("created")
    else {
        panic!("not created")
    };
    assert_eq!(created.id, Some(1));
    assert!(created.created_at.is_some());
    assert_eq!(created.kind, rex().kind);

    // Defaults are applied to what the handler gets: `vaccinated`, and `lives` inside a `Cat`.
    let answer = call(Method::POST, "/pets")
        .bearer(TOKEN)
        .json(&json!({"name": "Tom", "kind": {"petType": "cat", "indoor": true}}))
        .send(&client_router(&shop))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.bytes);
    let given = lock(&shop.last_new_pet).clone().expect("the handler ran");
    assert!(!given.vaccinated);
    assert_eq!(
        given.kind,
        Animal::Cat(Cat {
            pet_type: "cat".into(),
            indoor: true,
            lives: 9
        })
    );
    // The same body as a form (`kind` as JSON text), with the API key instead of the token.
    let form = "name=Lizzy&kind=%7B%22petType%22%3A%22Lizard%22%7D&weightKg=0.3&vaccinated=true";
    let answer = call(Method::POST, "/pets")
        .header("X-API-Key", KEY)
        .body("application/x-www-form-urlencoded", form)
        .send(&client_router(&shop))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.bytes);
    assert_eq!(answer.json()["kind"], json!({"petType": "Lizard"}));
    assert_eq!(answer.json()["weightKg"], json!(0.3));
    assert_eq!(
        lock(&shop.last_principal).as_deref(),
        Some("apiKeyHeader holder")
    );

    // Declared error responses with the spec's own `Error` schema, and a response header.
    let conflict = client.create_pet(&rex()).await.expect("answered");
    assert_eq!(conflict, CreatePetResponse::Conflict(error(409, "taken")));
    let flood = NewPet {
        name: "Flood".into(),
        ..rex()
    };
    assert_eq!(
        client.create_pet(&flood).await.expect("answered"),
        CreatePetResponse::TooManyRequests {
            body: error(429, "one pet a minute"),
            headers: CreatePetTooManyRequestsHeaders { retry_after: 60 },
        }
    );

    // A `default` response declared as a problem document is sent as one, with the status
    // the handler chose; the client reports it as the service's problem.
    let full = NewPet {
        name: "Full".into(),
        ..rex()
    };
    let answer = call(Method::POST, "/pets")
        .bearer(TOKEN)
        .json(&serde_json::to_value(&full).expect("JSON"))
        .send(&client_router(&shop))
        .await;
    answer.assert_problem(StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(answer.json()["detail"], "the shop is full");
    let refused = client.create_pet(&full).await.expect_err("a problem");
    assert_eq!(refused.status(), Some(StatusCode::INSUFFICIENT_STORAGE));

    // Array (exploded and comma), nullable, header and cookie parameters, a default, and the
    // response's headers.
    let tags = ["good".to_string()];
    let listed = client
        .list_pets(
            Some(&tags),
            Some(&[1, 2]),
            Some(&[ListPetsFieldsItem::Name, ListPetsFieldsItem::Tag]),
            None,
            Some(PetStatus::Available),
            None,
            Some(uuid::Uuid::nil()),
            Some("s1"),
        )
        .await
        .expect("listed");
    let ListPetsResponse::Ok { body, headers } = listed else {
        panic!("{listed:?}")
    };
    assert_eq!(body.len(), 1);
    assert_eq!(body[0].name, "Rex");
    assert_eq!(
        headers,
        ListPetsOkHeaders {
            x_rate_limit: 100,
            x_next: Some("/pets?cursor=2".into())
        }
    );
    let params = lock(&shop.last_list).clone().expect("the handler ran");
    assert_eq!(
        params,
        ListPetsParams {
            tags: Some(vec!["good".into()]),
            ids: Some(vec![1, 2]),
            fields: Some(vec![ListPetsFieldsItem::Name, ListPetsFieldsItem::Tag]),
            limit: 20,
            status: Some(PetStatus::Available),
            cursor: None,
            x_request_id: Some(uuid::Uuid::nil()),
            session: Some("s1".into()),
        }
    );
    // `4XX` and `default` responses carry the status the handler chose.
    let gone = client
        .list_pets(None, None, None, None, None, Some("expired"), None, None)
        .await
        .expect("answered");
    assert_eq!(
        gone,
        ListPetsResponse::ClientError {
            status: StatusCode::GONE,
            body: error(410, "the cursor expired")
        }
    );
    let broken = client
        .list_pets(None, None, None, None, None, Some("broken"), None, None)
        .await
        .expect("answered");
    assert_eq!(
        broken,
        ListPetsResponse::Default {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: error(503, "the shelf is being restocked")
        }
    );

    // `readOnly` fields the client holds are not sent (the router would refuse them); the
    // shop keeps its own.
    let renamed = Pet {
        name: "Rexy".into(),
        id: Some(99),
        ..created.clone()
    };
    let UpdatePetResponse::Ok(updated) = client.update_pet(1, &renamed).await.expect("updated");
    assert_eq!(updated.name, "Rexy");
    assert_eq!(updated.id, Some(1));
    assert_eq!(updated.created_at, created.created_at);

    // `security: [{}, bearer]`: anyone may look.
    let anonymous = Client::new(HttpClient::new(&base));
    assert!(matches!(
        anonymous.show_pet_by_id(1).await.expect("shown"),
        ShowPetByIdResponse::Ok(pet) if pet.name == "Rexy"
    ));
    assert_eq!(
        anonymous.show_pet_by_id(7).await.expect("answered"),
        ShowPetByIdResponse::NotFound
    );
    assert_eq!(*lock(&shop.last_principal), None);

    // A declared 403 with the spec's error schema, chosen by the handler.
    assert_eq!(
        client.delete_pet(1, None).await.expect("answered"),
        DeletePetResponse::Forbidden(error(403, "not your pet"))
    );

    // Octet-stream in and out; the API key in the query, then in a cookie.
    let photo = vec![0_u8, 159, 146, 150, 255];
    let by_query = Client::new(HttpClient::new(&base).with_api_key("apiKeyQuery", KEY));
    assert_eq!(
        by_query
            .upload_photo(1, photo.clone())
            .await
            .expect("uploaded"),
        UploadPhotoResponse::NoContent
    );
    assert_eq!(
        lock(&shop.last_principal).as_deref(),
        Some("apiKeyQuery holder")
    );
    let by_cookie = Client::new(HttpClient::new(&base).with_api_key("apiKeyCookie", KEY));
    by_cookie
        .upload_photo(1, photo.clone())
        .await
        .expect("uploaded");
    assert_eq!(
        lock(&shop.last_principal).as_deref(),
        Some("apiKeyCookie holder")
    );
    assert_eq!(
        anonymous.download_photo(1).await.expect("downloaded"),
        DownloadPhotoResponse::Ok(Bytes::from(photo))
    );

    // Multipart, text, `writeOnly` kept out of the response, `anyOf`, a null body.
    let document = MultipartBody::new().text("kind", "pedigree").file(
        "file",
        "pedigree.pdf",
        "application/pdf",
        b"%PDF-1.7".to_vec(),
    );
    assert_eq!(
        anonymous
            .attach_document(1, &document)
            .await
            .expect("attached"),
        AttachDocumentResponse::Created(8)
    );
    assert_eq!(
        anonymous
            .replace_notes(1, Some("likes snow"))
            .await
            .expect("replaced"),
        ReplaceNotesResponse::Ok("likes snow".into())
    );
    let owner = Owner {
        email: "lisa@example.org".into(),
        password: Some("correct horse".into()),
        address: Address {
            city: "Springfield".into(),
            zip: Some("49007".into()),
            lines: Some(vec!["742 Evergreen Terrace".into()]),
        },
        server: Some("192.0.2.1".parse().expect("an IPv4 address")),
        server_v6: Some("2001:db8::1".parse().expect("an IPv6 address")),
        host: Some("lisa.example.org".into()),
        avatar: Some("aGk=".into()),
        contact: None,
    };
    let RegisterOwnerResponse::Created(registered) =
        anonymous.register_owner(&owner).await.expect("registered");
    assert_eq!(registered.password, None);
    assert_eq!(
        registered,
        Owner {
            password: None,
            ..owner
        }
    );
    let by_tags = Query::ByTags(QueryByTags {
        tags: vec!["good".into()],
    });
    let SearchPetsResponse::Ok(found) = anonymous.search_pets(&by_tags).await.expect("searched");
    assert_eq!(found.len(), 1);
    assert_eq!(
        anonymous.ping().await.expect("pinged"),
        PingResponse::Ok(())
    );
}

/// The router of an existing shop, for hand-written requests next to the client's.
fn client_router(shop: &Arc<Shop>) -> Router {
    let security = Security::new()
        .with_bearer(Arc::new(Tokens))
        .with_api_key(Arc::new(Keys));
    router_with_security(Arc::clone(shop), security)
}

#[tokio::test]
async fn a_write_only_property_is_never_in_a_response() {
    let (_, router) = shop();
    let answer = call(Method::POST, "/owners")
        .json(&json!({
            "email": "bart@example.org",
            "password": "eat my shorts",
            "address": {"city": "Springfield"}
        }))
        .send(&router)
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.bytes);
    assert_eq!(
        answer.json(),
        json!({"email": "bart@example.org", "address": {"city": "Springfield"}})
    );
}

#[tokio::test]
async fn every_kind_of_bad_input_is_a_400_naming_every_violation() {
    let (shop, router) = shop();
    let long_session = "s".repeat(65);

    // Parameters: array items (unique, unsigned), unsigned range, enum, header format, cookie
    // length.
    call(
        Method::GET,
        "/pets?tags=a&tags=b&tags=a&ids=1,x,-1,4294967296&fields=name%7Ccolour&limit=0&status=lost",
    )
    .bearer(TOKEN)
    .header("X-Request-Id", "not-a-uuid")
    .header("cookie", &format!("session={long_session}"))
    .send(&router)
    .await
    .assert_invalid(&[
        ("/query/tags/2", "repeats item 0"),
        ("/query/ids/1", "must be an integer"),
        ("/query/ids/2", "must fit in"),
        ("/query/ids/3", "must fit in"),
        (
            "/query/fields/1",
            "must be one of \"name\", \"tag\", \"status\"",
        ),
        ("/query/limit", "must be at least 1"),
        (
            "/query/status",
            "must be one of \"available\", \"pending\", \"sold\"",
        ),
        ("/header/X-Request-Id", "must be a UUID"),
        ("/cookie/session", "must be at most 64 characters"),
    ]);
    call(Method::GET, "/pets?limit=256")
        .bearer(TOKEN)
        .send(&router)
        .await
        .assert_invalid(&[
            ("/query/limit", "must fit in an 8-bit unsigned integer"),
            ("/query/limit", "must be at most 100"),
        ]);

    // A JSON body: look-around patterns, the discriminated alternative's own rules,
    // `multipleOf`, the integer format's range, a URI, a boolean.
    call(Method::POST, "/pets")
        .bearer(TOKEN)
        .json(&json!({
            "name": "Rex ",
            "kind": {"petType": "dog", "breed": "Poodle"},
            "weightKg": 0.15,
            "ageMonths": 40000,
            "homepage": "rex at home",
            "vaccinated": "yes"
        }))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/name", "must match the pattern"),
            ("/body/kind/breed", "must be one of"),
            ("/body/weightKg", "must be a multiple of 0.1"),
            ("/body/ageMonths", "must fit in"),
            ("/body/homepage", "must be an absolute URI"),
            ("/body/vaccinated", "must be a boolean, not a string"),
        ]);
    call(Method::POST, "/pets")
        .bearer(TOKEN)
        .json(&json!({"name": " Rex", "kind": {"indoor": true}, "weightKg": 0}))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/name", "must match the pattern"),
            (
                "/body/kind/petType",
                "is required (one of \"cat\", \"dog\", \"Lizard\")",
            ),
            ("/body/weightKg", "must be greater than 0"),
        ]);
    call(Method::POST, "/pets")
        .bearer(TOKEN)
        .json(&json!({"kind": {"petType": "fish"}}))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/name", "is required"),
            (
                "/body/kind/petType",
                "must be one of \"cat\", \"dog\", \"Lizard\"",
            ),
        ]);
    call(Method::POST, "/pets")
        .bearer(TOKEN)
        .json(&json!({"name": "Tom", "kind": {"petType": "cat", "lives": 10}}))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/kind/indoor", "is required"),
            ("/body/kind/lives", "must be at most 9"),
        ]);
    // The same rules through a form; a form field that is not a number.
    call(Method::POST, "/pets")
        .bearer(TOKEN)
        .body(
            "application/x-www-form-urlencoded",
            "name=Rex&kind=%7B%22petType%22%3A%22cat%22%7D&weightKg=heavy",
        )
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/kind/indoor", "is required"),
            ("/body/weightKg", "must be a number"),
        ]);

    // `readOnly` properties in a request.
    call(Method::PUT, "/pets/1")
        .bearer(TOKEN)
        .json(&json!({
            "id": 1,
            "createdAt": "2024-01-01T00:00:00Z",
            "name": "Rex",
            "kind": {"petType": "Lizard"}
        }))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/id", "is read-only"),
            ("/body/createdAt", "is read-only"),
        ]);

    // Formats, `additionalProperties: false`, `maxProperties`, a nested pattern and `maxItems`.
    call(Method::POST, "/owners")
        .json(&json!({
            "email": "bart at example.org",
            "password": "short",
            "address": {"zip": "4900", "lines": ["a", "b", "c", "d"]},
            "server": "300.1.2.3",
            "serverV6": "2001:db8::g",
            "host": "-bad-.example",
            "avatar": "not base64!",
            "nickname": "El Barto"
        }))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/email", "must be an e-mail address"),
            ("/body/password", "must be at least 8 characters"),
            ("/body/nickname", "is not an allowed property"),
            ("/body", "must have at most 7 properties"),
            ("/body/address/city", "is required"),
            ("/body/address/zip", "must match the pattern `^\\d{5}$`"),
            ("/body/address/lines", "must have at most 3 items"),
            ("/body/server", "must be an IPv4 address"),
            ("/body/serverV6", "must be an IPv6 address"),
            ("/body/host", "must be a host name"),
            ("/body/avatar", "must be base64-encoded"),
        ]);
    // `minProperties`, and each missing required property.
    call(Method::POST, "/owners")
        .json(&json!({"email": "bart@example.org"}))
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/password", "is required"),
            ("/body/address", "is required"),
            ("/body", "must have at least 3 properties"),
        ]);

    // `oneOf` without a discriminator: a value both alternatives take is refused, naming them;
    // one neither takes says why each failed.
    let contact = |contact: serde_json::Value| {
        json!({
            "email": "bart@example.org",
            "password": "eat my shorts",
            "address": {"city": "Springfield"},
            "contact": contact
        })
    };
    call(Method::POST, "/owners")
        .json(&contact(
            json!({"email": "bart@example.org", "phone": "+15550100"}),
        ))
        .send(&router)
        .await
        .assert_invalid(&[(
            "/body/contact",
            "must match exactly one alternative but matches `by e-mail`, `by phone`",
        )]);
    let answer = call(Method::POST, "/owners")
        .json(&contact(json!({"phone": "555-0100"})))
        .send(&router)
        .await;
    answer.assert_invalid(&[("/body/contact", "matches none of the alternatives")]);
    let (_, message) = &answer.violations()[0];
    assert!(
        message.contains("`by e-mail`: /body/contact/email: is required")
            && message.contains("`by phone`: /body/contact/phone: must match the pattern"),
        "{message}"
    );

    // `anyOf`: why each alternative failed.
    let answer = call(Method::POST, "/search")
        .json(&json!({"tags": []}))
        .send(&router)
        .await;
    answer.assert_invalid(&[("/body", "matches none of the alternatives")]);
    let (_, message) = &answer.violations()[0];
    assert!(
        message.contains("/body/name: is required")
            && message.contains("/body/tags: must have at least 1 item"),
        "{message}"
    );

    // Path parameters: unsigned, integer.
    call(Method::GET, "/pets/-1")
        .send(&router)
        .await
        .assert_invalid(&[("/path/petId", "must fit in")]);
    call(Method::GET, "/pets/rex")
        .send(&router)
        .await
        .assert_invalid(&[("/path/petId", "must be an integer")]);

    // Multipart: required parts, an enum part, a long text part.
    let boundary = "XyZ";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nx-ray\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n{}\r\n--{boundary}--\r\n",
        "n".repeat(201)
    );
    call(Method::POST, "/pets/1/documents")
        .body(
            &format!("multipart/form-data; boundary={boundary}"),
            multipart,
        )
        .send(&router)
        .await
        .assert_invalid(&[
            ("/body/file", "is required"),
            ("/body/kind", "must be one of \"vaccination\", \"pedigree\""),
            ("/body/note", "must be at most 200 characters"),
        ]);
    // A required octet-stream body that is missing.
    call(Method::PUT, "/pets/1/photo?api_key=good-key")
        .send(&router)
        .await
        .assert_invalid(&[("/body", "is required")]);

    // Media types the operation does not take.
    call(Method::PUT, "/pets/1/notes")
        .json(&json!("notes"))
        .send(&router)
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    call(Method::POST, "/pets")
        .bearer(TOKEN)
        .body("application/xml", "<pet/>")
        .send(&router)
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(shop.calls.count(), 0, "a bad request reached the handler");
}

#[tokio::test]
async fn security_alternatives_are_each_enough_and_nothing_else_is() {
    let (shop, router) = shop();
    // No credentials: 401 with a bearer challenge (API keys have none).
    let answer = call(Method::GET, "/pets").send(&router).await;
    answer.assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    // Wrong credentials of either alternative.
    call(Method::GET, "/pets")
        .bearer("stolen")
        .send(&router)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    call(Method::GET, "/pets")
        .header("X-API-Key", "guessed")
        .send(&router)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    // The photo takes the key in the query or a cookie, not in the header.
    call(Method::PUT, "/pets/1/photo")
        .header("X-API-Key", KEY)
        .body("application/octet-stream", vec![1, 2, 3])
        .send(&router)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(shop.calls.count(), 0);

    // Each alternative alone is enough.
    for answer in [
        call(Method::GET, "/pets").bearer(TOKEN).send(&router).await,
        call(Method::GET, "/pets")
            .header("X-API-Key", KEY)
            .send(&router)
            .await,
        call(Method::PUT, "/pets/1/photo?api_key=good-key")
            .body("application/octet-stream", vec![1, 2, 3])
            .send(&router)
            .await,
        call(Method::PUT, "/pets/1/photo")
            .header("cookie", "theme=dark; api_key=good-key")
            .body("application/octet-stream", vec![1, 2, 3])
            .send(&router)
            .await,
    ] {
        assert!(answer.status.is_success(), "{answer:?}");
    }
    // The OAuth 2 alternative of `createPet` passes its scopes to the bearer hook.
    let answer = call(Method::POST, "/pets")
        .bearer(TOKEN)
        .json(&json!({"name": "Tom", "kind": {"petType": "cat", "indoor": false}}))
        .send(&router)
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(
        lock(&shop.last_principal).as_deref(),
        Some("petstoreAuth userwrite:pets")
    );
    assert_eq!(shop.calls.count(), 5);

    // A client without credentials sends none and gets the problem as an error.
    let base = serve(router).await;
    let error = Client::new(HttpClient::new(&base))
        .list_pets(None, None, None, None, None, None, None, None)
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, ClientError::Problem(p) if p.status_code() == StatusCode::UNAUTHORIZED)
    );
}
