//! Every error the gateway answers, its own and the services', in the API's documented body.

use prost::Message;
use serde_json::{Map, Value, json};

use contracts::proto::google::rpc::Status as RpcStatus;
use contracts::proto::platform::v1::{ErrorDetail, ErrorStyle, GatewayErrorCodes};
use contracts::rpc_error::prost_value_to_json;

use contracts::json::Violation;

/// One error, independent of how an API writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u32>,
    /// Extra top-level body fields (e.g. Content's circuit-breaker state).
    pub extra: Map<String, Value>,
}

/// The errors the gateway raises itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    BadRequest,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    /// A body that is not JSON (`Content-Type` other than `application/json` or `*+json`).
    UnsupportedMediaType,
    /// A `Content-Encoding` other than gzip on a request body.
    UnsupportedEncoding,
    /// Refused by the HTTP parser (see `parse_errors`): request line or head malformed.
    MalformedHttp,
    UriTooLong,
    HeadersTooLarge,
    Unavailable,
    Timeout,
    Internal,
}

/// Errors whose code no API declares: the fallback code is used.
static NOT_DECLARED: String = String::new();

impl GatewayError {
    pub fn status(self) -> u16 {
        match self {
            GatewayError::BadRequest => 400,
            GatewayError::Unauthorized => 401,
            GatewayError::NotFound => 404,
            GatewayError::MethodNotAllowed => 405,
            GatewayError::PayloadTooLarge => 413,
            GatewayError::UnsupportedMediaType | GatewayError::UnsupportedEncoding => 415,
            GatewayError::MalformedHttp => 400,
            GatewayError::UriTooLong => 414,
            GatewayError::HeadersTooLarge => 431,
            GatewayError::Unavailable => 503,
            GatewayError::Timeout => 504,
            GatewayError::Internal => 500,
        }
    }

    fn code(self, codes: &GatewayErrorCodes) -> String {
        let (declared, fallback) = match self {
            GatewayError::BadRequest => (&codes.bad_request, "BAD_REQUEST"),
            GatewayError::Unauthorized => (&codes.unauthorized, "UNAUTHORIZED"),
            GatewayError::NotFound => (&codes.not_found, "NOT_FOUND"),
            GatewayError::MethodNotAllowed => (&codes.method_not_allowed, "METHOD_NOT_ALLOWED"),
            GatewayError::PayloadTooLarge => (&codes.payload_too_large, "PAYLOAD_TOO_LARGE"),
            GatewayError::UnsupportedMediaType | GatewayError::UnsupportedEncoding => {
                (&NOT_DECLARED, "UNSUPPORTED_MEDIA_TYPE")
            }
            GatewayError::MalformedHttp => (&codes.bad_request, "BAD_REQUEST"),
            GatewayError::UriTooLong => (&NOT_DECLARED, "URI_TOO_LONG"),
            GatewayError::HeadersTooLarge => (&NOT_DECLARED, "REQUEST_HEADER_FIELDS_TOO_LARGE"),
            GatewayError::Unavailable => (&codes.unavailable, "SERVICE_UNAVAILABLE"),
            GatewayError::Timeout => (&codes.timeout, "GATEWAY_TIMEOUT"),
            GatewayError::Internal => (&codes.internal, "INTERNAL_SERVER_ERROR"),
        };
        if declared.is_empty() { fallback.to_owned() } else { declared.clone() }
    }

    fn message(self) -> &'static str {
        match self {
            GatewayError::BadRequest => "The request does not match the API contract",
            GatewayError::Unauthorized => "A valid bearer token is required",
            GatewayError::NotFound => "No such resource",
            GatewayError::MethodNotAllowed => "Method not allowed on this resource",
            GatewayError::PayloadTooLarge => "Request body is too large",
            GatewayError::UnsupportedMediaType => "Request bodies must be JSON (Content-Type: application/json)",
            GatewayError::UnsupportedEncoding => "Request bodies may be sent as identity or gzip only",
            GatewayError::MalformedHttp => "Malformed HTTP request",
            GatewayError::UriTooLong => "Request URI is too long",
            GatewayError::HeadersTooLarge => "Request headers are too large or too many",
            GatewayError::Unavailable => "The service is temporarily unavailable",
            GatewayError::Timeout => "The service did not answer in time",
            GatewayError::Internal => "Internal server error",
        }
    }
}

impl ApiError {
    pub fn gateway(kind: GatewayError, codes: &GatewayErrorCodes, details: Option<Value>) -> Self {
        Self {
            status: kind.status(),
            code: kind.code(codes),
            message: kind.message().to_owned(),
            details,
            retry_after: None,
            extra: Map::new(),
        }
    }

