//! One REST request, start to finish: route, authenticate, transcode, call, render.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use prost::Message;
use prost_reflect::DynamicMessage;
use serde_json::Value;

use contracts::auth::{TokenKind, TokenVerifier};
use contracts::{Api, Contracts, Operation};
use contracts::proto::platform::v1::{Access, Envelope, ErrorStyle, GatewayErrorCodes};

use crate::backend::Backends;
use crate::cors::CorsPolicy;
use crate::errors::{ApiError, GatewayError};
use contracts::json::{self, FieldNames};
use crate::request::{bind_transport_fields, build_request_json, parse_body};
use crate::response::success_body;
use crate::routes::{RouteMatch, RouteTable};

/// Everything one listener needs to serve its API.
pub struct ApiRuntime {
    pub api: Api,
    pub base_path: String,
    pub routes: RouteTable,
    pub contracts: Arc<Contracts>,
    pub backends: Backends,
    pub verifier: TokenVerifier,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// None: no origin is allowed, browsers get no CORS headers.
    pub cors: Option<CorsPolicy>,
}

impl ApiRuntime {
    pub fn names(&self) -> FieldNames {
        if self.api.options.proto_field_names { FieldNames::Proto } else { FieldNames::Json }
    }

    fn codes(&self) -> GatewayErrorCodes {
        self.api.options.codes.clone().unwrap_or_default()
    }

    fn style(&self) -> ErrorStyle {
        self.api.options.error_style()
    }

    fn error_response(&self, error: &ApiError, path: &str) -> Response<Full<Bytes>> {
        let body = error.render(self.style(), path);
        let mut response = json_response(error.status, &body);
        if let Some(seconds) = error.retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }

    fn gateway_error(&self, kind: GatewayError, details: Option<Value>, path: &str) -> Response<Full<Bytes>> {
        self.error_response(&ApiError::gateway(kind, &self.codes(), details), path)
    }
}

fn json_response(status: u16, body: &Value) -> Response<Full<Bytes>> {
    bytes_response(status, serde_json::to_vec(body).unwrap_or_default())
}

