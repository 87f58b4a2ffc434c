//! End-to-end tests: start the stack in-process on free ports and drive the REST APIs over
//! real HTTP (and gRPC), validating every response body against its spec.

mod support;

mod browser;
mod contract_rules;
mod event_content;
mod event_content_adapters;
mod fidelity;
mod gateway_edges;
mod grpc;
mod in_process;
mod ldap;
mod listeners;
mod logs;
mod product_change;
mod request_rules;
mod routes;
mod spec_selftest;
mod ticketing;
mod tokens;
mod user_api;
