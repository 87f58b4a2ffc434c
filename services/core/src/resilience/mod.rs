//! Resilience for outbound calls: per-attempt timeout, bounded retry with jittered
//! exponential backoff for idempotent calls, and a failure-rate circuit breaker.
//!
//! One [`Resilience`] per adapter (per image API, per distribution channel, KOS,
//! Stripe). It is cheap to clone and safe to share between tasks.
//!
//! Order of the layers for one call: the breaker admits each *attempt* (so a breaker
//! that opens in the middle of a retry loop stops it), the attempt runs under the
//! per-call timeout (a timeout is recorded as a failure), and only idempotent calls
//! whose error is [`ErrorClass::Transient`] (or a timeout) are retried.
//!
//! Overall budgets (the 70 s distribution budget): pass a deadline with
//! [`CallOptions::with_deadline`]. The loop never sleeps past it, shortens the last
//! attempt to it and then returns [`CallError::DeadlineExceeded`]. An attempt cut by
//! the caller's deadline is not recorded by the breaker, because it says nothing about
//! the adapter's health; the same holds when the caller drops the future.

mod breaker;
mod retry;
mod settings;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::resilience::breaker::{Breaker, Outcome};

pub use crate::resilience::breaker::{BreakerSnapshot, BreakerState, HALF_OPEN_BUSY_RETRY_AFTER};
pub use crate::resilience::retry::Backoff;
pub use crate::resilience::settings::{
    BreakerSettings, DISTRIBUTION_TOTAL_BUDGET, Jitter, ResilienceSettings, RetrySettings,
};

/// How an adapter error affects retry and the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Worth another attempt (connection reset, 502/503/504, 429): retried when the call
    /// is idempotent, and counted as a failure by the breaker.
    Transient,
    /// The adapter is failing in a way a retry will not fix (500 with a bad body,
    /// protocol errors): not retried, counted as a failure.
    Permanent,
    /// The adapter answered correctly but said no (400, 404, card declined): not
    /// retried and counted as a success, so business errors never open the breaker.
    Benign,
}

/// Implemented by adapter error types so [`Resilience::call`] can classify them.
pub trait Classify {
    fn classify(&self) -> ErrorClass;
}

#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// The last attempt exceeded the per-call timeout.
    #[error("call timed out after {timeout:?}")]
    Timeout { timeout: Duration },
    /// Refused without calling the adapter; `retry_after` is the time until the breaker
    /// lets probes through (services turn it into `Retry-After`).
    #[error("circuit breaker open, retry after {retry_after:?}")]
    Open { retry_after: Duration },
    /// The caller's deadline ran out before a result was obtained.
    #[error("deadline exceeded")]
    DeadlineExceeded,
    /// The adapter's own error from the last attempt.
    #[error("call failed: {0}")]
    Failed(#[source] E),
}

impl<E> CallError<E> {
    /// Whole seconds for a `Retry-After` header, rounded up so clients never come back
    /// before the breaker is ready.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            CallError::Open { retry_after } => {
                let secs = retry_after.as_secs();
                Some(if retry_after.subsec_nanos() > 0 {
                    secs + 1
                } else {
                    secs
                })
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallOptions {
    /// Only idempotent calls are retried (reads, Stripe requests with an
    /// Idempotency-Key); everything else is tried exactly once.
    pub idempotent: bool,
    /// Absolute end of the caller's budget, shared across calls if wanted.
    pub deadline: Option<Instant>,
}

impl CallOptions {
    pub fn idempotent() -> Self {
        Self {
            idempotent: true,
            deadline: None,
        }
    }

    pub fn once() -> Self {
        Self {
            idempotent: false,
            deadline: None,
        }
    }

    pub fn with_deadline(self, deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..self
        }
    }

    /// Deadline `budget` from now; for a budget shared by several calls compute the
    /// `Instant` once and use [`CallOptions::with_deadline`] on each.
    pub fn with_budget(self, budget: Duration) -> Self {
        self.with_deadline(Instant::now() + budget)
    }
}

#[derive(Debug, Clone)]
pub struct Resilience {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    name: Arc<str>,
    settings: ResilienceSettings,
    breaker: Arc<Breaker>,
}

impl Resilience {
    pub fn new(name: impl Into<String>, settings: ResilienceSettings) -> Self {
        let name: Arc<str> = Arc::from(name.into());
        let breaker = Arc::new(Breaker::new(Arc::clone(&name), &settings.breaker));
        Self {
            inner: Arc::new(Shared {
                name,
                settings,
                breaker,
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn settings(&self) -> &ResilienceSettings {
        &self.inner.settings
    }

    pub fn snapshot(&self) -> BreakerSnapshot {
        self.inner.breaker.snapshot()
    }

    /// `f` is called once per attempt and must build a fresh request future each time.
    pub async fn call<T, E, F, Fut>(&self, idempotent: bool, f: F) -> Result<T, CallError<E>>
    where
        E: Classify,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let options = CallOptions {
            idempotent,
            deadline: None,
        };
        self.call_with(options, E::classify, f).await
    }

    /// Like [`Resilience::call`] with a deadline and a classifier that need not be
    /// the error type's own (e.g. for foreign error types).
    pub async fn call_with<T, E, F, Fut, C>(
        &self,
        options: CallOptions,
        classify: C,
        mut f: F,
    ) -> Result<T, CallError<E>>
    where
        C: Fn(&E) -> ErrorClass,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let settings = &self.inner.settings;
        let max_attempts = if options.idempotent {
            settings.retry.max_attempts.max(1)
        } else {
            1
        };
        let mut backoff = Backoff::new(&settings.retry);
        let mut attempt = 1;
        loop {
            let now = Instant::now();
            if options.deadline.is_some_and(|d| now >= d) {
                return Err(CallError::DeadlineExceeded);
            }
            let permit = self
                .inner
                .breaker
                .try_acquire()
                .map_err(|retry_after| CallError::Open { retry_after })?;
            let own_limit = now + settings.call_timeout;
            let (limit, cut_by_deadline) = match options.deadline {
                Some(d) if d < own_limit => (d, true),
                _ => (own_limit, false),
            };
            let error = match tokio::time::timeout_at(limit, f()).await {
                Ok(Ok(value)) => {
                    permit.record(Outcome::Success);
                    return Ok(value);
                }
                Ok(Err(error)) => {
                    let class = classify(&error);
                    let outcome = if class == ErrorClass::Benign {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                    permit.record(outcome);
                    if class != ErrorClass::Transient {
                        return Err(CallError::Failed(error));
                    }
                    CallError::Failed(error)
                }
                Err(_) if cut_by_deadline => {
                    drop(permit);
                    return Err(CallError::DeadlineExceeded);
                }
                Err(_) => {
                    permit.record(Outcome::Failure);
                    CallError::Timeout {
                        timeout: settings.call_timeout,
                    }
                }
            };
            if attempt >= max_attempts {
                return Err(error);
            }
            let delay = backoff.next_delay();
            if options
                .deadline
                .is_some_and(|d| Instant::now() + delay >= d)
            {
                // Waiting would eat the whole remaining budget; the caller learns more
                // from the real error than from DeadlineExceeded.
                return Err(error);
            }
            tracing::debug!(
                adapter = %self.inner.name,
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retrying outbound call"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}
