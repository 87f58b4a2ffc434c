//! Tests of the spec loader and validator in `support::spec`, without any server.
//!
//! Every other e2e test trusts `check_response` to say "this body is what the spec documents".
//! A validator that accepts everything (a `$ref` resolving to nothing, formats treated as mere
//! annotations, examples that were never extracted) would make those tests pass vacuously, so
//! this file proves both directions: the specs' own examples pass, and mutated copies of them
//! fail, each violation reported with the JSON pointer of the value at fault.

use serde_json::{Value, json};

use crate::support::spec::{Spec, assert_response};

/// The five documents in `shared/specs/`, with the number of operations each defines
/// (shared/specs/README.md: "49 operations in total").
const SPECS: [(&str, usize); 5] = [
    ("event-service.yaml", 9),
    ("content-service.yaml", 7),
    ("product-change-service.yaml", 7),
    ("user-service.yaml", 4),
    ("ticketing.yaml", 22),
];

/// Examples in the specs that violate the schema they are attached to, as
/// `(file, location, why)`. `location` is `"<operationId> <status> <example name>"` for a
/// response or request example and the JSON pointer of the example for any other one.
/// Listed entries must still fail (so the list cannot go stale); anything else must pass.
const KNOWN_BAD_EXAMPLES: &[(&str, &str, &str)] = &[];

fn is_known_bad(file: &str, location: &str) -> bool {
    KNOWN_BAD_EXAMPLES
        .iter()
        .any(|(f, l, _)| *f == file && *l == location)
}

/// Splits example checks into unexpected failures and allow-listed entries that now pass.
#[derive(Default)]
struct Tally {
    checked: usize,
    unexpected: Vec<String>,
    passing_known_bad: Vec<String>,
}

impl Tally {
    fn record(&mut self, file: &str, location: &str, result: Result<(), String>) {
        self.checked += 1;
        match (result, is_known_bad(file, location)) {
            (Ok(()), true) => self.passing_known_bad.push(format!("{file}: {location}")),
            (Err(e), false) => self.unexpected.push(format!("{file}: {location}\n{e}")),
            _ => {}
        }
    }

    fn assert_clean(&self, what: &str) {
        println!(
            "{} {what} checked, {} allow-listed",
            self.checked,
            KNOWN_BAD_EXAMPLES.len()
        );
        assert!(
            self.unexpected.is_empty(),
            "{} {what} fail their own schema:\n\n{}",
            self.unexpected.len(),
            self.unexpected.join("\n\n")
        );
        assert!(
            self.passing_known_bad.is_empty(),
            "allow-listed examples now pass; remove them from KNOWN_BAD_EXAMPLES: {:?}",
            self.passing_known_bad
        );
    }
}

// ---- (3) operations ----

/// All 49 operations are found, ids are unique per spec, and lookup by id returns the same
/// operation as the listing.
#[test]
fn all_49_operations_are_found_and_looked_up_per_spec() {
    let mut total = 0;
    for (file, expected) in SPECS {
        let spec = Spec::load(file);
        let ops = spec.operations();
        assert_eq!(ops.len(), expected, "{file}: operation count");
        for op in &ops {
            assert_eq!(
                &spec.operation(&op.operation_id),
                op,
                "{file}: lookup of {}",
                op.operation_id
            );
        }
        total += ops.len();
    }
    assert_eq!(total, 49, "operations across the five specs");

    // `login` is in two specs; each spec answers with its own.
    let user_login = Spec::load("user-service.yaml").operation("login");
    let ticket_login = Spec::load("ticketing.yaml").operation("login");
    assert_eq!(
        (user_login.method.as_str(), user_login.path.as_str()),
        ("POST", "/api/v1/auth/login")
    );
    assert_eq!(
        (ticket_login.method.as_str(), ticket_login.path.as_str()),
        ("POST", "/api/auth/login")
    );
}

