//! Durable job queue and domain-event bus with two backends behind one handle:
//!
//! - the service's own database (SQLite or PostgreSQL through sea-orm): rows claimed with
//!   leases and fencing tokens (`db.rs`, tables from [`migration()`]);
//! - Redis Streams when the service is configured with `REDIS_URL` (`redis.rs`).
//!
//! Delivery is at least once: handlers must be idempotent (the job id / event id says which
//! work item they are looking at). See `worker.rs` for the runner and `bus.rs` for events.

mod bus;
mod db;
mod migration;
mod redis;
mod scripts;
mod worker;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use bus::EventContext;
pub use migration::{JobsMigration, migration};
pub use worker::{Backoff, Worker, WorkerHandle, WorkerOptions};

/// Job ids are caller-chosen strings (for idempotent enqueue) or random UUIDs.
pub type JobId = String;

/// Attempts allowed when the caller does not say.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("jobs database: {0}")]
    Db(#[from] DbErr),
    #[error("jobs redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("jobs json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("job record {id} is unreadable: {reason}")]
    Corrupt { id: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Pending,
    Processing,
    Completed,
    /// Dead-lettered: out of attempts, or the handler said the error is permanent.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "PENDING",
            JobState::Processing => "PROCESSING",
            JobState::Completed => "COMPLETED",
            JobState::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        match text {
            "PENDING" => Some(JobState::Pending),
            "PROCESSING" => Some(JobState::Processing),
            "COMPLETED" => Some(JobState::Completed),
            "FAILED" => Some(JobState::Failed),
            _ => None,
        }
    }
}

/// What `status` answers about one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    pub queue: String,
    pub state: JobState,
    /// Attempts started so far (a claim counts as an attempt, even if its worker died).
    pub attempts: u32,
    pub max_attempts: u32,
    pub payload: Value,
    pub result: Option<Value>,
    pub last_error: Option<String>,
    /// When the job may run next (initial delay or retry backoff).
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct EnqueueOptions {
    /// Enqueueing an id that already exists (in any state) is a no-op returning that id.
    pub job_id: Option<JobId>,
    /// Not run before this instant.
    pub run_at: Option<DateTime<Utc>>,
    /// Defaults to [`DEFAULT_MAX_ATTEMPTS`].
    pub max_attempts: Option<u32>,
}

/// What a handler receives.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub id: JobId,
    pub queue: String,
    /// 1 on the first attempt.
    pub attempt: u32,
    pub max_attempts: u32,
    pub payload: Value,
}

/// A handler's failure. Retryable errors are retried with backoff until `max_attempts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    pub message: String,
    pub retryable: bool,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        JobError { message: message.into(), retryable: true }
    }

    /// Dead-letters the job at once (bad payload, a business rule that will never pass).
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError { message: message.into(), retryable: false }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A job this process has claimed. The token fences it: once the lease lapses and another
/// worker claims the job, calls made with this value change nothing.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: JobId,
    pub queue: String,
    pub attempt: u32,
    pub max_attempts: u32,
    pub payload: Value,
    token: String,
}

impl ClaimedJob {
    pub fn token(&self) -> &str {
        &self.token
    }
}

#[derive(Clone)]
enum Backend {
    Db(db::DbJobs),
    Redis(redis::RedisJobs),
}

/// The handle a service keeps (cheap to clone).
#[derive(Clone)]
pub struct Jobs {
    backend: Backend,
}

impl Jobs {
    /// Chooses the backend: Redis when `redis_url` is given, else the service's database
    /// (whose tables come from [`migration()`] in the service's own Migrator).
    /// `prefix` namespaces every Redis key (e.g. `"svc:event"`); the database backend
    /// needs none because each service owns its schema or file.
    pub async fn connect(db: &DatabaseConnection, redis_url: Option<&str>, prefix: &str) -> Result<Jobs, Error> {
        match redis_url {
            Some(url) => {
                let client = ::redis::Client::open(url)?;
                let manager = ::redis::aio::ConnectionManager::new(client).await?;
                Ok(Jobs::redis(manager, prefix))
            }
            None => Ok(Jobs::database(db.clone())),
        }
    }

    pub fn database(db: DatabaseConnection) -> Jobs {
        Jobs { backend: Backend::Db(db::DbJobs::new(db)) }
    }

