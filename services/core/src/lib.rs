//! What every service shares: the caller's token checked on gRPC, requests checked against
//! their contract, signing keys for services that issue tokens, storage (database,
//! migrations, cache).

pub mod grpc;
pub mod keys;
pub mod storage;

pub use keys::{KeyError, SigningKeys};
