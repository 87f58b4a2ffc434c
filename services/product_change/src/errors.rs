//! The Product-Change Service's documented errors (product-change-service.yaml), as gRPC
//! statuses the gateway renders in `{success: false, error: {code, message, details, timestamp, path}}`.

use contracts::rpc_error::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcError {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("unauthorized")]
    Unauthorized,
    /// The caller has no line to change (getProductMenu's 403).
    #[error("no lines")]
    NoLines,
    #[error("not found: {0}")]
    NotFound(String),
    /// 409: a pre-check failed.
    #[error("validation failed: {0}")]
    ValidationFailed(String),
    /// 409: the line is not active.
    #[error("line suspended: {0}")]
    LineSuspended(String),
    /// 409: the change cannot be processed now (another change in flight, not the caller's line).
    #[error("change denied: {0}")]
    ChangeDenied(String),
    /// 503 (requestProductChange): KOS down or its breaker open.
    #[error("KOS unavailable: {details}")]
    KosUnavailable { details: String, retry_after_secs: u32 },
    /// KOS failed on an operation that documents no 503: the documented 500.
    #[error("KOS failed: {0}")]
    KosFailed(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<PcError> for tonic::Status {
    fn from(error: PcError) -> Self {
        if let PcError::Internal(reason) | PcError::KosFailed(reason) = &error {
            tracing::error!(reason, "product-change: answering 500");
        }
        let service_error = match error {
            PcError::InvalidRequest(details) => {
                ServiceError::new(400, "INVALID_REQUEST", "요청 파라미터가 올바르지 않습니다").with_details(details)
            }
            PcError::Unauthorized => ServiceError::new(401, "UNAUTHORIZED", "인증이 필요합니다")
                .with_details("토큰이 없거나 유효하지 않습니다"),
            PcError::NoLines => ServiceError::new(403, "FORBIDDEN", "서비스 이용 권한이 없습니다")
                .with_details("상품변경을 이용할 수 있는 회선이 없습니다"),
            PcError::NotFound(details) => {
                ServiceError::new(404, "NOT_FOUND", "요청한 정보를 찾을 수 없습니다").with_details(details)
            }
            PcError::ValidationFailed(details) => {
                ServiceError::new(409, "VALIDATION_FAILED", "상품 사전 체크에 실패하였습니다").with_details(details)
            }
            PcError::LineSuspended(details) => {
                ServiceError::new(409, "LINE_SUSPENDED", "회선이 사용 가능한 상태가 아닙니다").with_details(details)
            }
            PcError::ChangeDenied(details) => {
                ServiceError::new(409, "CHANGE_DENIED", "상품변경을 처리할 수 없습니다").with_details(details)
            }
            PcError::KosUnavailable { details, retry_after_secs } => {
                ServiceError::new(503, "SERVICE_UNAVAILABLE", "KOS 시스템 장애로 상품변경을 처리할 수 없습니다")
                    .with_details(details)
                    .with_retry_after(retry_after_secs.max(1))
            }
            PcError::KosFailed(_) => ServiceError::new(500, "INTERNAL_SERVER_ERROR", "서버 내부 오류가 발생했습니다")
                .with_details("KOS 시스템 연동 중 오류가 발생했습니다. 잠시 후 다시 시도해주세요"),
            PcError::Internal(_) => ServiceError::new(500, "INTERNAL_SERVER_ERROR", "서버 내부 오류가 발생했습니다"),
        };
        service_error.into()
    }
}

impl From<sea_orm::DbErr> for PcError {
    fn from(error: sea_orm::DbErr) -> Self {
        PcError::Internal(format!("database: {error}"))
    }
}

impl From<service_core::jobs::Error> for PcError {
    fn from(error: service_core::jobs::Error) -> Self {
        PcError::Internal(format!("jobs: {error}"))
    }
}
