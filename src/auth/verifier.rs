//! Verifies tokens with public keys only, picking the key by the token's `kid`.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::verified_cache::{DEFAULT_CAPACITY, VerifiedCache, token_hash};
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

/// Verifies tokens for one audience set. Cheap to clone: clones share the key set and the
/// cache of verified tokens, so one verifier per process checks each signature once.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    keys: std::sync::RwLock<PublicKeys>,
    verified: VerifiedCache,
}

/// Seconds of clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 5;

impl TokenVerifier {
    pub fn new(keys: PublicKeys) -> Self {
        Self::with_cache_capacity(keys, DEFAULT_CAPACITY)
    }

    /// A verifier that remembers at most `capacity` verified tokens (0 turns the cache off).
    pub fn with_cache_capacity(keys: PublicKeys, capacity: usize) -> Self {
        let inner = Inner { keys: std::sync::RwLock::new(keys), verified: VerifiedCache::new(capacity) };
        Self { inner: Arc::new(inner) }
    }

    /// Replaces the key set (after fetching a newer JWKS). Tokens verified with the old set
    /// are checked again: a key that left the set must stop verifying at once.
    pub fn replace_keys(&self, keys: PublicKeys) {
        if let Ok(mut guard) = self.inner.keys.write() {
            *guard = keys;
        }
        self.inner.verified.clear();
    }

    /// Adds another issuer's keys (a second token-issuing service in this process). Nothing
    /// verified so far changes, so the cache stays.
    pub fn add_keys(&self, keys: PublicKeys) {
        if let Ok(mut guard) = self.inner.keys.write() {
            for (kid, x) in keys.components {
                if let Some(key) = keys.decoding.get(&kid) {
                    guard.decoding.insert(kid.clone(), key.clone());
                    guard.components.push((kid, x));
                }
            }
        }
    }

    /// How many verified tokens are cached (tests and metrics).
    pub fn cached_tokens(&self) -> usize {
        self.inner.verified.len()
    }

    /// The key id a token claims, if its header parses.
    pub fn kid_of(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).ok()?.kid
    }

    /// Checks signature, key id, algorithm, issuer, audience, expiry, not-before and kind.
    /// A token this verifier accepted before skips the signature check (see `verified_cache`).
    pub fn verify(&self, token: &str, audience: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        let hash = token_hash(token);
        if let Some(claims) = self.inner.verified.get(&hash, now) {
            return check_audience_and_kind(claims, audience, kind);
        }
        let generation = self.inner.verified.generation();
        let claims = self.verify_signed(token, audience, kind)?;
        self.inner.verified.insert(hash, &claims, now, generation);
        Ok(claims)
    }

    fn verify_signed(&self, token: &str, audience: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(TokenError::NoKeyId)?;
        let keys = self.inner.keys.read().map_err(|_| TokenError::UnknownKey)?;
        let key = keys.decoding.get(&kid).ok_or(TokenError::UnknownKey)?;

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[ISSUER]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|e| TokenError::Invalid(format!("{:?}", e.kind())))?;
        check_audience_and_kind(data.claims, audience, kind)
    }
}

