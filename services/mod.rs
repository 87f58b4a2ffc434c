//! The gRPC services, one module each. A service module holds its tonic implementation
//! (`api`), business rules (`domain`), tables (`store`) and external systems (adapters).

pub mod common;
pub mod user;
