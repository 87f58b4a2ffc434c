//! The tonic side of Ticketing: proto ⇄ domain, nothing else. One gRPC port serves the four
//! proto services of the money path (auth, events, bookings, payment).

mod auth;
mod bookings;
mod events;
mod payment;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use contracts::Contracts;
use contracts::proto::ticketing::v1 as pb;
use service_core::grpc::check_contract;

use crate::errors::TicketingError;
use crate::service::Ticketing;

#[derive(Clone)]
pub struct TicketingApi {
    service: Arc<Ticketing>,
    contracts: Arc<Contracts>,
}

impl TicketingApi {
    pub fn new(service: Arc<Ticketing>, contracts: Arc<Contracts>) -> Self {
        Self { service, contracts }
    }

    /// Direct gRPC callers skip the gateway: the contract's field rules are checked here too.
    fn check<M: prost::Message + prost::Name>(&self, request: &M) -> Result<(), TicketingError> {
        check_contract(&self.contracts, request).map_err(|violation| TicketingError::invalid(&violation.field, violation.reason))
    }

    /// All four services, ready for one gRPC server.
    pub fn into_routes(self) -> tonic::service::Routes {
        tonic::service::Routes::new(pb::auth_service_server::AuthServiceServer::new(self.clone()))
            .add_service(pb::event_service_server::EventServiceServer::new(self.clone()))
            .add_service(pb::booking_service_server::BookingServiceServer::new(self.clone()))
            .add_service(pb::payment_service_server::PaymentServiceServer::new(self))
    }

    /// The proto service names served (for reflection and health).
    pub const SERVICE_NAMES: [&'static str; 4] = [
        "ticketing.v1.AuthService",
        "ticketing.v1.EventService",
        "ticketing.v1.BookingService",
        "ticketing.v1.PaymentService",
    ];
}

pub(crate) fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.timestamp(), nanos: 0 }
}

pub(crate) fn from_timestamp(field: &str, time: Option<prost_types::Timestamp>) -> Result<DateTime<Utc>, TicketingError> {
    let time = time.ok_or_else(|| TicketingError::invalid(field, "is required"))?;
    DateTime::from_timestamp(time.seconds, time.nanos.max(0) as u32).ok_or_else(|| TicketingError::invalid(field, "is out of range"))
}
