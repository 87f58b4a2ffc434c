//! Contract fidelity for request constraints: for every documented operation, every
//! `(platform.v1.field)` rule on its request message (body fields, path and query parameters,
//! nested messages, array items) equals what the spec declares for that value, both ways.
//! A rule the spec lacks makes the gateway refuse requests the spec allows (an undocumented
//! 400); a spec constraint the contract lacks lets through what the spec forbids.
//!
//! Compared rules: `required`, `minLength`/`maxLength` (strings) and `minItems`/`maxItems`
//! (arrays), both held by FieldRules' min/max length, `minimum`/`maximum` (with OpenAPI 3.0's
//! boolean `exclusiveMinimum`/`exclusiveMaximum` on integers), `enum` (a proto enum's values
//! or a string's `one_of`), `format` and `pattern`. Formats: `uuid`, `date`, `date-time`,
//! `email` and `uri` are checked by the validator (a `google.protobuf.Timestamp` field is a
//! checked `date-time` by its type); `password` is an annotation (a UI hint in OpenAPI, no
//! constraint); `int32`/`int64`/`float`/`double` on numbers are the proto type itself. Any
//! other format is reported, so nobody can add one the validator silently ignores.

use std::collections::{BTreeMap, BTreeSet};

use contracts::proto::platform::v1::FieldRules;
use contracts::{BodyRule, Contracts, Operation};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

use crate::routes::SPEC_APIS;
use crate::support::spec::Spec;

/// String formats the shared validator (`contracts::json`) checks.
const CHECKED_FORMATS: &[&str] = &["uuid", "date", "date-time", "email", "uri"];
/// String formats that constrain nothing.
const ANNOTATION_FORMATS: &[&str] = &["password"];
/// Number formats that name the wire type, which the proto field type already fixes.
const NUMBER_FORMATS: &[&str] = &["int32", "int64", "float", "double"];

#[derive(Debug, Clone, PartialEq)]
enum Rule {
    Flag,
    Number(f64),
    Text(String),
    Set(BTreeSet<String>),
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Flag => write!(f, "true"),
            Rule::Number(n) => write!(f, "{n}"),
            Rule::Text(text) => write!(f, "{text:?}"),
            Rule::Set(values) => write!(f, "{values:?}"),
        }
    }
}

/// The constraints on one value, by rule name.
type Rules = BTreeMap<&'static str, Rule>;

/// Where the contract's rules come from: the real catalog, or a mutated copy in the tests
/// that prove this check can fail.
type RulesOf<'a> = &'a dyn Fn(&FieldDescriptor) -> Option<FieldRules>;

/// A schema with `$ref`s followed and `allOf` parts merged (properties, required, keywords).
fn flatten(spec: &Spec, schema: &Value) -> Map<String, Value> {
    let schema = spec.resolve(schema);
    let mut merged = schema.as_object().cloned().unwrap_or_default();
    if let Some(parts) = merged.remove("allOf").and_then(|parts| parts.as_array().cloned()) {
        for part in &parts {
            for (key, value) in flatten(spec, part) {
                match (key.as_str(), merged.get_mut(&key)) {
                    ("properties", Some(Value::Object(into))) => {
                        into.extend(value.as_object().cloned().unwrap_or_default());
                    }
                    ("required", Some(Value::Array(into))) => {
                        into.extend(value.as_array().cloned().unwrap_or_default());
                    }
                    _ => {
                        merged.insert(key, value);
                    }
                }
            }
        }
    }
    merged
}

