//! Loads the OpenAPI 3.0.3 documents in `shared/specs/` and validates JSON bodies against them.
//!
//! The end-to-end tests hold every response body the platform returns up against the spec that
//! documents it, so this module is the referee: it must reject what the spec rejects. OpenAPI
//! 3.0 schemas are a dialect of JSON Schema, so each schema is first rewritten into plain JSON
//! Schema 2020-12 (see [`to_json_schema`]) and then compiled with the `jsonschema` crate, with
//! `format` asserted (date-time, date, email, uuid, uri are checked, not just annotations).
//!
//! References: every validator is compiled against a root document that carries the converted
//! `components.schemas`, so `$ref: '#/components/schemas/X'` resolves exactly as in the spec.
//! References to `components/responses`, `components/parameters`, `components/examples` and
//! `components/requestBodies` are followed by the loader itself ([`Spec::resolve`]) when it
//! looks up responses, request bodies and examples. Every local `$ref` in a document is checked
//! when it is loaded, so a dangling reference fails loudly instead of validating nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

/// HTTP methods an OpenAPI path item may hold, in the order the OpenAPI spec lists them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The media type whose schema and examples are used. All five specs use only this one.
const JSON: &str = "application/json";

/// Where the specs live: `$SPECS_DIR` if set, else `shared/specs` beside the crate
/// (`<CARGO_MANIFEST_DIR>/../../shared/specs`, which is how CI and the developers lay it out).
pub fn specs_dir() -> PathBuf {
    match std::env::var_os("SPECS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs"),
    }
}

/// One parsed OpenAPI document plus a cache of compiled validators.
///
/// Compiling a validator is much slower than running one, and the e2e tests validate many
/// bodies against the same few schemas, so validators are compiled once per schema and shared.
/// `Spec` is `Send + Sync`, so it can live in a `static LazyLock<Spec>`.
pub struct Spec {
    name: String,
    doc: Value,
    /// `{"schemas": {...}}`: `components.schemas` converted to JSON Schema, embedded in the
    /// root of every validator so that `#/components/schemas/...` references resolve.
    components: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// One path + method of a spec, with what the tests need to drive and check it.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub operation_id: String,
    /// Upper-case HTTP method, e.g. `POST`.
    pub method: String,
    /// Path template as written in the spec, e.g. `/api/events/{id}`.
    pub path: String,
    /// `application/json` request examples: each named entry of `examples` (refs to
    /// `components/examples` resolved) under its name, and a bare `example` under `"example"`.
    pub request_examples: Vec<(String, Value)>,
    /// `(status, name, value)` for every `application/json` response example, named as in
    /// `request_examples`. Status is 0 for the `default` response. Refs to
    /// `components/responses` and `components/examples` are resolved.
    pub response_examples: Vec<(u16, String, Value)>,
    /// Documented 2xx statuses, ascending. Empty when the operation documents only `default`.
    pub success_statuses: Vec<u16>,
    /// Whether a security requirement applies: the operation's own `security` if it has one,
    /// else the document's global `security`. An empty requirement (`{}`) makes it optional.
    pub security_required: bool,
}

