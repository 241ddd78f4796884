//! Breaking and compatible edits of the person API spec, as the gate sees them.

use contract_compat::openapi::{BreakingChange, breaking_changes, parse_spec};
use serde_json::{Value, json};

const PERSON_SPEC: &str = include_str!("../../contracts/api/person.yaml");

fn person_spec() -> Value {
    parse_spec("person.yaml", PERSON_SPEC).expect("the person spec parses")
}

/// The changes from the person spec to the spec `edit` makes of it.
fn changes_after(edit: impl FnOnce(&mut Value)) -> Vec<BreakingChange> {
    let old = person_spec();
    let mut new = old.clone();
    edit(&mut new);
    breaking_changes(&old, &new)
}

fn at<'a>(spec: &'a mut Value, pointer: &str) -> &'a mut Value {
    spec.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} exists in the person spec"))
}

fn object_at<'a>(spec: &'a mut Value, pointer: &str) -> &'a mut serde_json::Map<String, Value> {
    at(spec, pointer)
        .as_object_mut()
        .unwrap_or_else(|| panic!("{pointer} is an object"))
}

fn rendered(changes: &[BreakingChange]) -> Vec<String> {
    changes.iter().map(ToString::to_string).collect()
}

#[test]
fn an_unchanged_spec_has_no_breaking_change() {
    assert_eq!(changes_after(|_| {}), []);
}

#[test]
fn compatible_edits_pass() {
    let changes = changes_after(|spec| {
        // An optional request field, a new response field, a new path, a looser limit.
        object_at(spec, "/components/schemas/PersonInput/properties")
            .insert("nickname".into(), json!({"type": "string"}));
        object_at(spec, "/components/schemas/Person/properties").insert(
            "nickname".into(),
            json!({"type": "string", "nullable": true}),
        );
        object_at(spec, "/paths").insert(
            "/api/persons/{id}/history/".into(),
            json!({"get": {"operationId": "history", "responses": {"204": {"description": "none"}}}}),
        );
        *at(
            spec,
            "/components/schemas/PersonInput/properties/first_name/maxLength",
        ) = json!(80);
    });
    assert_eq!(changes, []);
}

#[test]
fn a_removed_path_or_method_is_breaking() {
    let changes = changes_after(|spec| {
        object_at(spec, "/paths").remove("/health/");
        object_at(spec, "/paths/~1api~1persons~1{id}~1").remove("delete");
    });
    assert_eq!(
        rendered(&changes),
        [
            "DELETE /api/persons/{id}/: operation removed: clients built for the previous \
             version call it",
            "/health/: path removed: clients built for the previous version call it",
        ]
    );
}

#[test]
fn a_removed_response_field_is_breaking_wherever_the_schema_is_used() {
    let changes = changes_after(|spec| {
        object_at(spec, "/components/schemas/Person/properties").remove("last_name");
        let required = at(spec, "/components/schemas/Person/required");
        *required = json!(["id", "created", "modified", "first_name", "date_of_birth"]);
    });
    let rendered = rendered(&changes);
    assert!(
        rendered.contains(
            &"GET /api/persons/{id}/ response 200: `Person.last_name`: response field removed: \
              clients built for the previous version read it"
                .to_owned()
        ),
        "{rendered:#?}"
    );
    assert!(
        rendered.iter().any(|line| line.starts_with(
            "GET /api/persons/ response 200: `PersonPage.results[].last_name`: response field removed"
        )),
        "{rendered:#?}"
    );
    // Every operation answering a Person: list (in the page), create, get, replace, update.
    assert_eq!(changes.len(), 5, "{rendered:#?}");
}