/// What the spec declares on one value (`required` comes from the parent or the parameter).
fn spec_rules(spec: &Spec, schema: &Map<String, Value>, required: bool, problems: &mut Vec<String>) -> Rules {
    let mut rules = Rules::new();
    if required {
        rules.insert("required", Rule::Flag);
    }
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("");
    let number = |key: &str| schema.get(key).and_then(Value::as_f64);
    match kind {
        "array" => {
            if let Some(n) = number("minItems") {
                rules.insert("minLength", Rule::Number(n));
            }
            if let Some(n) = number("maxItems") {
                rules.insert("maxLength", Rule::Number(n));
            }
            // Item constraints live on the repeated field itself (checked per item).
            if let Some(items) = schema.get("items") {
                let items = flatten(spec, items);
                if items.contains_key("minLength") || items.contains_key("maxLength") {
                    problems.push("item minLength/maxLength: FieldRules cannot express them on a repeated field".into());
                }
                let item_rules = spec_rules(spec, &items, false, problems);
                for key in ["enum", "format", "pattern", "minimum", "maximum"] {
                    if let Some(rule) = item_rules.get(key) {
                        rules.insert(key, rule.clone());
                    }
                }
            }
        }
        "integer" | "number" => {
            for (key, exclusive, step) in [("minimum", "exclusiveMinimum", 1.0), ("maximum", "exclusiveMaximum", -1.0)] {
                let Some(mut bound) = number(key) else { continue };
                if schema.get(exclusive) == Some(&Value::Bool(true)) {
                    if kind == "integer" {
                        bound += step;
                    } else {
                        problems.push(format!("{exclusive} on a number: FieldRules cannot express it"));
                    }
                }
                rules.insert(key, Rule::Number(bound));
            }
            if let Some(format) = schema.get("format").and_then(Value::as_str) {
                if !NUMBER_FORMATS.contains(&format) {
                    problems.push(format!("number format {format:?} is not a wire type"));
                }
            }
        }
        _ => {
            if let Some(n) = number("minLength") {
                rules.insert("minLength", Rule::Number(n));
            }
            if let Some(n) = number("maxLength") {
                rules.insert("maxLength", Rule::Number(n));
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                rules.insert("pattern", Rule::Text(pattern.to_owned()));
            }
            if let Some(format) = schema.get("format").and_then(Value::as_str) {
                if CHECKED_FORMATS.contains(&format) {
                    rules.insert("format", Rule::Text(format.to_owned()));
                } else if !ANNOTATION_FORMATS.contains(&format) {
                    problems.push(format!("format {format:?} is neither checked by the validator nor an annotation"));
                }
            }
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values = values.iter().map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).collect();
        rules.insert("enum", Rule::Set(values));
    }
    rules
}

fn is_well_known(desc: &MessageDescriptor) -> bool {
    desc.full_name().starts_with("google.protobuf.")
}

/// What the contract declares on one field, in the spec's terms.
fn contract_rules(field: &FieldDescriptor, rules: Option<&FieldRules>) -> Rules {
    let mut out = Rules::new();
    match field.kind() {
        Kind::Enum(desc) => {
            let values = desc.values().filter(|v| v.number() != 0).map(|v| v.name().to_owned()).collect();
            out.insert("enum", Rule::Set(values));
        }
        Kind::Message(desc) if desc.full_name() == "google.protobuf.Timestamp" => {
            out.insert("format", Rule::Text("date-time".into()));
        }
        _ => {}
    }
    let Some(rules) = rules else { return out };
    if rules.required {
        out.insert("required", Rule::Flag);
    }
    if let Some(n) = rules.min_length {
        out.insert("minLength", Rule::Number(n.into()));
    }
    if let Some(n) = rules.max_length {
        out.insert("maxLength", Rule::Number(n.into()));
    }
    if let Some(n) = rules.minimum {
        out.insert("minimum", Rule::Number(n));
    }
    if let Some(n) = rules.maximum {
        out.insert("maximum", Rule::Number(n));
    }
    if !rules.one_of.is_empty() {
        out.insert("enum", Rule::Set(rules.one_of.iter().cloned().collect()));
    }
    if !rules.format.is_empty() {
        out.insert("format", Rule::Text(rules.format.clone()));
    }
    if !rules.pattern.is_empty() {
        out.insert("pattern", Rule::Text(rules.pattern.clone()));
    }
    out
}

/// How a contract's value differs from the spec's.
fn judge(key: &str, spec: &Rule, contract: &Rule) -> &'static str {
    match (spec, contract) {
        (Rule::Number(s), Rule::Number(c)) => match (key.starts_with("min"), c > s) {
            (true, true) | (false, false) => "stricter",
            _ => "looser",
        },
        (Rule::Set(s), Rule::Set(c)) if c.is_subset(s) => "stricter",
        (Rule::Set(s), Rule::Set(c)) if c.is_superset(s) => "looser",
        _ => "different",
    }
}

