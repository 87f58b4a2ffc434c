//! Redis backend: a stream per queue read by the consumer group `workers`, a hash per job
//! (state, attempts, result, last error, fencing token, lease), a sorted set per queue of
//! delayed and backoff jobs moved into the stream when due. Events: a stream per topic with
//! one consumer group per subscriber group (see `PUMP` in `scripts.rs`).
//!
//! Keys (all under the prefix): `<p>:job:<id>`, `<p>:queue:<queue>`, `<p>:delayed:<queue>`,
//! `<p>:topic:<topic>`. Finished entries are deleted from queue streams, so the streams hold
//! only live work; job hashes are kept (status by id) — expiring them is left to the caller.
//!
//! No blocking reads: the connection is multiplexed, and a blocked XREADGROUP would stall
//! every other command of the process. Workers poll instead.

use std::collections::HashMap;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::jobs::scripts::{CLAIM, COMPLETE, ENQUEUE, FAIL, HEARTBEAT, PUMP};
use crate::jobs::{ClaimedJob, Error, JobRecord, JobState, NewJob, ms_to_time};

const GROUP: &str = "workers";

#[derive(Clone)]
pub(crate) struct RedisJobs {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisJobs {
    pub(crate) fn new(conn: ConnectionManager, prefix: &str) -> Self {
        RedisJobs { conn, prefix: prefix.to_owned() }
    }

    fn job_prefix(&self) -> String {
        format!("{}:job:", self.prefix)
    }

    fn job_key(&self, id: &str) -> String {
        format!("{}:job:{id}", self.prefix)
    }

    fn stream_key(&self, queue: &str) -> String {
        format!("{}:queue:{queue}", self.prefix)
    }

    fn delayed_key(&self, queue: &str) -> String {
        format!("{}:delayed:{queue}", self.prefix)
    }

    fn topic_key(&self, topic: &str) -> String {
        format!("{}:topic:{topic}", self.prefix)
    }

    pub(crate) async fn enqueue(&self, job: &NewJob<'_>) -> Result<bool, Error> {
        let mut conn = self.conn.clone();
        let created: i64 = ENQUEUE
            .key(self.job_key(job.id))
            .key(self.stream_key(job.queue))
            .key(self.delayed_key(job.queue))
            .arg(job.id)
            .arg(job.queue)
            .arg(&job.payload)
            .arg(job.max_attempts)
            .arg(job.run_at_ms)
            .arg(job.now_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(created == 1)
    }

    pub(crate) async fn status(&self, id: &str) -> Result<Option<JobRecord>, Error> {
        let mut conn = self.conn.clone();
        let fields: HashMap<String, String> = conn.hgetall(self.job_key(id)).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        record_from_hash(id, &fields).map(Some)
    }

    pub(crate) async fn claim(&self, queue: &str, consumer: &str, lease_ms: i64, max: usize) -> Result<Vec<ClaimedJob>, Error> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let rows: Vec<Vec<String>> = CLAIM
            .key(self.stream_key(queue))
            .key(self.delayed_key(queue))
            .arg(GROUP)
            .arg(consumer)
            .arg(now_ms())
            .arg(lease_ms)
            .arg(max)
            .arg(self.job_prefix())
            .arg(uuid::Uuid::new_v4().to_string())
            .invoke_async(&mut conn)
            .await?;
        rows.into_iter()
            .map(|row| match row.as_slice() {
                [id, token, attempts, max_attempts, payload] => Ok(ClaimedJob {
                    payload: parse_json(id, payload)?,
                    attempt: parse_u32(id, attempts)?,
                    max_attempts: parse_u32(id, max_attempts)?,
                    id: id.clone(),
                    queue: queue.to_owned(),
                    token: token.clone(),
                }),
                _ => Err(Error::Corrupt { id: String::new(), reason: format!("claim reply {row:?}") }),
            })
            .collect()
    }

