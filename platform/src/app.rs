//! Starts the parts of the platform a role asks for: gRPC services on their own ports, and
//! the REST gateway in front of them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sea_orm_migration::MigratorTrait;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::server::TcpIncoming;

use contracts::Contracts;
use contracts::auth::{PublicKeys, TokenVerifier};
use contracts::proto::DESCRIPTOR_SET;
use contracts::proto::content::v1::content_service_client::ContentServiceClient;
use gateway::{Gateway, GatewayConfig, GatewayHandle};
use service_core::SigningKeys;
use service_core::storage::{connect_cache, connect_database};
use content_service::{ContentApi, ContentService, ContentSettings, LocalStore, Migrator as ContentMigrator, SourceChain};
use event_service::{
    ChannelSimulator, Distributor, EventApi, EventService, Migrator as EventMigrator, RuleBasedRecommender, SimulatorSettings,
};
use ticketing_service::provider::{PaymentProvider, Sandbox, StripeClient, serve_sandbox_api};
use ticketing_service::{ExpiryWorker, Migrator as TicketingMigrator, Ticketing, TicketingApi, TicketingSettings};
use user_service::{
    Directory, LdapDirectory, LocalDirectory, Migrator as UserMigrator, UserApi, UserService, UserSettings,
};

use crate::config::{Config, PaymentProviderConfig, Role, UserDirectory};
use crate::mvno;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("contracts: {0}")]
    Contracts(#[from] contracts::ContractError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("cache: {0}")]
    Cache(#[from] service_core::storage::CacheError),
    #[error("signing keys: {0}")]
    Keys(#[from] service_core::KeyError),
    #[error("directory: {0}")]
    Directory(#[from] user_service::DirectoryError),
    #[error("listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("gateway: {0}")]
    Gateway(String),
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("token keys: {0}")]
    Jwks(String),
    #[error("product-change: {0}")]
    ProductChange(String),
    #[error("ticketing: {0}")]
    Ticketing(String),
}

/// A started platform: where everything listens, and how to stop it.
pub struct Running {
    /// API name → REST address.
    pub http: HashMap<String, SocketAddr>,
    /// API name → base path.
    pub base_paths: HashMap<String, String>,
    /// Service name → gRPC address.
    pub grpc: HashMap<String, SocketAddr>,
    /// Proto packages the gateway calls in memory (services in this process).
    pub in_process: Vec<String>,
    /// The sandbox payment provider's Stripe-shaped API (pay with a test card there).
    pub payment_sandbox: Option<SocketAddr>,
    /// The `/cdn` listener of locally stored images (when the Content Service runs here).
    pub cdn: Option<SocketAddr>,
    gateway: Option<GatewayHandle>,
    shutdown: watch::Sender<bool>,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub async fn shutdown(self) {
        if let Some(gateway) = self.gateway {
            gateway.shutdown().await;
        }
        let _ = self.shutdown.send(true);
        for server in self.servers {
            let _ = server.await;
        }
    }
}

/// Connections of a gRPC port, with `TCP_NODELAY` (without it, Nagle's algorithm and the
/// client's delayed ACK add ~40 ms to some responses).
fn grpc_incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Serves one service's gRPC services with reflection (for grpcurl) and health on its own port.
async fn serve_grpc(
    listener: TcpListener,
    service_names: &[&'static str],
    routes: tonic::service::Routes,
    cors: Option<tower_http::cors::CorsLayer>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let service_name = service_names.join(",");
    let reflection = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        for name in service_names {
            builder = builder.with_service_name(*name);
        }
        builder.with_service_name("grpc.health.v1.Health")
    };
    let reflection_v1 = reflection().build_v1()?;
    // grpcurl before 1.8.8 (the PyPI build among them) speaks only v1alpha.
    let reflection_v1alpha = reflection().build_v1alpha()?;
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in service_names {
        health.set_service_status(*name, tonic_health::ServingStatus::Serving).await;
    }
    health.set_service_status("", tonic_health::ServingStatus::Serving).await;
    let routes = routes.add_service(health_service).add_service(reflection_v1).add_service(reflection_v1alpha);
    let incoming = grpc_incoming(listener);
    Ok(tokio::spawn(async move {
        // gRPC-Web (binary and text) for browser clients generated from the protos: HTTP/1.1
        // must be accepted; plain gRPC passes through the layer untouched.
        let result = tonic::transport::Server::builder()
            .accept_http1(true)
            .layer(tower::util::option_layer(cors))
            .layer(tonic_web::GrpcWebLayer::new())
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = shutdown.changed().await;
            })
            .await;
        if let Err(error) = result {
            tracing::error!(%error, service = %service_name, "gRPC server stopped");
        }
    }))
}

