//! Configuration: one typed struct, read from environment variables, optionally preceded by
//! a `KEY=VALUE` file named by `PLATFORM_CONFIG` (the environment wins over the file).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use user_service::{AttributeMap, LdapSettings};

/// Which parts of the platform this process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Gateway and every implemented service (the default; `make run`).
    All,
    /// Only the REST gateway; services are reached over gRPC (`BACKEND_<PACKAGE>`).
    Gateway,
    /// Only these services (e.g. `serve user`), one pod per service on Kubernetes.
    Serve(Vec<String>),
}

/// Services this build implements, with their default gRPC ports.
pub const SERVICES: &[(&str, &str, u16)] = &[
    ("user", "user.v1", 50051),
    ("event", "event.v1", 50052),
    ("content", "content.v1", 50053),
    ("ticketing", "ticketing.v1", 50054),
    ("product_change", "productchange.v1", 50055),
    ("kos", "kos.v1", 50056),
];

#[derive(Debug, Clone)]
pub struct Config {
    pub role: Role,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    /// Prefix of every cache key (lets deployments and test runs share one Redis).
    pub cache_prefix: String,
    /// Suffix for database schemas/files (test isolation); empty normally.
    pub namespace: String,
    pub http_host: String,
    pub grpc_host: String,
    /// API name → HTTP port override.
    pub http_ports: HashMap<String, u16>,
    /// API name → base path override (default: the contract's, e.g. `/v1/product-change`).
    pub base_paths: HashMap<String, String>,
    /// Service → gRPC port override.
    pub grpc_ports: HashMap<String, u16>,
    /// Proto package → gRPC URI (gateway role).
    pub backends: HashMap<String, String>,
    pub user_keys_dir: PathBuf,
    /// Create a signing key when the key directory is empty (embedded mode); production
    /// mounts keys from a secret and sets this to false.
    pub user_keys_generate: bool,
    pub user_directory: UserDirectory,
    pub max_body_bytes: usize,
    pub request_timeout_ms: u64,
    pub kos: KosConfig,
    pub product_change: ProductChangeConfig,
    pub ticketing: TicketingConfig,
    /// API name → CORS settings (`<API>_CORS_*`, else `CORS_*`, else `DEFAULT_CORS_ORIGINS`).
    pub cors: HashMap<String, gateway::CorsConfig>,
    /// Responses at least this long are compressed when the client accepts gzip or br.
    pub compression_min_bytes: u16,
    /// CORS of gRPC-Web on the services' gRPC ports (`GRPC_CORS_*`, else `CORS_*`).
    pub grpc_cors: gateway::CorsConfig,
    pub event_content: EventContentConfig,
}

/// The KOS simulator (`serve kos`; part of `all`): faults to start with and how long
/// provisioning orders take. Faults change at run time with `kos.v1.KosService/SetFaults`.
#[derive(Debug, Clone)]
pub struct KosConfig {
    /// KOS_FAULT_ERROR_RATE (0.0–1.0)
    pub error_rate: f64,
    /// KOS_FAULT_LATENCY_MS
    pub latency_ms: u64,
    /// KOS_FAULT_DOWN
    pub down: bool,
    /// KOS_DEFERRED_COMPLETION_MS: how long KOS takes to complete an accepted (deferred) order.
    pub deferred_completion_ms: u64,
}

/// The Product-Change Service and its KOS client.
#[derive(Debug, Clone)]
pub struct ProductChangeConfig {
    /// PRODUCT_CHANGE_SYNC_BUDGET_MS: how long a change waits for KOS before answering 202.
    pub sync_budget_ms: u64,
    /// KOS_CALL_TIMEOUT_MS / KOS_BREAKER_OPEN_MS: overrides of the core's KOS resilience settings.
    pub kos_call_timeout_ms: Option<u64>,
    pub kos_breaker_open_ms: Option<u64>,
}

