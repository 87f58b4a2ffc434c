//! The `platform` binary's library half: configuration and wiring of the roles, so the
//! end-to-end suite can start exactly what the binary starts.

pub mod app;
pub mod cdn;
pub mod cli;
pub mod logging;
pub mod config;
pub mod grpc_web;
pub mod mvno;
