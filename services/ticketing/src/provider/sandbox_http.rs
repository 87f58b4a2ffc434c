//! The sandbox over Stripe's own wire format (form-encoded requests, Stripe JSON objects and
//! error bodies), so that a developer can pay with a test card from curl, as Stripe.js would
//! against Stripe's test mode, and the Stripe REST client can be tested against it.
//!
//! - `POST /v1/payment_intents` (amount, currency, metadata[k]; `Idempotency-Key`)
//! - `GET  /v1/payment_intents/{id}`
//! - `POST /v1/payment_intents/{id}/confirm` (payment_method: a test card, see `sandbox.rs`)
//! - `POST /v1/payment_intents/{id}/cancel`
//! - `POST /v1/payment_intents/{id}/authenticate` (sandbox only: completes 3-D Secure;
//!   `outcome=fail` fails it)
//! - `POST /v1/refunds` (payment_intent, amount; `Idempotency-Key`)

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::sandbox::intent_object;
use super::{NewIntent, ProviderError, Sandbox};

/// Serves the sandbox API until `shutdown` turns true.
pub fn serve_sandbox_api(listener: TcpListener, sandbox: Arc<Sandbox>, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = shutdown.changed() => return,
            };
            let Ok((stream, _)) = accepted else { continue };
            let sandbox = sandbox.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let sandbox = sandbox.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(&sandbox, request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}

fn reply(status: u16, body: &Value) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from(serde_json::to_vec(body).unwrap_or_default())));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

fn error_reply(error: &ProviderError) -> http::Response<Full<Bytes>> {
    let (status, kind, message) = match error {
        ProviderError::Refused(message) if message.contains("declined") => (402, "card_error", message.clone()),
        ProviderError::Refused(message) if message.starts_with("Keys for idempotent") => {
            (400, "idempotency_error", message.clone())
        }
        ProviderError::Refused(message) => (400, "invalid_request_error", message.clone()),
        ProviderError::NotFound(id) => (404, "invalid_request_error", format!("No such object: '{id}'")),
        ProviderError::Unavailable(message) => (500, "api_error", message.clone()),
    };
    reply(status, &json!({"error": {"type": kind, "message": message}}))
}

async fn handle(sandbox: &Sandbox, request: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let body = match Limited::new(request.into_body(), 64 * 1024).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error_reply(&ProviderError::Refused("request body too large".into())),
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let result = match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "payment_intents"]) => create(sandbox, &form, &key).map(|i| intent_object(&i)),
        ("GET", ["v1", "payment_intents", id]) => sandbox.retrieve(id).map(|i| intent_object(&i)),
        ("POST", ["v1", "payment_intents", id, "confirm"]) => {
            let method = form.get("payment_method").map(String::as_str).unwrap_or_default();
            sandbox.confirm(id, method).map(|i| intent_object(&i))
        }
        ("POST", ["v1", "payment_intents", id, "cancel"]) => sandbox.cancel(id).map(|i| intent_object(&i)),
        ("POST", ["v1", "payment_intents", id, "authenticate"]) => {
            let success = form.get("outcome").map(String::as_str) != Some("fail");
            sandbox.authenticate(id, success).map(|i| intent_object(&i))
        }
        ("POST", ["v1", "refunds"]) => {
            let intent = form.get("payment_intent").cloned().unwrap_or_default();
            match form.get("amount").map(|a| a.parse::<i64>()) {
                Some(Ok(amount)) => sandbox.refund_intent(&intent, amount, &key).map(|refund| {
                    json!({"id": refund.id, "object": "refund", "amount": refund.amount,
                           "status": refund.status, "payment_intent": refund.payment_intent})
                }),
                _ => match sandbox.retrieve(&intent) {
                    Ok(found) => sandbox.refund_intent(&intent, found.amount, &key).map(|refund| {
                        json!({"id": refund.id, "object": "refund", "amount": refund.amount,
                               "status": refund.status, "payment_intent": refund.payment_intent})
                    }),
                    Err(error) => Err(error),
                },
            }
        }
        _ => Err(ProviderError::NotFound(path.clone())),
    };
    match result {
        Ok(object) => reply(200, &object),
        Err(error) => error_reply(&error),
    }
}

fn create(sandbox: &Sandbox, form: &HashMap<String, String>, key: &str) -> Result<super::ProviderIntent, ProviderError> {
    let amount = form
        .get("amount")
        .and_then(|a| a.parse::<i64>().ok())
        .ok_or_else(|| ProviderError::Refused("Missing required param: amount.".into()))?;
    let currency = form.get("currency").cloned().ok_or_else(|| ProviderError::Refused("Missing required param: currency.".into()))?;
    let mut metadata: Vec<(String, String)> = form
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("metadata[")?.strip_suffix(']')?.to_owned(), v.clone())))
        .collect();
    metadata.sort();
    sandbox.create(&NewIntent { amount, currency, metadata }, key)
}
