//! The Ticketing service's shared state: database, job queue, signing keys, payment provider.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use contracts::auth::{Claims, TokenVerifier};
use service_core::SigningKeys;
use service_core::jobs::Jobs;

use crate::errors::TicketingError;
use crate::provider::PaymentProvider;

#[derive(Debug, Clone)]
pub struct TicketingSettings {
    /// How long a booking holds its seats unpaid (spec: 10 minutes).
    pub hold_ttl: Duration,
    pub access_ttl: Duration,
    /// The only currency bookings are priced in (KRW: no minor unit).
    pub currency: String,
    /// Public base URL of the API, for ticket QR code links.
    pub public_base_url: String,
    /// Stripe webhook endpoint secret (`whsec_…`).
    pub webhook_secret: String,
    /// Oldest webhook signature timestamp accepted (Stripe: 300 s).
    pub webhook_tolerance: Duration,
}

impl Default for TicketingSettings {
    fn default() -> Self {
        Self {
            hold_ttl: Duration::from_secs(600),
            access_ttl: Duration::from_secs(3600),
            currency: "krw".into(),
            public_base_url: "http://localhost:8000".into(),
            webhook_secret: "whsec_local_sandbox_secret".into(),
            webhook_tolerance: Duration::from_secs(300),
        }
    }
}

pub struct Ticketing {
    pub(crate) db: DatabaseConnection,
    pub(crate) jobs: Jobs,
    pub(crate) keys: Arc<SigningKeys>,
    pub(crate) verifier: TokenVerifier,
    pub(crate) provider: Arc<dyn PaymentProvider>,
    pub(crate) settings: TicketingSettings,
}

impl Ticketing {
    /// `jobs` should be the database backend on `db`: the expiry job is enqueued next to the
    /// hold it expires (see `expiry.rs`).
    pub fn new(
        db: DatabaseConnection,
        jobs: Jobs,
        keys: Arc<SigningKeys>,
        provider: Arc<dyn PaymentProvider>,
        settings: TicketingSettings,
    ) -> Self {
        let verifier = TokenVerifier::new(keys.public_keys());
        Self { db, jobs, keys, verifier, provider, settings }
    }

    /// Checks callers' tokens with the process's shared verifier (which holds this service's
    /// keys too), so a token verified at the gateway is not verified again here.
    pub fn with_verifier(mut self, verifier: TokenVerifier) -> Self {
        self.verifier = verifier;
        self
    }

    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    pub fn settings(&self) -> &TicketingSettings {
        &self.settings
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// The caller's verified Ticketing access token.
    pub fn authenticate<T>(&self, request: &tonic::Request<T>) -> Result<Claims, TicketingError> {
        service_core::grpc::authenticate(request, &self.verifier, crate::AUDIENCE)
            .map_err(|reason| TicketingError::Unauthorized(reason.to_string()))
    }
}

pub(crate) fn is_admin(claims: &Claims) -> bool {
    claims.roles.iter().any(|role| role == "admin")
}
