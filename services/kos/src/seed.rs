//! The deterministic seed: operators, products (on sale and retired, immediate and deferred)
//! and a few hundred customers with their lines. A fixed generator seed keeps every run (and
//! the README's examples) identical.
//!
//! Customer `CUSTnnn` logs in to the self-service portal as `usernnn` (the User Service
//! username): `user001` is 홍길동 (`CUST001`) with line 01012345678 (ACTIVE, PLAN001) and
//! 01087654321 (SUSPENDED, PLAN002); `user002` is 김철수 (`CUST002`) with 01023456789 (ACTIVE,
//! PLAN101 of MVNO002). Logins beyond `user300` belong to no customer.

use std::collections::BTreeSet;

use crate::store::{lines, products};

/// The generator seed (any value; fixed so the data never moves).
pub const SEED: u64 = 20_240_315;

/// How many customers the seed creates.
pub const CUSTOMERS: usize = 300;

/// (code, name) of the operators whose lines KOS runs.
pub const OPERATORS: &[(&str, &str)] = &[("MVNO001", "KT M모바일"), ("MVNO002", "세븐모바일"), ("MVNO003", "헬로모바일")];

/// (code, name, operator, monthly fee, data, voice, sms, on sale, deferred)
type ProductRow = (&'static str, &'static str, &'static str, f64, &'static str, &'static str, &'static str, bool, bool);

pub const PRODUCTS: &[ProductRow] = &[
    ("PLAN001", "LTE 베이직 플랜", "MVNO001", 33000.0, "10GB", "무제한", "기본 무료", true, false),
    ("PLAN002", "LTE 스탠다드 플랜", "MVNO001", 44000.0, "30GB", "무제한", "기본 무료", true, false),
    ("PLAN003", "LTE 무제한 플랜", "MVNO001", 55000.0, "무제한", "무제한", "기본 무료", true, false),
    ("PLAN004", "5G 슬림 플랜", "MVNO001", 49000.0, "20GB", "무제한", "기본 무료", true, true),
    ("PLAN005", "5G 프리미엄 플랜", "MVNO001", 69000.0, "100GB", "무제한", "기본 무료", true, true),
    ("PLAN009", "3G 표준 요금제", "MVNO001", 22000.0, "1GB", "200분", "100건", false, false),
    ("PLAN101", "LTE 알뜰 플랜", "MVNO002", 25000.0, "7GB", "무제한", "기본 무료", true, false),
    ("PLAN102", "LTE 데이터 플랜", "MVNO002", 39000.0, "50GB", "무제한", "기본 무료", true, false),
    ("PLAN103", "5G 스마트 플랜", "MVNO002", 59000.0, "80GB", "무제한", "기본 무료", true, true),
    ("PLAN109", "LTE 구형 플랜", "MVNO002", 29000.0, "5GB", "300분", "300건", false, false),
    ("PLAN201", "LTE 시니어 플랜", "MVNO003", 19000.0, "3GB", "무제한", "기본 무료", true, false),
    ("PLAN202", "5G 청년 플랜", "MVNO003", 45000.0, "40GB", "무제한", "기본 무료", true, true),
    ("PLAN209", "3G 실속 요금제", "MVNO003", 15000.0, "500MB", "100분", "50건", false, false),
];

/// SplitMix64: tiny, and its output never changes between library versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SURNAMES: &[&str] = &["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황", "안", "송"];
const SYLLABLES: &[&str] = &["민", "서", "지", "현", "우", "수", "영", "준", "하", "은", "도", "윤", "진", "호", "연", "태", "성", "미"];

pub fn products() -> Vec<products::Model> {
    PRODUCTS
        .iter()
        .map(|&(code, name, operator, fee, data, voice, sms, on_sale, deferred)| products::Model {
            product_code: code.into(),
            product_name: name.into(),
            operator_code: operator.into(),
            monthly_fee: fee,
            data_allowance: data.into(),
            voice_allowance: voice.into(),
            sms_allowance: sms.into(),
            on_sale,
            deferred,
        })
        .collect()
}

struct Customer<'a> {
    id: &'a str,
    name: &'a str,
    user: &'a str,
}

fn line(customer: &Customer<'_>, number: &str, product: &str, state: &str, since: (i32, u32), fee: f64) -> lines::Model {
    let operator = PRODUCTS.iter().find(|p| p.0 == product).map_or("MVNO001", |p| p.2);
    let (year, month) = since;
    lines::Model {
        line_number: number.into(),
        customer_id: customer.id.into(),
        customer_name: customer.name.into(),
        portal_user_id: customer.user.into(),
        operator_code: operator.into(),
        product_code: product.into(),
        state: state.into(),
        contract_date: format!("{year:04}-{month:02}-15"),
        term_end_date: format!("{:04}-{month:02}-14", year + 2),
        early_termination_fee: fee,
    }
}

/// Every customer's lines, the hand-picked ones (README, tests) first.
pub fn lines() -> Vec<lines::Model> {
    let hong = Customer { id: "CUST001", name: "홍길동", user: "user001" };
    let kim = Customer { id: "CUST002", name: "김철수", user: "user002" };
    let mut all = vec![
        line(&hong, "01012345678", "PLAN001", "ACTIVE", (2024, 3), 150000.0),
        line(&hong, "01087654321", "PLAN002", "SUSPENDED", (2023, 7), 80000.0),
        line(&kim, "01023456789", "PLAN101", "ACTIVE", (2024, 9), 120000.0),
    ];
    let mut taken: BTreeSet<String> = all.iter().map(|l| l.line_number.clone()).collect();
    let mut rng = Rng(SEED);
    for index in 3..=CUSTOMERS {
        let id = format!("CUST{index:03}");
        let user = format!("user{index:03}");
        let name = format!("{}{}{}", rng.pick(SURNAMES), rng.pick(SYLLABLES), rng.pick(SYLLABLES));
        let customer = Customer { id: &id, name: &name, user: &user };
        let count = 1 + usize::from(rng.below(3) == 0);
        for _ in 0..count {
            let number = loop {
                let candidate = format!("010{:08}", rng.next() % 100_000_000);
                if taken.insert(candidate.clone()) {
                    break candidate;
                }
            };
            // Mostly products on sale; now and then a customer still on a retired one.
            let product = rng.pick(PRODUCTS).0;
            let state = match rng.below(20) {
                0 | 1 => "SUSPENDED",
                2 => "TERMINATED",
                _ => "ACTIVE",
            };
            let since = (2021 + rng.below(5) as i32, 1 + rng.below(12) as u32);
            let fee = 10000.0 * rng.below(20) as f64;
            all.push(line(&customer, &number, product, state, since, fee));
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_deterministic_and_consistent() {
        let first = lines();
        assert_eq!(first, lines(), "same data every run");
        assert!(first.len() > CUSTOMERS, "a few hundred lines: {}", first.len());
        let numbers: BTreeSet<_> = first.iter().map(|l| l.line_number.as_str()).collect();
        assert_eq!(numbers.len(), first.len(), "line numbers are unique");
        for line in &first {
            assert!(line.line_number.len() == 11 && line.line_number.starts_with("010"), "{}", line.line_number);
            assert!(line.line_number.bytes().all(|b| b.is_ascii_digit()));
            let product = PRODUCTS.iter().find(|p| p.0 == line.product_code).expect("known product");
            assert_eq!(product.2, line.operator_code, "a line's product belongs to its operator");
        }
        for state in ["ACTIVE", "SUSPENDED", "TERMINATED"] {
            assert!(first.iter().any(|l| l.state == state), "some {state} lines");
        }
    }
}