/// Ticketing's settings (`TICKETING_*`).
#[derive(Debug, Clone)]
pub struct TicketingConfig {
    pub keys_dir: PathBuf,
    pub keys_generate: bool,
    /// How long a booking holds its seats unpaid (spec: 600 s; short in tests).
    pub hold_seconds: u64,
    pub payment_provider: PaymentProviderConfig,
    pub webhook_secret: String,
    /// Where the sandbox sends signed webhooks when no gateway runs in this process.
    pub webhook_url: Option<String>,
    /// Public API URL for ticket QR code links.
    pub public_url: String,
}

#[derive(Debug, Clone)]
pub enum PaymentProviderConfig {
    /// The local sandbox (Stripe test mode look-alike), its Stripe-shaped API on this port.
    Sandbox { port: u16 },
    Stripe(ticketing_service::provider::StripeSettings),
}

fn ticketing_config(source: &Source, data_dir: &std::path::Path) -> Result<TicketingConfig, ConfigError> {
    let payment_provider = match source.get("TICKETING_PAYMENT_PROVIDER").as_deref() {
        None | Some("sandbox") => {
            PaymentProviderConfig::Sandbox { port: source.parse("TICKETING_SANDBOX_PORT")?.unwrap_or(12111) }
        }
        Some("stripe") => PaymentProviderConfig::Stripe(ticketing_service::provider::StripeSettings {
            base_url: source.get("STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into()),
            secret_key: source.get("STRIPE_SECRET_KEY").ok_or_else(|| ConfigError {
                key: "STRIPE_SECRET_KEY".into(),
                reason: "required with TICKETING_PAYMENT_PROVIDER=stripe".into(),
            })?,
            timeout: Duration::from_millis(source.parse("STRIPE_TIMEOUT_MS")?.unwrap_or(10_000)),
        }),
        Some(other) => {
            return Err(ConfigError {
                key: "TICKETING_PAYMENT_PROVIDER".into(),
                reason: format!("{other:?} is not sandbox or stripe"),
            });
        }
    };
    Ok(TicketingConfig {
        keys_dir: source.get("TICKETING_KEYS_DIR").map(PathBuf::from).unwrap_or_else(|| data_dir.join("ticketing-keys")),
        keys_generate: source.parse("TICKETING_KEYS_GENERATE")?.unwrap_or(true),
        hold_seconds: source.parse("TICKETING_HOLD_SECONDS")?.unwrap_or(600),
        payment_provider,
        webhook_secret: source.get("STRIPE_WEBHOOK_SECRET").unwrap_or_else(|| "whsec_local_sandbox_secret".into()),
        webhook_url: source.get("TICKETING_WEBHOOK_URL"),
        public_url: source.get("TICKETING_PUBLIC_URL").unwrap_or_else(|| "http://localhost:8000".into()),
    })
}

/// Origins allowed when none are configured: pages served from any port of this machine
/// (the embedded run, a front end's dev server). Production sets an explicit list.
pub const DEFAULT_CORS_ORIGINS: &str = "http://localhost:*,http://127.0.0.1:*";

fn list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
}

/// One API's CORS settings: its own key first, then the shared one. `none` allows no origin.
fn cors_settings(source: &Source, api: &str) -> Result<gateway::CorsConfig, ConfigError> {
    let key = |name: &str| {
        let own = format!("{}_CORS_{name}", api.to_uppercase());
        if source.get(&own).is_some() { own } else { format!("CORS_{name}") }
    };
    let defaults = gateway::CorsConfig::default();
    let origins = source.get(&key("ORIGINS")).unwrap_or_else(|| DEFAULT_CORS_ORIGINS.into());
    Ok(gateway::CorsConfig {
        origins: if origins.trim().eq_ignore_ascii_case("none") { Vec::new() } else { list(&origins) },
        allow_headers: source.get(&key("ALLOW_HEADERS")).map_or(defaults.allow_headers, |text| list(&text)),
        expose_headers: source.get(&key("EXPOSE_HEADERS")).map_or(defaults.expose_headers, |text| list(&text)),
        allow_credentials: source.parse(&key("CREDENTIALS"))?.unwrap_or(defaults.allow_credentials),
        max_age_seconds: source.parse(&key("MAX_AGE"))?.unwrap_or(defaults.max_age_seconds),
    })
}

