//! Per-adapter settings and the presets the services use.
//!
//! Everything is plain `Duration`s and numbers so a service can load them from its own
//! configuration and override single fields after starting from a preset.

use std::time::Duration;

/// Total time the Event service may spend distributing one event over all selected
/// channels (seed: "Distribution Service 동기 호출 (Timeout 70초)").
/// Pass it as a shared deadline with [`crate::resilience::CallOptions::with_deadline`]
/// to every channel call of one publish request.
pub const DISTRIBUTION_TOTAL_BUDGET: Duration = Duration::from_secs(70);

/// How backoff delays are randomised so that many clients do not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Plain capped exponential delays; deterministic, meant for tests and tooling.
    None,
    /// Uniform in `[0, min(max_delay, base_delay * 2^n)]` ("full jitter").
    Full,
    /// Uniform in `[base_delay, min(max_delay, 3 * previous)]` ("decorrelated jitter").
    Decorrelated,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetrySettings {
    /// Total attempts including the first; only idempotent calls get more than one.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub jitter: Jitter,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            jitter: Jitter::Full,
        }
    }
}

impl RetrySettings {
    /// A single attempt, for adapters whose calls must never be repeated.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BreakerSettings {
    /// Count-based window: the outcomes of the last `window_size` calls.
    pub window_size: usize,
    /// Optional time bound on the window: outcomes older than this are forgotten too,
    /// so a quiet adapter does not stay judged by failures from long ago.
    pub window_duration: Option<Duration>,
    /// No verdict before this many calls are in the window (clamped to `window_size`).
    pub minimum_calls: usize,
    /// Opens when `failures / calls >= failure_rate_threshold` (0.0..=1.0).
    pub failure_rate_threshold: f64,
    /// Time spent OPEN before probes are let through.
    pub open_duration: Duration,
    /// Probe calls admitted per HALF-OPEN period (also the concurrency limit there).
    pub half_open_probes: usize,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            window_size: 20,
            window_duration: None,
            minimum_calls: 10,
            failure_rate_threshold: 0.5,
            open_duration: Duration::from_secs(30),
            half_open_probes: 3,
        }
    }
}

impl BreakerSettings {
    /// Clamps values that would make the state machine meaningless (zero-sized windows,
    /// a minimum that can never be reached, a threshold outside 0..=1).
    pub(crate) fn normalized(&self) -> Self {
        let window_size = self.window_size.max(1);
        let threshold = if self.failure_rate_threshold.is_nan() {
            1.0
        } else {
            self.failure_rate_threshold.clamp(0.0, 1.0)
        };
        Self {
            window_size,
            window_duration: self.window_duration,
            minimum_calls: self.minimum_calls.clamp(1, window_size),
            failure_rate_threshold: threshold,
            open_duration: self.open_duration,
            half_open_probes: self.half_open_probes.max(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResilienceSettings {
    /// Limit for one attempt; a retried call may take up to
    /// `max_attempts * call_timeout` plus backoff unless a deadline is passed.
    pub call_timeout: Duration,
    pub retry: RetrySettings,
    pub breaker: BreakerSettings,
}

impl Default for ResilienceSettings {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(10),
            retry: RetrySettings::default(),
            breaker: BreakerSettings::default(),
        }
    }
}

impl ResilienceSettings {
    /// Image-generation APIs (Stable Diffusion, DALL-E). Seed: "Circuit Breaker: 5분
    /// 타임아웃, 실패율 50% 초과 시 Open". "초과" means strictly above 50 %, so the
    /// threshold is 0.51: with a 10-call window 5/10 stays closed and 6/10 opens
    /// (any rate above 0.5 on a window of at most 50 calls is >= 0.51).
    /// Generation is not idempotent at the provider (it bills per image), so callers
    /// normally pass `idempotent = false`; the retry budget is there for status polls.
    pub fn image_generation() -> Self {
        Self {
            call_timeout: Duration::from_secs(300),
            retry: RetrySettings {
                max_attempts: 2,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(5),
                jitter: Jitter::Full,
            },
            breaker: BreakerSettings {
                window_size: 10,
                window_duration: None,
                minimum_calls: 5,
                failure_rate_threshold: 0.51,
                open_duration: Duration::from_secs(60),
                half_open_probes: 2,
            },
        }
    }

    /// One distribution channel (one `Resilience` per channel). The 70 s overall budget
    /// is not a per-call setting: pass [`DISTRIBUTION_TOTAL_BUDGET`] as a shared deadline.
    pub fn distribution_channel() -> Self {
        Self {
            call_timeout: Duration::from_secs(20),
            retry: RetrySettings {
                max_attempts: 2,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(5),
                jitter: Jitter::Decorrelated,
            },
            breaker: BreakerSettings {
                window_size: 10,
                window_duration: Some(Duration::from_secs(300)),
                minimum_calls: 5,
                failure_rate_threshold: 0.5,
                open_duration: Duration::from_secs(30),
                half_open_probes: 1,
            },
        }
    }

    /// KOS telecom back end: reads (customer, product lookups) are retried, the product
    /// change itself is not (the caller passes `idempotent = false` for it).
    pub fn kos() -> Self {
        Self {
            call_timeout: Duration::from_secs(5),
            retry: RetrySettings {
                max_attempts: 3,
                base_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(2),
                jitter: Jitter::Full,
            },
            breaker: BreakerSettings {
                window_size: 20,
                window_duration: Some(Duration::from_secs(60)),
                minimum_calls: 10,
                failure_rate_threshold: 0.5,
                open_duration: Duration::from_secs(30),
                half_open_probes: 3,
            },
        }
    }

    /// Stripe: retries only for requests carrying an Idempotency-Key (Stripe replays the
    /// first response for a repeated key, so a retry cannot charge twice).
    pub fn stripe() -> Self {
        Self {
            call_timeout: Duration::from_secs(30),
            retry: RetrySettings {
                max_attempts: 3,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(5),
                jitter: Jitter::Full,
            },
            breaker: BreakerSettings {
                window_size: 20,
                window_duration: Some(Duration::from_secs(120)),
                minimum_calls: 10,
                failure_rate_threshold: 0.5,
                open_duration: Duration::from_secs(30),
                half_open_probes: 2,
            },
        }
    }
}