/// The User Service, ready to serve.
async fn build_user_service(config: &Config) -> Result<Arc<UserService>, StartError> {
    let db = connect_database(&config.db_config(), "user_service").await?;
    UserMigrator::up(&db, None).await?;
    let cache = connect_cache(config.redis_url.as_deref(), &config.cache_prefix).await?;
    let directory: Arc<dyn Directory> = match &config.user_directory {
        UserDirectory::Local => {
            let local = LocalDirectory::new(db.clone()).await?;
            local.seed_if_empty().await?;
            Arc::new(local)
        }
        UserDirectory::Ldap(settings) => {
            tracing::info!(url = %settings.url, starttls = settings.starttls, base = %settings.user_base_dn, "using the LDAP directory");
            Arc::new(LdapDirectory::new((**settings).clone())?)
        }
    };
    let keys = Arc::new(SigningKeys::load_dir(&config.user_keys_dir, config.user_keys_generate)?);
    tracing::info!(kid = keys.current_kid(), directory = directory.kind(), "user service ready");
    let service = UserService::new(db, cache, directory, keys, UserSettings::default());
    Ok(Arc::new(service))
}

/// Ticketing, ready to serve: its service, its public keys, and the sandbox provider when
/// that is the configured one (its webhook URL is set once the gateway listens).
///
/// `shared` is the process's token verifier: Ticketing's keys join it (one signature check
/// per token per process), or it starts with them when Ticketing is the first service here.
async fn build_ticketing_service(
    config: &Config,
    shared: &mut Option<TokenVerifier>,
) -> Result<(Arc<Ticketing>, Option<Arc<Sandbox>>), StartError> {
    let settings = &config.ticketing;
    let db = connect_database(&config.db_config(), "ticketing_service").await?;
    TicketingMigrator::up(&db, None).await?;
    // Holds expire through jobs in Ticketing's own database, whatever the cache is: the
    // expiry must not depend on Redis (see ticketing_service::expiry).
    let jobs = service_core::jobs::Jobs::database(db.clone());
    let keys = Arc::new(SigningKeys::load_dir(&settings.keys_dir, settings.keys_generate)?);
    let (provider, sandbox): (Arc<dyn PaymentProvider>, _) = match &settings.payment_provider {
        PaymentProviderConfig::Sandbox { .. } => {
            let sandbox = Sandbox::new(&settings.webhook_secret);
            if let Some(url) = &settings.webhook_url {
                sandbox.set_webhook_url(url);
            }
            (sandbox.clone(), Some(sandbox))
        }
        PaymentProviderConfig::Stripe(stripe) => (Arc::new(StripeClient::new(stripe.clone())), None),
    };
    let ticketing_settings = TicketingSettings {
        hold_ttl: Duration::from_secs(settings.hold_seconds),
        public_base_url: settings.public_url.clone(),
        webhook_secret: settings.webhook_secret.clone(),
        ..TicketingSettings::default()
    };
    tracing::info!(kid = keys.current_kid(), payment_provider = provider.name(), hold_seconds = settings.hold_seconds, "ticketing service ready");
    let verifier = match shared {
        Some(verifier) => {
            verifier.add_keys(keys.public_keys());
            verifier.clone()
        }
        None => shared.insert(TokenVerifier::new(keys.public_keys())).clone(),
    };
    let service = Arc::new(Ticketing::new(db, jobs, keys, provider, ticketing_settings).with_verifier(verifier));
    service.seed_if_empty().await.map_err(|e| StartError::Ticketing(e.to_string()))?;
    Ok((service, sandbox))
}

/// Both token issuers' keys in one set: keys are picked by `kid`, audiences by the contract.
fn merge_keys(sets: Vec<PublicKeys>) -> PublicKeys {
    let mut all: Vec<(String, String)> = Vec::new();
    for set in &sets {
        all.extend(set.components().map(|(kid, x)| (kid.to_owned(), x.to_owned())));
    }
    PublicKeys::from_components(all)
}