/// Event and Content Service settings: the `/cdn` listener for locally stored images, and
/// the channel simulator (the local default for distribution channels).
#[derive(Debug, Clone)]
pub struct EventContentConfig {
    /// Port of the `/cdn` static-file listener (`CDN_HTTP_PORT`, default 8090).
    pub cdn_port: u16,
    /// Base of image URLs (`CDN_PUBLIC_URL`); default `http://localhost:<cdn port>`.
    pub cdn_public_url: Option<String>,
    /// `CHANNEL_SIM_LATENCY_MS` (default 50).
    pub channel_latency_ms: u64,
    /// `CHANNEL_SIM_FAILURE_RATE`, 0.0 … 1.0 (default 0).
    pub channel_failure_rate: f64,
    /// `CHANNEL_SIM_FAIL`: comma-separated channel types that always fail.
    pub channel_failing: Vec<String>,
    /// `RECOMMENDER_OPENAI_URL` (e.g. `https://api.openai.com/v1`): when set, recommendations
    /// come from this OpenAI-compatible chat API (`RECOMMENDER_OPENAI_MODEL`, `RECOMMENDER_OPENAI_KEY`,
    /// `RECOMMENDER_TIMEOUT_MS`), with the rule-based recommender as fallback.
    pub recommender_url: Option<String>,
    pub recommender_model: String,
    pub recommender_key: Option<Secret>,
    pub recommender_timeout_ms: u64,
    /// `IMAGE_SD_URL` / `IMAGE_SD_KEY`: a Stable-Diffusion-style image API.
    pub image_sd: Option<(String, Option<Secret>)>,
    /// `IMAGE_OPENAI_URL` / `IMAGE_OPENAI_KEY` / `IMAGE_OPENAI_MODEL`: an OpenAI-Images-style API.
    pub image_openai: Option<(String, Option<Secret>, Option<String>)>,
    /// `IMAGE_API_TIMEOUT_MS` (default 300000: the spec's 5 minutes).
    pub image_timeout_ms: u64,
    /// `CONTENT_LOCAL_FALLBACK` (default true): render locally when the image APIs fail.
    pub local_fallback: bool,
    /// `CONTENT_TTL_SECONDS` (default 604800: the spec's 7 days).
    pub content_ttl_seconds: u64,
}

/// A key or token: `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl EventContentConfig {
    fn load(source: &Source) -> Result<Self, ConfigError> {
        Ok(Self {
            cdn_port: source.parse("CDN_HTTP_PORT")?.unwrap_or(8090),
            cdn_public_url: source.get("CDN_PUBLIC_URL"),
            channel_latency_ms: source.parse("CHANNEL_SIM_LATENCY_MS")?.unwrap_or(50),
            channel_failure_rate: source.parse("CHANNEL_SIM_FAILURE_RATE")?.unwrap_or(0.0),
            channel_failing: source
                .get("CHANNEL_SIM_FAIL")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            recommender_url: source.get("RECOMMENDER_OPENAI_URL"),
            recommender_model: source.get("RECOMMENDER_OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
            recommender_key: source.get("RECOMMENDER_OPENAI_KEY").map(Secret),
            recommender_timeout_ms: source.parse("RECOMMENDER_TIMEOUT_MS")?.unwrap_or(20_000),
            image_sd: source.get("IMAGE_SD_URL").map(|url| (url, source.get("IMAGE_SD_KEY").map(Secret))),
            image_openai: source.get("IMAGE_OPENAI_URL").map(|url| (url, source.get("IMAGE_OPENAI_KEY").map(Secret), source.get("IMAGE_OPENAI_MODEL"))),
            image_timeout_ms: source.parse("IMAGE_API_TIMEOUT_MS")?.unwrap_or(300_000),
            local_fallback: source.parse("CONTENT_LOCAL_FALLBACK")?.unwrap_or(true),
            content_ttl_seconds: source.parse("CONTENT_TTL_SECONDS")?.unwrap_or(7 * 24 * 3600),
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration {key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

/// Environment-style key lookup: the process environment over an optional file.
pub struct Source {
    values: HashMap<String, String>,
}

impl Source {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut values = HashMap::new();
        if let Ok(path) = std::env::var("PLATFORM_CONFIG") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError { key: "PLATFORM_CONFIG".into(), reason: format!("{path}: {e}") })?;
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                if let Some((key, value)) = line.split_once('=') {
                    values.insert(key.trim().to_owned(), value.trim().trim_matches('"').to_owned());
                }
            }
        }
        values.extend(std::env::vars());
        Ok(Self { values })
    }

    pub fn from_map(values: HashMap<String, String>) -> Self {
        Self { values }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.values.get(key).filter(|value| !value.is_empty()).cloned()
    }

    fn parse<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| ConfigError { key: key.into(), reason: format!("cannot parse {text:?}") }),
        }
    }
}

