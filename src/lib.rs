//! The platform's contracts, as code: the tonic stubs and descriptor set compiled from
//! `proto/`, and what both ends of every call share — the catalog of APIs and operations with
//! their options, the JSON form and field-rule validator, the error detail carried in a
//! `tonic::Status`, and the access-token check (the token format is part of the contract
//! between the gateway and the services).

pub mod auth;
pub mod catalog;
pub mod json;
pub mod proto;
pub mod rpc_error;

pub use catalog::{Api, BindSource, BodyRule, ContractError, Contracts, FieldBinding, HttpBinding, Operation};

/// UTC now as RFC 3339 with seconds, the timestamp format of every documented error body.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
