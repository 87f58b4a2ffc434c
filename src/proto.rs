//! Generated protobuf and tonic code for every contract under `proto/`, and the encoded
//! descriptor set the gateway and server reflection read.

/// Every file under `proto/`, with custom options intact.
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

pub mod google {
    pub mod rpc {
        tonic::include_proto!("google.rpc");
    }
    pub mod api {
        tonic::include_proto!("google.api");
    }
}

pub mod platform {
    pub mod v1 {
        tonic::include_proto!("platform.v1");
    }
}

pub mod user {
    pub mod v1 {
        tonic::include_proto!("user.v1");
    }
}

pub mod event {
    pub mod v1 {
        tonic::include_proto!("event.v1");
    }
}

pub mod content {
    pub mod v1 {
        tonic::include_proto!("content.v1");
    }
}

pub mod productchange {
    pub mod v1 {
        tonic::include_proto!("productchange.v1");
    }
}

pub mod kos {
    pub mod v1 {
        tonic::include_proto!("kos.v1");
    }
}

pub mod ticketing {
    pub mod v1 {
        tonic::include_proto!("ticketing.v1");
    }
}
