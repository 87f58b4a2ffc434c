//! The contracts as data: every API, service and REST operation declared in the embedded
//! descriptor set, with the project's own options decoded into typed structs.
//!
//! The gateway builds its routes from this; services find their messages' rules in it; the
//! fidelity and route tests read it too.

use std::collections::{HashMap, HashSet};

use prost_reflect::{
    DescriptorPool, DynamicMessage, ExtensionDescriptor, FieldDescriptor, MethodDescriptor, Value,
};

use crate::proto::google::api::{HttpRule, http_rule::Pattern};
use crate::proto::platform::v1::{ApiOptions, Bind, FieldRules, OperationOptions};
use crate::proto::DESCRIPTOR_SET;

/// Why the contracts could not be loaded: always a defect in `proto/`, found at startup.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("descriptor set: {0}")]
    Descriptor(#[from] prost_reflect::DescriptorError),
    #[error("extension {0} is not in the descriptor set")]
    MissingExtension(&'static str),
    #[error("option on {element}: {reason}")]
    BadOption { element: String, reason: String },
    #[error("pattern of {field}: {reason}")]
    BadPattern { field: String, reason: String },
}

/// Where the REST request body goes in the request message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyRule {
    /// No body is read.
    None,
    /// `body: "*"`: the JSON body is the request message (path-bound fields come from the path).
    Whole,
    /// `body: "field"`: the JSON body is that field.
    Field(String),
}

/// The REST side of one RPC, from its `google.api.http` rule.
#[derive(Debug, Clone)]
pub struct HttpBinding {
    pub method: http::Method,
    /// Path template without the API's base path, e.g. `/api/jobs/{job_id}/status`.
    pub path: String,
    pub body: BodyRule,
    /// `response_body`: the response JSON is this field of the response message.
    pub response_body: Option<String>,
}

/// Where a bound request field takes its value from (`(platform.v1.bind)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindSource {
    /// A request header, by lower-case name.
    Header(String),
    /// The body bytes exactly as received.
    RawBody,
}

/// One top-level request field bound to a header or the raw body.
#[derive(Debug, Clone)]
pub struct FieldBinding {
    pub field: FieldDescriptor,
    pub source: BindSource,
}

/// One REST operation: an RPC with an HTTP rule.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: MethodDescriptor,
    pub http: HttpBinding,
    pub options: OperationOptions,
    /// gRPC path, e.g. `/user.v1.UserService/Login`.
    pub grpc_path: String,
    /// Request fields filled from headers or the raw body instead of the JSON.
    pub bound_fields: Vec<FieldBinding>,
}

impl Operation {
    /// Status of a plain success.
    pub fn success_status(&self) -> u16 {
        match self.options.success_status {
            0 => 200,
            status => status as u16,
        }
    }
}

/// One documented REST API (one gateway listener).
#[derive(Debug, Clone)]
pub struct Api {
    pub options: ApiOptions,
    pub operations: Vec<Operation>,
}

/// All contracts.
#[derive(Debug, Clone)]
pub struct Contracts {
    pub pool: DescriptorPool,
    pub apis: Vec<Api>,
    field_rules: HashMap<String, FieldRules>,
    /// `FieldRules::pattern`s, compiled once at load (never per request), by field full name.
    patterns: HashMap<String, regex::Regex>,
    /// Messages whose JSON has `omit_empty` fields somewhere in their tree.
    pruned_messages: HashSet<String>,
}

struct Extensions {
    http: ExtensionDescriptor,
    api: ExtensionDescriptor,
    api_name: ExtensionDescriptor,
    operation: ExtensionDescriptor,
    field: ExtensionDescriptor,
    bind: ExtensionDescriptor,
}

impl Extensions {
    fn find(pool: &DescriptorPool) -> Result<Self, ContractError> {
        let get = |name: &'static str| {
            pool.get_extension_by_name(name).ok_or(ContractError::MissingExtension(name))
        };
        Ok(Self {
            http: get("google.api.http")?,
            api: get("platform.v1.api")?,
            api_name: get("platform.v1.api_name")?,
            operation: get("platform.v1.operation")?,
            field: get("platform.v1.field")?,
            bind: get("platform.v1.bind")?,
        })
    }
}

