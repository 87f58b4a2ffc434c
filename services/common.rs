//! What every service shares: reading the caller's bearer token from gRPC metadata and
//! verifying it with the same code the gateway uses. No service trusts identity headers.

use crate::auth::{Claims, TokenError, TokenKind, TokenVerifier};

/// The bearer token in `authorization` metadata.
pub fn bearer_token<T>(request: &tonic::Request<T>) -> Result<&str, TokenError> {
    let value = request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .ok_or(TokenError::Missing)?;
    crate::auth::parse_bearer(value).ok_or(TokenError::Malformed)
}

/// Verifies the caller's access token for an API audience.
pub fn authenticate<T>(
    request: &tonic::Request<T>,
    verifier: &TokenVerifier,
    audience: &str,
) -> Result<Claims, TokenError> {
    verifier.verify(bearer_token(request)?, audience, TokenKind::Access)
}
