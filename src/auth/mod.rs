//! Tokens: Ed25519-signed JWTs with a key id, issued by the User Service and verified by the
//! gateway and every service with public keys only (served as JWKS). Signing lives with the
//! services (`service_core::keys`); this is the verifying half both sides share.

mod claims;
mod verified_cache;
mod verifier;

pub use claims::{Claims, TokenKind};
pub use verified_cache::DEFAULT_CAPACITY as VERIFIED_TOKEN_CACHE_CAPACITY;
pub use verifier::{PublicKeys, TokenError, TokenVerifier};

/// The `iss` claim of every token the User Service issues.
pub const ISSUER: &str = "kt-platform/user-service";

/// The token of an `Authorization: Bearer <token>` value; None for other schemes or empty
/// tokens. The gateway (HTTP headers) and the services (gRPC metadata) both use it.
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
