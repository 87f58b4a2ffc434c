//! Ticketing Pro (ticketing.yaml), the money path: accounts, events and seat maps, bookings
//! that hold seats for a limited time, Stripe payments and the Stripe webhook.
//!
//! Concurrency: a seat is in at most one live booking, guaranteed by the database (see
//! `store.rs`); holds expire through a durable delayed job in the same database (see
//! `expiry.rs`) written in the hold's own transaction, so neither correctness nor expiry
//! depends on Redis or on this process staying up.

mod accounts;
mod api;
mod bookings;
mod errors;
mod events;
mod expiry;
mod ids;
mod payments;
pub mod provider;
mod service;
pub mod signature;
mod store;

pub use api::TicketingApi;
pub use errors::TicketingError;
pub use expiry::ExpiryWorker;
pub use service::{Ticketing, TicketingSettings};
pub use store::Migrator;

/// The `aud` claim of Ticketing's access tokens; ticketing.v1 declares the same audience.
pub const AUDIENCE: &str = "ticketing";

/// The embedded default's seeded accounts (named in the README).
pub const SEED_ADMIN_EMAIL: &str = "admin@ticketing.local";
pub const SEED_ADMIN_PASSWORD: &str = "AdminPassw0rd!";
pub const SEED_CUSTOMER_EMAIL: &str = "user@example.com";
pub const SEED_CUSTOMER_PASSWORD: &str = "securePassword123!";
