//! Durable delayed work: expiring unpaid holds and refunding cancelled paid bookings.
//!
//! Both run on the job queue in Ticketing's own database (not Redis): a hold's expiry job is
//! written in the hold's own transaction and fires at `expires_at` even if the platform
//! restarted in between; a worker that dies mid-job loses its lease and another runs it again. Handlers
//! are idempotent (conditional updates, provider idempotency keys).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use service_core::jobs::{Backoff, JobContext, JobError, Worker, WorkerHandle, WorkerOptions};

use crate::errors::TicketingError;
use crate::service::Ticketing;

pub const EXPIRE_QUEUE: &str = "ticketing.expire-hold";
pub const REFUND_QUEUE: &str = "ticketing.refund";

/// The running expiry and refund workers.
pub struct ExpiryWorker {
    handles: Vec<WorkerHandle>,
}

fn booking_id(ctx: &JobContext) -> Result<String, JobError> {
    ctx.payload["booking_id"].as_str().map(str::to_owned).ok_or_else(|| JobError::permanent("no booking_id in the job"))
}

fn retry(error: TicketingError) -> JobError {
    JobError::retry(error.to_string())
}

async fn expire(service: Arc<Ticketing>, ctx: JobContext) -> Result<Value, JobError> {
    let booking_id = booking_id(&ctx)?;
    let booking = match service.find_booking(&booking_id).await {
        Ok(booking) => booking,
        // The hold never committed (its seats were taken): nothing to expire.
        Err(TicketingError::NotFound(_)) => return Ok(json!({"outcome": "no booking"})),
        Err(error) => return Err(retry(error)),
    };
    if booking.status == "reserved" && booking.expires_at > chrono::Utc::now() {
        // Early (clock skew between nodes): try again shortly.
        return Err(JobError::retry("hold not due yet"));
    }
    service.expire_booking(&booking_id).await.map_err(retry)?;
    // Published on every run that finds the booking expired, so a crash between the expiry
    // and the publish is repaired by the retry; the event id makes it one event.
    let booking = service.find_booking(&booking_id).await.map_err(retry)?;
    if booking.status == "expired" {
        service.publish_booking_event("booking.expired", &booking).await;
        return Ok(json!({"outcome": "expired"}));
    }
    Ok(json!({"outcome": booking.status}))
}

async fn refund(service: Arc<Ticketing>, ctx: JobContext) -> Result<Value, JobError> {
    if let Some(intent) = ctx.payload["payment_intent_id"].as_str() {
        return match service.refund_payment(intent).await {
            Ok(()) => Ok(json!({"outcome": "done"})),
            Err(TicketingError::NotFound(_)) => Ok(json!({"outcome": "no payment"})),
            Err(error) => Err(retry(error)),
        };
    }
    let booking_id = booking_id(&ctx)?;
    match service.refund_booking(&booking_id).await {
        Ok(()) => Ok(json!({"outcome": "done"})),
        Err(TicketingError::NotFound(_)) => Ok(json!({"outcome": "no booking"})),
        Err(error) => Err(retry(error)),
    }
}

impl ExpiryWorker {
    pub fn start(service: Arc<Ticketing>) -> ExpiryWorker {
        let options = WorkerOptions {
            concurrency: 8,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(250),
            backoff: Backoff { base: Duration::from_millis(500), max: Duration::from_secs(60), jitter: 0.5 },
            shutdown_grace: Duration::from_secs(5),
        };
        let jobs = service.jobs().clone();
        let expiring = service.clone();
        let expire_worker = Worker::new(&jobs, EXPIRE_QUEUE, options.clone(), move |ctx| expire(expiring.clone(), ctx));
        let refunding = service;
        let refund_worker = Worker::new(&jobs, REFUND_QUEUE, options, move |ctx| refund(refunding.clone(), ctx));
        ExpiryWorker { handles: vec![expire_worker.spawn(), refund_worker.spawn()] }
    }

    pub async fn stop(self) {
        for handle in self.handles {
            if let Err(error) = handle.stop().await {
                tracing::warn!(%error, "ticketing worker stopped with an error");
            }
        }
    }
}
