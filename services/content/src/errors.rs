//! The Content Service's documented errors (content-service.yaml): `{code, message,
//! timestamp, retryAfter?}`, and the 503 `CircuitBreakerErrorResponse`.

use contracts::rpc_error::ServiceError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContentError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// Every image source is refused by its breaker and the local fallback is switched off.
    #[error("image generation unavailable (breaker {state})")]
    BreakerOpen { state: &'static str, retry_after: u32 },
    #[error("internal: {0}")]
    Internal(String),
}

impl From<ContentError> for tonic::Status {
    fn from(error: ContentError) -> Self {
        let service_error = match error {
            ContentError::BadRequest(message) => ServiceError::new(400, "BAD_REQUEST", message),
            ContentError::NotFound(message) => ServiceError::new(404, "NOT_FOUND", message),
            ContentError::BreakerOpen { state, retry_after } => {
                let mut e = ServiceError::new(503, "IMAGE_GENERATION_SERVICE_UNAVAILABLE", "이미지 생성 서비스가 일시적으로 사용 불가능합니다")
                    .with_retry_after(retry_after);
                e.extra.insert("circuitBreakerState".into(), state.into());
                e.extra.insert("fallbackAvailable".into(), false.into());
                e
            }
            ContentError::Internal(reason) => {
                tracing::error!(%reason, "content service internal error");
                ServiceError::new(500, "INTERNAL_SERVER_ERROR", "서버 내부 오류가 발생했습니다.")
            }
        };
        service_error.into()
    }
}

impl From<sea_orm::DbErr> for ContentError {
    fn from(error: sea_orm::DbErr) -> Self {
        ContentError::Internal(format!("database: {error}"))
    }
}

impl From<service_core::jobs::Error> for ContentError {
    fn from(error: service_core::jobs::Error) -> Self {
        ContentError::Internal(format!("jobs: {error}"))
    }
}
