//! Binds one HTTP listener per API and serves it with hyper behind tower layers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::SizeAbove;

use contracts::auth::TokenVerifier;
use contracts::Contracts;
use contracts::proto::platform::v1::Access;

use crate::backend::Backends;
use crate::cors::{CorsConfigError, CorsPolicy};
use crate::handler::{self, ApiRuntime};
use crate::parse_errors::{ParseErrorsInApiBody, Renderer};
use crate::routes::RouteTable;
use crate::GatewayConfig;

#[derive(Debug, thiserror::Error)]
pub enum GatewayStartError {
    #[error("route table of {api}: {source}")]
    Routes { api: String, source: crate::routes::TemplateError },
    #[error("backend address: {0}")]
    Backend(#[from] tonic::transport::Error),
    #[error("CORS of {api}: {source}")]
    Cors { api: String, source: CorsConfigError },
    #[error("bind {addr} for {api}: {source}")]
    Bind { api: String, addr: SocketAddr, source: std::io::Error },
}

/// Built, not yet listening.
pub struct Gateway {
    runtimes: Vec<(Arc<ApiRuntime>, SocketAddr)>,
    max_concurrent_requests: usize,
    compression_min_bytes: u16,
}

/// A running gateway: its bound addresses, and a switch to stop it.
pub struct GatewayHandle {
    pub addresses: HashMap<String, SocketAddr>,
    pub base_paths: HashMap<String, String>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl GatewayHandle {
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

impl Gateway {
    pub fn new(
        contracts: Arc<Contracts>,
        verifier: TokenVerifier,
        config: &GatewayConfig,
    ) -> Result<Self, GatewayStartError> {
        let backends = Backends::new(&config.backends, &config.in_process, Duration::from_secs(3))?;
        let mut runtimes = Vec::new();
        for api in &contracts.apis {
            let name = api.options.name.clone();
            let public_ops = api
                .operations
                .iter()
                .filter(|op| op.options.access() != Access::Internal)
                .cloned()
                .map(Arc::new);
            let routes = RouteTable::new(public_ops)
                .map_err(|source| GatewayStartError::Routes { api: name.clone(), source })?;
            let addr = config.listen.get(&name).copied().unwrap_or_else(|| {
                SocketAddr::from(([0, 0, 0, 0], api.options.default_port as u16))
            });
            let base_path = config
                .base_paths
                .get(&name)
                .cloned()
                .unwrap_or_else(|| api.options.base_path.clone());
            let cors = match config.cors.get(&name) {
                Some(cors) => CorsPolicy::new(cors).map_err(|source| GatewayStartError::Cors { api: name.clone(), source })?,
                None => None,
            };
            let runtime = ApiRuntime {
                api: api.clone(),
                base_path,
                routes,
                contracts: contracts.clone(),
                backends: backends.clone(),
                verifier: verifier.clone(),
                max_body_bytes: config.max_body_bytes,
                request_timeout: config.request_timeout,
                cors,
            };
            runtimes.push((Arc::new(runtime), addr));
        }
        Ok(Self {
            runtimes,
            max_concurrent_requests: config.max_concurrent_requests,
            compression_min_bytes: config.compression_min_bytes,
        })
    }

    /// The route table of an API (route tests).
    pub fn runtime(&self, api: &str) -> Option<&Arc<ApiRuntime>> {
        self.runtimes.iter().map(|(runtime, _)| runtime).find(|r| r.api.options.name == api)
    }

    /// Binds every listener and serves until shut down.
    pub async fn start(self) -> Result<GatewayHandle, GatewayStartError> {
        let (shutdown, watcher) = watch::channel(false);
        let mut addresses = HashMap::new();
        let mut base_paths = HashMap::new();
        let mut tasks = Vec::new();
        for (runtime, addr) in self.runtimes {
            let name = runtime.api.options.name.clone();
            let listener = TcpListener::bind(addr).await.map_err(|source| {
                GatewayStartError::Bind { api: name.clone(), addr, source }
            })?;
            let bound = listener.local_addr().unwrap_or(addr);
            tracing::info!(api = %name, address = %bound, base_path = %runtime.base_path,
                routes = runtime.routes.len(), "REST listener up");
            addresses.insert(name.clone(), bound);
            base_paths.insert(name, runtime.base_path.clone());
            let limit = Arc::new(tokio::sync::Semaphore::new(self.max_concurrent_requests));
            let settings = ConnectionSettings {
                limit,
                compression: CompressionLayer::new().compress_when(SizeAbove::new(u64::from(self.compression_min_bytes))),
                parse_errors: {
                    let runtime = runtime.clone();
                    Arc::new(move |status| handler::parse_error_response(&runtime, status))
                },
            };
            tasks.push(tokio::spawn(accept_loop(listener, runtime, settings, watcher.clone())));
        }
        Ok(GatewayHandle { addresses, base_paths, shutdown, tasks })
    }
}

/// Accepts one connection with `TCP_NODELAY` set: responses are written whole, and without it
/// Nagle's algorithm holds back a response's last segment until the client's delayed ACK
/// (the 40 ms tail).
pub(crate) async fn accept(listener: &TcpListener) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    let (stream, client) = listener.accept().await?;
    stream.set_nodelay(true)?;
    Ok((stream, client))
}

/// What every connection of one listener shares.
struct ConnectionSettings {
    limit: Arc<tokio::sync::Semaphore>,
    /// gzip or br (tower-http, pure Rust) for bodies of at least the threshold; below it, or
    /// without `Accept-Encoding`, the body passes through unwrapped.
    compression: CompressionLayer<SizeAbove>,
    parse_errors: Renderer,
}

async fn accept_loop(
    listener: TcpListener,
    runtime: Arc<ApiRuntime>,
    settings: ConnectionSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, client) = tokio::select! {
            accepted = accept(&listener) => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let runtime = runtime.clone();
        let limit = settings.limit.clone();
        let compression = settings.compression.clone();
        let stream = ParseErrorsInApiBody::new(stream, settings.parse_errors.clone());
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            // One shared limit per API across all connections: requests beyond it wait.
            let service = ServiceBuilder::new()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::with_semaphore(limit))
                .layer(compression)
                .service_fn(move |request| {
                    let runtime = runtime.clone();
                    async move { Ok::<_, Infallible>(handler::serve(runtime, client, request).await) }
                });
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = shutdown.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn accepted_sockets_have_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let client = tokio::spawn(tokio::net::TcpStream::connect(address));
        let (stream, _) = super::accept(&listener).await.expect("accept");
        assert!(stream.nodelay().expect("option"), "TCP_NODELAY on the accepted socket");
        drop(client.await);
    }
}