impl Spec {
    /// Loads `file_name` (e.g. `"user-service.yaml"`) from [`specs_dir`].
    ///
    /// Panics with the path and the reason if the file is missing or is not a usable OpenAPI
    /// 3.0 document: these are test helpers, and a broken spec should stop the test at once.
    pub fn load(file_name: &str) -> Spec {
        let path = specs_dir().join(file_name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read spec {} (set SPECS_DIR to override): {e}",
                path.display()
            )
        });
        Spec::from_yaml_str(file_name, &text)
    }

    /// Parses an OpenAPI 3.0 document from YAML (or JSON) text. `name` is only used in
    /// messages. Exists so tests can check the OpenAPI-to-JSON-Schema rules on small documents.
    pub fn from_yaml_str(name: &str, text: &str) -> Spec {
        // Through serde_norway's own Value first: YAML allows non-string keys (an unquoted
        // `200:` response code), which serde_json::to_value turns into strings.
        let yaml: serde_norway::Value = serde_norway::from_str(text)
            .unwrap_or_else(|e| panic!("spec {name} is not valid YAML: {e}"));
        let doc = serde_json::to_value(yaml)
            .unwrap_or_else(|e| panic!("spec {name} cannot be represented as JSON: {e}"));
        let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
        assert!(
            version.starts_with("3.0."),
            "spec {name}: expected OpenAPI 3.0.x, found {version:?}"
        );

        let schemas: Map<String, Value> = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), to_json_schema(v)))
                    .collect()
            })
            .unwrap_or_default();
        let spec = Spec {
            name: name.to_owned(),
            components: json!({ "schemas": schemas }),
            doc,
            validators: Mutex::new(HashMap::new()),
        };
        spec.check_refs(&spec.doc, "");
        spec.check_operation_ids();
        spec
    }

    /// The file name the spec was loaded from.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw parsed document, for anything this module does not wrap (parameters, headers).
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Every path + method in the document, in path order.
    pub fn operations(&self) -> Vec<Operation> {
        self.operation_objects()
            .into_iter()
            .map(|(path, method, op)| self.build_operation(path, method, op))
            .collect()
    }

    /// The operation with this `operationId` in this spec. Panics, listing the ids the spec
    /// has, if there is none. (Ids are unique per spec only: `login` is in two specs.)
    pub fn operation(&self, operation_id: &str) -> Operation {
        let (path, method, op) = self.find_operation(operation_id);
        self.build_operation(path, method, op)
    }

    /// Checks that `status` is documented for the operation (exactly, or through `default`)
    /// and that `body` validates against that response's `application/json` schema.
    ///
    /// `status` 0 selects the `default` response itself. A response that documents no body
    /// (e.g. a 204) accepts only `Value::Null`, which is how callers pass an empty body.
    /// `Err` lists every violation, one per line, each with the JSON pointer into `body`.
    pub fn check_response(
        &self,
        operation_id: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), String> {
        let (path, method, op) = self.find_operation(operation_id);
        let responses = op.get("responses").and_then(Value::as_object);
        let exact = if status == 0 {
            "default".to_owned()
        } else {
            status.to_string()
        };
        let found = responses.and_then(|r| {
            r.get(&exact)
                .map(|v| (exact.clone(), v))
                .or_else(|| r.get("default").map(|v| ("default".to_owned(), v)))
        });
        let Some((key, response)) = found else {
            let documented: Vec<&String> =
                responses.map(|r| r.keys().collect()).unwrap_or_default();
            return Err(format!(
                "{}: {operation_id} ({} {path}) does not document status {status}; documented: {documented:?}",
                self.name,
                method.to_uppercase()
            ));
        };
        let response = self.resolve(response);
        let context = format!("{}: {operation_id} response {key}", self.name);
        match response.get("content") {
            None => match body {
                Value::Null => Ok(()),
                _ => Err(format!("{context} documents no body, but one was given")),
            },
            Some(content) => match content.get(JSON) {
                None => Err(format!(
                    "{context} documents no {JSON} body (media types: {:?})",
                    keys(content)
                )),
                Some(media) => match media.get("schema") {
                    // A JSON body is documented but not described: nothing more to check.
                    None => Ok(()),
                    Some(schema) => self.validate(&context, &context, schema, body),
                },
            },
        }
    }

    /// Checks `body` against the operation's `application/json` request body schema.
    /// Used to prove the spec's own request examples are valid before tests send them.
    pub fn check_request(&self, operation_id: &str, body: &Value) -> Result<(), String> {
        let (_, _, op) = self.find_operation(operation_id);
        let context = format!("{}: {operation_id} request body", self.name);
        let schema = op
            .get("requestBody")
            .map(|b| self.resolve(b))
            .and_then(|b| b.pointer(&format!("/content/{}/schema", escape(JSON))));
        match schema {
            Some(schema) => self.validate(&context, &context, schema, body),
            None => Err(format!(
                "{context}: no {JSON} request body schema is documented"
            )),
        }
    }

    /// Checks `body` against the component schema `schema_name` (e.g. `"ErrorResponse"`).
    /// Panics if the spec has no such schema. `Err` is as for [`Spec::check_response`].
    pub fn check_schema(&self, schema_name: &str, body: &Value) -> Result<(), String> {
        assert!(
            self.components["schemas"].get(schema_name).is_some(),
            "{}: no components/schemas/{schema_name}; schemas: {:?}",
            self.name,
            keys(&self.components["schemas"])
        );
        let reference = json!({ "$ref": format!("#/components/schemas/{}", escape(schema_name)) });
        let context = format!("{}: schema {schema_name}", self.name);
        self.validate(&context, &context, &reference, body)
    }

    /// Checks `body` against any OpenAPI Schema Object of this document (inline, or a
    /// `{"$ref": ...}`), e.g. a parameter's schema. `Err` is as for [`Spec::check_response`].
    pub fn check_against(&self, schema: &Value, body: &Value) -> Result<(), String> {
        // The schema text itself is the cache key: equal schemas validate equally.
        let key = format!("inline {schema}");
        self.validate(&key, &format!("{}: inline schema", self.name), schema, body)
    }

    /// Follows a `{"$ref": "#/..."}` chain within the document (components/responses,
    /// components/parameters, components/examples, ...) to the object it names.
    /// Anything that is not a reference is returned as it is.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => value = self.lookup(reference),
                None => return value,
            }
        }
        panic!("{}: $ref chain too long (a cycle?) at {value}", self.name)
    }

    // ---- internals ----

    /// Validates `body` against an OpenAPI schema (inline or a `$ref`), caching the compiled
    /// validator under `key`, which must identify the schema uniquely; `context` prefixes
    /// the message.
    fn validate(
        &self,
        key: &str,
        context: &str,
        schema: &Value,
        body: &Value,
    ) -> Result<(), String> {
        let validator = self.validator(key, context, schema);
        let violations: Vec<String> = validator
            .iter_errors(body)
            .map(|e| {
                let pointer = e.instance_path.as_str();
                let pointer = if pointer.is_empty() {
                    "(root)"
                } else {
                    pointer
                };
                format!("  at {pointer}: {e}  [schema {}]", e.schema_path.as_str())
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{context}: {} violation(s):\n{}",
                violations.len(),
                violations.join("\n")
            ))
        }
    }

    fn validator(&self, key: &str, context: &str, schema: &Value) -> Arc<jsonschema::Validator> {
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(v) = cache.get(key) {
            return Arc::clone(v);
        }
        // `components` is no JSON Schema keyword, so it is inert, but it is part of the root
        // document, so `#/components/schemas/X` points into it. `allOf` with one entry keeps
        // the schema being checked separate from that carrier.
        let root = json!({ "components": self.components, "allOf": [to_json_schema(schema)] });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| {
                panic!("{context}: schema does not compile: {e}\nschema: {root:#}")
            });
        let validator = Arc::new(validator);
        cache.insert(key.to_owned(), Arc::clone(&validator));
        validator
    }

    fn lookup(&self, reference: &str) -> &Value {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| {
            panic!(
                "{}: only local references are supported, found {reference:?}",
                self.name
            )
        });
        self.doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{}: $ref {reference:?} points to nothing", self.name))
    }

    /// Panics on the first local `$ref` that does not resolve. Example payloads and `x-*`
    /// extensions are skipped: they are data, not references.
    fn check_refs(&self, value: &Value, at: &str) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let pointer = reference.strip_prefix('#').unwrap_or_else(|| {
                        panic!(
                            "{}: at {at}: only local references are supported, found {reference:?}",
                            self.name
                        )
                    });
                    assert!(
                        self.doc.pointer(pointer).is_some(),
                        "{}: at {at}: $ref {reference:?} points to nothing",
                        self.name
                    );
                }
                for (key, child) in map {
                    if key == "example" || key.starts_with("x-") {
                        continue;
                    }
                    let at = format!("{at}/{}", escape(key));
                    match (key.as_str(), child) {
                        // Example Objects: check a `$ref` to components/examples, skip `value`.
                        ("examples", Value::Object(entries)) => {
                            for (name, entry) in entries {
                                let mut entry = entry.clone();
                                if let Value::Object(e) = &mut entry {
                                    e.remove("value");
                                }
                                self.check_refs(&entry, &format!("{at}/{}", escape(name)));
                            }
                        }
                        _ => self.check_refs(child, &at),
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    self.check_refs(child, &format!("{at}/{i}"));
                }
            }
            _ => {}
        }
    }

    fn check_operation_ids(&self) {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (path, method, op) in self.operation_objects() {
            let id = op.get("operationId").and_then(Value::as_str);
            let id =
                id.unwrap_or_else(|| panic!("{}: {method} {path} has no operationId", self.name));
            *seen.entry(id).or_default() += 1;
        }
        let dupes: Vec<_> = seen
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(id, _)| *id)
            .collect();
        assert!(
            dupes.is_empty(),
            "{}: duplicate operationIds {dupes:?}",
            self.name
        );
    }

    /// `(path, lower-case method, operation object)` for every operation, in path order.
    fn operation_objects(&self) -> Vec<(&str, &str, &Value)> {
        let mut out = Vec::new();
        for (path, item) in self
            .doc
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let item = self.resolve(item);
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    out.push((path.as_str(), method, op));
                }
            }
        }
        out
    }

    fn find_operation(&self, operation_id: &str) -> (&str, &str, &Value) {
        let all = self.operation_objects();
        if let Some(found) = all
            .iter()
            .find(|(_, _, op)| op.get("operationId").and_then(Value::as_str) == Some(operation_id))
        {
            return *found;
        }
        let ids: Vec<_> = all
            .iter()
            .filter_map(|(_, _, op)| op.get("operationId"))
            .collect();
        panic!(
            "{}: no operation {operation_id:?}; operations: {ids:?}",
            self.name
        )
    }

    fn build_operation(&self, path: &str, method: &str, op: &Value) -> Operation {
        let operation_id = op["operationId"].as_str().unwrap_or_default().to_owned();
        let request_examples = op
            .get("requestBody")
            .map(|b| self.resolve(b))
            .and_then(|b| b.get("content"))
            .and_then(|c| c.get(JSON))
            .map(|media| self.media_examples(media))
            .unwrap_or_default();

        let mut response_examples = Vec::new();
        let mut success_statuses = Vec::new();
        for (key, response) in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let status = parse_status(key).unwrap_or_else(|| {
                panic!(
                    "{}: {operation_id}: unsupported response key {key:?}",
                    self.name
                )
            });
            if (200..300).contains(&status) {
                success_statuses.push(status);
            }
            if let Some(media) = self
                .resolve(response)
                .get("content")
                .and_then(|c| c.get(JSON))
            {
                for (name, value) in self.media_examples(media) {
                    response_examples.push((status, name, value));
                }
            }
        }
        success_statuses.sort_unstable();

        let security = op.get("security").or_else(|| self.doc.get("security"));
        let security_required = match security.and_then(Value::as_array) {
            Some(reqs) => {
                !reqs.is_empty()
                    && reqs
                        .iter()
                        .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
            }
            None => false,
        };

        Operation {
            operation_id,
            method: method.to_uppercase(),
            path: path.to_owned(),
            request_examples,
            response_examples,
            success_statuses,
            security_required,
        }
    }

    /// `example` as `("example", value)`, then each `examples` entry by name. An Example
    /// Object with only `externalValue` has no value to offer and is skipped.
    fn media_examples(&self, media: &Value) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        if let Some(value) = media.get("example") {
            out.push(("example".to_owned(), value.clone()));
        }
        for (name, example) in media
            .get("examples")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(value) = self.resolve(example).get("value") {
                out.push((name.clone(), value.clone()));
            }
        }
        out
    }
}

