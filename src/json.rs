//! JSON ⇄ protobuf for the REST side, through prost-reflect dynamic messages, with the rules
//! the specs need on top of proto3 JSON (see proto/README.md):
//! 64-bit integers as JSON numbers, required fields always written, unset `optional` fields
//! absent, `omit_empty` repeated fields absent when empty, enum zero values never valid, and
//! the spec constraints of `(platform.v1.field)` checked on input.

use prost_reflect::{
    DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage,
    SerializeOptions,
};
use serde_json::{Map, Value};

use crate::catalog::Contracts;

/// How an API names its JSON fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldNames {
    /// proto3 JSON names (lowerCamelCase or `json_name`).
    Json,
    /// The proto field names as written (Ticketing's snake_case).
    Proto,
}

impl FieldNames {
    pub fn key(self, field: &FieldDescriptor) -> &str {
        match self {
            FieldNames::Json => field.json_name(),
            FieldNames::Proto => field.name(),
        }
    }
}

/// A request that does not fit its contract: rendered as the API's 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Violation {
    /// Dotted JSON path of the offending field ("" for the whole body).
    pub field: String,
    pub reason: String,
}

impl Violation {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

fn serialize_options(names: FieldNames) -> SerializeOptions {
    SerializeOptions::new()
        .stringify_64_bit_integers(false)
        .use_proto_field_name(names == FieldNames::Proto)
        .skip_default_fields(false)
}

/// Writes a message as the spec's JSON bytes: straight from the message when nothing in its
/// tree is `omit_empty` (the common case, with no intermediate `Value`), else via [`encode`].
pub fn encode_to_vec(message: &DynamicMessage, contracts: &Contracts, names: FieldNames) -> Vec<u8> {
    if contracts.needs_pruning(&message.descriptor()) {
        return serde_json::to_vec(&encode(message, contracts, names)).unwrap_or_default();
    }
    let mut bytes = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::new(&mut bytes);
    // Writing into a Vec has no I/O errors, and every dynamic message value has a JSON form.
    match message.serialize_with_options(&mut serializer, &serialize_options(names)) {
        Ok(()) => bytes,
        Err(_) => serde_json::to_vec(&encode(message, contracts, names)).unwrap_or_default(),
    }
}

/// Writes a message as the spec's JSON.
pub fn encode(message: &DynamicMessage, contracts: &Contracts, names: FieldNames) -> Value {
    let options = serialize_options(names);
    // Serializing a well-formed dynamic message into a serde_json::Value cannot fail: every
    // value has a JSON form and the serializer has no I/O.
    let mut json = message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or(Value::Null);
    prune_empty(&message.descriptor(), &mut json, contracts, names);
    json
}

fn is_well_known(message: &MessageDescriptor) -> bool {
    message.full_name().starts_with("google.protobuf.")
}

/// Drops empty `omit_empty` fields, recursively.
fn prune_empty(desc: &MessageDescriptor, json: &mut Value, contracts: &Contracts, names: FieldNames) {
    let Value::Object(object) = json else { return };
    for field in desc.fields() {
        let key = names.key(&field);
        let omit = contracts.field_rules(&field).is_some_and(|rules| rules.omit_empty);
        let empty = match object.get(key) {
            Some(Value::Array(items)) => items.is_empty(),
            Some(Value::Object(map)) if field.is_map() => map.is_empty(),
            _ => false,
        };
        if omit && empty {
            object.remove(key);
            continue;
        }
        let Some(child) = object.get_mut(key) else { continue };
        match field.kind() {
            Kind::Message(inner) if field.is_map() => {
                if let (Kind::Message(value_desc), Value::Object(map)) =
                    (inner.map_entry_value_field().kind(), child)
                {
                    if !is_well_known(&value_desc) {
                        for value in map.values_mut() {
                            prune_empty(&value_desc, value, contracts, names);
                        }
                    }
                }
            }
            Kind::Message(inner) if !is_well_known(&inner) => match child {
                Value::Array(items) => {
                    for item in items {
                        prune_empty(&inner, item, contracts, names);
                    }
                }
                other => prune_empty(&inner, other, contracts, names),
            },
            _ => {}
        }
    }
}

/// Checks `json` against the message's contract, then parses it.
///
/// `deny_unknown_fields` is for tests that prove a contract matches its spec; the gateway
/// ignores fields it does not know, as the specs' original servers did.
pub fn decode(
    desc: &MessageDescriptor,
    json: Value,
    contracts: &Contracts,
    deny_unknown_fields: bool,
) -> Result<DynamicMessage, Violation> {
    validate(desc, &json, contracts, "")?;
    let options = DeserializeOptions::new().deny_unknown_fields(deny_unknown_fields);
    DynamicMessage::deserialize_with_options(desc.clone(), json, &options)
        .map_err(|e| Violation::new("", e.to_string()))
}

/// The field's value in a JSON object, by JSON name or proto name.
fn lookup<'a>(object: &'a Map<String, Value>, field: &FieldDescriptor) -> Option<&'a Value> {
    object.get(field.json_name()).or_else(|| object.get(field.name()))
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
}

