//! Ticketing's documented errors (ticketing.yaml "Error Handling"), as gRPC statuses the
//! gateway renders in `{error: {code, message, details}, timestamp, path}`.

use contracts::rpc_error::ServiceError;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TicketingError {
    /// 400 INVALID_REQUEST, with the offending field.
    #[error("invalid request: {field}: {issue}")]
    Invalid { field: String, issue: String },
    /// 422: register's invalid input.
    #[error("unprocessable: {field}: {issue}")]
    Unprocessable { field: String, issue: String },
    #[error("email already registered")]
    EmailTaken,
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("seat not available: {0}")]
    SeatNotAvailable(String),
    #[error("payment failed: {0}")]
    PaymentFailed(String),
    #[error("booking expired")]
    BookingExpired,
    /// The payment provider cannot be reached (breaker open, timeouts).
    #[error("payment provider unavailable: {0}")]
    ProviderUnavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl TicketingError {
    pub fn invalid(field: &str, issue: impl Into<String>) -> Self {
        TicketingError::Invalid { field: field.to_owned(), issue: issue.into() }
    }

    pub fn unprocessable(field: &str, issue: impl Into<String>) -> Self {
        TicketingError::Unprocessable { field: field.to_owned(), issue: issue.into() }
    }
}

fn issue(field: &str, issue: &str) -> serde_json::Value {
    json!({"field": field, "issue": issue})
}

impl From<TicketingError> for tonic::Status {
    fn from(error: TicketingError) -> Self {
        let service_error = match &error {
            TicketingError::Invalid { field, issue: text } => {
                ServiceError::new(400, "INVALID_REQUEST", "Invalid request parameters").with_details(issue(field, text))
            }
            TicketingError::Unprocessable { field, issue: text } => {
                ServiceError::new(422, "INVALID_REQUEST", "Invalid input").with_details(issue(field, text))
            }
            TicketingError::EmailTaken => ServiceError::new(400, "ALREADY_EXISTS", "Email already exists")
                .with_details(issue("email", "This email is already registered")),
            TicketingError::Unauthorized(reason) => {
                ServiceError::new(401, "UNAUTHORIZED", "Authentication required").with_details(json!({"reason": reason}))
            }
            TicketingError::Forbidden(reason) => {
                ServiceError::new(403, "FORBIDDEN", "Permission denied").with_details(json!({"reason": reason}))
            }
            TicketingError::NotFound(what) => {
                ServiceError::new(404, "NOT_FOUND", "Resource not found").with_details(json!({"resource": what}))
            }
            TicketingError::SeatNotAvailable(seats) => ServiceError::new(400, "SEAT_NOT_AVAILABLE", "Seat not available")
                .with_details(issue("seat_ids", seats)),
            TicketingError::PaymentFailed(reason) => {
                ServiceError::new(400, "PAYMENT_FAILED", "Payment failed").with_details(json!({"reason": reason}))
            }
            TicketingError::BookingExpired => ServiceError::new(400, "BOOKING_EXPIRED", "Booking expired")
                .with_details(json!({"reason": "the booking is no longer reserved"})),
            TicketingError::ProviderUnavailable(_) => {
                ServiceError::new(503, "SERVICE_UNAVAILABLE", "Payment provider unavailable").with_retry_after(30)
            }
            TicketingError::Internal(_) => ServiceError::new(500, "INTERNAL_ERROR", "Internal server error"),
        };
        if matches!(error, TicketingError::Internal(_) | TicketingError::ProviderUnavailable(_)) {
            tracing::error!(%error, "ticketing request failed");
        }
        service_error.into()
    }
}

impl From<sea_orm::DbErr> for TicketingError {
    fn from(error: sea_orm::DbErr) -> Self {
        TicketingError::Internal(format!("database: {error}"))
    }
}

impl From<service_core::jobs::Error> for TicketingError {
    fn from(error: service_core::jobs::Error) -> Self {
        TicketingError::Internal(format!("jobs: {error}"))
    }
}
