//! Domain events on the job machinery: every subscribed group gets every event published
//! after its first subscription, at least once, even if it was down when it was published.
//!
//! Each (event, group) becomes a delivery job on the queue `evt:<topic>:<group>` with id
//! `evt:<topic>:<group>:<event id>`, so retries, dead letters and status work as for jobs
//! and a re-published event id is delivered once. Database: `publish` inserts one delivery
//! job per row of `job_subscriptions`. Redis: `publish` appends to the topic's stream, each
//! group reads it with its own consumer group and turns entries into delivery jobs.

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jobs::worker::Handler;
use crate::jobs::{Backend, DEFAULT_MAX_ATTEMPTS, Error, JobContext, JobError, Jobs, Worker, WorkerOptions};

/// What an event handler receives; `event_id` lets it skip events it already applied.
#[derive(Debug, Clone)]
pub struct EventContext {
    pub topic: String,
    pub group: String,
    pub event_id: String,
    /// 1 on the first delivery attempt to this group.
    pub attempt: u32,
    pub payload: Value,
}

/// The delivery job's payload.
#[derive(Serialize, Deserialize)]
struct Delivery {
    topic: String,
    event_id: String,
    payload: Value,
}

pub(crate) fn event_queue(topic: &str, group: &str) -> String {
    format!("evt:{topic}:{group}")
}

impl Jobs {
    pub async fn publish(&self, topic: &str, event_id: &str, payload: &Value) -> Result<(), Error> {
        let body = serde_json::to_string(&Delivery {
            topic: topic.to_owned(),
            event_id: event_id.to_owned(),
            payload: payload.clone(),
        })?;
        match &self.backend {
            Backend::Db(b) => b.publish(topic, &event_queue(topic, ""), event_id, &body).await,
            Backend::Redis(b) => b.publish(topic, event_id, &body).await,
        }
    }

    /// Publishes inside the caller's transaction on the service's own database (a
    /// transactional outbox): the event is delivered if and only if the transaction commits.
    /// With the Redis backend the event is published at once.
    pub async fn publish_in<C: sea_orm::ConnectionTrait>(&self, conn: &C, topic: &str, event_id: &str, payload: &Value) -> Result<(), Error> {
        match &self.backend {
            Backend::Db(_) => {
                let body = serde_json::to_string(&Delivery {
                    topic: topic.to_owned(),
                    event_id: event_id.to_owned(),
                    payload: payload.clone(),
                })?;
                crate::jobs::db::publish_on(conn, topic, &event_queue(topic, ""), event_id, &body).await
            }
            Backend::Redis(_) => self.publish(topic, event_id, payload).await,
        }
    }

    /// Registers `group` on `topic` (durably: events published from now on wait for it) and
    /// returns the worker that delivers them; run or spawn it. Deliveries get
    /// `DEFAULT_MAX_ATTEMPTS` attempts.
    pub async fn subscribe<F, Fut>(&self, topic: &str, group: &str, options: WorkerOptions, handler: F) -> Result<Worker, Error>
    where
        F: Fn(EventContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        match &self.backend {
            Backend::Db(b) => b.subscribe(topic, group, DEFAULT_MAX_ATTEMPTS).await?,
            Backend::Redis(b) => b.subscribe(topic, group).await?,
        }
        let group_name = group.to_owned();
        let handler = Arc::new(handler);
        let wrapped: Handler = Arc::new(move |ctx: JobContext| {
            let handler = handler.clone();
            let group = group_name.clone();
            Box::pin(async move {
                let delivery: Delivery = serde_json::from_value(ctx.payload)
                    .map_err(|e| JobError::permanent(format!("not an event delivery: {e}")))?;
                handler(EventContext {
                    topic: delivery.topic,
                    group,
                    event_id: delivery.event_id,
                    attempt: ctx.attempt,
                    payload: delivery.payload,
                })
                .await
                .map(|()| Value::Null)
            })
        });
        let queue = event_queue(topic, group);
        let events = (topic.to_owned(), group.to_owned(), DEFAULT_MAX_ATTEMPTS);
        Ok(Worker::from_parts(self, &queue, options, wrapped, Some(events)))
    }

    /// Redis only: moves the group's new events into its delivery queue. The database
    /// backend creates delivery jobs at publish time.
    pub(crate) async fn pump_events(&self, topic: &str, group: &str, consumer: &str, queue: &str, max_attempts: u32) -> Result<(), Error> {
        match &self.backend {
            Backend::Db(_) => Ok(()),
            Backend::Redis(b) => b.pump(topic, group, consumer, queue, max_attempts).await.map(|_| ()),
        }
    }
}
