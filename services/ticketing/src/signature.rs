//! Stripe webhook signatures (v1), verified exactly as Stripe's libraries do: the header
//! `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` carries HMAC-SHA256 values of
//! `"{t}.{raw body}"` under the endpoint secret; any one matching `v1` (compared in constant
//! time) accepts, provided `t` is within the tolerance of now. Other schemes (`v0`) are ignored.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    #[error("no v1 signature matches the payload")]
    Mismatch,
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// The hex v1 signature of a payload at a timestamp.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, payload).finalize().into_bytes())
}

/// A whole `Stripe-Signature` header value.
pub fn header(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, payload))
}

/// Verifies a header against the raw body; returns the signed timestamp.
pub fn verify(header: &str, payload: &[u8], secret: &str, tolerance_secs: i64, now: i64) -> Result<i64, SignatureError> {
    if header.trim().is_empty() {
        return Err(SignatureError::Missing);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else { continue };
        match key {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let expected = mac(secret, timestamp, payload).finalize().into_bytes();
    let mut matched = subtle::Choice::from(0);
    for candidate in &signatures {
        // Every candidate is compared, in constant time, whatever the earlier ones gave.
        matched |= expected[..].ct_eq(candidate.as_slice());
    }
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let now = 1_700_000_000;
        assert_eq!(verify(&header(SECRET, now, BODY), BODY, SECRET, 300, now + 10), Ok(now));
    }

    #[test]
    fn matches_stripes_reference_value() {
        // HMAC-SHA256("whsec_test", "1700000000.{body}") computed independently (openssl dgst).
        assert_eq!(sign(SECRET, 1_700_000_000, BODY), "001ce3ef73e456cedaab328328720d3ad59defb8bbd0f1518f46c04ad4ac0bb7");
    }

    #[test]
    fn any_one_of_several_v1_values_may_match() {
        let now = 1_700_000_000;
        let good = sign(SECRET, now, BODY);
        let header = format!("t={now},v1={},v0=abc,v1={good}", "00".repeat(32));
        assert_eq!(verify(&header, BODY, SECRET, 300, now), Ok(now));
    }

    #[test]
    fn forged_stale_and_altered_bodies_are_refused() {
        let now = 1_700_000_000;
        let signed = header(SECRET, now, BODY);
        assert_eq!(verify(&signed, b"{\"id\":\"evt_2\"}", SECRET, 300, now), Err(SignatureError::Mismatch));
        assert_eq!(verify(&header("whsec_other", now, BODY), BODY, SECRET, 300, now), Err(SignatureError::Mismatch));
        assert_eq!(verify(&signed, BODY, SECRET, 300, now + 301), Err(SignatureError::Stale));
        assert_eq!(verify("t=abc", BODY, SECRET, 300, now), Err(SignatureError::Malformed));
        assert_eq!(verify(&format!("t={now}"), BODY, SECRET, 300, now), Err(SignatureError::Malformed));
        assert_eq!(verify("", BODY, SECRET, 300, now), Err(SignatureError::Missing));
    }
}
