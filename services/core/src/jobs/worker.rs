//! The runner: claims jobs of one queue up to a concurrency, keeps their leases alive while
//! handlers run, records results, retries failures with backoff, dead-letters the rest.
//!
//! Shutdown stops claiming, gives running handlers `shutdown_grace` to finish and abandons
//! the others: their leases lapse and another worker claims them again (at-least-once).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use rand::Rng;
use serde_json::Value;
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::jobs::{ClaimedJob, Error, JobContext, JobError, Jobs};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(JobContext) -> BoxFuture<Result<Value, JobError>> + Send + Sync>;

/// Exponential backoff with jitter: `base * 2^(attempt-1)`, capped at `max`, then scaled by
/// a random factor in `[1 - jitter, 1]` so retries of many jobs failing together spread out.
#[derive(Debug, Clone)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    /// 0.0 (none) to 1.0 (full jitter).
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: Duration::from_secs(1), max: Duration::from_secs(300), jitter: 0.5 }
    }
}

impl Backoff {
    /// Delay before the attempt after `failed_attempt` (1-based).
    pub fn delay(&self, failed_attempt: u32) -> Duration {
        let exponent = failed_attempt.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exponent).min(self.max);
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = if jitter > 0.0 { rand::thread_rng().gen_range((1.0 - jitter)..=1.0) } else { 1.0 };
        raw.mul_f64(factor)
    }
}

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub concurrency: usize,
    /// How long a claim stays exclusive without a heartbeat; heartbeats come every third.
    pub lease: Duration,
    /// Pause between claims when the queue is empty.
    pub poll_interval: Duration,
    pub backoff: Backoff,
    /// How long shutdown waits for running handlers before abandoning them.
    pub shutdown_grace: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 4,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            backoff: Backoff::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Consumes one queue (or one event subscription, see `Jobs::subscribe`).
pub struct Worker {
    jobs: Jobs,
    queue: String,
    options: WorkerOptions,
    handler: Handler,
    /// (topic, group, max_attempts) when this worker delivers events: on Redis it first
    /// moves the group's new events from the topic stream into its queue.
    events: Option<(String, String, u32)>,
    consumer: String,
}

/// A worker running on its own task.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), Error>>,
}

impl WorkerHandle {
    /// Signals shutdown and waits for the worker to wind down.
    pub async fn stop(self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or(Ok(()))
    }
}

