//! How services fail: a `tonic::Status` whose details are a `google.rpc.Status` carrying a
//! `platform.v1.ErrorDetail`. The gateway renders it in the API's documented error body;
//! grpcurl shows the same code and message.

use prost::Message;

use crate::proto::google::rpc::Status as RpcStatus;
use crate::proto::platform::v1::ErrorDetail;

const DETAIL_TYPE_URL: &str = "type.googleapis.com/platform.v1.ErrorDetail";

/// A documented API error raised by a service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceError {
    pub grpc_code: tonic::Code,
    pub http_status: u16,
    pub code: String,
    pub message: String,
    pub details: Option<serde_json::Value>,
    pub retry_after_seconds: u32,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ServiceError {
    pub fn new(http_status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            grpc_code: grpc_code_for(http_status),
            http_status,
            code: code.into(),
            message: message.into(),
            details: None,
            retry_after_seconds: 0,
            extra: serde_json::Map::new(),
        }
    }

    pub fn with_details(mut self, details: impl Into<serde_json::Value>) -> Self {
        self.details = Some(details.into());
        self
    }

    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after_seconds = seconds;
        self
    }
}

/// The gRPC code that best matches a documented HTTP status.
pub fn grpc_code_for(http_status: u16) -> tonic::Code {
    use tonic::Code;
    match http_status {
        400 | 422 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        409 => Code::FailedPrecondition,
        429 => Code::ResourceExhausted,
        503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        _ => Code::Internal,
    }
}

impl From<ServiceError> for tonic::Status {
    fn from(error: ServiceError) -> Self {
        let detail = ErrorDetail {
            code: error.code,
            message: error.message.clone(),
            details: error.details.as_ref().map(json_to_prost_value),
            http_status: u32::from(error.http_status),
            retry_after_seconds: error.retry_after_seconds,
            extra: (!error.extra.is_empty()).then(|| prost_types::Struct {
                fields: error.extra.iter().map(|(k, v)| (k.clone(), json_to_prost_value(v))).collect(),
            }),
        };
        let rpc = RpcStatus {
            code: error.grpc_code as i32,
            message: error.message.clone(),
            details: vec![prost_types::Any {
                type_url: DETAIL_TYPE_URL.to_owned(),
                value: detail.encode_to_vec(),
            }],
        };
        tonic::Status::with_details(error.grpc_code, error.message, rpc.encode_to_vec().into())
    }
}

/// JSON → google.protobuf.Value.
pub fn json_to_prost_value(value: &serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    use serde_json::Value;
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(json_to_prost_value).collect(),
        }),
        Value::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map.iter().map(|(k, v)| (k.clone(), json_to_prost_value(v))).collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

/// google.protobuf.Value → JSON (integral numbers come back as JSON integers).
pub fn prost_value_to_json(value: &prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    use serde_json::Value;
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Value::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n).map(Value::Number).unwrap_or(Value::Null)
            }
        }
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::StructValue(s)) => Value::Object(
            s.fields.iter().map(|(k, v)| (k.clone(), prost_value_to_json(v))).collect(),
        ),
        Some(Kind::ListValue(list)) => {
            Value::Array(list.values.iter().map(prost_value_to_json).collect())
        }
    }
}