/// The token verifier a service shares: the in-process User Service's, else one fed by the
/// User Service's published keys over gRPC.
async fn service_verifier(local: &Option<TokenVerifier>, backends: &HashMap<String, String>) -> Result<TokenVerifier, StartError> {
    match local {
        Some(verifier) => Ok(verifier.clone()),
        None => {
            let uri = backends.get("user.v1").ok_or_else(|| StartError::Jwks("USER_GRPC_URL is not set".into()))?;
            remote_verifier(uri, None).await
        }
    }
}

/// Runs a job worker until shutdown.
fn run_worker(worker: service_core::jobs::Worker, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = worker.run(shutdown).await {
            tracing::error!(%error, "job worker stopped");
        }
    })
}

/// The Content Service: local renderer and local object store (served at `/cdn`).
async fn build_content_service(config: &Config, root: std::path::PathBuf, public_url: &str) -> Result<Arc<ContentService>, StartError> {
    let db = connect_database(&config.db_config(), "content_service").await?;
    ContentMigrator::up(&db, None).await?;
    let cache = connect_cache(config.redis_url.as_deref(), &config.cache_prefix).await?;
    let jobs = service_core::jobs::Jobs::connect(&db, config.redis_url.as_deref(), &format!("{}svc:content", config.cache_prefix))
        .await
        .map_err(|e| StartError::Gateway(format!("content jobs: {e}")))?;
    let store = Arc::new(LocalStore::new(root, public_url));
    let settings = &config.event_content;
    let timeout = Duration::from_millis(settings.image_timeout_ms);
    let breaker = |name: &str| {
        let resilience = service_core::resilience::ResilienceSettings { call_timeout: timeout, ..service_core::resilience::ResilienceSettings::image_generation() };
        service_core::resilience::Resilience::new(name, resilience)
    };
    let mut external: Vec<(Arc<dyn content_service::ImageSource>, service_core::resilience::Resilience)> = Vec::new();
    if let Some((url, key)) = &settings.image_sd {
        let api = content_service::external::ApiSettings { url: url.clone(), key: key.as_ref().map(|k| k.0.clone()), model: None, timeout };
        external.push((Arc::new(content_service::external::StableDiffusionApi::new(api)), breaker("image-api-stable-diffusion")));
    }
    if let Some((url, key, model)) = &settings.image_openai {
        let api = content_service::external::ApiSettings { url: url.clone(), key: key.as_ref().map(|k| k.0.clone()), model: model.clone(), timeout };
        external.push((Arc::new(content_service::external::OpenAiImagesApi::new(api)), breaker("image-api-openai")));
    }
    let sources = SourceChain::new(external, settings.local_fallback);
    let content_settings = ContentSettings { content_ttl: Duration::from_secs(settings.content_ttl_seconds.max(1)) };
    Ok(Arc::new(ContentService::new(db, cache, jobs, store, sources, content_settings)))
}

/// The Event Service: rule-based recommender and channel simulator (the local defaults).
async fn build_event_service(
    config: &Config,
    content: ContentServiceClient<tonic::transport::Channel>,
) -> Result<Arc<EventService>, StartError> {
    let db = connect_database(&config.db_config(), "event_service").await?;
    EventMigrator::up(&db, None).await?;
    let cache = connect_cache(config.redis_url.as_deref(), &config.cache_prefix).await?;
    let jobs = service_core::jobs::Jobs::connect(&db, config.redis_url.as_deref(), &format!("{}svc:event", config.cache_prefix))
        .await
        .map_err(|e| StartError::Gateway(format!("event jobs: {e}")))?;
    let settings = &config.event_content;
    let simulator = ChannelSimulator::new(SimulatorSettings {
        latency: Duration::from_millis(settings.channel_latency_ms),
        failure_rate: settings.channel_failure_rate,
        failing: settings.channel_failing.iter().cloned().collect(),
    });
    tracing::info!(latency_ms = settings.channel_latency_ms, failure_rate = settings.channel_failure_rate, failing = ?settings.channel_failing, "distribution channels: channel simulator (local default)");
    let distributor = Distributor::new(Arc::new(simulator));
    let recommender: Arc<dyn event_service::Recommender> = match &settings.recommender_url {
        Some(url) => Arc::new(event_service::openai::OpenAiRecommender::new(event_service::openai::ChatSettings {
            url: url.clone(),
            model: settings.recommender_model.clone(),
            key: settings.recommender_key.as_ref().map(|k| k.0.clone()),
            timeout: Duration::from_millis(settings.recommender_timeout_ms),
        })),
        None => Arc::new(RuleBasedRecommender),
    };
    Ok(Arc::new(EventService::new(db, cache, jobs, recommender, content, distributor)))
}

