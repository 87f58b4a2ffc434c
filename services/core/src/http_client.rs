//! Outbound JSON over HTTP(S) for adapters of external providers (image APIs, OpenAI-compatible
//! chat, distribution channels): one pooled client, rustls with the webpki roots, a timeout
//! per request. Status classes map to the resilience layer's error classes.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::resilience::{Classify, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request to {0} timed out")]
    Timeout(String),
    #[error("cannot reach {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("{url} answered {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("bad request or response: {0}")]
    Invalid(String),
}

impl Classify for HttpError {
    fn classify(&self) -> ErrorClass {
        match self {
            HttpError::Timeout(_) | HttpError::Connect { .. } => ErrorClass::Transient,
            HttpError::Status { status, .. } if *status == 429 || *status >= 500 => ErrorClass::Transient,
            HttpError::Status { .. } | HttpError::Invalid(_) => ErrorClass::Permanent,
        }
    }
}

#[derive(Clone)]
pub struct HttpClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    pub fn new() -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Self { client: Client::builder(TokioExecutor::new()).build(connector) }
    }

    /// POSTs a JSON body; returns the body of a 2xx answer. Secrets travel only in `headers`
    /// and never appear in errors or logs (only the URL does).
    pub async fn post_json(&self, url: &str, headers: &[(&str, &str)], body: &serde_json::Value, timeout: Duration) -> Result<Bytes, HttpError> {
        let payload = serde_json::to_vec(body).map_err(|e| HttpError::Invalid(e.to_string()))?;
        let mut request = http::Request::builder().method("POST").uri(url).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::from(payload))).map_err(|e| HttpError::Invalid(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| HttpError::Connect { url: url.to_owned(), reason: e.to_string() })?;
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| HttpError::Connect { url: url.to_owned(), reason: e.to_string() })?
                .to_bytes();
            if !(200..300).contains(&status) {
                let text = String::from_utf8_lossy(&bytes).chars().take(200).collect();
                return Err(HttpError::Status { url: url.to_owned(), status, body: text });
            }
            Ok(bytes)
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| HttpError::Timeout(url.to_owned()))?
    }
}
