//! The User Service's documented errors (user-service.yaml), as gRPC statuses the gateway
//! renders in `{error: {code, message, details, timestamp, path}}`.

use contracts::rpc_error::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("authentication failed")]
    AuthenticationFailed,
    #[error("invalid token")]
    InvalidToken,
    #[error("account locked until {until}")]
    AccountLocked { until: chrono::DateTime<chrono::Utc> },
    #[error("invalid request: {0}")]
    Validation(String),
    #[error("directory unavailable")]
    DirectoryUnavailable,
    #[error("internal: {0}")]
    Internal(String),
}

impl From<UserError> for tonic::Status {
    fn from(error: UserError) -> Self {
        let service_error = match error {
            UserError::AuthenticationFailed => ServiceError::new(401, "AUTHENTICATION_FAILED", "인증에 실패했습니다")
                .with_details("사용자명 또는 비밀번호가 올바르지 않습니다"),
            UserError::InvalidToken => ServiceError::new(401, "INVALID_TOKEN", "유효하지 않은 토큰입니다")
                .with_details("토큰이 만료되었거나 형식이 올바르지 않습니다"),
            UserError::AccountLocked { until } => {
                let until = until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                ServiceError::new(403, "ACCOUNT_LOCKED", "계정이 잠겼습니다").with_details(format!(
                    "비밀번호 5회 실패로 30분간 계정이 잠겼습니다. 잠금 해제 시간: {until}"
                ))
            }
            UserError::Validation(details) => {
                ServiceError::new(400, "VALIDATION_ERROR", "요청 값이 올바르지 않습니다").with_details(details)
            }
            UserError::DirectoryUnavailable => {
                ServiceError::new(503, "SERVICE_UNAVAILABLE", "인증 서버에 연결할 수 없습니다")
                    .with_details("잠시 후 다시 시도해주세요")
                    .with_retry_after(30)
            }
            UserError::Internal(_) => ServiceError::new(500, "INTERNAL_SERVER_ERROR", "서버 오류가 발생했습니다")
                .with_details("일시적인 오류입니다. 잠시 후 다시 시도해주세요"),
        };
        service_error.into()
    }
}

impl From<sea_orm::DbErr> for UserError {
    fn from(error: sea_orm::DbErr) -> Self {
        UserError::Internal(format!("database: {error}"))
    }
}

impl From<service_core::storage::CacheError> for UserError {
    fn from(error: service_core::storage::CacheError) -> Self {
        UserError::Internal(format!("cache: {error}"))
    }
}
