//! REST request → request message JSON: path bindings, query parameters and the body, put
//! where the operation's `google.api.http` rule says.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

use contracts::{BindSource, BodyRule, Operation};

use contracts::json::{FieldNames, Violation, scalar_from_text};

/// Finds a field by proto or JSON name.
fn field_by_name(desc: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    desc.get_field_by_name(name).or_else(|| desc.get_field_by_json_name(name))
}

/// Resolves a dotted field path (`a.b.c`) to the fields along it.
fn field_path(desc: &MessageDescriptor, dotted: &str) -> Option<Vec<FieldDescriptor>> {
    let mut fields = Vec::new();
    let mut current = desc.clone();
    let mut parts = dotted.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = field_by_name(&current, part)?;
        if parts.peek().is_some() {
            match field.kind() {
                Kind::Message(inner) if !field.is_list() && !field.is_map() => current = inner,
                _ => return None,
            }
        }
        fields.push(field);
    }
    Some(fields)
}

/// Sets `value` at the field path inside `root`, creating objects on the way. Repeated
/// fields accumulate values.
fn insert(root: &mut Map<String, Value>, fields: &[FieldDescriptor], names: FieldNames, value: Value) {
    let Some((last, parents)) = fields.split_last() else { return };
    let mut object = root;
    for parent in parents {
        let entry = object
            .entry(names.key(parent).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        object = next;
    }
    let key = names.key(last).to_owned();
    if last.is_list() {
        match object.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(items) => items.push(value),
            other => *other = Value::Array(vec![value]),
        }
    } else {
        object.insert(key, value);
    }
}

/// Parses the body bytes as JSON: an empty body is an empty object.
pub fn parse_body(body: &[u8]) -> Result<Value, Violation> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|e| Violation {
        field: String::new(),
        reason: format!("malformed JSON: {e}"),
    })
}

/// Builds the request message JSON.
pub fn build_request_json(
    operation: &Operation,
    names: FieldNames,
    bindings: &[(String, String)],
    query: Option<&str>,
    body: Value,
) -> Result<Value, Violation> {
    let desc = operation.method.input();
    let mut root = match &operation.http.body {
        BodyRule::Whole => match body {
            Value::Object(object) => object,
            _ => {
                return Err(Violation {
                    field: String::new(),
                    reason: "request body must be a JSON object".into(),
                });
            }
        },
        BodyRule::Field(field) => {
            let mut root = Map::new();
            if let Some(fields) = field_path(&desc, field) {
                insert(&mut root, &fields, names, body);
            }
            root
        }
        BodyRule::None => Map::new(),
    };

    // Query parameters fill the fields that neither the path nor the body binds.
    if let Some(query) = query.filter(|_| operation.http.body != BodyRule::Whole) {
        for (key, text) in form_urlencoded::parse(query.as_bytes()) {
            let Some(fields) = field_path(&desc, &key) else { continue };
            let (Some(first), Some(last)) = (fields.first(), fields.last()) else { continue };
            // The body's field belongs to the body: a query parameter never overwrites it.
            if matches!(&operation.http.body, BodyRule::Field(body) if body == first.name()) {
                continue;
            }
            let value = scalar_from_text(last, &text).map_err(|reason| Violation {
                field: key.to_string(),
                reason,
            })?;
            insert(&mut root, &fields, names, value);
        }
    }

    for (path, text) in bindings {
        let Some(fields) = field_path(&desc, path) else { continue };
        let Some(last) = fields.last() else { continue };
        let value = scalar_from_text(last, text).map_err(|reason| Violation {
            field: path.clone(),
            reason,
        })?;
        insert(&mut root, &fields, names, value);
    }
    Ok(Value::Object(root))
}

/// The documented response JSON: the whole message, or its `response_body` field.
pub fn select_response_body(operation: &Operation, names: FieldNames, mut json: Value) -> Value {
    let Some(field) = &operation.http.response_body else { return json };
    let Some(fields) = field_path(&operation.method.output(), field) else { return json };
    for field in &fields {
        json = match json {
            Value::Object(mut object) => object.remove(names.key(field)).unwrap_or(Value::Null),
            _ => Value::Null,
        };
    }
    json
}

/// Fills the fields the contract binds to a header or to the raw body
/// (`(platform.v1.bind)`), overwriting whatever the JSON said: those values come only from
/// the transport. A missing header leaves its field unset.
pub fn bind_transport_fields(operation: &Operation, message: &mut DynamicMessage, headers: &http::HeaderMap, raw_body: &[u8]) {
    for bound in &operation.bound_fields {
        let value = match &bound.source {
            BindSource::Header(name) => headers
                .get(name.as_str())
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .map(|text| match bound.field.kind() {
                    Kind::Bytes => prost_reflect::Value::Bytes(text.into_bytes().into()),
                    _ => prost_reflect::Value::String(text),
                }),
            BindSource::RawBody => Some(match bound.field.kind() {
                Kind::String => prost_reflect::Value::String(String::from_utf8_lossy(raw_body).into_owned()),
                _ => prost_reflect::Value::Bytes(bytes::Bytes::copy_from_slice(raw_body)),
            }),
        };
        match value {
            Some(value) => message.set_field(&bound.field, value),
            None => message.clear_field(&bound.field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_fields_take_the_header_and_raw_body_only() {
        let contracts = contracts::Contracts::embedded().expect("contracts");
        let api = contracts.api("ticketing").expect("ticketing");
        let find = |id: &str| api.operations.iter().find(|op| op.options.operation_id == id).expect(id);
        let webhook = find("handleStripeWebhook");
        let raw = br#"{"id": "evt_1",  "type": "x"}"#;
        let mut message = DynamicMessage::new(webhook.method.input());
        let mut headers = http::HeaderMap::new();
        headers.insert("stripe-signature", http::HeaderValue::from_static("t=1,v1=ab"));
        bind_transport_fields(webhook, &mut message, &headers, raw);
        let payload = message.get_field_by_name("payload").expect("payload");
        assert_eq!(payload.as_bytes().map(|b| b.as_ref()), Some(&raw[..]), "the exact bytes, spacing and all");
        let signature = message.get_field_by_name("stripe_signature").expect("signature");
        assert_eq!(signature.as_str(), Some("t=1,v1=ab"));

        // A value smuggled into the JSON is dropped when the header is absent.
        let intent = find("createPaymentIntent");
        let json = serde_json::json!({"booking_id": "b1", "idempotency_key": "from-json"});
        let mut message = contracts::json::decode(&intent.method.input(), json, &contracts, false).expect("decodes");
        bind_transport_fields(intent, &mut message, &http::HeaderMap::new(), b"{}");
        assert!(!message.has_field_by_name("idempotency_key"));
        let mut headers = http::HeaderMap::new();
        headers.insert("idempotency-key", http::HeaderValue::from_static("order-1"));
        bind_transport_fields(intent, &mut message, &headers, b"{}");
        assert_eq!(message.get_field_by_name("idempotency_key").expect("key").as_str(), Some("order-1"));
    }
}
