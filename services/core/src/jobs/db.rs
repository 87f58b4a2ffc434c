//! Database backend: one row per job in `job_queue`, claimed with a lease.
//!
//! Every state change is a single conditional statement (no read-then-write transaction),
//! so it is atomic on PostgreSQL (the row lock re-checks the WHERE clause) and on SQLite
//! (one writer at a time, busy_timeout waits) alike, and safe with several processes on one
//! database. A claim writes a fresh token; completion, failure and heartbeats match on it,
//! so a worker whose lease lapsed and whose job was claimed again changes nothing.
//!
//! SQL uses `$n` placeholders: PostgreSQL's native form, which sqlx's SQLite driver also
//! binds by number.

use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Statement, Value};

use crate::jobs::{ClaimedJob, Error, JobRecord, JobState, NewJob, ms_to_time};

/// Claimable: due and pending, or processing under a lease that has lapsed.
const CLAIMABLE: &str = "((state = 'PENDING' AND run_at <= $1) OR (state = 'PROCESSING' AND lease_until < $1))";

#[derive(Clone)]
pub(crate) struct DbJobs {
    db: DatabaseConnection,
}

impl DbJobs {
    pub(crate) fn new(db: DatabaseConnection) -> Self {
        DbJobs { db }
    }

    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.db.get_database_backend(), sql, values)
    }

    async fn execute(&self, sql: &str, values: Vec<Value>) -> Result<u64, Error> {
        Ok(self.db.execute_raw(self.statement(sql, values)).await?.rows_affected())
    }

    pub(crate) async fn enqueue(&self, job: &NewJob<'_>) -> Result<bool, Error> {
        enqueue_on(&self.db, job).await
    }

    pub(crate) async fn status(&self, id: &str) -> Result<Option<JobRecord>, Error> {
        let row = self
            .db
            .query_one_raw(self.statement(
                "SELECT id, queue, state, payload, result, last_error, attempts, max_attempts, run_at, created_at, updated_at \
                 FROM job_queue WHERE id = $1",
                vec![id.into()],
            ))
            .await?;
        row.map(|row| record_from_row(id, &row)).transpose()
    }

    pub(crate) async fn claim(&self, queue: &str, lease_ms: i64, max: usize) -> Result<Vec<ClaimedJob>, Error> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let candidates = self
            .db
            .query_all_raw(self.statement(
                &format!("SELECT id FROM job_queue WHERE {CLAIMABLE} AND queue = $2 ORDER BY run_at LIMIT $3"),
                vec![now.into(), queue.into(), i64::try_from(max).unwrap_or(i64::MAX).into()],
            ))
            .await?;
        let mut claimed = Vec::new();
        for row in candidates {
            let id: String = row.try_get("", "id")?;
            let token = uuid::Uuid::new_v4().to_string();
            // Another process may have taken the row since the SELECT: the same condition in
            // the UPDATE decides, and RETURNING yields nothing when we lost.
            let won = self
                .db
                .query_one_raw(self.statement(
                    &format!(
                        "UPDATE job_queue SET state = 'PROCESSING', claim_token = $2, lease_until = $3, \
                         attempts = attempts + 1, updated_at = $1 WHERE id = $4 AND {CLAIMABLE} \
                         RETURNING attempts, max_attempts, payload"
                    ),
                    vec![now.into(), token.clone().into(), (now + lease_ms).into(), id.clone().into()],
                ))
                .await?;
            if let Some(row) = won {
                let attempts: i32 = row.try_get("", "attempts")?;
                let max_attempts: i32 = row.try_get("", "max_attempts")?;
                let payload: String = row.try_get("", "payload")?;
                claimed.push(ClaimedJob {
                    payload: parse_json(&id, &payload)?,
                    id,
                    queue: queue.to_owned(),
                    attempt: u32_of(attempts),
                    max_attempts: u32_of(max_attempts),
                    token,
                });
            }
        }
        Ok(claimed)
    }

    pub(crate) async fn heartbeat(&self, job: &ClaimedJob, lease_ms: i64) -> Result<bool, Error> {
        let now = now_ms();
        let updated = self
            .execute(
                "UPDATE job_queue SET lease_until = $1, updated_at = $2 \
                 WHERE id = $3 AND claim_token = $4 AND state = 'PROCESSING'",
                vec![(now + lease_ms).into(), now.into(), job.id.clone().into(), job.token.clone().into()],
            )
            .await?;
        Ok(updated == 1)
    }

    pub(crate) async fn complete(&self, job: &ClaimedJob, result: &str) -> Result<bool, Error> {
        let updated = self
            .execute(
                "UPDATE job_queue SET state = 'COMPLETED', result = $1, claim_token = NULL, lease_until = NULL, \
                 updated_at = $2 WHERE id = $3 AND claim_token = $4 AND state = 'PROCESSING'",
                vec![result.into(), now_ms().into(), job.id.clone().into(), job.token.clone().into()],
            )
            .await?;
        Ok(updated == 1)
    }

    pub(crate) async fn fail(&self, job: &ClaimedJob, error: &str, retry_at_ms: Option<i64>) -> Result<bool, Error> {
        let now = now_ms();
        let (state, run_at) = match retry_at_ms {
            Some(at) => (JobState::Pending, at),
            None => (JobState::Failed, now),
        };
        let updated = self
            .execute(
                "UPDATE job_queue SET state = $1, run_at = $2, last_error = $3, claim_token = NULL, lease_until = NULL, \
                 updated_at = $4 WHERE id = $5 AND claim_token = $6 AND state = 'PROCESSING'",
                vec![
                    state.as_str().into(),
                    run_at.into(),
                    error.into(),
                    now.into(),
                    job.id.clone().into(),
                    job.token.clone().into(),
                ],
            )
            .await?;
        Ok(updated == 1)
    }

    /// Registers a consumer group so that events published from now on get a delivery job
    /// for it, even while none of its workers runs.
    pub(crate) async fn subscribe(&self, topic: &str, group: &str, max_attempts: u32) -> Result<(), Error> {
        self.execute(
            "INSERT INTO job_subscriptions (topic, group_name, max_attempts, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (topic, group_name) DO UPDATE SET max_attempts = excluded.max_attempts",
            vec![topic.into(), group.into(), i32_of(max_attempts).into(), now_ms().into()],
        )
        .await?;
        Ok(())
    }

    /// One delivery job per subscribed group, in one INSERT … SELECT: all groups or none,
    /// and idempotent per (group, event id).
    /// `queue_prefix` is `bus::event_queue(topic, "")`; job ids are `<queue>:<event id>`.
    pub(crate) async fn publish(&self, topic: &str, queue_prefix: &str, event_id: &str, body: &str) -> Result<(), Error> {
        publish_on(&self.db, topic, queue_prefix, event_id, body).await
    }
}