/// The spec constraints and strict JSON types that proto3 JSON parsing does not enforce.
pub fn validate(
    desc: &MessageDescriptor,
    json: &Value,
    contracts: &Contracts,
    prefix: &str,
) -> Result<(), Violation> {
    if is_well_known(desc) {
        return Ok(());
    }
    let Value::Object(object) = json else {
        let what = if prefix.is_empty() { "request body" } else { prefix };
        return Err(Violation::new(prefix, format!("{what} must be a JSON object")));
    };
    for field in desc.fields() {
        let path = join(prefix, field.json_name());
        let rules = contracts.field_rules(&field);
        let value = lookup(object, &field).filter(|value| !value.is_null());
        let Some(value) = value else {
            if rules.is_some_and(|rules| rules.required) {
                return Err(Violation::new(path, "is required"));
            }
            continue;
        };
        if field.is_list() {
            let Value::Array(items) = value else {
                return Err(Violation::new(path, "must be an array"));
            };
            if let Some(rules) = rules {
                check_count(&path, items.len(), rules.min_length, rules.max_length, "items")?;
            }
            for (index, item) in items.iter().enumerate() {
                check_value(&field, item, contracts, &format!("{path}[{index}]"))?;
            }
        } else if field.is_map() {
            if !value.is_object() {
                return Err(Violation::new(path, "must be an object"));
            }
        } else {
            check_value(&field, value, contracts, &path)?;
        }
    }
    Ok(())
}

fn check_count(
    path: &str,
    count: usize,
    min: Option<u32>,
    max: Option<u32>,
    unit: &str,
) -> Result<(), Violation> {
    if let Some(min) = min.filter(|min| count < *min as usize) {
        return Err(Violation::new(path, format!("must have at least {min} {unit}")));
    }
    if let Some(max) = max.filter(|max| count > *max as usize) {
        return Err(Violation::new(path, format!("must have at most {max} {unit}")));
    }
    Ok(())
}

/// One (non-list) value of a field.
fn check_value(
    field: &FieldDescriptor,
    value: &Value,
    contracts: &Contracts,
    path: &str,
) -> Result<(), Violation> {
    let rules = contracts.field_rules(field);
    match field.kind() {
        Kind::String => {
            let Value::String(text) = value else {
                return Err(Violation::new(path, "must be a string"));
            };
            if let Some(rules) = rules {
                let single = !field.is_list();
                let chars = text.chars().count();
                if single {
                    check_count(path, chars, rules.min_length, rules.max_length, "characters")?;
                }
                if !rules.one_of.is_empty() && !rules.one_of.iter().any(|allowed| allowed == text) {
                    return Err(Violation::new(
                        path,
                        format!("must be one of {}", rules.one_of.join(", ")),
                    ));
                }
                check_format(path, text, &rules.format)?;
                if let Some(pattern) = contracts.field_pattern(field) {
                    if !pattern.is_match(text) {
                        return Err(Violation::new(path, format!("must match {}", rules.pattern)));
                    }
                }
            }
        }
        Kind::Bool => {
            if !value.is_boolean() {
                return Err(Violation::new(path, "must be a boolean"));
            }
        }
        Kind::Int32 | Kind::Int64 | Kind::Sint32 | Kind::Sint64 | Kind::Sfixed32
        | Kind::Sfixed64 | Kind::Uint32 | Kind::Uint64 | Kind::Fixed32 | Kind::Fixed64 => {
            let is_integer = value.as_i64().is_some()
                || value.as_u64().is_some()
                || value.as_f64().is_some_and(|n| n.fract() == 0.0);
            if !is_integer {
                return Err(Violation::new(path, "must be an integer"));
            }
            check_range(path, value, rules)?;
        }
        Kind::Double | Kind::Float => {
            if !value.is_number() {
                return Err(Violation::new(path, "must be a number"));
            }
            check_range(path, value, rules)?;
        }
        Kind::Enum(enum_desc) => {
            let Value::String(name) = value else {
                return Err(Violation::new(path, "must be a string"));
            };
            let known = enum_desc.get_value_by_name(name).filter(|v| v.number() != 0);
            if known.is_none() {
                let allowed: Vec<_> = enum_desc
                    .values()
                    .filter(|v| v.number() != 0)
                    .map(|v| v.name().to_owned())
                    .collect();
                return Err(Violation::new(path, format!("must be one of {}", allowed.join(", "))));
            }
        }
        Kind::Message(inner) => {
            validate(&inner, value, contracts, path)?;
        }
        Kind::Bytes => {
            if !value.is_string() {
                return Err(Violation::new(path, "must be a base64 string"));
            }
        }
    }
    Ok(())
}