/// The comparison of one spec with its contract, accumulating differences and counts.
struct Audit<'a> {
    spec: &'a Spec,
    rules_of: RulesOf<'a>,
    differences: Vec<String>,
    operations: usize,
    fields: usize,
    rules: usize,
}

impl<'a> Audit<'a> {
    fn new(spec: &'a Spec, rules_of: RulesOf<'a>) -> Self {
        Self { spec, rules_of, differences: Vec::new(), operations: 0, fields: 0, rules: 0 }
    }

    fn differ(&mut self, at: &str, what: String) {
        self.differences.push(format!("{}: {at}: {what}", self.spec.name()));
    }

    /// One value: the field's rules against the spec schema's, then its insides.
    fn field(&mut self, at: &str, field: &FieldDescriptor, schema: &Value, required: bool) {
        let schema = flatten(self.spec, schema);
        let mut problems = Vec::new();
        let spec = spec_rules(self.spec, &schema, required, &mut problems);
        for problem in problems {
            self.differ(at, problem);
        }
        let contract = contract_rules(field, (self.rules_of)(field).as_ref());
        self.fields += 1;
        let keys: BTreeSet<&str> = spec.keys().chain(contract.keys()).copied().collect();
        self.rules += keys.len();
        for key in keys {
            match (spec.get(key), contract.get(key)) {
                (Some(s), Some(c)) if s == c => {}
                (Some(s), Some(c)) => {
                    let how = judge(key, s, c);
                    self.differ(at, format!("{key} is {how}: spec {s}, contract {c}"));
                }
                (Some(s), None) => self.differ(at, format!("{key} {s} is missing from the contract (looser)")),
                (None, Some(c)) => self.differ(at, format!("{key} {c} is not in the spec (stricter)")),
                (None, None) => {}
            }
        }
        let Kind::Message(inner) = field.kind() else { return };
        if is_well_known(&inner) || field.is_map() {
            return;
        }
        if field.is_list() {
            let items = schema.get("items").cloned().unwrap_or(Value::Null);
            self.object(&format!("{at}[]"), &inner, &items, &BTreeSet::new());
        } else {
            self.object(at, &inner, &Value::Object(schema), &BTreeSet::new());
        }
    }

    /// An object schema against a message: every property with its field, then the fields the
    /// spec does not have (`bound` ones excepted: path and query parameters).
    fn object(&mut self, at: &str, desc: &MessageDescriptor, schema: &Value, bound: &BTreeSet<String>) {
        let schema = flatten(self.spec, schema);
        let required: BTreeSet<&str> =
            schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let mut seen = bound.clone();
        let properties = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        for (name, property) in &properties {
            let path = if at.is_empty() { name.clone() } else { format!("{at}.{name}") };
            match field_named(desc, name) {
                Some(field) => {
                    seen.insert(field.name().to_owned());
                    self.field(&path, &field, property, required.contains(name.as_str()));
                }
                None => self.differ(&path, format!("no field of {} holds this property", desc.full_name())),
            }
        }
        self.leftovers(at, desc, &seen);
    }

    /// Fields the spec does not describe may exist (they are simply never sent) but carry no rule.
    fn leftovers(&mut self, at: &str, desc: &MessageDescriptor, seen: &BTreeSet<String>) {
        for field in desc.fields().filter(|field| !seen.contains(field.name())) {
            let rules = contract_rules(&field, (self.rules_of)(&field).as_ref());
            let rules: Vec<String> =
                rules.iter().filter(|(key, _)| **key != "enum").map(|(key, rule)| format!("{key} {rule}")).collect();
            if !rules.is_empty() {
                let path = if at.is_empty() { field.name().to_owned() } else { format!("{at}.{}", field.name()) };
                self.differ(&path, format!("rules {} on a field the spec does not have", rules.join(", ")));
            }
        }
    }

