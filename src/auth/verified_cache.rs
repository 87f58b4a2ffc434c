//! Tokens whose signature this process has already checked.
//!
//! An Ed25519 check is the most expensive step of an authenticated request, and the gateway
//! and the service behind it both check every token. The first check stores the token's
//! claims under the SHA-256 of the whole token (never the token itself); later checks of the
//! same token in this process skip the signature and redo only the cheap claim checks
//! (audience, kind, expiry) against the cached claims.
//!
//! Rules that keep it safe:
//! - only successful verifications are stored; a tampered token hashes differently, so it
//!   can never hit an entry and always goes through the full check;
//! - an entry lives no longer than its token's `exp`, and hits re-check `exp` against the
//!   clock, so an expired token fails even if it is still cached;
//! - the cache is emptied whenever the key set changes (a removed key stops verifying);
//! - its size is capped: when full, expired entries go first, then the ones closest to expiry.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::Claims;

/// How many verified tokens one process keeps by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

type TokenHash = [u8; 32];

#[derive(Debug)]
pub(crate) struct VerifiedCache {
    state: Mutex<State>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<TokenHash, Claims>,
    /// Bumped by `clear`: a verification that started under an older key set must not be
    /// stored after the keys changed.
    generation: u64,
}

pub(crate) fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { state: Mutex::new(State::default()), capacity }
    }

    /// Read before verifying; `insert` stores only if no `clear` happened in between.
    pub(crate) fn generation(&self) -> u64 {
        self.state.lock().map(|state| state.generation).unwrap_or(u64::MAX)
    }

    /// The claims of a token verified before, unless it has expired since.
    pub(crate) fn get(&self, hash: &TokenHash, now: i64) -> Option<Claims> {
        let mut state = self.state.lock().ok()?;
        let entries = &mut state.entries;
        match entries.get(hash) {
            Some(claims) if claims.exp > now => Some(claims.clone()),
            Some(_) => {
                entries.remove(hash);
                None
            }
            None => None,
        }
    }

    /// Remembers a token whose signature and claims just verified.
    pub(crate) fn insert(&self, hash: TokenHash, claims: &Claims, now: i64, generation: u64) {
        if self.capacity == 0 || claims.exp <= now {
            return;
        }
        let Ok(mut state) = self.state.lock() else { return };
        if state.generation != generation {
            return;
        }
        let entries = &mut state.entries;
        if entries.len() >= self.capacity && !entries.contains_key(&hash) {
            entries.retain(|_, cached| cached.exp > now);
            if entries.len() >= self.capacity {
                evict_soonest_expiring(entries, self.capacity);
            }
        }
        entries.insert(hash, claims.clone());
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.entries.clear();
            state.generation += 1;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.state.lock().map(|state| state.entries.len()).unwrap_or_default()
    }
}

/// Frees a tenth of the capacity (at least one slot), dropping the entries that would expire
/// first: they had the least time left to save work anyway.
fn evict_soonest_expiring(entries: &mut HashMap<TokenHash, Claims>, capacity: usize) {
    let free = (capacity / 10).max(1);
    let mut by_expiry: Vec<(i64, TokenHash)> = entries.iter().map(|(hash, claims)| (claims.exp, *hash)).collect();
    by_expiry.sort_unstable();
    for (_, hash) in by_expiry.into_iter().take(free) {
        entries.remove(&hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TokenKind;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            exp,
            nbf: 0,
            iat: 0,
            jti: format!("j{exp}"),
            sid: "sid".into(),
            typ: TokenKind::Access,
            username: "u".into(),
            roles: Vec::new(),
        }
    }

    #[test]
    fn an_entry_never_outlives_its_token() {
        let cache = VerifiedCache::new(10);
        let hash = token_hash("t");
        cache.insert(hash, &claims(200), 100, cache.generation());
        assert!(cache.get(&hash, 199).is_some());
        assert!(cache.get(&hash, 200).is_none(), "expired at exp, even though it was cached");
        assert_eq!(cache.len(), 0, "the expired entry is dropped");
        cache.insert(hash, &claims(200), 200, cache.generation());
        assert_eq!(cache.len(), 0, "an already expired token is never stored");
    }

    #[test]
    fn the_cap_holds_and_the_soonest_expiring_go_first() {
        let cache = VerifiedCache::new(20);
        for exp in 1000..1100 {
            cache.insert(token_hash(&exp.to_string()), &claims(exp), 0, cache.generation());
            assert!(cache.len() <= 20);
        }
        assert!(cache.get(&token_hash("1099"), 0).is_some(), "the latest to expire stays");
        assert!(cache.get(&token_hash("1000"), 0).is_none());
    }

    #[test]
    fn a_verification_from_before_a_key_change_is_not_stored() {
        let cache = VerifiedCache::new(10);
        let before = cache.generation();
        cache.clear();
        cache.insert(token_hash("t"), &claims(200), 100, before);
        assert_eq!(cache.len(), 0);
    }
}