    pub fn redis(manager: ::redis::aio::ConnectionManager, prefix: &str) -> Jobs {
        Jobs { backend: Backend::Redis(redis::RedisJobs::new(manager, prefix)) }
    }

    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Db(_) => "database",
            Backend::Redis(_) => "redis",
        }
    }

    pub async fn enqueue(&self, queue: &str, payload: Value, options: EnqueueOptions) -> Result<JobId, Error> {
        let id = options.job_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let now = Utc::now();
        let new_job = NewJob {
            id: &id,
            queue,
            payload: serde_json::to_string(&payload)?,
            max_attempts: options.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
            run_at_ms: options.run_at.unwrap_or(now).timestamp_millis(),
            now_ms: now.timestamp_millis(),
        };
        match &self.backend {
            Backend::Db(b) => b.enqueue(&new_job).await?,
            Backend::Redis(b) => b.enqueue(&new_job).await?,
        };
        Ok(id)
    }

    /// Enqueues inside the caller's transaction on the service's own database (a
    /// transactional outbox): the job exists if and only if the transaction commits. With the
    /// Redis backend there is no shared transaction: the job is enqueued at once.
    pub async fn enqueue_in<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        queue: &str,
        payload: Value,
        options: EnqueueOptions,
    ) -> Result<JobId, Error> {
        match &self.backend {
            Backend::Db(_) => {
                let id = options.job_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                let now = Utc::now();
                let new_job = NewJob {
                    id: &id,
                    queue,
                    payload: serde_json::to_string(&payload)?,
                    max_attempts: options.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
                    run_at_ms: options.run_at.unwrap_or(now).timestamp_millis(),
                    now_ms: now.timestamp_millis(),
                };
                db::enqueue_on(conn, &new_job).await?;
                Ok(id)
            }
            Backend::Redis(_) => self.enqueue(queue, payload, options).await,
        }
    }

    pub async fn status(&self, id: &str) -> Result<Option<JobRecord>, Error> {
        match &self.backend {
            Backend::Db(b) => b.status(id).await,
            Backend::Redis(b) => b.status(id).await,
        }
    }

    /// Claims up to `max` due jobs of `queue` for `lease`. Low-level: [`Worker`] does this
    /// for you; exposed for tools and tests of the fencing rules.
    pub async fn claim(&self, queue: &str, consumer: &str, lease: Duration, max: usize) -> Result<Vec<ClaimedJob>, Error> {
        let lease_ms = duration_ms(lease);
        match &self.backend {
            Backend::Db(b) => b.claim(queue, lease_ms, max).await,
            Backend::Redis(b) => b.claim(queue, consumer, lease_ms, max).await,
        }
    }

    /// Extends the lease; false when the job is no longer ours (lease lapsed and re-claimed).
    pub async fn heartbeat(&self, job: &ClaimedJob, consumer: &str, lease: Duration) -> Result<bool, Error> {
        let lease_ms = duration_ms(lease);
        match &self.backend {
            Backend::Db(b) => b.heartbeat(job, lease_ms).await,
            Backend::Redis(b) => b.heartbeat(job, consumer, lease_ms).await,
        }
    }

    /// Marks the job COMPLETED; false (and no change) when the claim is stale.
    pub async fn complete(&self, job: &ClaimedJob, result: &Value) -> Result<bool, Error> {
        let result = serde_json::to_string(result)?;
        match &self.backend {
            Backend::Db(b) => b.complete(job, &result).await,
            Backend::Redis(b) => b.complete(job, &result).await,
        }
    }

    /// Records a failure: back to PENDING until `retry_at`, or FAILED (dead letter) when
    /// `retry_at` is None. False (and no change) when the claim is stale.
    pub async fn fail(&self, job: &ClaimedJob, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<bool, Error> {
        let retry_ms = retry_at.map(|t| t.timestamp_millis());
        match &self.backend {
            Backend::Db(b) => b.fail(job, error, retry_ms).await,
            Backend::Redis(b) => b.fail(job, error, retry_ms).await,
        }
    }
}

/// Enqueue arguments, already encoded, shared by both backends.
pub(crate) struct NewJob<'a> {
    pub id: &'a str,
    pub queue: &'a str,
    pub payload: String,
    pub max_attempts: u32,
    pub run_at_ms: i64,
    pub now_ms: i64,
}

pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
