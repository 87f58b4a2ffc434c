//! The real payment provider: Stripe's REST API (form-encoded requests, Bearer secret key).
//! Every POST carries an `Idempotency-Key`, which makes it safe to retry; calls go through a
//! per-call timeout, jittered retries of transient failures and a circuit breaker.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use serde::Deserialize;

use service_core::resilience::{CallError, Classify, ErrorClass, Resilience, ResilienceSettings};

use super::http_client::{self, HttpReply};
use super::{NewIntent, PaymentProvider, ProviderError, ProviderIntent, ProviderRefund};

#[derive(Clone)]
pub struct StripeSettings {
    /// `https://api.stripe.com` in production; a local fake in tests.
    pub base_url: String,
    pub secret_key: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret key never reaches a log.
        f.debug_struct("StripeSettings").field("base_url", &self.base_url).field("timeout", &self.timeout).finish()
    }
}

pub struct StripeClient {
    settings: StripeSettings,
    resilience: Resilience,
}

/// One failed attempt, classified for retry and breaker.
#[derive(Debug, Clone)]
enum AttemptError {
    /// Stripe answered 4xx: a business answer, never retried.
    Client(u16, String),
    /// 429, 5xx, connection trouble: worth another attempt.
    Transient(String),
}

impl Classify for AttemptError {
    fn classify(&self) -> ErrorClass {
        match self {
            AttemptError::Client(..) => ErrorClass::Benign,
            AttemptError::Transient(_) => ErrorClass::Transient,
        }
    }
}

#[derive(Deserialize)]
struct StripeErrorBody {
    error: StripeErrorDetail,
}

#[derive(Deserialize)]
struct StripeErrorDetail {
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct RefundObject {
    id: String,
    amount: i64,
    status: String,
    #[serde(default)]
    payment_intent: Option<String>,
}

impl StripeClient {
    pub fn new(settings: StripeSettings) -> Self {
        let mut resilience_settings = ResilienceSettings::stripe();
        resilience_settings.call_timeout = settings.timeout;
        Self { settings, resilience: Resilience::new("stripe", resilience_settings) }
    }

    async fn attempt(&self, method: http::Method, path: &str, form: &[(String, String)], key: Option<&str>) -> Result<Bytes, AttemptError> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form.iter()).finish();
        let url = format!("{}{path}", self.settings.base_url.trim_end_matches('/'));
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(url)
            .header("authorization", format!("Bearer {}", self.settings.secret_key))
            .header("stripe-version", "2024-06-20");
        if method == http::Method::POST {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| AttemptError::Client(0, e.to_string()))?;
        let HttpReply { status, body } =
            http_client::send(request, self.settings.timeout).await.map_err(AttemptError::Transient)?;
        match status {
            200..=299 => Ok(body),
            409 | 429 | 500..=599 => Err(AttemptError::Transient(format!("stripe answered {status}"))),
            _ => {
                let message = serde_json::from_slice::<StripeErrorBody>(&body)
                    .map(|b| b.error.message)
                    .unwrap_or_else(|_| format!("stripe answered {status}"));
                Err(AttemptError::Client(status, message))
            }
        }
    }

    /// Idempotent calls only: GETs, and POSTs that carry an Idempotency-Key.
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: http::Method,
        path: &str,
        form: Vec<(String, String)>,
        key: Option<&str>,
    ) -> Result<T, ProviderError> {
        let idempotent = method == http::Method::GET || key.is_some();
        let outcome = self.resilience.call(idempotent, || self.attempt(method.clone(), path, &form, key)).await;
        let body = outcome.map_err(|error| match error {
            CallError::Failed(AttemptError::Client(404, message)) => ProviderError::NotFound(message),
            CallError::Failed(AttemptError::Client(_, message)) => ProviderError::Refused(message),
            CallError::Failed(AttemptError::Transient(message)) => ProviderError::Unavailable(message),
            CallError::Timeout { timeout } => ProviderError::Unavailable(format!("timed out after {timeout:?}")),
            CallError::Open { retry_after } => ProviderError::Unavailable(format!("circuit open, retry after {retry_after:?}")),
            CallError::DeadlineExceeded => ProviderError::Unavailable("deadline exceeded".into()),
        })?;
        serde_json::from_slice(&body).map_err(|e| ProviderError::Unavailable(format!("unreadable stripe answer: {e}")))
    }
}

