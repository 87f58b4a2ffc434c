//! A tiny static-file listener for the local object store: `GET /cdn/<key>` answers the file
//! `<data dir>/cdn/<key>`. Not an API operation (no spec describes it), so it lives outside
//! the gateway; production serves images from object storage or a CDN instead.

use std::convert::Infallible;
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    }
}

fn reply(status: StatusCode, content_type: &str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

async fn serve(root: PathBuf, request: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", Bytes::from_static(b"method not allowed")));
    }
    let Some(key) = request.uri().path().strip_prefix("/cdn/") else {
        return Ok(reply(StatusCode::NOT_FOUND, "text/plain", Bytes::from_static(b"not found")));
    };
    let relative = Path::new(key);
    if key.is_empty() || !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return Ok(reply(StatusCode::NOT_FOUND, "text/plain", Bytes::from_static(b"not found")));
    }
    let path = root.join(relative);
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let body = if request.method() == Method::HEAD { Bytes::new() } else { Bytes::from(bytes) };
            let mut response = reply(StatusCode::OK, content_type(&path), body);
            if let Ok(value) = "public, max-age=604800, immutable".parse() {
                response.headers_mut().insert(hyper::header::CACHE_CONTROL, value);
            }
            Ok(response)
        }
        Err(_) => Ok(reply(StatusCode::NOT_FOUND, "text/plain", Bytes::from_static(b"not found"))),
    }
}

/// Serves `root` at `/cdn/` on the listener until shutdown.
pub fn spawn(listener: TcpListener, root: PathBuf, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = shutdown.changed() => break,
            };
            let Ok((stream, _)) = accepted else { continue };
            let _ = stream.set_nodelay(true);
            let root = root.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| serve(root.clone(), request));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
