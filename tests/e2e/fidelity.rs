//! Fidelity test: every request and success-response example of every operation, parsed into
//! the operation's proto message and written back as JSON by the gateway's codec, equals the
//! example (key order aside, numbers compared as numbers). Where a spec gives no whole
//! example, one is assembled from the schema's property examples, checked against the schema
//! first, and round-tripped the same way.

use std::sync::Arc;

use contracts::{BodyRule, Contracts, Operation};
use contracts::json::{self, FieldNames};
use prost_reflect::MessageDescriptor;
use serde_json::{Map, Value};

use crate::routes::SPEC_APIS;
use crate::support::spec::Spec;

/// Equality with numbers compared by value (1 == 1.0) and key order ignored.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn round_trip(contracts: &Contracts, desc: &MessageDescriptor, names: FieldNames, example: &Value) -> Result<Value, String> {
    let message = json::decode(desc, example.clone(), contracts, true).map_err(|v| v.to_string())?;
    let encoded = json::encode(&message, contracts, names);
    // The gateway writes responses straight to bytes where nothing needs pruning: same JSON.
    let bytes = json::encode_to_vec(&message, contracts, names);
    let direct: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if direct != encoded {
        return Err(format!("encode_to_vec differs from encode: {direct} vs {encoded}"));
    }
    Ok(encoded)
}

/// Template variables of the operation's path (their fields are not part of the body).
fn path_fields(operation: &Operation) -> Vec<String> {
    operation
        .http
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}').map(|v| v.split('=').next().unwrap_or(v).to_owned()))
        .collect()
}

fn check_request(contracts: &Contracts, operation: &Operation, names: FieldNames, example: &Value) -> Result<(), String> {
    let input = operation.method.input();
    match &operation.http.body {
        BodyRule::None => Err("the spec documents a request body but the rule reads none".into()),
        BodyRule::Whole => {
            // As the gateway does: path variables join the body before decoding.
            let mut request = example.clone();
            if let Value::Object(object) = &mut request {
                for name in path_fields(operation) {
                    let field = input.get_field_by_name(&name).ok_or("path field missing")?;
                    let sample = json::scalar_from_text(&field, "3f2c9a4e-0000-4000-8000-000000000001")
                        .or_else(|_| json::scalar_from_text(&field, "1"))?;
                    object.insert(names.key(&field).to_owned(), sample);
                }
            }
            let mut written = round_trip(contracts, &input, names, &request)?;
            if let Value::Object(object) = &mut written {
                for field in path_fields(operation) {
                    if let Some(field) = input.get_field_by_name(&field) {
                        object.remove(names.key(&field));
                    }
                }
            }
            if same(&written, example) { Ok(()) } else { Err(format!("wrote back {written}")) }
        }
        BodyRule::Field(name) => {
            let field = input.get_field_by_name(name).ok_or("body field missing")?;
            let prost_reflect::Kind::Message(desc) = field.kind() else {
                return Err("body field is not a message".into());
            };
            let written = round_trip(contracts, &desc, names, example)?;
            if same(&written, example) { Ok(()) } else { Err(format!("wrote back {written}")) }
        }
    }
}

fn check_response(
    contracts: &Contracts,
    envelope: bool,
    operation: &Operation,
    names: FieldNames,
    example: &Value,
) -> Result<(), String> {
    let data = if envelope {
        if example.get("success") != Some(&Value::Bool(true)) {
            return Err("enveloped example without success: true".into());
        }
        let extra: Vec<_> = example.as_object().map(|o| o.keys().filter(|k| *k != "success" && *k != "data").cloned().collect()).unwrap_or_default();
        if !extra.is_empty() {
            return Err(format!("envelope carries fields besides success/data: {extra:?}"));
        }
        example.get("data").cloned().unwrap_or(Value::Null)
    } else {
        example.clone()
    };
    let output = operation.method.output();
    match &operation.http.response_body {
        None => {
            let written = round_trip(contracts, &output, names, &data)?;
            if same(&written, &data) { Ok(()) } else { Err(format!("wrote back {written}")) }
        }
        Some(name) => {
            let field = output.get_field_by_name(name).ok_or("response_body field missing")?;
            let mut wrapper = Map::new();
            wrapper.insert(names.key(&field).to_owned(), data.clone());
            let written = round_trip(contracts, &output, names, &Value::Object(wrapper))?;
            let inner = written.get(names.key(&field)).cloned().unwrap_or(Value::Null);
            if same(&inner, &data) { Ok(()) } else { Err(format!("wrote back {inner}")) }
        }
    }
}

/// A whole instance assembled from a schema's own property examples (and enum values), with
/// every property present, for operations whose spec gives no whole example.
fn synthesize(spec: &Spec, schema: &Value) -> Option<Value> {
    let schema = spec.resolve(schema);
    if let Some(example) = schema.get("example") {
        return Some(example.clone());
    }
    if let Some(variants) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
        return variants.first().and_then(|v| synthesize(spec, v));
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            if let Some(Value::Object(object)) = synthesize(spec, part) {
                merged.extend(object);
            }
        }
        return Some(Value::Object(merged));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.first().cloned();
    }
    let kind = schema.get("type").and_then(Value::as_str);
    match kind {
        Some("object") | None if schema.get("properties").is_some() => {
            let properties = schema.get("properties")?.as_object()?;
            let mut object = Map::new();
            for (name, property) in properties {
                if let Some(value) = synthesize(spec, property) {
                    object.insert(name.clone(), value);
                }
            }
            Some(Value::Object(object))
        }
        Some("object") => Some(Value::Object(Map::new())),
        Some("array") => Some(Value::Array(vec![synthesize(spec, schema.get("items")?)?])),
        Some("string") if schema.get("pattern").is_some() => {
            // Patterns in these specs: hex colours and Korean mobile numbers.
            ["#1A2B3C", "01012345678"]
                .into_iter()
                .map(|candidate| Value::String(candidate.into()))
                .find(|candidate| spec.check_against(schema, candidate).is_ok())
        }
        Some("string") => Some(Value::String(match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => "2025-10-23T12:00:00Z".into(),
            Some("date") => "2025-10-23".into(),
            Some("uuid") => "3f2c9a4e-0000-4000-8000-000000000001".into(),
            Some("email") => "someone@example.com".into(),
            Some("uri") => "https://example.com/x".into(),
            _ => "sample".into(),
        })),
        Some("integer") => Some(Value::from(7)),
        Some("number") => Some(Value::from(2.5)),
        Some("boolean") => Some(Value::Bool(true)),
        _ => None,
    }
}