#[async_trait]
impl PaymentProvider for StripeClient {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn create_intent(&self, intent: &NewIntent, idempotency_key: &str) -> Result<ProviderIntent, ProviderError> {
        let mut form = vec![
            ("amount".to_owned(), intent.amount.to_string()),
            ("currency".to_owned(), intent.currency.clone()),
            ("automatic_payment_methods[enabled]".to_owned(), "true".to_owned()),
        ];
        form.extend(intent.metadata.iter().map(|(k, v)| (format!("metadata[{k}]"), v.clone())));
        self.call(http::Method::POST, "/v1/payment_intents", form, Some(idempotency_key)).await
    }

    async fn retrieve_intent(&self, id: &str) -> Result<ProviderIntent, ProviderError> {
        self.call(http::Method::GET, &format!("/v1/payment_intents/{id}"), Vec::new(), None).await
    }

    async fn cancel_intent(&self, id: &str, idempotency_key: &str) -> Result<ProviderIntent, ProviderError> {
        self.call(http::Method::POST, &format!("/v1/payment_intents/{id}/cancel"), Vec::new(), Some(idempotency_key)).await
    }

    async fn refund(&self, payment_intent: &str, amount: i64, idempotency_key: &str) -> Result<ProviderRefund, ProviderError> {
        let form = vec![("payment_intent".to_owned(), payment_intent.to_owned()), ("amount".to_owned(), amount.to_string())];
        let refund: RefundObject = self.call(http::Method::POST, "/v1/refunds", form, Some(idempotency_key)).await?;
        Ok(ProviderRefund {
            id: refund.id,
            amount: refund.amount,
            status: refund.status,
            payment_intent: refund.payment_intent.unwrap_or_else(|| payment_intent.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    //! Against the sandbox's Stripe-shaped HTTP API, a local server speaking Stripe's wire
    //! format for the calls this client makes.
    use std::sync::Arc;

    use super::*;
    use crate::provider::{Sandbox, serve_sandbox_api};

    async fn fake_stripe() -> (Arc<Sandbox>, String, tokio::sync::watch::Sender<bool>) {
        let sandbox = Sandbox::new("whsec_test");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        serve_sandbox_api(listener, sandbox.clone(), stopped);
        (sandbox, url, stop)
    }

    fn client(base_url: &str) -> StripeClient {
        StripeClient::new(StripeSettings {
            base_url: base_url.to_owned(),
            secret_key: "sk_test_123".into(),
            timeout: Duration::from_secs(2),
        })
    }

    #[tokio::test]
    async fn creates_retrieves_cancels_and_refunds_over_the_wire() {
        let (sandbox, url, _stop) = fake_stripe().await;
        let stripe = client(&url);
        let new = NewIntent { amount: 1000, currency: "krw".into(), metadata: vec![("booking_id".into(), "book_1".into())] };
        let intent = stripe.create_intent(&new, "key-1").await.unwrap();
        assert_eq!(intent.status, "requires_payment_method");
        assert_eq!(intent.metadata.get("booking_id").map(String::as_str), Some("book_1"));
        assert_eq!(stripe.create_intent(&new, "key-1").await.unwrap().id, intent.id, "same key, same intent");
        let other = NewIntent { amount: 2000, ..new.clone() };
        assert!(matches!(stripe.create_intent(&other, "key-1").await, Err(ProviderError::Refused(_))));
        assert_eq!(stripe.retrieve_intent(&intent.id).await.unwrap().id, intent.id);
        assert!(matches!(stripe.retrieve_intent("pi_missing").await, Err(ProviderError::NotFound(_))));

        sandbox.confirm(&intent.id, "pm_card_visa").unwrap();
        let refund = stripe.refund(&intent.id, 1000, "refund-1").await.unwrap();
        assert_eq!((refund.amount, refund.status.as_str()), (1000, "succeeded"));

        let open = stripe.create_intent(&new, "key-2").await.unwrap();
        assert_eq!(stripe.cancel_intent(&open.id, "cancel-1").await.unwrap().status, "canceled");
    }

    #[tokio::test]
    async fn an_unreachable_stripe_is_unavailable_not_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let stripe = client(&url);
        let result = stripe.retrieve_intent("pi_1").await;
        assert!(matches!(result, Err(ProviderError::Unavailable(_))), "{result:?}");
    }
}
