//! KT platform: five documented REST/JSON APIs served by tonic gRPC services behind one
//! descriptor-driven hyper gateway.

pub mod proto;
pub mod auth;
pub mod contracts;
pub mod rpc_error;
pub mod storage;

#[path = "../services/mod.rs"]
pub mod services;

#[path = "../gateway/mod.rs"]
pub mod gateway;

pub mod app;
pub mod config;
