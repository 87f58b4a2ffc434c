//! Starts the whole platform in-process on free ports, on the embedded backends (SQLite
//! file + in-process cache) or on PostgreSQL + Redis when `DATABASE_URL`/`REDIS_URL` are set.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use platform::app::{self, Running};
use platform::config::{Config, Role, Source};

/// Which storage a stack runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    External { database_url: String, redis_url: String },
}

impl Backend {
    pub fn label(&self) -> &'static str {
        match self {
            Backend::Embedded => "sqlite+memory",
            Backend::External { .. } => "postgres+redis",
        }
    }
}

/// Every backend this run covers: always the embedded one, plus PostgreSQL + Redis when both
/// URLs are set (CI sets them; a laptop without servers still runs the embedded half).
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Embedded];
    let database_url = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty());
    let redis_url = std::env::var("REDIS_URL").ok().filter(|v| !v.is_empty());
    if let (Some(database_url), Some(redis_url)) = (database_url, redis_url) {
        backends.push(Backend::External { database_url, redis_url });
    }
    backends
}

/// A running platform for one test, with its own data dir, schemas and cache prefix.
pub struct Stack {
    pub running: Option<Running>,
    pub backend: Backend,
    pub namespace: String,
    pub data_dir: PathBuf,
    pub extra: HashMap<String, String>,
}

fn unique_namespace() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("t{}", &id[..12])
}

impl Stack {
    pub async fn start(backend: &Backend) -> Stack {
        Self::start_with(backend, HashMap::new()).await
    }

    /// Starts with extra configuration keys (e.g. an LDAP directory).
    pub async fn start_with(backend: &Backend, extra: HashMap<String, String>) -> Stack {
        let namespace = unique_namespace();
        let data_dir = std::env::temp_dir().join(format!("kt-e2e-{namespace}"));
        let mut stack = Stack { running: None, backend: backend.clone(), namespace, data_dir, extra };
        stack.boot().await;
        stack
    }

    fn config(&self) -> Config {
        let mut values: HashMap<String, String> = HashMap::new();
        values.insert("DATA_DIR".into(), self.data_dir.display().to_string());
        values.insert("DB_NAMESPACE".into(), self.namespace.clone());
        values.insert("CACHE_PREFIX".into(), format!("test:{}:", self.namespace));
        values.insert("HTTP_HOST".into(), "127.0.0.1".into());
        values.insert("GRPC_HOST".into(), "127.0.0.1".into());
        for api in platform::config::APIS {
            values.insert(format!("{}_HTTP_PORT", api.to_uppercase()), "0".into());
        }
        for (service, _, _) in platform::config::SERVICES {
            values.insert(format!("{}_GRPC_PORT", service.to_uppercase()), "0".into());
        }
        values.insert("TICKETING_SANDBOX_PORT".into(), "0".into());
        values.insert("CDN_HTTP_PORT".into(), "0".into());
        if let Backend::External { database_url, redis_url } = &self.backend {
            values.insert("DATABASE_URL".into(), database_url.clone());
            values.insert("REDIS_URL".into(), redis_url.clone());
        }
        values.extend(self.extra.clone());
        Config::load(Role::All, &Source::from_map(values)).expect("test configuration")
    }

    async fn boot(&mut self) {
        let running = app::start(self.config()).await.expect("platform starts");
        self.running = Some(running);
    }

    /// Stops and starts again on the same data (state must survive).
    pub async fn restart(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        self.boot().await;
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("stack is running")
    }

    /// Base URL of an API's listener, including its base path.
    pub fn url(&self, api: &str, path: &str) -> String {
        let address = self.running().http.get(api).unwrap_or_else(|| panic!("no listener for {api}"));
        let base = self.running().base_paths.get(api).cloned().unwrap_or_default();
        format!("http://{address}{base}{path}")
    }

    pub fn grpc(&self, service: &str) -> SocketAddr {
        *self.running().grpc.get(service).unwrap_or_else(|| panic!("no gRPC service {service}"))
    }

    /// The same database connection a service of this stack uses (to look at its tables).
    pub async fn database(&self, service: &str) -> sea_orm::DatabaseConnection {
        let url = match &self.backend {
            Backend::Embedded => None,
            Backend::External { database_url, .. } => Some(database_url.clone()),
        };
        let config = service_core::storage::DbConfig {
            url,
            data_dir: self.data_dir.clone(),
            namespace: self.namespace.clone(),
        };
        service_core::storage::connect_database(&config, &format!("{service}_service")).await.expect("database")
    }

    /// Stops the platform and removes what this test stored.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Backend::External { database_url, redis_url } = &self.backend {
            use sea_orm::ConnectionTrait;
            if let Ok(db) = sea_orm::Database::connect(database_url.as_str()).await {
                for (service, _, _) in platform::config::SERVICES {
                    let schema = format!("{service}_service_{}", self.namespace);
                    let _ = db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await;
                }
            }
            if let Ok(client) = redis::Client::open(redis_url.as_str()) {
                if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
                    let pattern = format!("test:{}:*", self.namespace);
                    let keys: Vec<String> =
                        redis::cmd("KEYS").arg(pattern).query_async(&mut connection).await.unwrap_or_default();
                    if !keys.is_empty() {
                        let _: Result<(), _> = redis::cmd("DEL").arg(keys).query_async(&mut connection).await;
                    }
                }
            }
        }
    }
}
