use std::path::PathBuf;
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

/// Where a service keeps its tables.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// `postgres://…` for PostgreSQL; None for the embedded SQLite file.
    pub url: Option<String>,
    /// Directory of the embedded SQLite files.
    pub data_dir: PathBuf,
    /// Appended to schema (PostgreSQL) and file (SQLite) names, so test stacks never share
    /// tables; empty in normal runs.
    pub namespace: String,
}

fn is_safe_identifier(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Connects the database of one service: its own SQLite file, or its own PostgreSQL schema.
pub async fn connect_database(config: &DbConfig, service: &str) -> Result<DatabaseConnection, DbErr> {
    let name = if config.namespace.is_empty() {
        service.to_owned()
    } else {
        format!("{service}_{}", config.namespace)
    };
    if !is_safe_identifier(&name) {
        return Err(DbErr::Custom(format!("bad database name {name:?}")));
    }
    match &config.url {
        Some(url) if url.starts_with("postgres") => {
            // Each service owns a schema: create it, then connect with it as search path.
            let admin = Database::connect(url.as_str()).await?;
            admin.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{name}\"")).await?;
            admin.close().await?;
            let mut options = ConnectOptions::new(url.clone());
            options
                .set_schema_search_path(name)
                .max_connections(10)
                .connect_timeout(Duration::from_secs(5))
                .sqlx_logging(false);
            Database::connect(options).await
        }
        Some(url) => {
            let mut options = ConnectOptions::new(url.clone());
            options.sqlx_logging(false);
            Database::connect(options).await
        }
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| DbErr::Custom(format!("data dir {}: {e}", config.data_dir.display())))?;
            let file = config.data_dir.join(format!("{name}.db"));
            let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", file.display()));
            // SQLite allows one writer: a small pool avoids "database is locked" churn.
            options.max_connections(4).sqlx_logging(false);
            let db = Database::connect(options).await?;
            db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;").await?;
            Ok(db)
        }
    }
}
