//! The payment provider: a trait with Stripe's PaymentIntent operations, a real Stripe REST
//! client (`stripe.rs`) and the local default, a sandbox that follows the same lifecycle and
//! sends signed webhooks like Stripe's test mode (`sandbox.rs`, served over Stripe's wire
//! format by `sandbox_http.rs` so curl and the Stripe client can talk to it).

mod http_client;
mod sandbox;
mod sandbox_http;
mod stripe;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use sandbox::{Sandbox, TestCard};
pub use sandbox_http::serve_sandbox_api;
pub use stripe::{StripeClient, StripeSettings};

/// A PaymentIntent as the provider reports it (Stripe's field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderIntent {
    pub id: String,
    pub client_secret: String,
    pub amount: i64,
    pub currency: String,
    /// requires_payment_method, requires_confirmation, requires_action, processing,
    /// succeeded or canceled.
    pub status: String,
    #[serde(default)]
    pub payment_method: Option<String>,
    pub created: i64,
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRefund {
    pub id: String,
    pub amount: i64,
    pub status: String,
    pub payment_intent: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntent {
    pub amount: i64,
    pub currency: String,
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the request (Stripe 400/402: bad parameters, idempotency key
    /// reused with other parameters, card declined, wrong state).
    #[error("refused by the provider: {0}")]
    Refused(String),
    #[error("no such object: {0}")]
    NotFound(String),
    /// Unreachable, timed out, 5xx, or the breaker is open.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// For logs and config: "sandbox" or "stripe".
    fn name(&self) -> &'static str;
    /// Same key, same parameters → the same intent; same key, other parameters → Refused.
    async fn create_intent(&self, intent: &NewIntent, idempotency_key: &str) -> Result<ProviderIntent, ProviderError>;
    async fn retrieve_intent(&self, id: &str) -> Result<ProviderIntent, ProviderError>;
    async fn cancel_intent(&self, id: &str, idempotency_key: &str) -> Result<ProviderIntent, ProviderError>;
    /// Refunds a succeeded intent (its charge).
    async fn refund(&self, payment_intent: &str, amount: i64, idempotency_key: &str) -> Result<ProviderRefund, ProviderError>;
}