/// Validates `body` for `status` of `operation_id` and panics with every violation and the
/// body, pretty-printed, if it does not match the spec.
pub fn assert_response(spec: &Spec, operation_id: &str, status: u16, body: &Value) {
    if let Err(violations) = spec.check_response(operation_id, status, body) {
        let pretty = serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string());
        panic!("response does not match the spec\n{violations}\nbody ({status}):\n{pretty}");
    }
}

/// Rewrites one OpenAPI 3.0 Schema Object into JSON Schema 2020-12.
///
/// - `$ref`: siblings are dropped, since OpenAPI 3.0 says they are ignored.
/// - `nullable: true`: `type: T` becomes `type: [T, "null"]` and `null` joins any `enum`;
///   without a `type`, the schema becomes `anyOf: [{type: null}, schema]`.
/// - `exclusiveMinimum/Maximum: true` (3.0's booleans) become 2020-12's numeric forms.
/// - `example`, `x-*`, `readOnly`, `writeOnly`, `discriminator`, `xml`, `externalDocs`,
///   `deprecated` are dropped: documentation only, never a constraint in these tests.
/// - `allOf/oneOf/anyOf/not/items/properties/additionalProperties` are converted recursively
///   and keep their JSON Schema meaning; `additionalProperties` is honoured as written (absent
///   means allowed). `format`, `enum`, `pattern`, bounds and `required` are kept unchanged.
fn to_json_schema(schema: &Value) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    if let Some(reference) = obj.get("$ref") {
        return json!({ "$ref": reference });
    }
    let mut out = Map::new();
    for (key, value) in obj {
        let converted = match key.as_str() {
            "properties" | "patternProperties" => match value {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(k, v)| (k.clone(), to_json_schema(v)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "additionalProperties" | "not" => to_json_schema(value),
            "allOf" | "oneOf" | "anyOf" => match value {
                Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
                other => other.clone(),
            },
            "example" | "nullable" | "readOnly" | "writeOnly" | "discriminator" | "xml"
            | "externalDocs" | "deprecated" | "exclusiveMinimum" | "exclusiveMaximum" => continue,
            k if k.starts_with("x-") => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if obj.get(exclusive) == Some(&Value::Bool(true)) {
            if let Some(limit) = out.remove(bound) {
                out.insert(exclusive.to_owned(), limit);
            }
        }
    }
    if obj.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::Array(values)) = out.get_mut("enum") {
            if !values.contains(&Value::Null) {
                values.push(Value::Null);
            }
        }
        match out.get("type").cloned() {
            Some(Value::String(t)) => {
                out.insert("type".to_owned(), json!([t, "null"]));
            }
            _ => return json!({ "anyOf": [{ "type": "null" }, Value::Object(out)] }),
        }
    }
    Value::Object(out)
}

/// `"200"` → 200, `"default"` → 0. Range keys (`"2XX"`) are not used by any of the specs and
/// are rejected rather than guessed at.
fn parse_status(key: &str) -> Option<u16> {
    if key == "default" {
        Some(0)
    } else {
        key.parse().ok().filter(|s| (100..600).contains(s))
    }
}

/// JSON-pointer escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn keys(value: &Value) -> Vec<&String> {
    value
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default()
}