    /// A request that breaks the contract, with the violation in the API's details shape.
    pub fn violation(violation: &Violation, style: ErrorStyle, codes: &GatewayErrorCodes) -> Self {
        let details = match style {
            // Ticketing documents details as {"field", "issue"}.
            ErrorStyle::NestedOuterMeta => json!({"field": violation.field, "issue": violation.reason}),
            _ => Value::String(violation.to_string()),
        };
        Self::gateway(GatewayError::BadRequest, codes, Some(details))
    }

    /// A service's error: its ErrorDetail when it sent one, else the gRPC code mapped.
    pub fn from_status(status: &tonic::Status, codes: &GatewayErrorCodes) -> Self {
        if let Some(detail) = error_detail(status) {
            let retry_after = Some(detail.retry_after_seconds).filter(|seconds| *seconds > 0);
            return Self {
                status: if detail.http_status == 0 { 500 } else { detail.http_status as u16 },
                code: detail.code,
                message: detail.message,
                details: detail.details.map(|value| prost_value_to_json(&value)),
                retry_after,
                extra: detail
                    .extra
                    .map(|extra| {
                        extra.fields.iter().map(|(k, v)| (k.clone(), prost_value_to_json(v))).collect()
                    })
                    .unwrap_or_default(),
            };
        }
        use tonic::Code;
        let kind = match status.code() {
            Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => {
                GatewayError::BadRequest
            }
            Code::Unauthenticated => GatewayError::Unauthorized,
            Code::NotFound => GatewayError::NotFound,
            // tonic reports its own client-side deadline as Cancelled ("Timeout expired").
            Code::DeadlineExceeded | Code::Cancelled => GatewayError::Timeout,
            Code::Unavailable | Code::Unimplemented => GatewayError::Unavailable,
            _ => GatewayError::Internal,
        };
        let mut error = Self::gateway(kind, codes, None);
        if kind == GatewayError::BadRequest && !status.message().is_empty() {
            error.details = Some(Value::String(status.message().to_owned()));
        }
        error
    }

    /// The body in the API's documented shape.
    pub fn render(&self, style: ErrorStyle, path: &str) -> Value {
        let timestamp = contracts::now_rfc3339();
        let mut inner = Map::new();
        inner.insert("code".into(), Value::String(self.code.clone()));
        inner.insert("message".into(), Value::String(self.message.clone()));
        if let Some(details) = &self.details {
            inner.insert("details".into(), details.clone());
        }
        let mut body = match style {
            ErrorStyle::FlatError => {
                let mut body = Map::new();
                body.insert("error".into(), Value::String(self.code.clone()));
                body.insert("message".into(), Value::String(self.message.clone()));
                body.insert("timestamp".into(), Value::String(timestamp));
                if let Some(details) = &self.details {
                    body.insert("details".into(), details.clone());
                }
                body
            }
            ErrorStyle::FlatCode => {
                let mut body = Map::new();
                body.insert("code".into(), Value::String(self.code.clone()));
                body.insert("message".into(), Value::String(self.message.clone()));
                body.insert("timestamp".into(), Value::String(timestamp));
                if let Some(seconds) = self.retry_after {
                    body.insert("retryAfter".into(), Value::from(seconds));
                }
                body
            }
            ErrorStyle::NestedOuterMeta => {
                if let Some(seconds) = self.retry_after {
                    inner.insert("retry_after".into(), Value::from(seconds));
                }
                let mut body = Map::new();
                body.insert("error".into(), Value::Object(inner));
                body.insert("timestamp".into(), Value::String(timestamp));
                body.insert("path".into(), Value::String(path.to_owned()));
                body
            }
            ErrorStyle::Enveloped | ErrorStyle::Nested | ErrorStyle::Unspecified => {
                inner.insert("timestamp".into(), Value::String(timestamp));
                inner.insert("path".into(), Value::String(path.to_owned()));
                let mut body = Map::new();
                if style == ErrorStyle::Enveloped {
                    body.insert("success".into(), Value::Bool(false));
                }
                body.insert("error".into(), Value::Object(inner));
                body
            }
        };
        for (key, value) in &self.extra {
            body.insert(key.clone(), value.clone());
        }
        Value::Object(body)
    }
}

fn error_detail(status: &tonic::Status) -> Option<ErrorDetail> {
    let rpc = RpcStatus::decode(status.details()).ok()?;
    rpc.details
        .iter()
        .find(|any| any.type_url.ends_with("/platform.v1.ErrorDetail"))
        .and_then(|any| ErrorDetail::decode(any.value.as_slice()).ok())
}