fn bytes_response(status: u16, bytes: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A caller-supplied request id when it is short and printable; otherwise a fresh one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    contracts::auth::parse_bearer(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// Serves one request and writes the access log line.
pub async fn serve(
    runtime: Arc<ApiRuntime>,
    client: std::net::SocketAddr,
    request: hyper::Request<Incoming>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let id = request_id(request.headers());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // CORS costs one header lookup when the request has no `Origin`.
    let cors = runtime.cors.as_ref().and_then(|policy| Some((policy, policy.allowed_origin(request.headers())?.clone())));
    let mut response = if runtime.cors.is_some() && CorsPolicy::is_preflight(&method, request.headers()) {
        preflight(&runtime, cors.as_ref(), &path)
    } else {
        let mut response = route(&runtime, client, &id, request).await;
        if let Some((policy, origin)) = &cors {
            policy.decorate(origin, response.headers_mut());
        }
        response
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    tracing::info!(
        target: "access",
        api = %runtime.api.options.name,
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        request_id = %id,
        client = %client.ip(),
    );
    response
}

/// A CORS preflight, answered from the route table: 204 with the path's methods, or the
/// API's 404. CORS headers only for an allowed origin (a refused one learns nothing more).
fn preflight(runtime: &ApiRuntime, cors: Option<&(&CorsPolicy, HeaderValue)>, full_path: &str) -> Response<Full<Bytes>> {
    let methods = match strip_base(&runtime.base_path, full_path).map(|path| runtime.routes.methods(path)) {
        Some(methods) if !methods.is_empty() => methods,
        _ => {
            let mut response = runtime.gateway_error(GatewayError::NotFound, None, full_path);
            if let Some((policy, origin)) = cors {
                policy.decorate(origin, response.headers_mut());
            }
            return response;
        }
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let allow: Vec<&str> = methods.iter().map(Method::as_str).collect();
    if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    if let Some((policy, origin)) = cors {
        policy.decorate_preflight(origin, &methods, response.headers_mut());
    }
    response
}

/// hyper's refusal of an unparsable request (400, 414 or 431), as a whole HTTP/1.1 response
/// in the API's error body (see `parse_errors`). The path is unknown: the base path stands in.
pub(crate) fn parse_error_response(runtime: &ApiRuntime, status: u16) -> Vec<u8> {
    let kind = match status {
        414 => GatewayError::UriTooLong,
        431 => GatewayError::HeadersTooLarge,
        _ => GatewayError::MalformedHttp,
    };
    let path = if runtime.base_path.is_empty() { "/" } else { runtime.base_path.as_str() };
    let body = ApiError::gateway(kind, &runtime.codes(), None).render(runtime.style(), path);
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Bad Request");
    let mut bytes = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}

async fn route(
    runtime: &ApiRuntime,
    client: std::net::SocketAddr,
    request_id: &str,
    request: hyper::Request<Incoming>,
) -> Response<Full<Bytes>> {
    let full_path = request.uri().path().to_owned();
    let Some(path) = strip_base(&runtime.base_path, &full_path) else {
        return runtime.gateway_error(GatewayError::NotFound, None, &full_path);
    };
    let (operation, bindings) = match runtime.routes.find(request.method(), path) {
        RouteMatch::Found { operation, bindings } => (operation.clone(), bindings),
        RouteMatch::MethodNotAllowed(allowed) => {
            let mut response = runtime.gateway_error(GatewayError::MethodNotAllowed, None, &full_path);
            let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
            if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            return response;
        }
        RouteMatch::NotFound => return runtime.gateway_error(GatewayError::NotFound, None, &full_path),
    };

    let token = bearer_token(request.headers()).map(str::to_owned);
    if operation.options.access() != Access::Public {
        let verified = match &token {
            None => Err(contracts::auth::TokenError::Missing),
            Some(token) => runtime.verifier.verify(token, &runtime.api.options.token_audience, TokenKind::Access),
        };
        if let Err(reason) = verified {
            tracing::debug!(request_id, %reason, "bearer token refused at the edge");
            return runtime.gateway_error(GatewayError::Unauthorized, None, &full_path);
        }
    }

    let query = request.uri().query().map(str::to_owned);
    let (parts, body) = request.into_parts();
    let body = match read_body(&parts.headers, body, runtime.max_body_bytes).await {
        Ok(body) => body,
        Err(kind) => return runtime.gateway_error(kind, None, &full_path),
    };
    // Decided: a body is JSON. Without a Content-Type it is read as JSON (lenient for simple
    // clients); with another media type (text/plain, form data…) it is a 415, not a guess.
    if operation.http.body != contracts::BodyRule::None && !body.is_empty() && !is_json(&parts.headers) {
        return runtime.gateway_error(GatewayError::UnsupportedMediaType, None, &full_path);
    }
    let message = match transcode_request(runtime, &operation, &bindings, query.as_deref(), &body) {
        Ok(mut message) => {
            // Only operations whose contract binds headers or the raw body need this.
            if !operation.bound_fields.is_empty() {
                bind_transport_fields(&operation, &mut message, &parts.headers, &body);
            }
            message
        }
        Err(violation) => {
            let error = ApiError::violation(&violation, runtime.style(), &runtime.codes());
            return runtime.error_response(&error, &full_path);
        }
    };

    let service = operation.method.parent_service();
    let Some(backend) = runtime.backends.for_service(service.full_name()) else {
        return runtime.gateway_error(GatewayError::Unavailable, None, &full_path);
    };
    let mut grpc_request = tonic::Request::new(Bytes::from(message.encode_to_vec()));
    grpc_request.set_timeout(runtime.request_timeout);
    let metadata = grpc_request.metadata_mut();
    if let Some(token) = &token {
        if let Ok(value) = format!("Bearer {token}").parse() {
            metadata.insert("authorization", value);
        }
    }
    if let Ok(value) = request_id.parse() {
        metadata.insert("x-request-id", value);
    }
    if let Ok(value) = client.ip().to_string().parse() {
        metadata.insert("x-forwarded-for", value);
    }

    let call = backend.call(&operation.grpc_path, grpc_request);
    let result = match tokio::time::timeout(runtime.request_timeout, call).await {
        Ok(result) => result,
        Err(_) => return runtime.gateway_error(GatewayError::Timeout, None, &full_path),
    };
    match result {
        Ok(response) => render_success(runtime, &operation, response, &full_path),
        Err(status) => {
            tracing::debug!(request_id, code = ?status.code(), "service returned an error");
            runtime.error_response(&ApiError::from_status(&status, &runtime.codes()), &full_path)
        }
    }
}

fn strip_base<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    if base.is_empty() || base == "/" {
        return Some(path);
    }
    let rest = path.strip_prefix(base.trim_end_matches('/'))?;
    rest.starts_with('/').then_some(rest)
}

/// `application/json`, `application/<anything>+json`, or no Content-Type at all.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else { return true };
    let Ok(text) = value.to_str() else { return false };
    let media = text.split(';').next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case("application/json")
        || (media.get(..12).is_some_and(|head| head.eq_ignore_ascii_case("application/"))
            && media.len() > 17
            && media.get(media.len() - 5..).is_some_and(|tail| tail.eq_ignore_ascii_case("+json")))
}

/// The request body, decompressed when sent with `Content-Encoding: gzip`. The limit applies
/// to the bytes on the wire and again to the decompressed bytes, so a small gzip bomb is a 413.
async fn read_body(headers: &HeaderMap, body: Incoming, limit: usize) -> Result<Bytes, GatewayError> {
    let gzip = match headers.get(header::CONTENT_ENCODING).map(HeaderValue::as_bytes) {
        None => false,
        Some(value) if value.eq_ignore_ascii_case(b"identity") => false,
        Some(value) if value.eq_ignore_ascii_case(b"gzip") || value.eq_ignore_ascii_case(b"x-gzip") => true,
        Some(_) => return Err(GatewayError::UnsupportedEncoding),
    };
    let wire = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return Err(GatewayError::PayloadTooLarge);
        }
        Err(_) => return Err(GatewayError::BadRequest),
    };
    if gzip && !wire.is_empty() { gunzip(&wire, limit) } else { Ok(wire) }
}

