//! Distribution to channels: one adapter per channel type, each behind its own breaker, all
//! in parallel within the 70-second total budget. The local default is a channel simulator
//! with configurable latency and failure rate (and channels that always fail, for tests).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use serde::{Deserialize, Serialize};
use service_core::resilience::{CallError, CallOptions, Classify, DISTRIBUTION_TOTAL_BUDGET, ErrorClass, Resilience, ResilienceSettings};

pub const CHANNELS: [&str; 6] = ["URINEIGHBOR_TV", "RINGO_BIZ", "GENIE_TV", "INSTAGRAM", "NAVER_BLOG", "KAKAO_CHANNEL"];

/// What is sent to a channel.
#[derive(Debug, Clone)]
pub struct Posting {
    pub event_id: String,
    pub title: String,
    pub image_url: Option<String>,
    pub settings: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct Accepted {
    pub distribution_id: String,
    pub estimated_reach: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ChannelError(pub String);

impl Classify for ChannelError {
    fn classify(&self) -> ErrorClass {
        ErrorClass::Transient
    }
}

#[async_trait]
pub trait ChannelAdapter: Send + Sync {
    async fn distribute(&self, channel: &str, posting: &Posting) -> Result<Accepted, ChannelError>;
}

/// Per-channel outcome, as kept for getEventDetail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelResult {
    pub channel_type: String,
    pub success: bool,
    pub distribution_id: Option<String>,
    pub estimated_reach: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SimulatorSettings {
    pub latency: Duration,
    /// 0.0 … 1.0
    pub failure_rate: f64,
    /// Channels that always fail.
    pub failing: HashSet<String>,
}

/// The local default: answers like a channel API would, after a delay, sometimes failing.
pub struct ChannelSimulator {
    settings: SimulatorSettings,
}

impl ChannelSimulator {
    pub fn new(settings: SimulatorSettings) -> Self {
        Self { settings }
    }
}

fn reach(channel: &str) -> i64 {
    match channel {
        "URINEIGHBOR_TV" => 5_000,
        "RINGO_BIZ" => 1_200,
        "GENIE_TV" => 10_000,
        "INSTAGRAM" => 3_000,
        "NAVER_BLOG" => 2_000,
        _ => 2_500,
    }
}

#[async_trait]
impl ChannelAdapter for ChannelSimulator {
    async fn distribute(&self, channel: &str, _posting: &Posting) -> Result<Accepted, ChannelError> {
        if !self.settings.latency.is_zero() {
            tokio::time::sleep(self.settings.latency).await;
        }
        let unlucky = self.settings.failure_rate > 0.0 && rand::thread_rng().gen_bool(self.settings.failure_rate.clamp(0.0, 1.0));
        if self.settings.failing.contains(channel) || unlucky {
            return Err(ChannelError(format!("{channel} 채널 API 응답 오류 (simulated)")));
        }
        Ok(Accepted {
            distribution_id: format!("dist-{}-{}", channel.to_lowercase().replace('_', "-"), &uuid::Uuid::new_v4().simple().to_string()[..10]),
            estimated_reach: reach(channel),
        })
    }
}

/// Sends a posting to every selected channel in parallel.
pub struct Distributor {
    adapter: Arc<dyn ChannelAdapter>,
    breakers: HashMap<&'static str, Resilience>,
}

impl Distributor {
    pub fn new(adapter: Arc<dyn ChannelAdapter>) -> Self {
        let breakers = CHANNELS.iter().map(|c| (*c, Resilience::new(format!("channel-{c}"), ResilienceSettings::distribution_channel()))).collect();
        Self { adapter, breakers }
    }

    /// True when at least one of the channels' breakers lets calls through.
    pub fn reachable(&self, channels: &[String]) -> bool {
        channels.iter().any(|c| {
            self.breakers.get(c.as_str()).is_none_or(|r| r.snapshot().state != service_core::resilience::BreakerState::Open)
        })
    }

    pub async fn distribute(&self, channels: &[String], posting: &Posting) -> Vec<ChannelResult> {
        let deadline = tokio::time::Instant::now() + DISTRIBUTION_TOTAL_BUDGET;
        let mut tasks = tokio::task::JoinSet::new();
        for (index, channel) in channels.iter().enumerate() {
            let adapter = self.adapter.clone();
            let breaker = self.breakers.get(channel.as_str()).cloned();
            let (channel, posting) = (channel.clone(), posting.clone());
            tasks.spawn(async move {
                let Some(breaker) = breaker else {
                    return (index, ChannelResult { channel_type: channel, success: false, distribution_id: None, estimated_reach: None, error: Some("unknown channel".into()) });
                };
                let options = CallOptions::idempotent().with_deadline(deadline);
                let outcome = breaker.call_with(options, ChannelError::classify, || adapter.distribute(&channel, &posting)).await;
                let result = match outcome {
                    Ok(accepted) => ChannelResult { channel_type: channel, success: true, distribution_id: Some(accepted.distribution_id), estimated_reach: Some(accepted.estimated_reach), error: None },
                    Err(error) => {
                        let message = match error {
                            CallError::Failed(e) => e.0,
                            CallError::Open { .. } => "채널 연결이 일시적으로 차단되었습니다 (circuit open)".into(),
                            other => other.to_string(),
                        };
                        ChannelResult { channel_type: channel, success: false, distribution_id: None, estimated_reach: None, error: Some(message) }
                    }
                };
                (index, result)
            });
        }
        let mut results: Vec<(usize, ChannelResult)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            if let Ok(pair) = joined {
                results.push(pair);
            }
        }
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, r)| r).collect()
    }
}
