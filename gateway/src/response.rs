//! A successful answer's JSON body: the response message (or its `response_body` field),
//! in the API's envelope when it has one.

use prost_reflect::{DynamicMessage, ReflectMessage, Value as ProtoValue};
use serde_json::Value;

use contracts::json::{self, FieldNames};
use contracts::{Contracts, Operation};

use crate::request::select_response_body;

/// The body bytes. Written straight from the message when possible; a `response_body` that
/// is not a set message field, or a tree that needs pruning, goes through a JSON `Value`.
pub fn success_body(
    operation: &Operation,
    message: &DynamicMessage,
    contracts: &Contracts,
    names: FieldNames,
    enveloped: bool,
) -> Vec<u8> {
    let data = match selected_message(operation, message) {
        Some(selected) => json::encode_to_vec(&selected, contracts, names),
        None => {
            let json = select_response_body(operation, names, json::encode(message, contracts, names));
            serde_json::to_vec(&json).unwrap_or_default()
        }
    };
    if !enveloped {
        return data;
    }
    let mut body = Vec::with_capacity(data.len() + 32);
    body.extend_from_slice(br#"{"success":true,"data":"#);
    body.extend_from_slice(&data);
    body.push(b'}');
    body
}

/// The message to write: the whole response, or the set message field `response_body`
/// names. None when that field is not a singular message or is unset (written as null).
fn selected_message(operation: &Operation, message: &DynamicMessage) -> Option<DynamicMessage> {
    let Some(path) = &operation.http.response_body else { return Some(message.clone()) };
    let mut current = message.clone();
    for name in path.split('.') {
        let field = current.descriptor().get_field_by_name(name)?;
        if field.is_list() || field.is_map() || !current.has_field(&field) {
            return None;
        }
        current = match current.get_field(&field).as_ref() {
            ProtoValue::Message(inner) => inner.clone(),
            _ => return None,
        };
    }
    Some(current)
}

/// The body as JSON (tests compare the fast path with the `Value` path).
pub fn success_json(
    operation: &Operation,
    message: &DynamicMessage,
    contracts: &Contracts,
    names: FieldNames,
    enveloped: bool,
) -> Value {
    serde_json::from_slice(&success_body(operation, message, contracts, names, enveloped)).unwrap_or(Value::Null)
}