fn typed<T: prost::Message + Default>(
    options: &DynamicMessage,
    ext: &ExtensionDescriptor,
    element: &str,
) -> Result<Option<T>, ContractError> {
    if !options.has_extension(ext) {
        return Ok(None);
    }
    match options.get_extension(ext).as_ref() {
        Value::Message(message) => message.transcode_to::<T>().map(Some).map_err(|e| {
            ContractError::BadOption { element: element.to_owned(), reason: e.to_string() }
        }),
        other => Err(ContractError::BadOption {
            element: element.to_owned(),
            reason: format!("expected a message, found {other:?}"),
        }),
    }
}

impl Contracts {
    /// Loads the contracts compiled into this binary.
    pub fn embedded() -> Result<Self, ContractError> {
        Self::from_bytes(DESCRIPTOR_SET)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ContractError> {
        let pool = DescriptorPool::decode(bytes)?;
        let ext = Extensions::find(&pool)?;

        let mut apis: Vec<Api> = Vec::new();
        for file in pool.files() {
            if let Some(options) = typed::<ApiOptions>(&file.options(), &ext.api, file.name())? {
                apis.push(Api { options, operations: Vec::new() });
            }
        }

        for service in pool.services() {
            let api_name = match service.options().get_extension(&ext.api_name).as_ref() {
                Value::String(name) if !name.is_empty() => name.clone(),
                _ => continue,
            };
            let api = apis.iter_mut().find(|api| api.options.name == api_name).ok_or_else(|| {
                ContractError::BadOption {
                    element: service.full_name().to_owned(),
                    reason: format!("api_name {api_name:?} names no declared API"),
                }
            })?;
            for method in service.methods() {
                let method_options = method.options();
                let Some(rule) = typed::<HttpRule>(&method_options, &ext.http, method.full_name())?
                else {
                    continue;
                };
                let options = typed::<OperationOptions>(
                    &method_options,
                    &ext.operation,
                    method.full_name(),
                )?
                .unwrap_or_default();
                let http = binding(&rule, method.full_name())?;
                let bound_fields = bound_fields(&method, &ext.bind)?;
                api.operations.push(Operation {
                    grpc_path: format!("/{}/{}", service.full_name(), method.name()),
                    method,
                    http,
                    options,
                    bound_fields,
                });
            }
        }

        let mut field_rules = HashMap::new();
        let mut patterns = HashMap::new();
        for message in pool.all_messages() {
            for field in message.fields() {
                if let Some(rules) =
                    typed::<FieldRules>(&field.options(), &ext.field, field.full_name())?
                {
                    if !rules.pattern.is_empty() {
                        patterns.insert(field.full_name().to_owned(), compile_pattern(&field, &rules.pattern)?);
                    }
                    field_rules.insert(field.full_name().to_owned(), rules);
                }
            }
        }

        let pruned_messages = messages_needing_pruning(&pool, &field_rules);
        Ok(Self { pool, apis, field_rules, patterns, pruned_messages })
    }

    pub fn api(&self, name: &str) -> Option<&Api> {
        self.apis.iter().find(|api| api.options.name == name)
    }

    /// Whether a message's JSON needs a pruning pass (an `omit_empty` field in its tree).
    pub fn needs_pruning(&self, message: &prost_reflect::MessageDescriptor) -> bool {
        self.pruned_messages.contains(message.full_name())
    }

    /// The spec constraints declared on a field, if any.
    pub fn field_rules(&self, field: &FieldDescriptor) -> Option<&FieldRules> {
        self.field_rules.get(field.full_name())
    }

    /// The field's compiled `pattern`, if its rules declare one.
    pub fn field_pattern(&self, field: &FieldDescriptor) -> Option<&regex::Regex> {
        self.patterns.get(field.full_name())
    }
}

/// Compiles a spec `pattern`. OpenAPI patterns are ECMA-262; the Rust syntax agrees on the
/// subset the specs use (anchors, classes, groups, alternation, counted repetition). One
/// difference matters for validation: Rust's `\d` and `\w` are Unicode-aware, ECMA's are
/// ASCII, so contracts spell digit classes out (`[0-9]`), as the specs do. Only string
/// fields can carry a pattern.
fn compile_pattern(field: &FieldDescriptor, pattern: &str) -> Result<regex::Regex, ContractError> {
    let bad = |reason: String| ContractError::BadPattern { field: field.full_name().to_owned(), reason };
    if field.kind() != prost_reflect::Kind::String {
        return Err(bad("only string fields can have a pattern".into()));
    }
    if pattern.contains("\\d") || pattern.contains("\\w") {
        return Err(bad(format!("{pattern:?}: write [0-9] / [A-Za-z0-9_] (ECMA's \\d and \\w are ASCII)")));
    }
    regex::Regex::new(pattern).map_err(|e| bad(e.to_string()))
}

/// Messages with an `omit_empty` field, and every message that can contain one of them
/// (through fields, lists or map values), found by iterating to a fixed point.
fn messages_needing_pruning(pool: &DescriptorPool, rules: &HashMap<String, FieldRules>) -> HashSet<String> {
    let omits = |field: &FieldDescriptor| rules.get(field.full_name()).is_some_and(|rules| rules.omit_empty);
    let mut found: HashSet<String> = pool
        .all_messages()
        .filter(|message| message.fields().any(|field| omits(&field)))
        .map(|message| message.full_name().to_owned())
        .collect();
    loop {
        let before = found.len();
        for message in pool.all_messages() {
            if found.contains(message.full_name()) {
                continue;
            }
            let contains_one = message.fields().any(|field| match field.kind() {
                prost_reflect::Kind::Message(inner) => found.contains(inner.full_name()),
                _ => false,
            });
            if contains_one {
                found.insert(message.full_name().to_owned());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// The request fields of `method` declared with `(platform.v1.bind)`.
fn bound_fields(method: &MethodDescriptor, ext: &ExtensionDescriptor) -> Result<Vec<FieldBinding>, ContractError> {
    let mut bound = Vec::new();
    for field in method.input().fields() {
        let Some(bind) = typed::<Bind>(&field.options(), ext, field.full_name())? else { continue };
        let source = match (bind.header.is_empty(), bind.raw_body) {
            (false, false) => BindSource::Header(bind.header.to_ascii_lowercase()),
            (true, true) => BindSource::RawBody,
            _ => {
                return Err(ContractError::BadOption {
                    element: field.full_name().to_owned(),
                    reason: "bind needs exactly one of header or raw_body".into(),
                });
            }
        };
        bound.push(FieldBinding { field, source });
    }
    Ok(bound)
}

fn binding(rule: &HttpRule, element: &str) -> Result<HttpBinding, ContractError> {
    let bad = |reason: &str| ContractError::BadOption {
        element: element.to_owned(),
        reason: reason.to_owned(),
    };
    let (method, path) = match rule.pattern.as_ref().ok_or_else(|| bad("http rule has no method"))? {
        Pattern::Get(path) => (http::Method::GET, path),
        Pattern::Put(path) => (http::Method::PUT, path),
        Pattern::Post(path) => (http::Method::POST, path),
        Pattern::Delete(path) => (http::Method::DELETE, path),
        Pattern::Patch(path) => (http::Method::PATCH, path),
        Pattern::Custom(custom) => (
            http::Method::from_bytes(custom.kind.as_bytes()).map_err(|_| bad("bad custom verb"))?,
            &custom.path,
        ),
    };
    let body = match rule.body.as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        field => BodyRule::Field(field.to_owned()),
    };
    let response_body = Some(rule.response_body.clone()).filter(|field| !field.is_empty());
    Ok(HttpBinding { method, path: path.clone(), body, response_body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(contracts: &Contracts, name: &str) -> FieldDescriptor {
        let (message, field) = name.rsplit_once('.').expect("message.field");
        contracts.pool.get_message_by_name(message).and_then(|m| m.get_field_by_name(field)).expect("field")
    }

    #[test]
    fn declared_patterns_are_compiled_at_load() {
        let contracts = Contracts::embedded().expect("contracts");
        let line = field(&contracts, "productchange.v1.GetCustomerInfoRequest.line_number");
        assert!(contracts.field_pattern(&line).is_some_and(|re| re.is_match("01012345678")));
        let username = field(&contracts, "user.v1.LoginRequest.username");
        assert!(contracts.field_pattern(&username).is_none());
    }

    #[test]
    fn a_bad_pattern_is_a_load_error() {
        let contracts = Contracts::embedded().expect("contracts");
        let text = field(&contracts, "user.v1.LoginRequest.username");
        assert!(matches!(compile_pattern(&text, "^(010"), Err(ContractError::BadPattern { .. })));
        assert!(matches!(compile_pattern(&text, "^\\d+$"), Err(ContractError::BadPattern { .. })), "\\d is Unicode in Rust");
        let flag = field(&contracts, "user.v1.ValidateTokenRequest.include_user_info");
        assert!(matches!(compile_pattern(&flag, "^t"), Err(ContractError::BadPattern { .. })));
        assert!(compile_pattern(&text, "^#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})$").is_ok());
    }
}