fn media_schema<'a>(spec: &'a Spec, holder: &'a Value) -> Option<&'a Value> {
    spec.resolve(holder).get("content")?.get("application/json")?.get("schema")
}

#[test]
fn every_example_round_trips_through_its_proto_message() {
    let contracts = Arc::new(Contracts::embedded().expect("contracts"));
    let mut failures = Vec::new();
    let (mut from_spec, mut synthesized) = (0, 0);
    for (file, api_name) in SPEC_APIS {
        let spec = Spec::load(file);
        let api = contracts.api(api_name).expect("api");
        let names = if api.options.proto_field_names { FieldNames::Proto } else { FieldNames::Json };
        let envelope = api.options.envelope() == contracts::proto::platform::v1::Envelope::SuccessData;
        for documented in spec.operations() {
            let Some(operation) = api.operations.iter().find(|op| op.options.operation_id == documented.operation_id) else {
                failures.push(format!("{file} {}: no RPC declares this operation", documented.operation_id));
                continue;
            };
            let op_doc = &spec.document()["paths"][&documented.path][documented.method.to_lowercase()];
            let label = |kind: &str, name: &str| format!("{file} {} {kind} {name}", documented.operation_id);

            let mut requests = documented.request_examples.clone();
            if requests.is_empty() {
                if let Some(schema) = op_doc.get("requestBody").and_then(|body| media_schema(&spec, body)) {
                    if let Some(instance) = synthesize(&spec, schema) {
                        spec.check_against(schema, &instance).unwrap_or_else(|e| panic!("{}: synthesized request breaks its schema: {e}", label("request", "")));
                        requests.push(("(synthesized)".into(), instance));
                        synthesized += 1;
                    }
                }
            } else {
                from_spec += requests.len();
            }
            for (name, example) in &requests {
                if let Err(error) = check_request(&contracts, operation, names, example) {
                    failures.push(format!("{}: {error}\n  example {example}", label("request", name)));
                }
            }

            let success: Vec<u16> = documented.success_statuses.iter().copied().filter(|s| *s != 204).collect();
            let mut responses: Vec<(String, Value)> = documented
                .response_examples
                .iter()
                .filter(|(status, _, _)| success.contains(status))
                .map(|(status, name, value)| (format!("{status} {name}"), value.clone()))
                .collect();
            if responses.is_empty() {
                for status in &success {
                    let Some(response) = op_doc["responses"].get(status.to_string()) else { continue };
                    let Some(schema) = media_schema(&spec, response) else { continue };
                    if let Some(instance) = synthesize(&spec, schema) {
                        spec.check_response(&documented.operation_id, *status, &instance)
                            .unwrap_or_else(|e| panic!("{}: synthesized response breaks its schema: {e}", label("response", "")));
                        responses.push((format!("{status} (synthesized)"), instance));
                        synthesized += 1;
                    }
                }
            } else {
                from_spec += responses.len();
            }
            for (name, example) in &responses {
                if let Err(error) = check_response(&contracts, envelope, operation, names, example) {
                    failures.push(format!("{}: {error}\n  example {example}", label("response", name)));
                }
            }
        }
    }
    println!("round-tripped {from_spec} spec examples and {synthesized} synthesized instances");
    assert!(from_spec > 40, "expected the specs' examples to be found, got {from_spec}");
    assert!(failures.is_empty(), "{} examples do not round-trip:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_check_catches_examples_that_do_not_fit() {
    let contracts = Contracts::embedded().expect("contracts");
    let api = contracts.api("user").expect("user api");
    let login = api.operations.iter().find(|op| op.options.operation_id == "login").expect("login");
    let names = FieldNames::Json;
    let good = serde_json::json!({"accessToken": "a", "refreshToken": "r", "tokenType": "Bearer", "expiresIn": 3600,
        "user": {"userId": "u", "username": "u", "name": "n", "email": "e@x.com"}});
    assert!(check_response(&contracts, false, login, names, &good).is_ok());
    let cases = [
        serde_json::json!({"accessToken": 5}),                          // wrong type
        serde_json::json!({"access_token": "a"}),                       // proto name on a camelCase API
        serde_json::json!({"accessToken": "a", "tokenType": "Basic"}), // unknown enum value
        serde_json::json!({"accessToken": "a", "surprise": true}),      // unknown field
        serde_json::json!({"accessToken": "a"}),                        // required fields written back
    ];
    for case in cases {
        assert!(check_response(&contracts, false, login, names, &case).is_err(), "{case} must not round-trip");
    }
    // A request example missing a required field fails the contract.
    let request = serde_json::json!({"username": "user001"});
    assert!(check_request(&contracts, login, names, &request).is_err());
}