/// Inserts a job on any connection, a transaction included (see `Jobs::enqueue_in`).
pub(crate) async fn enqueue_on<C: ConnectionTrait>(conn: &C, job: &NewJob<'_>) -> Result<bool, Error> {
    // ON CONFLICT DO NOTHING makes enqueue by id idempotent in one statement.
    let statement = Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO job_queue (id, queue, state, payload, attempts, max_attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, 'PENDING', $3, 0, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING",
        vec![
            job.id.into(),
            job.queue.into(),
            job.payload.clone().into(),
            i32_of(job.max_attempts).into(),
            job.run_at_ms.into(),
            job.now_ms.into(),
        ],
    );
    Ok(conn.execute_raw(statement).await?.rows_affected() == 1)
}

/// One delivery job per subscribed group, on any connection (see `Jobs::publish_in`).
pub(crate) async fn publish_on<C: ConnectionTrait>(
    conn: &C,
    topic: &str,
    queue_prefix: &str,
    event_id: &str,
    body: &str,
) -> Result<(), Error> {
    let statement = Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO job_queue (id, queue, state, payload, attempts, max_attempts, run_at, created_at, updated_at) \
         SELECT $1 || group_name || ':' || $2, $1 || group_name, 'PENDING', $3, 0, max_attempts, $4, $4, $4 \
         FROM job_subscriptions WHERE topic = $5 ON CONFLICT (id) DO NOTHING",
        vec![queue_prefix.into(), event_id.into(), body.into(), now_ms().into(), topic.into()],
    );
    conn.execute_raw(statement).await?;
    Ok(())
}

fn record_from_row(id: &str, row: &QueryResult) -> Result<JobRecord, Error> {
    let state: String = row.try_get("", "state")?;
    let payload: String = row.try_get("", "payload")?;
    let result: Option<String> = row.try_get("", "result")?;
    let attempts: i32 = row.try_get("", "attempts")?;
    let max_attempts: i32 = row.try_get("", "max_attempts")?;
    Ok(JobRecord {
        id: row.try_get("", "id")?,
        queue: row.try_get("", "queue")?,
        state: JobState::parse(&state)
            .ok_or_else(|| Error::Corrupt { id: id.to_owned(), reason: format!("state {state:?}") })?,
        attempts: u32_of(attempts),
        max_attempts: u32_of(max_attempts),
        payload: parse_json(id, &payload)?,
        result: result.map(|text| parse_json(id, &text)).transpose()?,
        last_error: row.try_get("", "last_error")?,
        run_at: ms_to_time(row.try_get("", "run_at")?),
        created_at: ms_to_time(row.try_get("", "created_at")?),
        updated_at: ms_to_time(row.try_get("", "updated_at")?),
    })
}

fn parse_json(id: &str, text: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt { id: id.to_owned(), reason: e.to_string() })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn i32_of(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn u32_of(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}
