//! What every service shares: reading the caller's bearer token from gRPC metadata and
//! verifying it with the same code the gateway uses. No service trusts identity headers.

use prost_reflect::DynamicMessage;

use contracts::Contracts;
use contracts::auth::{Claims, TokenError, TokenKind, TokenVerifier};
use contracts::json::{self, FieldNames, Violation};

/// The bearer token in `authorization` metadata.
pub fn bearer_token<T>(request: &tonic::Request<T>) -> Result<&str, TokenError> {
    let value = request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .ok_or(TokenError::Missing)?;
    contracts::auth::parse_bearer(value).ok_or(TokenError::Malformed)
}

/// Verifies the caller's access token for an API audience.
pub fn authenticate<T>(
    request: &tonic::Request<T>,
    verifier: &TokenVerifier,
    audience: &str,
) -> Result<Claims, TokenError> {
    verifier.verify(bearer_token(request)?, audience, TokenKind::Access)
}

/// Checks a request against the spec constraints its contract declares in
/// `(platform.v1.field)`: the same rules, and the same code, the gateway applies to REST
/// calls, for callers that come straight over gRPC. (proto3 cannot tell an empty scalar from
/// an absent one, so "required" strings are held by their `min_length`.)
pub fn check_contract<M: prost::Message + prost::Name>(contracts: &Contracts, message: &M) -> Result<(), Violation> {
    let internal = |reason: String| Violation { field: String::new(), reason };
    let desc = contracts
        .pool
        .get_message_by_name(&M::full_name())
        .ok_or_else(|| internal(format!("{} is not in the contracts", M::full_name())))?;
    let dynamic = DynamicMessage::decode(desc.clone(), message.encode_to_vec().as_slice())
        .map_err(|e| internal(e.to_string()))?;
    json::validate(&desc, &json::encode(&dynamic, contracts, FieldNames::Json), contracts, "")
}
