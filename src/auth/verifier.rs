//! Verifies tokens with public keys only, picking the key by the token's `kid`.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{Claims, ISSUER, TokenKind};

/// Why a token was refused. The reason goes to logs (never the token itself); clients see
/// one documented 401 body whatever the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("malformed token or header")]
    Malformed,
    #[error("algorithm {0} is not accepted")]
    Algorithm(String),
    #[error("token has no key id")]
    NoKeyId,
    #[error("unknown key id")]
    UnknownKey,
    #[error("token rejected: {0}")]
    Invalid(String),
    #[error("expected a {expected:?} token")]
    WrongKind { expected: TokenKind },
}

/// The verifying keys by key id.
#[derive(Clone, Default)]
pub struct PublicKeys {
    /// (kid, base64url public key), in the order given (newest last).
    components: Vec<(String, String)>,
    decoding: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.components.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("PublicKeys").field("kids", &kids).finish()
    }
}

impl PublicKeys {
    pub fn from_components(components: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut keys = Self::default();
        for (kid, x) in components {
            if let Ok(key) = DecodingKey::from_ed_components(&x) {
                keys.decoding.insert(kid.clone(), key);
                keys.components.push((kid, x));
            }
        }
        keys
    }

    /// (kid, base64url public key) pairs, newest last.
    pub fn components(&self) -> impl Iterator<Item = (&str, &str)> {
        self.components.iter().map(|(kid, x)| (kid.as_str(), x.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
    }
}

/// Verifies tokens for one audience set. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    keys: Arc<std::sync::RwLock<PublicKeys>>,
}

impl TokenVerifier {
    pub fn new(keys: PublicKeys) -> Self {
        Self { keys: Arc::new(std::sync::RwLock::new(keys)) }
    }

    /// Replaces the key set (after fetching a newer JWKS).
    pub fn replace_keys(&self, keys: PublicKeys) {
        if let Ok(mut guard) = self.keys.write() {
            *guard = keys;
        }
    }

    /// The key id a token claims, if its header parses.
    pub fn kid_of(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).ok()?.kid
    }

    /// Checks signature, key id, algorithm, issuer, audience, expiry, not-before and kind.
    pub fn verify(&self, token: &str, audience: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(TokenError::NoKeyId)?;
        let keys = self.keys.read().map_err(|_| TokenError::UnknownKey)?;
        let key = keys.decoding.get(&kid).ok_or(TokenError::UnknownKey)?;

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[ISSUER]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|e| TokenError::Invalid(format!("{:?}", e.kind())))?;
        if data.claims.typ != kind {
            return Err(TokenError::WrongKind { expected: kind });
        }
        Ok(data.claims)
    }
}