/// Public keys fetched from the User Service over gRPC (gateway or service in its own pod),
/// refreshed every five minutes so rotated keys are picked up.
async fn remote_verifier(user_uri: &str, ticketing_uri: Option<String>) -> Result<TokenVerifier, StartError> {
    use contracts::proto::ticketing::v1::{GetJwksRequest as TicketingJwks, auth_service_client::AuthServiceClient};
    use contracts::proto::user::v1::{GetJwksRequest, user_service_client::UserServiceClient};
    async fn fetch_user(uri: &str) -> Result<PublicKeys, String> {
        let mut client = UserServiceClient::connect(uri.to_owned()).await.map_err(|e| e.to_string())?;
        let set = client.get_jwks(GetJwksRequest {}).await.map_err(|e| e.to_string())?.into_inner();
        Ok(PublicKeys::from_components(set.keys.into_iter().map(|key| (key.kid, key.x))))
    }
    let fetch = move |uri: &str| {
        let uri = uri.to_owned();
        let ticketing_uri = ticketing_uri.clone();
        async move {
            let mut sets = vec![fetch_user(&uri).await?];
            if let Some(ticketing) = ticketing_uri {
                let mut client = AuthServiceClient::connect(ticketing).await.map_err(|e| e.to_string())?;
                let set = client.get_jwks(TicketingJwks {}).await.map_err(|e| e.to_string())?.into_inner();
                sets.push(PublicKeys::from_components(set.keys.into_iter().map(|key| (key.kid, key.x))));
            }
            Ok::<_, String>(merge_keys(sets))
        }
    };
    let mut last_error = String::new();
    for _ in 0..30 {
        match fetch(user_uri).await {
            Ok(keys) => {
                let verifier = TokenVerifier::new(keys);
                let refresher = verifier.clone();
                let uri = user_uri.to_owned();
                let fetch = fetch.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(300)).await;
                        match fetch(&uri).await {
                            Ok(keys) if !keys.is_empty() => refresher.replace_keys(keys),
                            Ok(_) => tracing::warn!("user service published no keys; keeping the old ones"),
                            Err(error) => tracing::warn!(%error, "refreshing token keys failed"),
                        }
                    }
                });
                return Ok(verifier);
            }
            Err(error) => last_error = error,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(StartError::Jwks(format!("cannot fetch keys from {user_uri}: {last_error}")))
}

