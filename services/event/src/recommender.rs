//! AI recommendations. The local default is rule-based: objective, industry, region and
//! season decide three event ideas with plausible cost, participants and ROI.

use async_trait::async_trait;
use chrono::Datelike;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub title: String,
    pub prize: String,
    pub participation_method: String,
    pub estimated_cost: i64,
    pub estimated_participants: i64,
    #[serde(rename = "estimatedROI")]
    pub estimated_roi: f64,
}

/// What a recommendation is for.
#[derive(Debug, Clone)]
pub struct Brief {
    pub objective: String,
    pub store_name: String,
    pub industry: String,
    pub region: String,
    pub month: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("recommender: {0}")]
pub struct RecommendError(pub String);

#[async_trait]
pub trait Recommender: Send + Sync {
    fn kind(&self) -> &'static str;
    async fn recommend(&self, brief: &Brief) -> Result<Vec<Recommendation>, RecommendError>;
}

/// The local default.
pub struct RuleBasedRecommender;

fn season(month: u32) -> (&'static str, &'static str) {
    match month {
        3..=5 => ("봄맞이", "벚꽃"),
        6..=8 => ("여름", "시원한"),
        9..=11 => ("가을", "단풍"),
        _ => ("겨울", "따뜻한"),
    }
}

/// (gift, unit cost in KRW) by industry keyword.
fn gift(industry: &str) -> (&'static str, i64) {
    let i = industry;
    if i.contains("카페") || i.contains("커피") {
        ("아메리카노 1+1 쿠폰", 4_500)
    } else if i.contains("음식") || i.contains("식당") || i.contains("외식") || i.contains("치킨") {
        ("대표 메뉴 무료 쿠폰", 15_000)
    } else if i.contains("미용") || i.contains("뷰티") || i.contains("헤어") {
        ("헤어 클리닉 무료 체험권", 30_000)
    } else if i.contains("베이커리") || i.contains("빵") {
        ("시그니처 빵 교환권", 5_000)
    } else {
        ("1만원 할인 쿠폰", 10_000)
    }
}

impl RuleBasedRecommender {
    pub fn recommend_now(&self, brief: &Brief) -> Vec<Recommendation> {
        let (season_word, mood) = season(brief.month);
        let (gift_name, unit) = gift(&brief.industry);
        let metro = ["서울", "부산", "인천", "대구", "대전", "광주", "경기"].iter().any(|m| brief.region.contains(m));
        let reach = if metro { 1.4 } else { 1.0 };
        // (title, participation, winners, participants base, roi) per objective.
        let ideas: [(String, String, i64, f64, f64); 3] = match brief.objective.as_str() {
            "NEW_CUSTOMER" => [
                (format!("{season_word} 신규 고객 SNS 팔로우 이벤트"), "매장 SNS 팔로우 후 이벤트 게시물에 친구 태그".into(), 50, 400.0, 180.0),
                (format!("첫 방문 고객 {gift_name} 증정"), "첫 방문 시 카카오톡 채널 추가 후 직원에게 제시".into(), 100, 300.0, 150.0),
                (format!("{mood} {season_word} 리뷰 추첨 이벤트"), "방문 후 네이버 리뷰 작성 시 자동 응모".into(), 20, 250.0, 210.0),
            ],
            "REVISIT" => [
                (format!("{season_word} 스탬프 5개 적립 이벤트"), "방문마다 스탬프 적립, 5개 모으면 경품 교환".into(), 80, 220.0, 240.0),
                (format!("재방문 고객 {gift_name} 감사 이벤트"), "영수증 지참 후 2주 내 재방문".into(), 60, 180.0, 260.0),
                ("단골 고객 등급 업 이벤트".into(), "카카오톡 채널 멤버십 가입 후 월 3회 방문".into(), 30, 120.0, 300.0),
            ],
            "SALES_INCREASE" => [
                (format!("{season_word} 세트 메뉴 구매 추첨"), "2만원 이상 구매 시 자동 응모".into(), 40, 350.0, 220.0),
                ("주말 한정 타임 세일 경품 이벤트".into(), "토·일 오후 2~5시 구매 고객 대상 추첨".into(), 30, 280.0, 200.0),
                (format!("{mood} 신메뉴 출시 기념 {gift_name}"), "신메뉴 구매 후 인증샷 게시".into(), 50, 260.0, 170.0),
            ],
            _ => [
                (format!("{} 브랜드 해시태그 챌린지", brief.store_name), "지정 해시태그와 함께 매장 사진 게시".into(), 30, 600.0, 130.0),
                (format!("{season_word} 매장 포토존 인증 이벤트"), "포토존 사진을 SNS에 올리고 매장 계정 태그".into(), 40, 500.0, 120.0),
                (format!("{} 동네 이웃 초대 이벤트", brief.region), "친구 초대 링크 공유 후 친구 방문 시 응모".into(), 25, 450.0, 140.0),
            ],
        };
        ideas
            .into_iter()
            .enumerate()
            .map(|(index, (title, participation_method, winners, base, roi))| {
                let participants = (base * reach).round() as i64;
                let cost = winners * unit + 50_000 * (index as i64 + 1);
                Recommendation {
                    title,
                    prize: format!("{gift_name} ({winners}명)"),
                    participation_method,
                    estimated_cost: cost,
                    estimated_participants: participants,
                    estimated_roi: (roi * if metro { 1.1 } else { 1.0 } * 10.0).round() / 10.0,
                }
            })
            .collect()
    }
}

#[async_trait]
impl Recommender for RuleBasedRecommender {
    fn kind(&self) -> &'static str {
        "rule-based (local default)"
    }

    async fn recommend(&self, brief: &Brief) -> Result<Vec<Recommendation>, RecommendError> {
        Ok(self.recommend_now(brief))
    }
}

pub fn current_month() -> u32 {
    chrono::Utc::now().month()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief(objective: &str) -> Brief {
        Brief { objective: objective.into(), store_name: "홍길동 카페".into(), industry: "카페".into(), region: "서울 강남구".into(), month: 11 }
    }

    #[test]
    fn three_plausible_recommendations_that_differ_per_objective() {
        let r = RuleBasedRecommender;
        let new = r.recommend_now(&brief("NEW_CUSTOMER"));
        let revisit = r.recommend_now(&brief("REVISIT"));
        assert_eq!(new.len(), 3);
        assert_ne!(new, revisit);
        for rec in new.iter().chain(&revisit) {
            assert!(rec.estimated_cost > 0 && rec.estimated_participants > 0 && rec.estimated_roi > 0.0);
        }
        assert_ne!(new[0].estimated_roi, revisit[0].estimated_roi);
    }
}