/// Where the User Service checks passwords.
#[derive(Debug, Clone)]
pub enum UserDirectory {
    /// The embedded user table (argon2id), seeded with the spec's example user.
    Local,
    Ldap(Box<LdapSettings>),
}

fn ldap_settings(source: &Source) -> Result<LdapSettings, ConfigError> {
    let defaults = LdapSettings::default();
    let required = |key: &str| {
        source.get(key).ok_or_else(|| ConfigError { key: key.into(), reason: "required with USER_DIRECTORY=ldap".into() })
    };
    let attributes = AttributeMap {
        name: source.get("LDAP_ATTR_NAME").unwrap_or(defaults.attributes.name),
        email: source.get("LDAP_ATTR_EMAIL").unwrap_or(defaults.attributes.email),
        department: source.get("LDAP_ATTR_DEPARTMENT").unwrap_or(defaults.attributes.department),
        title: source.get("LDAP_ATTR_TITLE").unwrap_or(defaults.attributes.title),
        group_role: source.get("LDAP_ATTR_GROUP_ROLE").unwrap_or(defaults.attributes.group_role),
    };
    Ok(LdapSettings {
        url: required("LDAP_URL")?,
        starttls: source.parse("LDAP_STARTTLS")?.unwrap_or(false),
        ca_file: source.get("LDAP_CA_FILE").map(PathBuf::from),
        bind_dn: required("LDAP_BIND_DN")?,
        bind_password: required("LDAP_BIND_PASSWORD")?,
        user_base_dn: required("LDAP_BASE_DN")?,
        user_filter: source.get("LDAP_USER_FILTER").unwrap_or(defaults.user_filter),
        group_base_dn: source.get("LDAP_GROUP_BASE_DN").unwrap_or_default(),
        group_filter: source.get("LDAP_GROUP_FILTER").unwrap_or(defaults.group_filter),
        attributes,
        role_map: source
            .get("LDAP_ROLE_MAP")
            .unwrap_or_default()
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(group, role)| (group.trim().to_owned(), role.trim().to_owned()))
            .collect(),
        timeout: Duration::from_millis(source.parse("LDAP_TIMEOUT_MS")?.unwrap_or(5_000)),
    })
}

/// API names and their environment prefix.
pub const APIS: &[&str] = &["event", "content", "user", "ticketing", "product_change"];

