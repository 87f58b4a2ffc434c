//! One HTTP/1.1 request over TCP or TLS (rustls with the webpki roots), for the Stripe
//! client and the sandbox's webhook sender. Calls are few and short: a connection per call.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

pub struct HttpReply {
    pub status: u16,
    pub body: Bytes,
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
                .unwrap_or_else(|_| unreachable!("ring supports the default protocol versions"));
            Arc::new(config)
        })
        .clone()
}

/// Sends one request; `timeout` bounds connect, send and the whole body.
pub async fn send(request: http::Request<Full<Bytes>>, timeout: Duration) -> Result<HttpReply, String> {
    tokio::time::timeout(timeout, send_inner(request)).await.map_err(|_| "timed out".to_owned())?
}

async fn send_inner(request: http::Request<Full<Bytes>>) -> Result<HttpReply, String> {
    let uri = request.uri().clone();
    let host = uri.host().ok_or("no host in the URL")?.to_owned();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let mut request = request;
    if !request.headers().contains_key(http::header::HOST) {
        let value = http::HeaderValue::from_str(&host).map_err(|e| e.to_string())?;
        request.headers_mut().insert(http::header::HOST, value);
    }
    // HTTP/1.1 wants origin-form on the wire.
    let path = uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
    *request.uri_mut() = path.parse().map_err(|e: http::uri::InvalidUri| e.to_string())?;
    if https {
        let name = rustls::pki_types::ServerName::try_from(host).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(tls_config()).connect(name, tcp).await.map_err(|e| e.to_string())?;
        exchange(TokioIo::new(tls), request).await
    } else {
        exchange(TokioIo::new(tcp), request).await
    }
}

async fn exchange<S>(io: S, request: http::Request<Full<Bytes>>) -> Result<HttpReply, String>
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(HttpReply { status, body })
}