impl Worker {
    pub fn new<F, Fut>(jobs: &Jobs, queue: &str, options: WorkerOptions, handler: F) -> Worker
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, JobError>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |ctx| Box::pin(handler(ctx)));
        Worker::from_parts(jobs, queue, options, handler, None)
    }

    pub(crate) fn from_parts(
        jobs: &Jobs,
        queue: &str,
        options: WorkerOptions,
        handler: Handler,
        events: Option<(String, String, u32)>,
    ) -> Worker {
        Worker {
            jobs: jobs.clone(),
            queue: queue.to_owned(),
            options,
            handler,
            events,
            consumer: uuid::Uuid::new_v4().to_string(),
        }
    }

    pub fn spawn(self) -> WorkerHandle {
        let (stop, stopped) = watch::channel(false);
        WorkerHandle { stop, task: tokio::spawn(self.run(stopped)) }
    }

    /// Runs until `shutdown` holds true (or its sender is dropped).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), Error> {
        let concurrency = self.options.concurrency.max(1);
        let slots = Arc::new(Semaphore::new(concurrency));
        let mut running = JoinSet::new();
        let shared = Arc::new(self);
        loop {
            if *shutdown.borrow() {
                break;
            }
            while running.try_join_next().is_some() {}
            let free = slots.available_permits();
            let mut claimed = 0;
            if free > 0 {
                for job in shared.claim(free).await {
                    let Ok(permit) = slots.clone().acquire_owned().await else { break };
                    let worker = shared.clone();
                    running.spawn(async move {
                        worker.process(job).await;
                        drop(permit);
                    });
                    claimed += 1;
                }
            }
            if claimed == 0 || claimed < free {
                // Idle, or the queue is drained for now: wait for the poll interval, a finished
                // handler (a free slot while saturated) or shutdown.
                tokio::select! {
                    _ = tokio::time::sleep(shared.options.poll_interval) => {}
                    _ = running.join_next(), if free == 0 => {}
                    changed = shutdown.changed() => if changed.is_err() { break },
                }
            }
        }
        let grace = tokio::time::sleep(shared.options.shutdown_grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                next = running.join_next() => if next.is_none() { break },
                _ = &mut grace => {
                    tracing::warn!(queue = %shared.queue, left = running.len(), "jobs: abandoning running handlers at shutdown; their leases will lapse");
                    running.abort_all();
                    break;
                }
            }
        }
        Ok(())
    }

    async fn claim(&self, free: usize) -> Vec<ClaimedJob> {
        if let Some((topic, group, max_attempts)) = &self.events {
            if let Err(e) = self.jobs.pump_events(topic, group, &self.consumer, &self.queue, *max_attempts).await {
                tracing::warn!(topic = %topic, group = %group, error = %e, "jobs: moving events to the delivery queue failed");
            }
        }
        match self.jobs.claim(&self.queue, &self.consumer, self.options.lease, free).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(queue = %self.queue, error = %e, "jobs: claim failed");
                Vec::new()
            }
        }
    }

    async fn process(&self, job: ClaimedJob) {
        if job.attempt > job.max_attempts {
            // Every earlier attempt died with its worker (lease lapsed): stop retrying.
            let error = format!("gave up after {} attempts whose workers stopped before finishing", job.max_attempts);
            self.record(self.jobs.fail(&job, &error, None).await, &job, "dead-letter");
            return;
        }
        let ctx = JobContext {
            id: job.id.clone(),
            queue: job.queue.clone(),
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            payload: job.payload.clone(),
        };
        let handler = (self.handler)(ctx);
        tokio::pin!(handler);
        let mut beat = tokio::time::interval(self.options.lease / 3);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        beat.tick().await;
        let outcome = loop {
            tokio::select! {
                outcome = &mut handler => break outcome,
                _ = beat.tick() => match self.jobs.heartbeat(&job, &self.consumer, self.options.lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        // Someone else owns the job now; our result would be discarded anyway.
                        tracing::warn!(job = %job.id, "jobs: lease lost, abandoning the handler");
                        return;
                    }
                    Err(e) => tracing::warn!(job = %job.id, error = %e, "jobs: heartbeat failed"),
                },
            }
        };
        match outcome {
            Ok(result) => self.record(self.jobs.complete(&job, &result).await, &job, "complete"),
            Err(error) => {
                let retry_at = (error.retryable && job.attempt < job.max_attempts)
                    .then(|| Utc::now() + TimeDelta::from_std(self.options.backoff.delay(job.attempt)).unwrap_or(TimeDelta::MAX));
                self.record(self.jobs.fail(&job, &error.message, retry_at).await, &job, "fail");
            }
        }
    }

    fn record(&self, outcome: Result<bool, Error>, job: &ClaimedJob, what: &str) {
        match outcome {
            Ok(true) => {}
            Ok(false) => tracing::warn!(job = %job.id, what, "jobs: claim was stale (lease lapsed, job re-claimed); nothing recorded"),
            // The lease will lapse and the job run again: at-least-once, never lost.
            Err(e) => tracing::warn!(job = %job.id, what, error = %e, "jobs: recording the outcome failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_within_jitter_and_cap() {
        let backoff = Backoff { base: Duration::from_millis(100), max: Duration::from_secs(1), jitter: 0.5 };
        for (attempt, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (40, 1000)] {
            let delay = backoff.delay(attempt).as_millis();
            assert!(delay <= full && delay >= full / 2, "attempt {attempt}: {delay} ms");
        }
        let fixed = Backoff { jitter: 0.0, ..backoff };
        assert_eq!(fixed.delay(2), Duration::from_millis(200));
    }
}