impl Config {
    pub fn load(role: Role, source: &Source) -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(source.get("DATA_DIR").unwrap_or_else(|| "data".into()));
        let mut http_ports = HashMap::new();
        let mut base_paths = HashMap::new();
        let mut cors = HashMap::new();
        for api in APIS {
            cors.insert((*api).to_owned(), cors_settings(source, api)?);
            if let Some(port) = source.parse::<u16>(&format!("{}_HTTP_PORT", api.to_uppercase()))? {
                http_ports.insert((*api).to_owned(), port);
            }
            if let Some(path) = source.get(&format!("{}_BASE_PATH", api.to_uppercase())) {
                base_paths.insert((*api).to_owned(), path);
            }
        }
        let mut grpc_ports = HashMap::new();
        let mut backends = HashMap::new();
        for (service, package, _) in SERVICES {
            if let Some(port) = source.parse::<u16>(&format!("{}_GRPC_PORT", service.to_uppercase()))? {
                grpc_ports.insert((*service).to_owned(), port);
            }
            if let Some(uri) = source.get(&format!("{}_GRPC_URL", service.to_uppercase())) {
                backends.insert((*package).to_owned(), uri);
            }
        }
        let user_directory = match source.get("USER_DIRECTORY").as_deref() {
            None | Some("local") => UserDirectory::Local,
            Some("ldap") => UserDirectory::Ldap(Box::new(ldap_settings(source)?)),
            Some(other) => {
                return Err(ConfigError { key: "USER_DIRECTORY".into(), reason: format!("{other:?} is not local or ldap") });
            }
        };
        let ticketing = ticketing_config(source, &data_dir)?;
        Ok(Self {
            ticketing,
            role,
            user_keys_generate: source.parse("USER_KEYS_GENERATE")?.unwrap_or(true),
            user_directory,
            user_keys_dir: source.get("USER_KEYS_DIR").map(PathBuf::from).unwrap_or_else(|| data_dir.join("keys")),
            data_dir,
            database_url: source.get("DATABASE_URL"),
            redis_url: source.get("REDIS_URL"),
            cache_prefix: source.get("CACHE_PREFIX").unwrap_or_else(|| "kt:".into()),
            namespace: source.get("DB_NAMESPACE").unwrap_or_default(),
            http_host: source.get("HTTP_HOST").unwrap_or_else(|| "0.0.0.0".into()),
            grpc_host: source.get("GRPC_HOST").unwrap_or_else(|| "0.0.0.0".into()),
            http_ports,
            base_paths,
            grpc_ports,
            backends,
            max_body_bytes: source.parse("MAX_BODY_BYTES")?.unwrap_or(1024 * 1024),
            request_timeout_ms: source.parse("REQUEST_TIMEOUT_MS")?.unwrap_or(15_000),
            kos: KosConfig {
                error_rate: source.parse("KOS_FAULT_ERROR_RATE")?.unwrap_or(0.0),
                latency_ms: source.parse("KOS_FAULT_LATENCY_MS")?.unwrap_or(0),
                down: source.parse("KOS_FAULT_DOWN")?.unwrap_or(false),
                deferred_completion_ms: source.parse("KOS_DEFERRED_COMPLETION_MS")?.unwrap_or(5_000),
            },
            product_change: ProductChangeConfig {
                sync_budget_ms: source.parse("PRODUCT_CHANGE_SYNC_BUDGET_MS")?.unwrap_or(3_000),
                kos_call_timeout_ms: source.parse("KOS_CALL_TIMEOUT_MS")?,
                kos_breaker_open_ms: source.parse("KOS_BREAKER_OPEN_MS")?,
            },
            cors,
            grpc_cors: cors_settings(source, "grpc")?,
            compression_min_bytes: source.parse("COMPRESSION_MIN_BYTES")?.unwrap_or(1024),
            event_content: EventContentConfig::load(source)?,
        })
    }

    /// Where each service keeps its tables (its own SQLite file or PostgreSQL schema).
    pub fn db_config(&self) -> service_core::storage::DbConfig {
        service_core::storage::DbConfig {
            url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            namespace: self.namespace.clone(),
        }
    }

    pub fn grpc_addr(&self, service: &str) -> Result<SocketAddr, ConfigError> {
        let port = self.grpc_ports.get(service).copied().unwrap_or_else(|| {
            SERVICES.iter().find(|(name, _, _)| *name == service).map_or(0, |(_, _, port)| *port)
        });
        socket(&self.grpc_host, port, &format!("{}_GRPC_PORT", service.to_uppercase()))
    }

    pub fn runs_service(&self, service: &str) -> bool {
        match &self.role {
            Role::All => true,
            Role::Gateway => false,
            Role::Serve(services) => services.iter().any(|s| s == service),
        }
    }
}

pub fn socket(host: &str, port: u16, key: &str) -> Result<SocketAddr, ConfigError> {
    format!("{host}:{port}")
        .parse()
        .or_else(|_| format!("[{host}]:{port}").parse())
        .map_err(|_| ConfigError { key: key.into(), reason: format!("bad address {host}:{port}") })
}
