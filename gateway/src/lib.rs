//! The REST gateway: one listener per documented API, each with a route table built from the
//! contracts' `google.api.http` rules, translating JSON ⇄ protobuf and calling the services
//! over gRPC. No endpoint-specific code lives here: what differs between operations and APIs
//! is declared in `proto/`.

pub mod backend;
pub mod cors;
pub mod errors;
pub mod request;
pub mod response;
pub mod routes;

mod handler;
mod listener;
mod parse_errors;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

pub use backend::{InProcessService, in_process};
pub use cors::CorsConfig;
pub use handler::ApiRuntime;
pub use listener::{Gateway, GatewayHandle};

/// Gateway settings (role `gateway`, or inside `all`).
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// API name → listen address. APIs without an entry use their contract's default port.
    pub listen: HashMap<String, SocketAddr>,
    /// API name → base path override (default: the contract's `base_path`).
    pub base_paths: HashMap<String, String>,
    /// Proto package (`user.v1`) → gRPC URI of the service that implements it.
    pub backends: HashMap<String, String>,
    /// Proto package → the service's server in this process (called in memory; wins over
    /// `backends`).
    pub in_process: HashMap<String, backend::InProcessService>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    /// API name → CORS settings. APIs without an entry (or with no origins) send no CORS headers.
    pub cors: HashMap<String, CorsConfig>,
    /// Responses at least this long are compressed (gzip or br) when the client accepts it.
    pub compression_min_bytes: u16,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: HashMap::new(),
            base_paths: HashMap::new(),
            backends: HashMap::new(),
            in_process: HashMap::new(),
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(15),
            max_concurrent_requests: 1024,
            cors: HashMap::new(),
            compression_min_bytes: 1024,
        }
    }
}
