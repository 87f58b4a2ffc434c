//! The service's background workers: the poll job that finishes queued changes, and the
//! history subscriber. The platform runs them until shutdown.

use std::sync::Arc;
use std::time::Duration;

use service_core::jobs::{Backoff, Worker, WorkerOptions};

use crate::changes::{CHANGED_TOPIC, POLL_QUEUE};
use crate::service::ProductChangeService;

impl ProductChangeService {
    pub async fn workers(self: &Arc<Self>) -> Result<Vec<Worker>, service_core::jobs::Error> {
        let poll_options = WorkerOptions {
            concurrency: 4,
            lease: Duration::from_secs(15),
            poll_interval: Duration::from_millis(200),
            backoff: Backoff { base: self.settings.poll_delay, max: self.settings.poll_max_delay, jitter: 0.2 },
            shutdown_grace: Duration::from_secs(5),
        };
        let service = self.clone();
        let poller = Worker::new(&self.jobs, POLL_QUEUE, poll_options, move |job| {
            let service = service.clone();
            async move { service.poll(job).await }
        });
        let history_options = WorkerOptions {
            poll_interval: Duration::from_millis(200),
            backoff: Backoff { base: Duration::from_millis(200), max: Duration::from_secs(5), jitter: 0.5 },
            shutdown_grace: Duration::from_secs(5),
            ..WorkerOptions::default()
        };
        let service = self.clone();
        let history = self
            .jobs
            .subscribe(CHANGED_TOPIC, "history", history_options, move |event| {
                let service = service.clone();
                async move { service.record_history(event).await }
            })
            .await?;
        Ok(vec![poller, history])
    }
}
