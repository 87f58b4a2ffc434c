//! MVNO Product-Change Service (product-change-service.yaml): the caller's lines and plan
//! from KOS, available products, the three pre-change checks, product changes (200 when KOS
//! finishes within the synchronous budget, 202 and a durable poll job otherwise), results and
//! the change history (kept from events on the bus).

mod api;
mod cache;
mod changes;
mod checks;
mod errors;
mod history;
mod kos;
mod model;
mod service;
mod store;
mod workers;

pub use api::ProductChangeApi;
pub use changes::{CHANGED_TOPIC, POLL_QUEUE};
pub use errors::PcError;
pub use kos::{KosClient, KosClientSettings};
pub use service::{ProductChangeService, ProductChangeSettings};
pub use store::Migrator;
