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
pub const SERVICES: &[(&str, &str, u16)] =
    &[("user", "user.v1", 50051), ("event", "event.v1", 50052), ("content", "content.v1", 50053)];

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
    pub event_content: EventContentConfig,
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
        for api in APIS {
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
        Ok(Self {
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
            event_content: EventContentConfig::load(source)?,
        })
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
