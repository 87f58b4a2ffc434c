//! Where image pixels come from: external image-generation APIs (each behind its own
//! breaker), then the local renderer. `fallback_used` is true exactly when an external source
//! was configured and the image came from the local renderer instead.

use std::sync::Arc;

use async_trait::async_trait;
use service_core::resilience::{BreakerState, CallError, Classify, ErrorClass, Resilience};

use crate::render::{self, Platform, RenderInput, Style};

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    pub message: String,
    pub class: ErrorClass,
}

impl Classify for SourceError {
    fn classify(&self) -> ErrorClass {
        self.class
    }
}

/// An image-generation API.
#[async_trait]
pub trait ImageSource: Send + Sync {
    fn name(&self) -> &str;
    async fn generate(&self, input: &RenderInput, style: Style, platform: Platform) -> Result<Vec<u8>, SourceError>;
}

/// One image and where it came from.
pub struct Produced {
    pub png: Vec<u8>,
    pub source: String,
    pub fallback_used: bool,
}

pub struct SourceChain {
    external: Vec<(Arc<dyn ImageSource>, Resilience)>,
    local_fallback: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("no image source available (breaker {state}), retry after {retry_after} s")]
    Unavailable { state: &'static str, retry_after: u32 },
    #[error("{0}")]
    Failed(String),
}

impl SourceChain {
    pub fn new(external: Vec<(Arc<dyn ImageSource>, Resilience)>, local_fallback: bool) -> Self {
        Self { external, local_fallback }
    }

    /// The local renderer only (the embedded default).
    pub fn local() -> Self {
        Self::new(Vec::new(), true)
    }

    pub fn describe(&self) -> String {
        let mut names: Vec<String> = self.external.iter().map(|(s, _)| s.name().to_owned()).collect();
        if self.local_fallback {
            names.push("local renderer".into());
        }
        names.join(" → ")
    }

    /// When nothing can answer right now: every external breaker open and no local fallback.
    pub fn refusal(&self) -> Option<ChainError> {
        if self.local_fallback || self.external.is_empty() {
            return None;
        }
        let mut retry_after = u32::MAX;
        for (_, resilience) in &self.external {
            let snapshot = resilience.snapshot();
            match snapshot.state {
                BreakerState::Open => {
                    let wait = snapshot.time_until_half_open.map_or(60, |d| d.as_secs().max(1)) as u32;
                    retry_after = retry_after.min(wait);
                }
                _ => return None,
            }
        }
        Some(ChainError::Unavailable { state: "OPEN", retry_after })
    }

    pub async fn produce(&self, input: &RenderInput, style: Style, platform: Platform) -> Result<Produced, ChainError> {
        let mut last = None;
        for (source, resilience) in &self.external {
            match resilience.call(true, || source.generate(input, style, platform)).await {
                Ok(png) => return Ok(Produced { png, source: source.name().to_owned(), fallback_used: false }),
                Err(error) => {
                    tracing::warn!(source = source.name(), %error, "image source failed; trying the next");
                    last = Some(match error {
                        CallError::Open { retry_after } => {
                            ChainError::Unavailable { state: "OPEN", retry_after: retry_after.as_secs().max(1) as u32 }
                        }
                        other => ChainError::Failed(other.to_string()),
                    });
                }
            }
        }
        if !self.local_fallback {
            return Err(last.unwrap_or_else(|| ChainError::Failed("no image source configured".into())));
        }
        let owned = input.clone();
        let png = tokio::task::spawn_blocking(move || render::render(&owned, style, platform))
            .await
            .map_err(|e| ChainError::Failed(e.to_string()))?
            .map_err(|e| ChainError::Failed(e.to_string()))?;
        Ok(Produced { png, source: "local".into(), fallback_used: !self.external.is_empty() })
    }
}