/// The claim checks a cached token still needs for this call (the signature, issuer and
/// not-before were checked when it was cached; expiry by the cache).
fn check_audience_and_kind(claims: Claims, audience: &str, kind: TokenKind) -> Result<Claims, TokenError> {
    if claims.aud != audience {
        return Err(TokenError::Invalid("InvalidAudience".into()));
    }
    if claims.typ != kind {
        return Err(TokenError::WrongKind { expected: kind });
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};

    use super::*;

    /// A throwaway Ed25519 key for these tests only, with its public half.
    const TEST_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIF0SDpu2z7mNZlMo2CKJ8QWlbzsY9VxrWCoQuQ0OS+z3\n-----END PRIVATE KEY-----\n";
    const TEST_KEY_X: &str = "EoWI1Wh9xmJ04A6u7HeGtvOVvnLqF4eaxuwJtJgmvcI";
    /// A second issuer's key (another token-issuing service in the same process).
    const OTHER_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPzhDjbyo5Aq99HdzU2vdouvLQ6bIwFlXeS/qQtwxL33\n-----END PRIVATE KEY-----\n";
    const OTHER_KEY_X: &str = "ezVbC6vb1z1nY0Wavj-IJwfeCren2nEC6t2zsCZ61AY";

    fn verifier(capacity: usize) -> TokenVerifier {
        TokenVerifier::with_cache_capacity(PublicKeys::from_components([("k1".to_owned(), TEST_KEY_X.to_owned())]), capacity)
    }

    fn token(jti: &str, exp_in: i64) -> String {
        signed(jti, exp_in, "k1", TEST_KEY_PEM)
    }

    fn signed(jti: &str, exp_in: i64, kid: &str, pem: &str) -> String {
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).expect("clock");
        let claims = Claims {
            iss: ISSUER.into(),
            sub: "u1".into(),
            aud: "meeting".into(),
            exp: now + exp_in,
            nbf: now - 1,
            iat: now - 1,
            jti: jti.into(),
            sid: "s1".into(),
            typ: TokenKind::Access,
            username: "user".into(),
            roles: Vec::new(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.into());
        let key = EncodingKey::from_ed_pem(pem.as_bytes()).expect("key");
        jsonwebtoken::encode(&header, &claims, &key).expect("sign")
    }

    #[test]
    fn a_verified_token_is_cached_and_still_checked_for_audience_and_kind() {
        let verifier = verifier(10);
        let good = token("a", 60);
        assert!(verifier.verify(&good, "meeting", TokenKind::Access).is_ok());
        assert_eq!(verifier.cached_tokens(), 1);
        assert!(verifier.verify(&good, "meeting", TokenKind::Access).is_ok(), "a hit");
        assert!(verifier.verify(&good, "ticketing", TokenKind::Access).is_err(), "other audience");
        assert!(verifier.verify(&good, "meeting", TokenKind::Refresh).is_err(), "other kind");
        assert_eq!(verifier.cached_tokens(), 1);
    }

    #[test]
    fn tampered_and_expired_tokens_are_refused_and_never_cached() {
        let verifier = verifier(10);
        let good = token("a", 60);
        verifier.verify(&good, "meeting", TokenKind::Access).expect("valid");
        let (head, rest) = good.split_once('.').expect("jwt");
        let (payload, signature) = rest.split_once('.').expect("jwt");
        let mut bytes = payload.as_bytes().to_vec();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        let tampered = format!("{head}.{}.{signature}", String::from_utf8(bytes).expect("ascii"));
        assert!(verifier.verify(&tampered, "meeting", TokenKind::Access).is_err());
        let expired = token("b", -60);
        assert!(verifier.verify(&expired, "meeting", TokenKind::Access).is_err());
        assert!(verifier.verify(&expired, "meeting", TokenKind::Access).is_err(), "still refused");
        assert_eq!(verifier.cached_tokens(), 1, "only the good token is cached");
    }

    #[test]
    fn the_cap_holds_and_new_keys_empty_the_cache() {
        let verifier = verifier(3);
        for jti in ["a", "b", "c", "d", "e"] {
            verifier.verify(&token(jti, 60), "meeting", TokenKind::Access).expect("valid");
            assert!(verifier.cached_tokens() <= 3);
        }
        let good = token("f", 60);
        verifier.verify(&good, "meeting", TokenKind::Access).expect("valid");
        verifier.replace_keys(PublicKeys::default());
        assert_eq!(verifier.cached_tokens(), 0);
        assert_eq!(verifier.verify(&good, "meeting", TokenKind::Access), Err(TokenError::UnknownKey), "a removed key stops verifying");
    }

    #[test]
    fn a_second_issuers_keys_join_without_dropping_what_was_verified() {
        let verifier = verifier(10);
        let first = token("a", 60);
        let other = signed("b", 60, "k2", OTHER_KEY_PEM);
        verifier.verify(&first, "meeting", TokenKind::Access).expect("valid");
        assert_eq!(verifier.verify(&other, "meeting", TokenKind::Access), Err(TokenError::UnknownKey));
        verifier.add_keys(PublicKeys::from_components([("k2".to_owned(), OTHER_KEY_X.to_owned())]));
        assert!(verifier.verify(&other, "meeting", TokenKind::Access).is_ok(), "the added key verifies");
        assert_eq!(verifier.cached_tokens(), 2, "adding keys keeps earlier verifications");
        let shared = verifier.clone();
        assert!(shared.verify(&first, "meeting", TokenKind::Access).is_ok(), "clones share keys and cache");
    }
}