    /// One operation: its parameters, then its body, then what is left of the request message.
    fn operation(&mut self, operation: &Operation, documented: &crate::support::spec::Operation) {
        self.operations += 1;
        let doc = self.spec.document();
        let item = &doc["paths"][&documented.path];
        let op_doc = &item[documented.method.to_lowercase()];
        let label = documented.operation_id.clone();
        let input = operation.method.input();
        let mut bound = BTreeSet::new();

        let parameters: Vec<Value> = [&item["parameters"], &op_doc["parameters"]]
            .into_iter()
            .filter_map(Value::as_array)
            .flatten()
            .map(|parameter| self.spec.resolve(parameter).clone())
            .collect();
        for parameter in &parameters {
            let name = parameter["name"].as_str().unwrap_or_default();
            let place = parameter["in"].as_str().unwrap_or_default();
            if place != "path" && place != "query" {
                continue; // headers and cookies are not request message fields
            }
            let at = format!("{label} {place} {name}");
            let Some(field) = field_named(&input, name) else {
                self.differ(&at, format!("no field of {} holds this parameter", input.full_name()));
                continue;
            };
            bound.insert(field.name().to_owned());
            let required = parameter["required"] == Value::Bool(true);
            self.field(&at, &field, &parameter["schema"], required);
        }

        let body = op_doc.get("requestBody").map(|body| self.spec.resolve(body));
        let schema = body.and_then(|body| body.pointer("/content/application~1json/schema")).cloned();
        match (&operation.http.body, schema) {
            (BodyRule::Whole, schema) => {
                let schema = schema.unwrap_or_else(|| serde_json::json!({"type": "object"}));
                self.object(&format!("{label} body"), &input, &schema, &bound);
            }
            (BodyRule::Field(name), Some(schema)) => {
                let Some(field) = input.get_field_by_name(name) else {
                    self.differ(&label, format!("body field {name} is not in {}", input.full_name()));
                    return;
                };
                bound.insert(field.name().to_owned());
                let required = body.is_some_and(|body| body["required"] == Value::Bool(true));
                self.field(&format!("{label} body"), &field, &schema, required);
                self.leftovers(&label, &input, &bound);
            }
            (_, Some(_)) => self.differ(&label, "the spec documents a request body the rule does not read".into()),
            (_, None) => self.leftovers(&label, &input, &bound),
        }
    }
}

/// The field a spec property or parameter names: by proto name or JSON name.
fn field_named(desc: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    desc.get_field_by_name(name).or_else(|| desc.get_field_by_json_name(name))
}

/// Compares one spec with the contract of `api_name`.
fn audit<'a>(spec: &'a Spec, contracts: &Contracts, api_name: &str, rules_of: RulesOf<'a>) -> Audit<'a> {
    let api = contracts.api(api_name).unwrap_or_else(|| panic!("no API {api_name}"));
    let mut audit = Audit::new(spec, rules_of);
    for documented in spec.operations() {
        match api.operations.iter().find(|op| op.options.operation_id == documented.operation_id) {
            Some(operation) => audit.operation(operation, &documented),
            None => audit.differ(&documented.operation_id, "no RPC declares this operation".into()),
        }
    }
    audit
}

#[test]
fn every_request_rule_is_exactly_the_specs() {
    let contracts = Contracts::embedded().expect("contracts");
    let rules_of = |field: &FieldDescriptor| contracts.field_rules(field).cloned();
    let (mut operations, mut fields, mut rules, mut differences) = (0, 0, 0, Vec::new());
    for (file, api_name) in SPEC_APIS {
        let spec = Spec::load(file);
        let audit = audit(&spec, &contracts, api_name, &rules_of);
        operations += audit.operations;
        fields += audit.fields;
        rules += audit.rules;
        differences.extend(audit.differences);
    }
    println!("compared {operations} operations, {fields} fields, {rules} rules");
    assert!(differences.is_empty(), "{} differences between the specs and the contracts' field rules:\n{}", differences.len(), differences.join("\n"));
    // Not vacuous: every operation was walked, and a real number of fields and rules.
    assert_eq!(operations, 49, "the five specs document 49 operations");
    assert!(fields >= 130, "only {fields} fields compared");
    assert!(rules >= 110, "only {rules} rules compared");
}

/// The user contract audited against a mutated copy of user-service.yaml.
fn audit_mutated_user_spec(mutate: impl FnOnce(&mut Value)) -> Vec<String> {
    let contracts = Contracts::embedded().expect("contracts");
    let mut doc = Spec::load("user-service.yaml").document().clone();
    mutate(&mut doc);
    let spec = Spec::from_yaml_str("user-service.yaml (mutated)", &doc.to_string());
    let rules_of = |field: &FieldDescriptor| contracts.field_rules(field).cloned();
    audit(&spec, &contracts, "user", &rules_of).differences
}