fn check_range(
    path: &str,
    value: &Value,
    rules: Option<&crate::proto::platform::v1::FieldRules>,
) -> Result<(), Violation> {
    let (Some(rules), Some(number)) = (rules, value.as_f64()) else { return Ok(()) };
    if let Some(min) = rules.minimum.filter(|min| number < *min) {
        return Err(Violation::new(path, format!("must be at least {min}")));
    }
    if let Some(max) = rules.maximum.filter(|max| number > *max) {
        return Err(Violation::new(path, format!("must be at most {max}")));
    }
    Ok(())
}

fn check_format(path: &str, text: &str, format: &str) -> Result<(), Violation> {
    let ok = match format {
        "" => true,
        "uuid" => uuid::Uuid::parse_str(text).is_ok(),
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        "email" => is_email(text),
        "uri" => is_absolute_uri(text),
        // Formats without a check here (e.g. "password") are annotations: contracts only
        // declare the checked ones (the contract_rules test holds them to that).
        _ => true,
    };
    if ok { Ok(()) } else { Err(Violation::new(path, format!("must be a valid {format}"))) }
}

/// A deliberately simple address check (one `@`, non-empty local part, dotted domain): the
/// spec asks for `format: email`, not for RFC 5322 in full.
fn is_email(text: &str) -> bool {
    let mut parts = text.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        _ => false,
    }
}

/// RFC 3986 `absolute-URI` in outline: a scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`),
/// a colon, and a rest without spaces, controls or characters a URI never holds unescaped.
fn is_absolute_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else { return false };
    let mut scheme_chars = scheme.chars();
    let scheme_ok = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let rest_ok = !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}'));
    let percent_ok = rest.split('%').skip(1).all(|after| {
        after.len() >= 2 && after.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit)
    });
    scheme_ok && rest_ok && percent_ok
}

