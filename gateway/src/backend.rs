//! Calls a service method with raw protobuf bytes over a pooled h2c channel: the gateway
//! never needs the generated types, only the descriptor set.

use std::collections::HashMap;
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

/// One lazily connected, multiplexed channel per proto package (`user.v1`, ...).
#[derive(Debug, Clone, Default)]
pub struct Backends {
    channels: HashMap<String, Channel>,
}

impl Backends {
    /// `targets`: proto package → `http://host:port`.
    pub fn new(
        targets: &HashMap<String, String>,
        connect_timeout: Duration,
    ) -> Result<Self, tonic::transport::Error> {
        let mut channels = HashMap::new();
        for (package, uri) in targets {
            let channel = Endpoint::from_shared(uri.clone())?
                .connect_timeout(connect_timeout)
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .connect_lazy();
            channels.insert(package.clone(), channel);
        }
        Ok(Self { channels })
    }

    /// The channel serving a fully qualified service name, if configured.
    pub fn for_service(&self, service_full_name: &str) -> Option<Channel> {
        let package = service_full_name.rsplit_once('.').map(|(package, _)| package)?;
        self.channels.get(package).cloned()
    }

    /// Unary call with raw bytes.
    pub async fn call(
        channel: Channel,
        grpc_path: &str,
        request: tonic::Request<Bytes>,
    ) -> Result<tonic::Response<Bytes>, tonic::Status> {
        let path = http::uri::PathAndQuery::try_from(grpc_path)
            .map_err(|_| tonic::Status::internal("bad gRPC path"))?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(format!("backend not ready: {e}")))?;
        grpc.unary(request, path, BytesCodec).await
    }
}
