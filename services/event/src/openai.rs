//! The real recommender: an OpenAI-compatible chat-completions API (`POST {url}/chat/completions`)
//! asked for structured JSON, whose answer is parsed and checked; behind a timeout and a
//! breaker, falling back to the rule-based recommender when the API fails or answers nonsense.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use service_core::http_client::HttpClient;
use service_core::resilience::{Resilience, ResilienceSettings};

use crate::recommender::{Brief, Recommendation, RecommendError, Recommender, RuleBasedRecommender};

#[derive(Clone)]
pub struct ChatSettings {
    /// Base URL up to the API version, e.g. `https://api.openai.com/v1`.
    pub url: String,
    pub model: String,
    pub key: Option<String>,
    pub timeout: Duration,
}

pub struct OpenAiRecommender {
    settings: ChatSettings,
    client: HttpClient,
    resilience: Resilience,
    fallback: RuleBasedRecommender,
}

impl OpenAiRecommender {
    pub fn new(settings: ChatSettings) -> Self {
        let resilience_settings = ResilienceSettings { call_timeout: settings.timeout, ..ResilienceSettings::distribution_channel() };
        Self { settings, client: HttpClient::new(), resilience: Resilience::new("openai-recommender", resilience_settings), fallback: RuleBasedRecommender }
    }

    async fn ask(&self, brief: &Brief) -> Result<Vec<Recommendation>, RecommendError> {
        let system = "You are a marketing planner for Korean small businesses. Answer only with JSON: \
            {\"recommendations\": [3 objects with title, prize, participationMethod (Korean strings), \
            estimatedCost (KRW integer), estimatedParticipants (integer), estimatedROI (percent number)]}";
        let user = format!(
            "목적: {}\n매장: {}\n업종: {}\n지역: {}\n월: {}\n이벤트 3개를 추천해 주세요.",
            brief.objective, brief.store_name, brief.industry, brief.region, brief.month
        );
        let body = json!({
            "model": self.settings.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": {"type": "json_object"},
            "temperature": 0.7,
        });
        let url = format!("{}/chat/completions", self.settings.url.trim_end_matches('/'));
        let header = self.settings.key.as_ref().map(|k| format!("Bearer {k}"));
        let headers: Vec<(&str, &str)> = header.iter().map(|h| ("authorization", h.as_str())).collect();
        let bytes = self
            .resilience
            .call(false, || self.client.post_json(&url, &headers, &body, self.settings.timeout))
            .await
            .map_err(|e| RecommendError(e.to_string()))?;
        parse_answer(&bytes)
    }
}

/// The chat answer's message content must be JSON holding exactly three sensible recommendations.
pub fn parse_answer(bytes: &[u8]) -> Result<Vec<Recommendation>, RecommendError> {
    let answer: Value = serde_json::from_slice(bytes).map_err(|e| RecommendError(format!("answer is not JSON: {e}")))?;
    let content = answer["choices"][0]["message"]["content"].as_str().ok_or_else(|| RecommendError("no message content".into()))?;
    let parsed: Value = serde_json::from_str(content).map_err(|e| RecommendError(format!("content is not JSON: {e}")))?;
    let list: Vec<Recommendation> = serde_json::from_value(parsed["recommendations"].clone()).map_err(|e| RecommendError(format!("bad recommendations: {e}")))?;
    let sensible = |r: &Recommendation| {
        !r.title.trim().is_empty()
            && !r.prize.trim().is_empty()
            && !r.participation_method.trim().is_empty()
            && r.estimated_cost > 0
            && r.estimated_participants > 0
            && r.estimated_roi.is_finite()
    };
    if list.len() != 3 || !list.iter().all(sensible) {
        return Err(RecommendError(format!("expected 3 complete recommendations, got {}", list.len())));
    }
    Ok(list)
}

#[async_trait]
impl Recommender for OpenAiRecommender {
    fn kind(&self) -> &'static str {
        "openai-compatible chat API (rule-based fallback)"
    }

    async fn recommend(&self, brief: &Brief) -> Result<Vec<Recommendation>, RecommendError> {
        match self.ask(brief).await {
            Ok(list) => Ok(list),
            Err(error) => {
                tracing::warn!(%error, "AI recommender failed; using the rule-based recommender");
                self.fallback.recommend(brief).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_answer;

    #[test]
    fn accepts_three_complete_recommendations_only() {
        let one = r#"{"title":"t","prize":"p","participationMethod":"m","estimatedCost":1000,"estimatedParticipants":10,"estimatedROI":120.5}"#;
        let content = format!(r#"{{"recommendations":[{one},{one},{one}]}}"#);
        let answer = serde_json::json!({"choices": [{"message": {"content": content}}]});
        assert_eq!(parse_answer(answer.to_string().as_bytes()).map(|l| l.len()).ok(), Some(3));
        let two = format!(r#"{{"recommendations":[{one},{one}]}}"#);
        let answer = serde_json::json!({"choices": [{"message": {"content": two}}]});
        assert!(parse_answer(answer.to_string().as_bytes()).is_err());
        let answer = serde_json::json!({"choices": [{"message": {"content": "sorry, I cannot"}}]});
        assert!(parse_answer(answer.to_string().as_bytes()).is_err());
    }
}
