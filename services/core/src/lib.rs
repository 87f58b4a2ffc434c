//! What every service shares: the caller's token checked on gRPC, requests checked against
//! their contract, signing keys for services that issue tokens, storage (database,
//! migrations, cache), the durable job queue and event bus, and resilience for outbound calls.

pub mod grpc;
pub mod http_client;
pub mod jobs;
pub mod keys;
pub mod resilience;
pub mod storage;

pub use keys::{KeyError, SigningKeys};