/// Sets `key` of the object at `pointer` (which must exist) in a spec document.
fn set(doc: &mut Value, pointer: &str, key: &str, value: Value) {
    let object = doc.pointer_mut(pointer).and_then(Value::as_object_mut);
    object.unwrap_or_else(|| panic!("no object at {pointer}")).insert(key.to_owned(), value);
}

/// Removes `key` (which must exist) from the object at `pointer` in a spec document.
fn remove(doc: &mut Value, pointer: &str, key: &str) {
    let object = doc.pointer_mut(pointer).and_then(Value::as_object_mut);
    let removed = object.unwrap_or_else(|| panic!("no object at {pointer}")).remove(key);
    assert!(removed.is_some(), "no {key} at {pointer}");
}

#[test]
fn a_changed_spec_rule_is_reported() {
    assert!(audit_mutated_user_spec(|_| {}).is_empty(), "the unmutated copy matches");
    let login = "/components/schemas/LoginRequest/properties";
    let refresh = "/components/schemas/RefreshTokenRequest";
    let differences = audit_mutated_user_spec(|doc| {
        set(doc, &format!("{login}/username"), "maxLength", Value::from(40));
        remove(doc, &format!("{login}/password"), "minLength");
        set(doc, &format!("{refresh}/properties/refreshToken"), "pattern", Value::from("^ey"));
        set(doc, refresh, "required", Value::Array(Vec::new()));
        // A query parameter: /api/v1/auth/validate's includeUserInfo made required.
        set(doc, "/paths/~1api~1v1~1auth~1validate/get/parameters/0", "required", Value::Bool(true));
    });
    let expect = [
        "login body.username: maxLength is looser: spec 40, contract 50",
        "login body.password: minLength 8 is not in the spec (stricter)",
        "refreshToken body.refreshToken: pattern \"^ey\" is missing from the contract (looser)",
        "refreshToken body.refreshToken: required true is not in the spec (stricter)",
        "validateToken query includeUserInfo: required true is missing from the contract (looser)",
    ];
    for expected in expect {
        assert!(differences.iter().any(|d| d.ends_with(expected)), "{expected:?} not reported in {differences:#?}");
    }
    assert_eq!(differences.len(), expect.len(), "{differences:#?}");

    // A property the spec drops: its field's rules are rules on a field the spec does not have.
    let differences = audit_mutated_user_spec(|doc| remove(doc, login, "username"));
    assert_eq!(
        differences,
        ["user-service.yaml (mutated): login body.username: rules maxLength 50, minLength 3, required true on a field the spec does not have"],
    );
}

#[test]
fn a_changed_contract_rule_is_reported() {
    let contracts = Contracts::embedded().expect("contracts");
    let spec = Spec::load("user-service.yaml");
    // A mutated in-memory copy of the contract's rules.
    let mutated = |field: &FieldDescriptor| {
        let mut rules = contracts.field_rules(field).cloned();
        match field.full_name() {
            "user.v1.LoginRequest.username" => {
                if let Some(rules) = rules.as_mut() {
                    rules.max_length = Some(20);
                }
            }
            "user.v1.RefreshTokenRequest.refresh_token" => {
                if let Some(rules) = rules.as_mut() {
                    rules.min_length = Some(1);
                }
            }
            "user.v1.ValidateTokenRequest.include_user_info" => {
                rules = Some(FieldRules { required: true, ..Default::default() });
            }
            _ => {}
        }
        rules
    };
    let differences = audit(&spec, &contracts, "user", &mutated).differences;
    let expect = [
        "login body.username: maxLength is stricter: spec 50, contract 20",
        "refreshToken body.refreshToken: minLength 1 is not in the spec (stricter)",
        "validateToken query includeUserInfo: required true is not in the spec (stricter)",
    ];
    for expected in expect {
        assert!(differences.iter().any(|d| d.ends_with(expected)), "{expected:?} not reported in {differences:#?}");
    }
    assert_eq!(differences.len(), expect.len(), "{differences:#?}");
}
