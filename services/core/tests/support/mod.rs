//! Test stacks: the SQLite-file backend always; PostgreSQL (schema per test) when
//! `DATABASE_URL` is set; Redis (prefix per test) when `REDIS_URL` is set.

#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use service_core::jobs::{JobRecord, JobState, Jobs};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Redis,
}

pub fn kinds() -> Vec<Kind> {
    let mut kinds = vec![Kind::Sqlite];
    if std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        kinds.push(Kind::Postgres);
    }
    if std::env::var("REDIS_URL").is_ok() {
        kinds.push(Kind::Redis);
    }
    kinds
}

/// What a service does: the jobs migration in its own Migrator.
struct TestMigrator;

impl MigratorTrait for TestMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![service_core::jobs::migration()]
    }
}

pub struct Env {
    pub kind: Kind,
    pub jobs: Jobs,
    pub db: DatabaseConnection,
    pub dir: PathBuf,
    db_url: String,
    pg_schema: Option<String>,
    redis_url: Option<String>,
    pub prefix: String,
}

pub async fn setup(kind: Kind) -> Env {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("jobs-test-{unique}"));
    std::fs::create_dir_all(&dir).unwrap();
    let (db_url, pg_schema) = match kind {
        Kind::Postgres => (std::env::var("DATABASE_URL").unwrap(), Some(format!("jobs_test_{unique}"))),
        _ => (format!("sqlite://{}?mode=rwc", dir.join("service.db").display()), None),
    };
    let db = connect(&db_url, pg_schema.as_deref()).await;
    TestMigrator::up(&db, None).await.unwrap();
    let redis_url = (kind == Kind::Redis).then(|| std::env::var("REDIS_URL").unwrap());
    let prefix = format!("jobstest:{unique}");
    let jobs = Jobs::connect(&db, redis_url.as_deref(), &prefix).await.unwrap();
    Env { kind, jobs, db, dir, db_url, pg_schema, redis_url, prefix }
}

/// Connects like the project's `storage::db::connect_database`.
pub async fn connect(url: &str, pg_schema: Option<&str>) -> DatabaseConnection {
    if let Some(schema) = pg_schema {
        let admin = Database::connect(url).await.unwrap();
        admin.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")).await.unwrap();
        admin.close().await.unwrap();
        let mut options = ConnectOptions::new(url.to_owned());
        options.set_schema_search_path(schema.to_owned()).max_connections(5).sqlx_logging(false);
        return Database::connect(options).await.unwrap();
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(4).sqlx_logging(false);
    let db = Database::connect(options).await.unwrap();
    db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;").await.unwrap();
    db
}

impl Env {
    /// A second, independent connection to the same backend (another "process").
    pub async fn second_handle(&self) -> Jobs {
        let db = connect(&self.db_url, self.pg_schema.as_deref()).await;
        Jobs::connect(&db, self.redis_url.as_deref(), &self.prefix).await.unwrap()
    }

    /// Environment for `job_worker` processes on this backend.
    pub fn worker_command(&self, queue: &str, run_log: &PathBuf) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_job-worker"));
        command
            .env("JOBS_DATABASE_URL", &self.db_url)
            .env("JOBS_PG_SCHEMA", self.pg_schema.clone().unwrap_or_default())
            .env("JOBS_REDIS_URL", self.redis_url.clone().unwrap_or_default())
            .env("JOBS_PREFIX", &self.prefix)
            .env("JOBS_QUEUE", queue)
            .env("JOBS_LEASE_MS", "1000")
            .env("JOBS_CONCURRENCY", "2")
            .env("JOBS_RUN_LOG", run_log)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        command
    }

    pub async fn state(&self, id: &str) -> Option<JobState> {
        self.jobs.status(id).await.unwrap().map(|r| r.state)
    }

    pub async fn record(&self, id: &str) -> JobRecord {
        self.jobs.status(id).await.unwrap().unwrap_or_else(|| panic!("{:?}: no job {id}", self.kind))
    }

    pub async fn teardown(self) {
        if let Some(schema) = &self.pg_schema {
            let admin = Database::connect(self.db_url.as_str()).await.unwrap();
            admin.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await.unwrap();
            admin.close().await.unwrap();
        }
        if let Some(url) = &self.redis_url {
            let client = redis::Client::open(url.as_str()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}:*", self.prefix)).query_async(&mut conn).await.unwrap();
            if !keys.is_empty() {
                let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
            }
        }
        let _ = self.db.close().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `check` every 50 ms until it holds; panics after `timeout`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