/// Inflates at most `limit + 1` bytes: one more than allowed proves the body too large
/// without inflating the rest. In memory and bounded (≤ the body limit), so done inline.
fn gunzip(compressed: &[u8], limit: usize) -> Result<Bytes, GatewayError> {
    use std::io::Read;
    let mut inflated = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(compressed);
    match decoder.take(limit as u64 + 1).read_to_end(&mut inflated) {
        Ok(_) if inflated.len() > limit => Err(GatewayError::PayloadTooLarge),
        Ok(_) => Ok(Bytes::from(inflated)),
        Err(_) => Err(GatewayError::BadRequest),
    }
}

fn transcode_request(
    runtime: &ApiRuntime,
    operation: &Operation,
    bindings: &[(String, String)],
    query: Option<&str>,
    body: &[u8],
) -> Result<DynamicMessage, json::Violation> {
    let body = match operation.http.body {
        contracts::BodyRule::None => Value::Object(Default::default()),
        _ => parse_body(body)?,
    };
    let request_json = build_request_json(operation, runtime.names(), bindings, query, body)?;
    json::decode(&operation.method.input(), request_json, &runtime.contracts, false)
}

fn render_success(
    runtime: &ApiRuntime,
    operation: &Operation,
    response: tonic::Response<Bytes>,
    path: &str,
) -> Response<Full<Bytes>> {
    let status = chosen_status(operation, response.metadata());
    let message = match DynamicMessage::decode(operation.method.output(), response.into_inner()) {
        Ok(message) => message,
        Err(error) => {
            tracing::error!(%error, grpc_path = %operation.grpc_path, "service answered bytes that do not decode");
            return runtime.gateway_error(GatewayError::Internal, None, path);
        }
    };
    if status == 204 {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        return response;
    }
    let enveloped = runtime.api.options.envelope() == Envelope::SuccessData;
    let body = success_body(operation, &message, &runtime.contracts, runtime.names(), enveloped);
    bytes_response(status, body)
}

/// The documented success status, or an alternative the service chose and the contract allows.
fn chosen_status(operation: &Operation, metadata: &tonic::metadata::MetadataMap) -> u16 {
    let requested = metadata
        .get("x-http-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u32>().ok());
    match requested {
        Some(status) if operation.options.alternative_statuses.contains(&status) => status as u16,
        _ => operation.success_status(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Contracts, GatewayError, HeaderMap, HeaderValue, chosen_status, gunzip, header, is_json, strip_base};

    #[test]
    fn a_service_may_pick_only_a_declared_alternative_status() {
        let contracts = Contracts::embedded().expect("contracts");
        let api = contracts.api("product_change").expect("api");
        let change = api.operations.iter().find(|op| op.options.operation_id == "requestProductChange").expect("op");
        let login = contracts.api("user").expect("api").operations.iter().find(|op| op.options.operation_id == "login").expect("op");
        let with_status = |status: &str| {
            let mut metadata = tonic::metadata::MetadataMap::new();
            metadata.insert("x-http-status", status.parse().expect("metadata"));
            metadata
        };
        assert_eq!(chosen_status(change, &tonic::metadata::MetadataMap::new()), 200);
        assert_eq!(chosen_status(change, &with_status("202")), 202, "declared alternative");
        assert_eq!(chosen_status(change, &with_status("201")), 200, "undeclared status ignored");
        assert_eq!(chosen_status(login, &with_status("202")), 200, "login declares no alternatives");
    }

    #[test]
    fn json_media_types_and_no_content_type_are_json() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            headers
        };
        assert!(is_json(&HeaderMap::new()));
        for json in ["application/json", "Application/JSON; charset=utf-8", "application/merge-patch+json"] {
            assert!(is_json(&with(json)), "{json}");
        }
        for other in ["text/plain", "application/x-www-form-urlencoded", "text/json+xml", "application/+json", "json"] {
            assert!(!is_json(&with(other)), "{other}");
        }
    }

    #[test]
    fn gunzip_stops_one_byte_past_the_limit() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&[b'x'; 10_000]).expect("compress");
        let compressed = encoder.finish().expect("compress");
        assert_eq!(gunzip(&compressed, 10_000).map(|b| b.len()), Ok(10_000));
        assert_eq!(gunzip(&compressed, 9_999), Err(GatewayError::PayloadTooLarge));
        assert_eq!(gunzip(b"not gzip", 100), Err(GatewayError::BadRequest));
    }

    #[test]
    fn base_path_is_stripped_on_segment_boundaries() {
        assert_eq!(strip_base("", "/a/b"), Some("/a/b"));
        assert_eq!(strip_base("/v1/pc", "/v1/pc/products"), Some("/products"));
        assert_eq!(strip_base("/v1/pc", "/v1/pcx/products"), None);
        assert_eq!(strip_base("/v1/pc", "/products"), None);
    }
}