/// The derived fields match what shared/specs/README.md and the documents say.
#[test]
fn operation_fields_match_the_documents() {
    let event = Spec::load("event-service.yaml");
    let op = event.operation("getEventDetail");
    assert_eq!(
        (op.method.as_str(), op.path.as_str()),
        ("GET", "/api/events/{id}")
    );
    assert_eq!(op.success_statuses, vec![200]);
    assert!(op.security_required);

    let products = Spec::load("product-change-service.yaml");
    assert_eq!(
        products.operation("requestProductChange").success_statuses,
        vec![200, 202]
    );

    let content = Spec::load("content-service.yaml");
    let delete = content.operation("deleteImage");
    assert_eq!(
        (delete.method.as_str(), delete.success_statuses.clone()),
        ("DELETE", vec![204])
    );

    let ticketing = Spec::load("ticketing.yaml");
    let webhook = ticketing.operation("handleStripeWebhook");
    assert!(
        webhook.success_statuses.is_empty(),
        "only `default` is documented"
    );
    assert!(
        !webhook.security_required,
        "the webhook uses stripe-signature, not bearerAuth"
    );
    assert!(ticketing.operation("getCurrentUser").security_required);
    assert!(!ticketing.operation("register").security_required);
    assert!(
        !Spec::load("user-service.yaml")
            .operation("login")
            .security_required
    );
    assert!(
        Spec::load("user-service.yaml")
            .operation("logout")
            .security_required
    );
}

/// Examples behind `$ref`s and in `examples` maps are extracted, under their names.
#[test]
fn examples_are_extracted_through_refs() {
    let user = Spec::load("user-service.yaml");
    let login = user.operation("login");
    let names = |status: u16| -> Vec<&str> {
        login
            .response_examples
            .iter()
            .filter(|(s, _, _)| *s == status)
            .map(|(_, n, _)| n.as_str())
            .collect()
    };
    // 401 is `$ref: '#/components/responses/UnauthorizedError'`, which holds two named examples.
    assert_eq!(names(401), ["authenticationFailed", "invalidToken"]);
    assert_eq!(names(200), ["success"]);
    assert_eq!(login.request_examples.len(), 1);
    assert_eq!(login.request_examples[0].0, "normal");
    assert_eq!(login.request_examples[0].1["username"], "user001");

    // A bare media-type `example` is named "example".
    let register = Spec::load("ticketing.yaml").operation("register");
    assert!(
        register
            .response_examples
            .iter()
            .any(|(s, n, v)| *s == 200 && n == "example" && v["user_id"] == "usr_abc123")
    );
    // ...and one inside components/responses (event-service's NotFound).
    let detail = Spec::load("event-service.yaml").operation("getEventDetail");
    assert!(
        detail
            .response_examples
            .iter()
            .any(|(s, _, v)| *s == 404 && v["error"] == "NOT_FOUND")
    );
}

// ---- (1) the specs' own examples ----

/// Every response example validates against the schema of the status it is documented under.
#[test]
fn every_response_example_matches_its_own_schema() {
    let mut tally = Tally::default();
    for (file, _) in SPECS {
        let spec = Spec::load(file);
        let before = tally.checked;
        for op in spec.operations() {
            for (status, name, example) in &op.response_examples {
                let location = format!("{} {status} {name}", op.operation_id);
                tally.record(
                    file,
                    &location,
                    spec.check_response(&op.operation_id, *status, example),
                );
            }
        }
        assert!(
            tally.checked > before,
            "{file}: no response examples were found"
        );
    }
    // 109 when written; a lower bound so that adding examples does not break the test.
    assert!(
        tally.checked >= 100,
        "only {} response examples found",
        tally.checked
    );
    tally.assert_clean("response examples");
}

/// Every request example validates against the operation's request body schema, so tests can
/// send them as valid input.
#[test]
fn every_request_example_matches_its_own_schema() {
    let mut tally = Tally::default();
    for (file, _) in SPECS {
        let spec = Spec::load(file);
        for op in spec.operations() {
            for (name, example) in &op.request_examples {
                let location = format!("{} request {name}", op.operation_id);
                tally.record(
                    file,
                    &location,
                    spec.check_request(&op.operation_id, example),
                );
            }
        }
    }
    assert!(
        tally.checked >= 10,
        "only {} request examples found",
        tally.checked
    );
    tally.assert_clean("request examples");
}

/// Every other `example` in the documents (on component schemas, their properties, parameters,
/// headers) matches the schema it is attached to. event-service and product-change-service
/// document their success bodies only this way.
#[test]
fn every_schema_example_matches_its_schema() {
    let mut tally = Tally::default();
    for (file, _) in SPECS {
        let spec = Spec::load(file);
        let mut found = Vec::new();
        collect_examples(spec.document(), String::new(), false, &mut found);
        assert!(!found.is_empty(), "{file}: no examples found");
        for (pointer, schema, example) in found {
            tally.record(file, &pointer, spec.check_against(schema, example));
        }
    }
    tally.assert_clean("schema examples");
}