/// Starts what the configured role runs.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let contracts = Arc::new(Contracts::embedded()?);
    let (shutdown, watcher) = watch::channel(false);
    let mut grpc = HashMap::new();
    let mut servers = Vec::new();
    let mut backends = config.backends.clone();
    // Services in this process: the gateway calls them in memory.
    let mut in_process = HashMap::new();
    // One verifier per process, shared by the gateway and the services, so each token's
    // signature is checked once.
    let mut local_verifier = None;
    let mut sandbox = None;
    let mut payment_sandbox = None;
    // gRPC-Web from browsers on every gRPC port, for the configured origins.
    let grpc_cors = crate::grpc_web::cors_layer(&config.grpc_cors).map_err(|e| StartError::Gateway(e.to_string()))?;

    if config.runs_service("user") {
        let service = build_user_service(&config).await?;
        let listener = TcpListener::bind(config.grpc_addr("user")?).await?;
        let address = listener.local_addr()?;
        tracing::info!(%address, "gRPC user.v1.UserService up");
        let verifier = service.verifier().clone();
        let routes = tonic::service::Routes::new(UserApi::new(service, contracts.clone()).into_server());
        in_process.insert("user.v1".to_owned(), gateway::in_process(routes.clone()));
        servers.push(serve_grpc(listener, &["user.v1.UserService"], routes, grpc_cors.clone(), watcher.clone()).await?);
        backends.insert("user.v1".into(), format!("http://127.0.0.1:{}", address.port()));
        grpc.insert("user".to_owned(), address);
        local_verifier = Some(verifier);
    }

    if config.runs_service("kos") {
        let routes = tonic::service::Routes::new(mvno::build_kos(&config).await?.into_server());
        let listener = TcpListener::bind(config.grpc_addr("kos")?).await?;
        let address = listener.local_addr()?;
        tracing::info!(%address, "gRPC kos.v1.KosService up (the KOS simulator)");
        servers.push(serve_grpc(listener, &["kos.v1.KosService"], routes, grpc_cors.clone(), watcher.clone()).await?);
        backends.entry("kos.v1".into()).or_insert_with(|| format!("http://127.0.0.1:{}", address.port()));
        grpc.insert("kos".to_owned(), address);
    }

    if config.runs_service("product_change") {
        let verifier = service_verifier(&local_verifier, &backends).await?;
        let (api, workers) = mvno::build_product_change(&config, &backends, verifier, contracts.clone()).await?;
        for worker in workers {
            servers.push(run_worker(worker, watcher.clone()));
        }
        let listener = TcpListener::bind(config.grpc_addr("product_change")?).await?;
        let address = listener.local_addr()?;
        tracing::info!(%address, "gRPC productchange.v1.ProductChangeService up");
        let routes = tonic::service::Routes::new(api.into_server());
        in_process.insert("productchange.v1".to_owned(), gateway::in_process(routes.clone()));
        servers.push(serve_grpc(listener, &["productchange.v1.ProductChangeService"], routes, grpc_cors.clone(), watcher.clone()).await?);
        backends.insert("productchange.v1".into(), format!("http://127.0.0.1:{}", address.port()));
        grpc.insert("product_change".to_owned(), address);
    }

    if config.runs_service("ticketing") {
        let (service, built_sandbox) = build_ticketing_service(&config, &mut local_verifier).await?;
        let listener = TcpListener::bind(config.grpc_addr("ticketing")?).await?;
        let address = listener.local_addr()?;
        tracing::info!(%address, "gRPC ticketing.v1 (Auth, Event, Booking, Payment) up");
        let routes = TicketingApi::new(service.clone(), contracts.clone()).into_routes();
        in_process.insert("ticketing.v1".to_owned(), gateway::in_process(routes.clone()));
        servers.push(serve_grpc(listener, &TicketingApi::SERVICE_NAMES, routes, grpc_cors.clone(), watcher.clone()).await?);
        backends.insert("ticketing.v1".into(), format!("http://127.0.0.1:{}", address.port()));
        grpc.insert("ticketing".to_owned(), address);
        // Expiry and refund workers stop with the platform.
        let workers = ExpiryWorker::start(service);
        let mut stopped = watcher.clone();
        servers.push(tokio::spawn(async move {
            let _ = stopped.changed().await;
            workers.stop().await;
        }));
        if let (Some(built), PaymentProviderConfig::Sandbox { port }) = (&built_sandbox, &config.ticketing.payment_provider) {
            let listener = TcpListener::bind(crate::config::socket(&config.grpc_host, *port, "TICKETING_SANDBOX_PORT")?).await?;
            let address = listener.local_addr()?;
            tracing::info!(%address, "payment provider: local sandbox (Stripe test-mode look-alike), Stripe-shaped API up");
            servers.push(serve_sandbox_api(listener, built.clone(), watcher.clone()));
            payment_sandbox = Some(address);
        }
        sandbox = built_sandbox;
    }

    // The event-marketing pair: Content first (the Event Service calls it over gRPC).
    let mut cdn = None;
    if config.runs_service("content") {
        let verifier = service_verifier(&local_verifier, &backends).await?;
        let cdn_listener = TcpListener::bind(crate::config::socket(&config.http_host, config.event_content.cdn_port, "CDN_HTTP_PORT")?).await?;
        let cdn_address = cdn_listener.local_addr()?;
        let root = config.data_dir.join("cdn");
        servers.push(crate::cdn::spawn(cdn_listener, root.clone(), watcher.clone()));
        let host = if config.http_host == "0.0.0.0" || config.http_host == "::" { "localhost" } else { config.http_host.as_str() };
        let public = config.event_content.cdn_public_url.clone().unwrap_or_else(|| format!("http://{host}:{}", cdn_address.port()));
        tracing::info!(address = %cdn_address, public = %public, "images served at /cdn");
        let service = build_content_service(&config, root, &public).await?;
        servers.push(run_worker(content_service::worker(service.clone()), watcher.clone()));
        let listener = TcpListener::bind(config.grpc_addr("content")?).await?;
        let address = listener.local_addr()?;
        tracing::info!(%address, "gRPC content.v1.ContentService up");
        let routes = tonic::service::Routes::new(ContentApi::new(service, contracts.clone(), verifier).into_server());
        in_process.insert("content.v1".to_owned(), gateway::in_process(routes.clone()));
        servers.push(serve_grpc(listener, &["content.v1.ContentService"], routes, grpc_cors.clone(), watcher.clone()).await?);
        backends.insert("content.v1".into(), format!("http://127.0.0.1:{}", address.port()));
        grpc.insert("content".to_owned(), address);
        cdn = Some(cdn_address);
    }
    if config.runs_service("event") {
        let verifier = service_verifier(&local_verifier, &backends).await?;
        let content_uri = backends
            .get("content.v1")
            .ok_or_else(|| StartError::Gateway("CONTENT_GRPC_URL is not set (the Event Service calls the Content Service)".into()))?
            .clone();
        let channel = tonic::transport::Endpoint::from_shared(content_uri)
            .map_err(|e| StartError::Gateway(format!("CONTENT_GRPC_URL: {e}")))?
            .connect_lazy();
        let service = build_event_service(&config, ContentServiceClient::new(channel)).await?;
        for worker in event_service::workers(service.clone()) {
            servers.push(run_worker(worker, watcher.clone()));
        }
        let listener = TcpListener::bind(config.grpc_addr("event")?).await?;
        let address = listener.local_addr()?;
        tracing::info!(%address, "gRPC event.v1.EventService up");
        let routes = tonic::service::Routes::new(EventApi::new(service, contracts.clone(), verifier).into_server());
        in_process.insert("event.v1".to_owned(), gateway::in_process(routes.clone()));
        servers.push(serve_grpc(listener, &["event.v1.EventService"], routes, grpc_cors.clone(), watcher.clone()).await?);
        backends.insert("event.v1".into(), format!("http://127.0.0.1:{}", address.port()));
        grpc.insert("event".to_owned(), address);
    }

    let mut gateway = None;
    let (mut http, mut base_paths) = (HashMap::new(), HashMap::new());
    let mut in_process_packages: Vec<String> = Vec::new();
    if !matches!(config.role, Role::Serve(_)) {
        let verifier = match local_verifier {
            Some(verifier) => verifier,
            None => {
                let uri = backends
                    .get("user.v1")
                    .ok_or_else(|| StartError::Jwks("USER_GRPC_URL is not set".into()))?
                    .clone();
                remote_verifier(&uri, backends.get("ticketing.v1").cloned()).await?
            }
        };
        let mut listen = HashMap::new();
        for api in &contracts.apis {
            let name = &api.options.name;
            let port = config.http_ports.get(name).copied().unwrap_or(api.options.default_port as u16);
            listen.insert(name.clone(), crate::config::socket(&config.http_host, port, "HTTP_HOST")?);
        }
        let gateway_config = GatewayConfig {
            listen,
            base_paths: config.base_paths.clone(),
            backends,
            in_process: {
                in_process_packages = in_process.keys().cloned().collect();
                in_process
            },
            max_body_bytes: config.max_body_bytes,
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            cors: config.cors.clone(),
            compression_min_bytes: config.compression_min_bytes,
            ..GatewayConfig::default()
        };
        let built = Gateway::new(contracts.clone(), verifier, &gateway_config)
            .map_err(|e| StartError::Gateway(e.to_string()))?;
        let handle = built.start().await.map_err(|e| StartError::Gateway(e.to_string()))?;
        http = handle.addresses.clone();
        base_paths = handle.base_paths.clone();
        gateway = Some(handle);
        if let (Some(sandbox), None, Some(address)) = (&sandbox, &config.ticketing.webhook_url, http.get("ticketing")) {
            let base = base_paths.get("ticketing").cloned().unwrap_or_default();
            sandbox.set_webhook_url(&format!("http://127.0.0.1:{}{}/api/payment/webhook", address.port(), base.trim_end_matches('/')));
        }
    }

    in_process_packages.sort();
    Ok(Running { http, base_paths, grpc, in_process: in_process_packages, payment_sandbox, cdn, gateway, shutdown, servers })
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn grpc_connections_have_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let client = tokio::spawn(tokio::net::TcpStream::connect(address));
        let mut incoming = super::grpc_incoming(listener);
        let stream = incoming.next().await.expect("a connection").expect("accepted");
        assert!(stream.nodelay().expect("option"), "TCP_NODELAY on the accepted socket");
        drop(client.await);
    }
}
