//! The three pre-change checks of UFR-PROD-030 (product on sale, operator match, line
//! active), plain rules over what KOS said. Each is reported on its own.

use crate::model::{LineInfo, LineStatus, Product};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckType {
    ProductAvailable,
    OperatorMatch,
    LineStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDetail {
    pub check: CheckType,
    pub passed: bool,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub details: Vec<CheckDetail>,
    /// The first reason the change cannot go ahead; None when it can.
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Which check failed first (None: the request's current product is not the line's).
    pub check: Option<CheckType>,
    pub reason: String,
}

impl Validation {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

fn detail(check: CheckType, outcome: Result<String, String>) -> CheckDetail {
    match outcome {
        Ok(message) => CheckDetail { check, passed: true, message },
        Err(message) => CheckDetail { check, passed: false, message },
    }
}

/// Runs every check; `target` is None when the catalog has no such product.
pub fn validate(line: &LineInfo, current_product_code: &str, target_code: &str, target: Option<&Product>) -> Validation {
    let product = match target {
        None => Err(format!("존재하지 않는 상품입니다 ({target_code})")),
        Some(p) if !p.on_sale => Err(format!("판매중인 상품이 아닙니다 ({})", p.product_code)),
        Some(p) if p.product_code == line.product_code => Err("현재 사용중인 상품과 같습니다".to_owned()),
        Some(_) => Ok("현재 판매중인 상품입니다".to_owned()),
    };
    let operator = match target {
        None => Err("상품의 사업자를 확인할 수 없습니다".to_owned()),
        Some(p) if p.operator_code != line.operator_code => Err(format!(
            "회선의 사업자({})와 상품의 사업자({})가 다릅니다",
            line.operator_code, p.operator_code
        )),
        Some(_) => Ok("회선의 사업자와 상품의 사업자가 일치합니다".to_owned()),
    };
    let status = match line.status {
        LineStatus::Active => Ok("회선이 사용중입니다".to_owned()),
        LineStatus::Suspended => Err("회선이 정지 상태입니다".to_owned()),
        LineStatus::Terminated => Err("회선이 해지된 상태입니다".to_owned()),
    };
    let details = vec![
        detail(CheckType::ProductAvailable, product),
        detail(CheckType::OperatorMatch, operator),
        detail(CheckType::LineStatus, status),
    ];
    let failure = if current_product_code != line.product_code {
        Some(Failure { check: None, reason: format!("현재 상품 코드가 회선의 상품({})과 다릅니다", line.product_code) })
    } else {
        details
            .iter()
            .find(|d| !d.passed)
            .map(|d| Failure { check: Some(d.check), reason: d.message.clone() })
    };
    Validation { details, failure }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(status: LineStatus) -> LineInfo {
        LineInfo {
            line_number: "01012345678".into(),
            customer_id: "CUST001".into(),
            customer_name: "홍길동".into(),
            portal_user_id: "user001".into(),
            operator_code: "MVNO001".into(),
            product_code: "PLAN001".into(),
            status,
            contract_date: "2024-03-15".into(),
            term_end_date: "2026-03-14".into(),
            early_termination_fee: 0.0,
        }
    }

    fn product(code: &str, operator: &str, on_sale: bool) -> Product {
        Product {
            product_code: code.into(),
            product_name: code.into(),
            operator_code: operator.into(),
            monthly_fee: 1.0,
            data_allowance: String::new(),
            voice_allowance: String::new(),
            sms_allowance: String::new(),
            on_sale,
            deferred: false,
        }
    }

    fn outcomes(v: &Validation) -> Vec<bool> {
        v.details.iter().map(|d| d.passed).collect()
    }

    #[test]
    fn every_check_fails_on_its_own() {
        let ok = validate(&line(LineStatus::Active), "PLAN001", "PLAN003", Some(&product("PLAN003", "MVNO001", true)));
        assert!(ok.passed());
        assert_eq!(outcomes(&ok), [true, true, true]);

        let retired = validate(&line(LineStatus::Active), "PLAN001", "PLAN009", Some(&product("PLAN009", "MVNO001", false)));
        assert_eq!(outcomes(&retired), [false, true, true]);
        assert_eq!(retired.failure.and_then(|f| f.check), Some(CheckType::ProductAvailable));

        let other = validate(&line(LineStatus::Active), "PLAN001", "PLAN101", Some(&product("PLAN101", "MVNO002", true)));
        assert_eq!(outcomes(&other), [true, false, true]);
        assert_eq!(other.failure.and_then(|f| f.check), Some(CheckType::OperatorMatch));

        let suspended =
            validate(&line(LineStatus::Suspended), "PLAN001", "PLAN003", Some(&product("PLAN003", "MVNO001", true)));
        assert_eq!(outcomes(&suspended), [true, true, false]);
        assert_eq!(suspended.failure.as_ref().map(|f| f.reason.as_str()), Some("회선이 정지 상태입니다"));
    }

    #[test]
    fn unknown_products_same_products_and_stale_current_codes_fail() {
        let unknown = validate(&line(LineStatus::Active), "PLAN001", "NOPE", None);
        assert_eq!(outcomes(&unknown), [false, false, true]);
        let same = validate(&line(LineStatus::Active), "PLAN001", "PLAN001", Some(&product("PLAN001", "MVNO001", true)));
        assert_eq!(outcomes(&same), [false, true, true]);
        let stale = validate(&line(LineStatus::Active), "PLAN002", "PLAN003", Some(&product("PLAN003", "MVNO001", true)));
        assert_eq!(outcomes(&stale), [true, true, true]);
        assert_eq!(stale.failure.map(|f| f.check), Some(None));
    }
}
