//! CORS for gRPC-Web on the services' gRPC ports: a browser page on another origin calls
//! them with a preflight (its content type and `x-grpc-web` are not CORS-safelisted), and
//! reads the status from headers it must be allowed to see.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use gateway::CorsConfig;
use gateway::cors::{CorsConfigError, CorsPolicy};

/// Request headers grpc-web's generated clients send, besides the configured ones.
const GRPC_WEB_REQUEST_HEADERS: &[&str] = &["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization"];
/// Where a gRPC-Web answer's outcome is, when it comes in headers (trailers-only answers).
const GRPC_WEB_RESPONSE_HEADERS: &[&str] = &["grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id"];

/// None when no origin is allowed (the ports then answer browsers without CORS).
pub fn cors_layer(config: &CorsConfig) -> Result<Option<CorsLayer>, CorsConfigError> {
    let Some(policy) = CorsPolicy::new(config)? else { return Ok(None) };
    let names = |names: &mut dyn Iterator<Item = &str>| -> Vec<HeaderName> {
        let mut out: Vec<HeaderName> = Vec::new();
        for name in names {
            if let Ok(name) = HeaderName::try_from(name.to_ascii_lowercase()) {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    };
    let allow = names(&mut GRPC_WEB_REQUEST_HEADERS.iter().copied().chain(config.allow_headers.iter().map(String::as_str)));
    let expose = names(&mut GRPC_WEB_RESPONSE_HEADERS.iter().copied().chain(config.expose_headers.iter().map(String::as_str)));
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin.to_str().is_ok_and(|origin| policy.allows(origin))
        }))
        .allow_methods([Method::POST])
        .allow_headers(allow)
        .expose_headers(expose)
        .allow_credentials(config.allow_credentials)
        .max_age(Duration::from_secs(u64::from(config.max_age_seconds)));
    Ok(Some(layer))
}