/// Collects `(pointer, schema, example)` for every `example` in `value`: on an object with a
/// `schema` (media type, parameter, header) the example belongs to that schema, otherwise the
/// object is itself a schema. `names` is true for maps keyed by property names, which are not
/// schemas themselves (a property may be called "example"). Example payloads and `x-*`
/// extensions are data, not places to look; `examples` maps are covered by the tests above.
fn collect_examples<'a>(
    value: &'a Value,
    pointer: String,
    names: bool,
    out: &mut Vec<(String, &'a Value, &'a Value)>,
) {
    match value {
        Value::Object(map) => {
            if !names {
                if let Some(example) = map.get("example") {
                    out.push((
                        format!("{pointer}/example"),
                        map.get("schema").unwrap_or(value),
                        example,
                    ));
                }
            }
            for (key, child) in map {
                let skip = !names && matches!(key.as_str(), "example" | "examples");
                if skip || key.starts_with("x-") {
                    continue;
                }
                let child_pointer =
                    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                collect_examples(child, child_pointer, !names && key == "properties", out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_examples(child, format!("{pointer}/{i}"), false, out);
            }
        }
        _ => {}
    }
}

/// Every component schema compiles (all its references resolve) and rejects a value of the
/// wrong JSON type, so no schema is an accidental `{}`.
#[test]
fn every_component_schema_compiles_and_constrains() {
    for (file, _) in SPECS {
        let spec = Spec::load(file);
        let schemas = spec
            .document()
            .pointer("/components/schemas")
            .and_then(Value::as_object);
        let schemas = schemas.unwrap_or_else(|| panic!("{file}: no components/schemas"));
        for (name, schema) in schemas {
            let wrong = match schema.get("type").and_then(Value::as_str) {
                Some("string") => json!(12345),
                Some(_) => json!("a string"),
                None => json!(null),
            };
            let _ = spec.check_schema(name, &json!({}));
            if schema.get("type").is_some() {
                assert!(
                    spec.check_schema(name, &wrong).is_err(),
                    "{file}: schema {name} accepts {wrong}"
                );
            }
        }
    }
}

// ---- (2) mutated examples fail, with their pointers ----

/// The named response example of an operation; it must itself be valid, so each mutation
/// test starts from a body that passes.
fn valid_example(spec: &Spec, operation_id: &str, status: u16, name: &str) -> Value {
    let op = spec.operation(operation_id);
    let (_, _, example) = op
        .response_examples
        .iter()
        .find(|(s, n, _)| *s == status && n == name)
        .unwrap_or_else(|| {
            panic!(
                "{}: {operation_id} has no {status} example {name:?}",
                spec.name()
            )
        });
    assert_response(spec, operation_id, status, example);
    example.clone()
}

/// Asserts `result` is an error naming `pointer` and containing `needle`.
#[track_caller]
fn assert_violation(result: Result<(), String>, pointer: &str, needle: &str) {
    let err = result.expect_err("the mutated body must be rejected");
    let line = format!("at {pointer}: ");
    assert!(
        err.lines().any(|l| l.contains(&line) && l.contains(needle)),
        "expected a violation at {pointer} mentioning {needle:?}, got:\n{err}"
    );
}

#[test]
fn a_missing_required_field_is_reported() {
    let spec = Spec::load("user-service.yaml");
    let mut body = valid_example(&spec, "login", 200, "success");
    body.as_object_mut().unwrap().remove("accessToken");
    assert_violation(
        spec.check_response("login", 200, &body),
        "(root)",
        "\"accessToken\" is a required property",
    );

    let mut body = valid_example(&spec, "login", 200, "success");
    body["user"].as_object_mut().unwrap().remove("email");
    assert_violation(
        spec.check_response("login", 200, &body),
        "/user",
        "\"email\" is a required property",
    );
}

#[test]
fn a_number_in_place_of_a_string_is_reported() {
    let spec = Spec::load("user-service.yaml");
    let mut body = valid_example(&spec, "login", 200, "success");
    body["user"]["name"] = json!(42);
    assert_violation(
        spec.check_response("login", 200, &body),
        "/user/name",
        "is not of type \"string\"",
    );

    // Through `components/responses` and into a nested object of the error envelope.
    let mut body = valid_example(&spec, "login", 401, "invalidToken");
    body["error"]["code"] = json!(401);
    assert_violation(
        spec.check_response("login", 401, &body),
        "/error/code",
        "is not of type \"string\"",
    );
}

#[test]
fn an_invalid_enum_value_is_reported() {
    let spec = Spec::load("content-service.yaml");
    let mut body = valid_example(&spec, "getImageGenerationStatus", 200, "completed");
    body["status"] = json!("DONE");
    assert_violation(
        spec.check_response("getImageGenerationStatus", 200, &body),
        "/status",
        "\"DONE\"",
    );

    let spec = Spec::load("user-service.yaml");
    let mut body = valid_example(&spec, "login", 200, "success");
    body["tokenType"] = json!("bearer"); // enum is exactly ["Bearer"]
    assert_violation(
        spec.check_response("login", 200, &body),
        "/tokenType",
        "\"bearer\"",
    );
}

#[test]
fn an_invalid_date_time_is_reported() {
    let spec = Spec::load("user-service.yaml");
    let mut body = valid_example(&spec, "login", 401, "authenticationFailed");
    body["error"]["timestamp"] = json!("2025-10-23 12:00");
    assert_violation(
        spec.check_response("login", 401, &body),
        "/error/timestamp",
        "date-time",
    );

    let spec = Spec::load("ticketing.yaml");
    let mut body = valid_example(&spec, "register", 200, "example");
    body["created_at"] = json!("yesterday");
    assert_violation(
        spec.check_response("register", 200, &body),
        "/created_at",
        "date-time",
    );
}

/// The other formats the specs use are asserted too, not treated as annotations.
#[test]
fn invalid_email_uuid_and_date_are_reported() {
    let user = Spec::load("user-service.yaml");
    let mut body = valid_example(&user, "login", 200, "success");
    body["user"]["email"] = json!("not-an-email");
    assert_violation(
        user.check_response("login", 200, &body),
        "/user/email",
        "email",
    );

    let event = Spec::load("event-service.yaml");
    let job = json!({ "jobId": "0b6f3a8e-5c1d-4f2e-9a7b-3c4d5e6f7a8b", "status": "PENDING" });
    event.check_schema("JobResponse", &job).unwrap();
    let bad_job = json!({ "jobId": "job-123", "status": "PENDING" });
    assert_violation(
        event.check_schema("JobResponse", &bad_job),
        "/jobId",
        "uuid",
    );

    event
        .check_schema(
            "EventPeriod",
            &json!({ "startDate": "2025-03-01", "endDate": "2025-03-31" }),
        )
        .unwrap();
    let bad_period = json!({ "startDate": "2025-13-01", "endDate": "2025-03-31T00:00:00Z" });
    let err = event.check_schema("EventPeriod", &bad_period).unwrap_err();
    assert_violation(Err(err.clone()), "/startDate", "date");
    assert_violation(Err(err), "/endDate", "date");
}

/// Several faults in one body are all reported, not just the first.
#[test]
fn every_violation_is_listed() {
    let spec = Spec::load("user-service.yaml");
    let mut body = valid_example(&spec, "login", 200, "success");
    body.as_object_mut().unwrap().remove("refreshToken");
    body["expiresIn"] = json!("3600");
    body["user"]["email"] = json!("nope");
    let err = spec.check_response("login", 200, &body).unwrap_err();
    assert!(err.contains("3 violation(s)"), "{err}");
    assert_violation(Err(err.clone()), "(root)", "refreshToken");
    assert_violation(Err(err.clone()), "/expiresIn", "integer");
    assert_violation(Err(err), "/user/email", "email");
}

/// Every response example, replaced by a value of the wrong JSON type, is rejected: no
/// documented response schema is empty or lost behind an unresolved reference.
#[test]
fn every_documented_response_schema_rejects_a_wrong_type() {
    for (file, _) in SPECS {
        let spec = Spec::load(file);
        for op in spec.operations() {
            for (status, name, _) in &op.response_examples {
                let result = spec.check_response(&op.operation_id, *status, &json!(42));
                assert!(
                    result.is_err(),
                    "{file}: {} {status} ({name}) accepts 42",
                    op.operation_id
                );
            }
        }
    }
}

#[test]
fn status_codes_must_be_documented_unless_default_covers_them() {
    let spec = Spec::load("user-service.yaml");
    let body = valid_example(&spec, "login", 200, "success");
    let err = spec.check_response("login", 418, &body).unwrap_err();
    assert!(err.contains("does not document status 418"), "{err}");
    // The 200 body is not a 401 body.
    assert!(spec.check_response("login", 401, &body).is_err());

    // `default` covers any status; it documents no body, so only an empty one passes.
    let ticketing = Spec::load("ticketing.yaml");
    ticketing
        .check_response("handleStripeWebhook", 200, &Value::Null)
        .unwrap();
    ticketing
        .check_response("handleStripeWebhook", 503, &Value::Null)
        .unwrap();
    assert!(
        ticketing
            .check_response("handleStripeWebhook", 200, &json!({ "received": true }))
            .is_err()
    );

    // 204 documents no body.
    let content = Spec::load("content-service.yaml");
    content
        .check_response("deleteImage", 204, &Value::Null)
        .unwrap();
    assert!(
        content
            .check_response("deleteImage", 204, &json!({}))
            .is_err()
    );
}

#[test]
#[should_panic(expected = "response does not match the spec")]
fn assert_response_panics_on_a_violation() {
    let spec = Spec::load("ticketing.yaml");
    assert_response(
        &spec,
        "register",
        200,
        &json!({ "created_at": "not a date" }),
    );
}

// ---- OpenAPI 3.0 → JSON Schema rules, on a small document ----

/// `nullable`, `additionalProperties`, boolean `exclusiveMinimum`, `$ref` siblings,
/// `readOnly`, `example`/`x-*`, and composition keywords behave as OpenAPI 3.0 defines them.
/// None of the five specs uses some of these, so a hand-written document covers them.
#[test]
fn openapi_3_0_keywords_are_translated() {
    let spec = Spec::from_yaml_str(
        "inline.yaml",
        r##"
openapi: 3.0.3
info: { title: t, version: "1" }
paths: {}
components:
  schemas:
    Thing:
      type: object
      additionalProperties: false
      required: [id]
      properties:
        id: { type: string, format: uuid, readOnly: true, example: not-a-uuid, x-note: ignored }
        note: { type: string, nullable: true }
        kind: { type: string, enum: [a, b], nullable: true }
        count: { type: integer, minimum: 0, exclusiveMinimum: true }
        color: { $ref: '#/components/schemas/Color', nullable: true, description: siblings ignored }
        either: { oneOf: [ { type: string }, { type: integer } ] }
        both: { allOf: [ { $ref: '#/components/schemas/Color' }, { maxLength: 4 } ] }
        extra: { type: object }
        maybe: { allOf: [ { $ref: '#/components/schemas/Color' } ], nullable: true }
    Color: { type: string, pattern: '^#[0-9a-f]{3}$' }
"##,
    );
    let ok = json!({ "id": "0b6f3a8e-5c1d-4f2e-9a7b-3c4d5e6f7a8b", "note": null, "kind": null,
        "count": 1, "color": "#abc", "either": 3, "both": "#fff", "extra": { "anything": 1 }, "maybe": null });
    spec.check_schema("Thing", &ok).unwrap();

    let check = |patch: Value, pointer: &str, needle: &str| {
        let mut body = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        assert_violation(spec.check_schema("Thing", &body), pointer, needle);
    };
    check(json!({ "unknown": 1 }), "(root)", "unknown"); // additionalProperties: false
    check(json!({ "kind": "c" }), "/kind", "\"c\""); // enum still applies
    check(json!({ "count": 0 }), "/count", "0"); // exclusive minimum
    check(json!({ "color": null }), "/color", "null"); // nullable beside $ref is ignored
    check(json!({ "color": "red" }), "/color", "red"); // the $ref is followed
    check(json!({ "either": true }), "/either", "oneOf");
    check(json!({ "both": "#abcd" }), "/both", "#abcd"); // allOf: pattern fails too
    check(json!({ "id": "x" }), "/id", "uuid"); // readOnly does not exempt
    check(json!({ "note": 5 }), "/note", "5");
    check(json!({ "maybe": "red" }), "/maybe", "red"); // nullable without `type` still checks
}

/// `Spec` is documented as shareable (e.g. in a `static LazyLock<Spec>`); keep it so.
#[test]
fn spec_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Spec>();
}
