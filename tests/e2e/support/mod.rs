//! Shared test support: spec loading and schema validation, the in-process stack, HTTP.

pub mod http;
pub mod spec;
pub mod stack;
