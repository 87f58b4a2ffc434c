//! KT event marketing: Event Service. Drafts from a chosen purpose, AI recommendation and
//! image jobs (images from the Content Service over gRPC), content edits, publishing to
//! distribution channels, event detail, list and dashboard.

pub mod api;
pub mod channels;
pub mod domain;
pub mod errors;
pub mod openai;
pub mod recommender;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use service_core::jobs::{Worker, WorkerOptions};

pub use api::EventApi;
pub use channels::{ChannelAdapter, ChannelSimulator, Distributor, SimulatorSettings};
pub use domain::EventService;
pub use recommender::{Recommender, RuleBasedRecommender};
pub use store::Migrator;

/// The workers of the two job queues (run each with `Worker::run(shutdown)`).
pub fn workers(service: Arc<EventService>) -> Vec<Worker> {
    let options = || WorkerOptions { concurrency: 4, poll_interval: Duration::from_millis(200), ..WorkerOptions::default() };
    let jobs = service.jobs().clone();
    let ai = {
        let service = service.clone();
        Worker::new(&jobs, domain::AI_QUEUE, options(), move |ctx| {
            let service = service.clone();
            async move { service.run_recommendation(ctx).await }
        })
    };
    let images = Worker::new(&jobs, domain::IMAGE_QUEUE, options(), move |ctx| {
        let service = service.clone();
        async move { service.run_images(ctx).await }
    });
    vec![ai, images]
}
