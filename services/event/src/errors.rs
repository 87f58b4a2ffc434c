//! The Event Service's documented errors (event-service.yaml): `{error, message, timestamp,
//! details?}`.

use contracts::rpc_error::ServiceError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<EventError> for tonic::Status {
    fn from(error: EventError) -> Self {
        let service_error = match error {
            EventError::BadRequest(details) => ServiceError::new(400, "BAD_REQUEST", "요청 파라미터가 유효하지 않습니다").with_details(details),
            EventError::Unauthorized => ServiceError::new(401, "UNAUTHORIZED", "인증 토큰이 유효하지 않습니다"),
            EventError::Forbidden => ServiceError::new(403, "FORBIDDEN", "해당 리소스에 접근 권한이 없습니다"),
            EventError::NotFound(details) => ServiceError::new(404, "NOT_FOUND", "요청한 리소스를 찾을 수 없습니다").with_details(details),
            EventError::Unavailable(details) => ServiceError::new(503, "SERVICE_UNAVAILABLE", "배포 채널에 연결할 수 없습니다")
                .with_details(details)
                .with_retry_after(30),
            EventError::Internal(reason) => {
                tracing::error!(%reason, "event service internal error");
                ServiceError::new(500, "INTERNAL_SERVER_ERROR", "서버 내부 오류가 발생했습니다")
            }
        };
        service_error.into()
    }
}

impl From<sea_orm::DbErr> for EventError {
    fn from(error: sea_orm::DbErr) -> Self {
        EventError::Internal(format!("database: {error}"))
    }
}

impl From<service_core::jobs::Error> for EventError {
    fn from(error: service_core::jobs::Error) -> Self {
        EventError::Internal(format!("jobs: {error}"))
    }
}
