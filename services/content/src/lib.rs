//! KT event marketing: Content Service. SNS image jobs (3 styles × 3 platforms), the local
//! PNG renderer, object storage, and the 7-day content set.

pub mod api;
pub mod domain;
pub mod errors;
pub mod external;
pub mod render;
pub mod sources;
pub mod storage;
pub mod store;

use std::sync::Arc;

use service_core::jobs::{Worker, WorkerOptions};

pub use api::ContentApi;
pub use domain::{ContentService, ContentSettings, QUEUE};
pub use sources::{ImageSource, SourceChain};
pub use storage::{LocalStore, ObjectStore};
pub use store::Migrator;

/// The worker of the `image-generation-job` queue (run it with `Worker::run(shutdown)`).
pub fn worker(service: Arc<ContentService>) -> Worker {
    let options = WorkerOptions { concurrency: 2, poll_interval: std::time::Duration::from_millis(200), ..WorkerOptions::default() };
    let jobs = service.jobs().clone();
    Worker::new(&jobs, QUEUE, options, move |ctx| {
        let service = service.clone();
        async move { service.run_job(ctx).await }
    })
}
