//! Calls a service method with raw protobuf bytes: the gateway never needs the generated
//! types, only the descriptor set. A service in this process is called as a tower service in
//! memory (no TCP, no HTTP/2 framing); a service elsewhere over a pooled h2c channel.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint};

/// Passes message bytes through unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesCodec;

#[derive(Debug, Clone, Copy, Default)]
pub struct BytesEncoder;

#[derive(Debug, Clone, Copy, Default)]
pub struct BytesDecoder;

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesDecoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Self::Error> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesEncoder;
    type Decoder = BytesDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesDecoder
    }
}

/// A service's tonic server (e.g. `tonic::service::Routes`) called in memory.
pub type InProcessService =
    tower::util::BoxCloneSyncService<http::Request<tonic::body::Body>, http::Response<tonic::body::Body>, Infallible>;

/// Wraps a tonic server for in-process calls.
pub fn in_process<S>(service: S) -> InProcessService
where
    S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<tonic::body::Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    InProcessService::new(service)
}

/// Where one proto package is served.
#[derive(Clone)]
pub enum Backend {
    /// Same process: the service's own server stack, called as a tower service.
    InProcess(InProcessService),
    /// Another process: a lazily connected, multiplexed h2c channel.
    Remote(Channel),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::InProcess(_) => f.write_str("InProcess"),
            Backend::Remote(_) => f.write_str("Remote"),
        }
    }
}

impl Backend {
    /// Unary call with raw bytes.
    pub async fn call(
        &self,
        grpc_path: &str,
        request: tonic::Request<Bytes>,
    ) -> Result<tonic::Response<Bytes>, tonic::Status> {
        let path = http::uri::PathAndQuery::try_from(grpc_path)
            .map_err(|_| tonic::Status::internal("bad gRPC path"))?;
        match self {
            Backend::InProcess(service) => unary(tonic::client::Grpc::new(service.clone()), path, request).await,
            Backend::Remote(channel) => unary(tonic::client::Grpc::new(channel.clone()), path, request).await,
        }
    }
}

async fn unary<T>(
    mut grpc: tonic::client::Grpc<T>,
    path: http::uri::PathAndQuery,
    request: tonic::Request<Bytes>,
) -> Result<tonic::Response<Bytes>, tonic::Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::ResponseBody: http_body::Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(format!("backend not ready: {}", e.into())))?;
    grpc.unary(request, path, BytesCodec).await
}

/// The backend of every configured proto package.
#[derive(Debug, Clone, Default)]
pub struct Backends {
    backends: HashMap<String, Backend>,
}

impl Backends {
    /// `targets`: proto package → `http://host:port`; `in_process`: proto package → a server
    /// in this process, which wins over a target for the same package.
    pub fn new(
        targets: &HashMap<String, String>,
        in_process: &HashMap<String, InProcessService>,
        connect_timeout: Duration,
    ) -> Result<Self, tonic::transport::Error> {
        let mut backends = HashMap::new();
        for (package, uri) in targets {
            let channel = Endpoint::from_shared(uri.clone())?
                .connect_timeout(connect_timeout)
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .connect_lazy();
            backends.insert(package.clone(), Backend::Remote(channel));
        }
        for (package, service) in in_process {
            backends.insert(package.clone(), Backend::InProcess(service.clone()));
        }
        Ok(Self { backends })
    }

    /// The backend serving a fully qualified service name, if configured.
    pub fn for_service(&self, service_full_name: &str) -> Option<&Backend> {
        let package = service_full_name.rsplit_once('.').map(|(package, _)| package)?;
        self.backends.get(package)
    }
}
