//! A worker process used by the integration tests (kill-and-restart, two processes on one
//! backend). Configured by environment:
//! `JOBS_DATABASE_URL` (`sqlite://…` or `postgres://…`), `JOBS_PG_SCHEMA` (PostgreSQL search
//! path), `JOBS_REDIS_URL` (selects the Redis backend), `JOBS_PREFIX`, `JOBS_QUEUE`,
//! `JOBS_LEASE_MS`, `JOBS_CONCURRENCY`, `JOBS_RUN_LOG` (file that gets one line per handler
//! start and end). The handler sleeps `payload.sleep_ms` and returns `{"pid": …}`.
//! The tables must exist (the tests run the migration).

use std::io::Write;
use std::time::Duration;

use service_core::jobs::{JobContext, JobError, Jobs, Worker, WorkerOptions};
use sea_orm::{ConnectOptions, ConnectionTrait, Database};
use serde_json::json;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn env_u64(name: &str, default: u64) -> u64 {
    env(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn log_line(path: &Option<String>, line: &str) {
    let Some(path) = path else { return };
    // One write per line with O_APPEND: lines from two processes do not interleave.
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = file.write_all(format!("{line}\n").as_bytes());
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = env("JOBS_DATABASE_URL").ok_or("JOBS_DATABASE_URL is required")?;
    let mut options = ConnectOptions::new(url.clone());
    options.sqlx_logging(false);
    if url.starts_with("postgres") {
        if let Some(schema) = env("JOBS_PG_SCHEMA") {
            options.set_schema_search_path(schema);
        }
    } else {
        options.max_connections(4);
    }
    let db = Database::connect(options).await?;
    if !url.starts_with("postgres") {
        db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;").await?;
    }
    let prefix = env("JOBS_PREFIX").unwrap_or_else(|| "jobs".to_owned());
    let jobs = Jobs::connect(&db, env("JOBS_REDIS_URL").as_deref(), &prefix).await?;
    let queue = env("JOBS_QUEUE").unwrap_or_else(|| "default".to_owned());
    let run_log = env("JOBS_RUN_LOG");
    let pid = std::process::id();
    let worker_options = WorkerOptions {
        concurrency: usize::try_from(env_u64("JOBS_CONCURRENCY", 2)).unwrap_or(2),
        lease: Duration::from_millis(env_u64("JOBS_LEASE_MS", 1000)),
        poll_interval: Duration::from_millis(50),
        shutdown_grace: Duration::from_millis(500),
        ..WorkerOptions::default()
    };
    let worker = Worker::new(&jobs, &queue, worker_options, move |ctx: JobContext| {
        let run_log = run_log.clone();
        async move {
            let sleep_ms = ctx.payload.get("sleep_ms").and_then(|v| v.as_u64()).unwrap_or(0);
            let now = || chrono::Utc::now().timestamp_millis();
            log_line(&run_log, &format!("start {} {} {pid} {}", ctx.id, ctx.attempt, now()));
            tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
            log_line(&run_log, &format!("end {} {} {pid} {}", ctx.id, ctx.attempt, now()));
            Ok::<_, JobError>(json!({ "pid": pid }))
        }
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return,
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        let _ = stop.send(true);
    });
    println!("ready {pid}");
    worker.run(stopped).await?;
    Ok(())
}
