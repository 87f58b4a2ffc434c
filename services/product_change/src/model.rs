//! What the service knows about lines and products (from KOS), in the form it caches.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineStatus {
    Active,
    Suspended,
    Terminated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineInfo {
    pub line_number: String,
    pub customer_id: String,
    pub customer_name: String,
    /// The customer's portal login: the User Service username that owns this line.
    pub portal_user_id: String,
    pub operator_code: String,
    pub product_code: String,
    pub status: LineStatus,
    pub contract_date: String,
    pub term_end_date: String,
    pub early_termination_fee: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub product_code: String,
    pub product_name: String,
    pub operator_code: String,
    pub monthly_fee: f64,
    pub data_allowance: String,
    pub voice_allowance: String,
    pub sms_allowance: String,
    pub on_sale: bool,
    /// KOS completes changes to it later (provisioning).
    pub deferred: bool,
}

/// The caller, from the verified User Service token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub username: String,
}

/// `^010[0-9]{8}$`, the spec's line-number pattern.
pub fn is_line_number(text: &str) -> bool {
    text.len() == 11 && text.starts_with("010") && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::is_line_number;

    #[test]
    fn line_numbers_follow_the_spec_pattern() {
        for good in ["01012345678", "01000000000"] {
            assert!(is_line_number(good), "{good}");
        }
        for bad in ["", "0101234567", "010123456789", "01112345678", "0101234567a", "+8210123456", "０1012345678"] {
            assert!(!is_line_number(bad), "{bad}");
        }
    }
}