    pub(crate) async fn heartbeat(&self, job: &ClaimedJob, consumer: &str, lease_ms: i64) -> Result<bool, Error> {
        let mut conn = self.conn.clone();
        let ok: i64 = HEARTBEAT
            .key(self.job_key(&job.id))
            .key(self.stream_key(&job.queue))
            .arg(GROUP)
            .arg(consumer)
            .arg(&job.token)
            .arg(now_ms())
            .arg(lease_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(ok == 1)
    }

    pub(crate) async fn complete(&self, job: &ClaimedJob, result: &str) -> Result<bool, Error> {
        let mut conn = self.conn.clone();
        let ok: i64 = COMPLETE
            .key(self.job_key(&job.id))
            .key(self.stream_key(&job.queue))
            .arg(GROUP)
            .arg(&job.token)
            .arg(now_ms())
            .arg(result)
            .invoke_async(&mut conn)
            .await?;
        Ok(ok == 1)
    }

    pub(crate) async fn fail(&self, job: &ClaimedJob, error: &str, retry_at_ms: Option<i64>) -> Result<bool, Error> {
        let mut conn = self.conn.clone();
        let ok: i64 = FAIL
            .key(self.job_key(&job.id))
            .key(self.stream_key(&job.queue))
            .key(self.delayed_key(&job.queue))
            .arg(GROUP)
            .arg(&job.token)
            .arg(now_ms())
            .arg(error)
            .arg(retry_at_ms.map(|ms| ms.to_string()).unwrap_or_default())
            .arg(&job.id)
            .invoke_async(&mut conn)
            .await?;
        Ok(ok == 1)
    }

    /// Creates the group's cursor at the end of the topic stream: events published from now
    /// on wait in the stream for this group even while none of its workers runs.
    pub(crate) async fn subscribe(&self, topic: &str, group: &str) -> Result<(), Error> {
        let mut conn = self.conn.clone();
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.topic_key(topic))
            .arg(group)
            .arg("$")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(e.into()),
            _ => Ok(()),
        }
    }

    pub(crate) async fn publish(&self, topic: &str, event_id: &str, body: &str) -> Result<(), Error> {
        let mut conn = self.conn.clone();
        let _: String = conn.xadd(self.topic_key(topic), "*", &[("event_id", event_id), ("body", body)]).await?;
        Ok(())
    }

    /// Moves the group's new events into its delivery queue; returns how many jobs it made.
    pub(crate) async fn pump(&self, topic: &str, group: &str, consumer: &str, queue: &str, max_attempts: u32) -> Result<u64, Error> {
        let mut conn = self.conn.clone();
        let created: u64 = PUMP
            .key(self.topic_key(topic))
            .key(self.stream_key(queue))
            .arg(group)
            .arg(consumer)
            .arg(now_ms())
            .arg(100)
            .arg(self.job_prefix())
            .arg(queue)
            .arg(max_attempts)
            .invoke_async(&mut conn)
            .await?;
        Ok(created)
    }
}

fn record_from_hash(id: &str, fields: &HashMap<String, String>) -> Result<JobRecord, Error> {
    let field = |name: &str| {
        fields.get(name).ok_or_else(|| Error::Corrupt { id: id.to_owned(), reason: format!("missing {name}") })
    };
    let ms = |name: &str| -> Result<i64, Error> {
        field(name)?.parse().map_err(|_| Error::Corrupt { id: id.to_owned(), reason: format!("bad {name}") })
    };
    let state = field("state")?;
    Ok(JobRecord {
        id: id.to_owned(),
        queue: field("queue")?.clone(),
        state: JobState::parse(state)
            .ok_or_else(|| Error::Corrupt { id: id.to_owned(), reason: format!("state {state:?}") })?,
        attempts: parse_u32(id, field("attempts")?)?,
        max_attempts: parse_u32(id, field("max_attempts")?)?,
        payload: parse_json(id, field("payload")?)?,
        result: fields.get("result").map(|text| parse_json(id, text)).transpose()?,
        last_error: fields.get("last_error").cloned(),
        run_at: ms_to_time(ms("run_at")?),
        created_at: ms_to_time(ms("created_at")?),
        updated_at: ms_to_time(ms("updated_at")?),
    })
}

fn parse_json(id: &str, text: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt { id: id.to_owned(), reason: e.to_string() })
}

fn parse_u32(id: &str, text: &str) -> Result<u32, Error> {
    text.parse().map_err(|_| Error::Corrupt { id: id.to_owned(), reason: format!("bad number {text:?}") })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