#[test]
fn an_added_required_request_field_is_breaking() {
    let changes = changes_after(|spec| {
        object_at(spec, "/components/schemas/PersonInput/properties")
            .insert("email".into(), json!({"type": "string"}));
        *at(spec, "/components/schemas/PersonInput/required") =
            json!(["first_name", "last_name", "email"]);
    });
    assert_eq!(
        rendered(&changes),
        [
            "POST /api/persons/ request body: `PersonInput.email`: added as required: clients \
             built for the previous version do not send it",
            "PUT /api/persons/{id}/ request body: `PersonInput.email`: added as required: \
             clients built for the previous version do not send it",
        ]
    );
}

#[test]
fn narrowed_request_types_and_limits_are_breaking() {
    let changes = changes_after(|spec| {
        *at(
            spec,
            "/components/schemas/PersonPatch/properties/first_name/maxLength",
        ) = json!(20);
        *at(spec, "/components/schemas/PersonPatch/properties/last_name") =
            json!({"type": "integer"});
        object_at(
            spec,
            "/components/schemas/PersonPatch/properties/date_of_birth",
        )
        .remove("nullable");
        *at(spec, "/components/parameters/Page/schema/format") = json!("int32");
    });
    assert_eq!(
        rendered(&changes),
        [
            "GET /api/persons/ query parameter `page`: format changed from `int64` to `int32`: \
             values valid before are rejected",
            "PATCH /api/persons/{id}/ request body: `PersonPatch.date_of_birth`: no longer \
             nullable: requests sending null are rejected",
            "PATCH /api/persons/{id}/ request body: `PersonPatch.first_name`: maxLength \
             tightened from 50 to 20: values valid before are rejected",
            "PATCH /api/persons/{id}/ request body: `PersonPatch.last_name`: type changed from \
             string to integer: requests valid before are rejected",
        ]
    );
}

#[test]
fn enums_may_widen_in_requests_and_narrow_in_responses_only() {
    let mut old = person_spec();
    // A request enum to work with: an optional `sort` query parameter.
    at(&mut old, "/paths/~1api~1persons~1/get/parameters")
        .as_array_mut()
        .expect("parameters are a list")
        .push(json!({"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["name", "age"]}}));
    let mut new = old.clone();
    *at(
        &mut new,
        "/paths/~1api~1persons~1/get/parameters/1/schema/enum",
    ) = json!(["name"]);
    *at(
        &mut new,
        "/components/schemas/Health/properties/status/enum",
    ) = json!(["ok", "unavailable", "degraded"]);
    assert_eq!(
        rendered(&breaking_changes(&old, &new)),
        [
            "GET /api/persons/ query parameter `sort`: enum narrowed: age removed, requests \
             using them are rejected",
            "GET /health/ response 200: `Health.status`: enum widened: degraded added, clients \
             built for the previous version reject them",
            "GET /health/ response 503: `Health.status`: enum widened: degraded added, clients \
             built for the previous version reject them",
        ]
    );
    // The opposite edits are compatible.
    assert_eq!(breaking_changes(&new, &old).len(), 0);
}

#[test]
fn responses_that_may_now_be_null_or_absent_are_breaking() {
    let changes = changes_after(|spec| {
        object_at(spec, "/components/schemas/PersonPage/properties/next").remove("nullable");
        object_at(spec, "/components/schemas/PersonPage/properties/count")
            .insert("nullable".into(), json!(true));
        *at(spec, "/components/schemas/PersonPage/required") =
            json!(["next", "previous", "results"]);
        object_at(spec, "/paths/~1api~1persons~1/post/responses").remove("201");
        object_at(spec, "/paths/~1api~1persons~1/post/responses").insert(
            "200".into(),
            json!({"description": "stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Person"}}}}),
        );
    });
    assert_eq!(
        rendered(&changes),
        [
            "GET /api/persons/ response 200: `PersonPage.count`: no longer required: clients \
             built for the previous version expect it in every response",
            "GET /api/persons/ response 200: `PersonPage.count`: may now be null: clients built \
             for the previous version expect a value",
            "POST /api/persons/ response 201: removed: clients built for the previous version \
             expect it",
            "POST /api/persons/ response 200: new success status: clients built for the \
             previous version do not expect it",
        ]
    );
}
