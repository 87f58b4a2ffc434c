//! Configuration: one typed struct, read from environment variables, optionally preceded by
//! a `KEY=VALUE` file named by `PLATFORM_CONFIG` (the environment wins over the file).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

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
pub const SERVICES: &[(&str, &str, u16)] = &[("user", "user.v1", 50051)];

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
    /// Service → gRPC port override.
    pub grpc_ports: HashMap<String, u16>,
    /// Proto package → gRPC URI (gateway role).
    pub backends: HashMap<String, String>,
    pub user_keys_dir: PathBuf,
    pub max_body_bytes: usize,
    pub request_timeout_ms: u64,
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

/// API names and their environment prefix.
pub const APIS: &[&str] = &["event", "content", "user", "ticketing", "product_change"];

impl Config {
    pub fn load(role: Role, source: &Source) -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(source.get("DATA_DIR").unwrap_or_else(|| "data".into()));
        let mut http_ports = HashMap::new();
        for api in APIS {
            if let Some(port) = source.parse::<u16>(&format!("{}_HTTP_PORT", api.to_uppercase()))? {
                http_ports.insert((*api).to_owned(), port);
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
        Ok(Self {
            role,
            user_keys_dir: source.get("USER_KEYS_DIR").map(PathBuf::from).unwrap_or_else(|| data_dir.join("keys")),
            data_dir,
            database_url: source.get("DATABASE_URL"),
            redis_url: source.get("REDIS_URL"),
            cache_prefix: source.get("CACHE_PREFIX").unwrap_or_else(|| "kt:".into()),
            namespace: source.get("DB_NAMESPACE").unwrap_or_default(),
            http_host: source.get("HTTP_HOST").unwrap_or_else(|| "0.0.0.0".into()),
            grpc_host: source.get("GRPC_HOST").unwrap_or_else(|| "0.0.0.0".into()),
            http_ports,
            grpc_ports,
            backends,
            max_body_bytes: source.parse("MAX_BODY_BYTES")?.unwrap_or(1024 * 1024),
            request_timeout_ms: source.parse("REQUEST_TIMEOUT_MS")?.unwrap_or(15_000),
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