/// Converts one query-string or path value to the JSON the field expects.
pub fn scalar_from_text(field: &FieldDescriptor, text: &str) -> Result<Value, String> {
    match field.kind() {
        Kind::Bool => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("must be true or false".to_owned()),
        },
        Kind::Int32 | Kind::Int64 | Kind::Sint32 | Kind::Sint64 | Kind::Sfixed32
        | Kind::Sfixed64 => {
            text.parse::<i64>().map(Value::from).map_err(|_| "must be an integer".to_owned())
        }
        Kind::Uint32 | Kind::Uint64 | Kind::Fixed32 | Kind::Fixed64 => text
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| "must be a non-negative integer".to_owned()),
        Kind::Double | Kind::Float => match text.parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(Value::from(number)),
            _ => Err("must be a number".to_owned()),
        },
        // Strings, enums (by name), bytes (base64) and well-known types written as strings
        // (Timestamp, Duration, wrappers) keep their text; decode checks them.
        _ => Ok(Value::String(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contracts() -> Contracts {
        Contracts::embedded().expect("contracts")
    }

    fn input(contracts: &Contracts, api: &str, operation: &str) -> MessageDescriptor {
        let api = contracts.api(api).expect("api");
        api.operations.iter().find(|op| op.options.operation_id == operation).expect("op").method.input()
    }

    #[test]
    fn constraints_and_strict_types_are_enforced() {
        let contracts = contracts();
        let login = input(&contracts, "user", "login");
        let ok = serde_json::json!({"username": "user001", "password": "P@ssw0rd123!"});
        assert!(decode(&login, ok, &contracts, false).is_ok());
        let cases = [
            (serde_json::json!({"password": "P@ssw0rd123!"}), "username"),
            (serde_json::json!({"username": "ab", "password": "P@ssw0rd123!"}), "username"),
            (serde_json::json!({"username": 5, "password": "P@ssw0rd123!"}), "username"),
            (serde_json::json!({"username": "user001", "password": "짧은"}), "password"),
        ];
        for (body, field) in cases {
            let violation = decode(&login, body.clone(), &contracts, false).expect_err("must be refused");
            assert_eq!(violation.field, field, "{body}");
        }
        // Length counts characters, not bytes: eight Korean characters pass.
        let korean = serde_json::json!({"username": "사용자", "password": "비밀번호비밀번호"});
        assert!(decode(&login, korean, &contracts, false).is_ok());
    }

    #[test]
    fn enums_accept_only_documented_names() {
        let contracts = contracts();
        let draft = input(&contracts, "event", "createEventDraft");
        let field = draft.fields().find(|f| matches!(f.kind(), Kind::Enum(_))).expect("an enum field");
        let key = field.json_name().to_owned();
        let Kind::Enum(enum_desc) = field.kind() else { unreachable!() };
        let valid = enum_desc.values().find(|v| v.number() != 0).expect("a value").name().to_owned();
        let zero = enum_desc.values().find(|v| v.number() == 0).expect("zero").name().to_owned();
        // Other required fields may be missing: only whether *this* field is refused matters.
        let refused = |value: Value| {
            validate(&draft, &serde_json::json!({ key.clone(): value }), &contracts, "")
                .err()
                .is_some_and(|violation| violation.field == key)
        };
        assert!(!refused(Value::String(valid)));
        assert!(refused(Value::String(zero)), "the UNSPECIFIED value is not part of the API");
        assert!(refused(Value::String("NOPE".into())));
        assert!(refused(Value::from(1)), "enums are strings in these APIs");
    }

    #[test]
    fn sixty_four_bit_integers_are_numbers_and_omit_empty_is_honoured() {
        let contracts = contracts();
        let api = contracts.api("user").expect("api");
        let login = api.operations.iter().find(|op| op.options.operation_id == "login").expect("op");
        let json = serde_json::json!({"accessToken": "a", "refreshToken": "r", "tokenType": "Bearer", "expiresIn": 3600,
            "user": {"userId": "u", "username": "u", "name": "n", "email": "e@x.com"}});
        let message = decode(&login.method.output(), json, &contracts, true).expect("decodes");
        let written = encode(&message, &contracts, FieldNames::Json);
        assert_eq!(written["expiresIn"], Value::from(3600), "a number, not \"3600\"");
        assert!(written["user"].get("roles").is_none(), "empty optional roles are omitted");
        assert!(written["user"].get("department").is_none(), "unset optional scalars are omitted");
    }

    #[test]
    fn patterns_are_checked_on_strings_and_absent_optionals_pass() {
        let contracts = contracts();
        let history = input(&contracts, "product_change", "getProductChangeHistory");
        let refused = |line: &str| validate(&history, &serde_json::json!({"lineNumber": line}), &contracts, "").err();
        assert_eq!(refused("01012345678"), None);
        for bad in ["0101234567", "010123456789", "01112345678", "010-1234-5678", "x01012345678", "０１０12345678"] {
            let violation = refused(bad).unwrap_or_else(|| panic!("{bad:?} must be refused"));
            assert_eq!(violation.field, "lineNumber");
            assert!(violation.reason.contains("^010[0-9]{8}$"), "{}", violation.reason);
        }
        assert!(validate(&history, &serde_json::json!({}), &contracts, "").is_ok(), "optional: absent is fine");

        // Nested: Event colours accept #RGB and #RRGGBB only.
        let content = input(&contracts, "event", "updateEventContent");
        let colour = |value: &str| {
            let body = serde_json::json!({"id": "3f2c9a4e-0000-4000-8000-000000000001",
                "selectedImageUrl": "https://cdn.example.com/a.png", "editedContent": {"textColor": value}});
            validate(&content, &body, &contracts, "").map_err(|v| v.field)
        };
        assert_eq!(colour("#abc"), Ok(()));
        assert_eq!(colour("#A1B2C3"), Ok(()));
        for bad in ["#abcd", "abc", "#ggg", "red"] {
            assert_eq!(colour(bad), Err("editedContent.textColor".to_owned()), "{bad}");
        }
    }

    #[test]
    fn uri_format_wants_an_absolute_uri() {
        for good in ["https://cdn.example.com/a.png?x=1#f", "urn:isbn:0451450523", "http://h/%20"] {
            assert!(is_absolute_uri(good), "{good}");
        }
        for bad in ["", "cdn.example.com/a.png", "/relative", "https://a b", "1http://x", "http:", "http://x/%zz"] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
    }

    #[test]
    fn query_text_converts_by_field_type() {
        let contracts = contracts();
        let validate_op = input(&contracts, "user", "validateToken");
        let flag = validate_op.get_field_by_name("include_user_info").expect("field");
        assert_eq!(scalar_from_text(&flag, "true"), Ok(Value::Bool(true)));
        assert!(scalar_from_text(&flag, "yes").is_err());
    }
}
