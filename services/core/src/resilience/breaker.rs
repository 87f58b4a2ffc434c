//! Failure-rate circuit breaker over a sliding window.
//!
//! All state sits behind one `std::sync::Mutex`: every critical section is a few
//! arithmetic operations and is never held across an `.await`, so an async lock would
//! only add cost. Time comes from `tokio::time::Instant` so tests can pause the clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Serialize, Serializer};
use tokio::time::Instant;

use crate::resilience::settings::BreakerSettings;

/// Retry hint while HALF-OPEN with every probe slot taken: the probes finish (or time
/// out) soon and then either close the breaker or report the full open duration.
pub const HALF_OPEN_BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// Point-in-time view for metrics, logs and the 503 body (`circuitBreakerState`).
/// While HALF-OPEN, `failure_rate`/`calls_in_window`/`failures_in_window` describe the
/// probes of the current half-open period; while OPEN, the window that tripped it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerSnapshot {
    pub name: String,
    pub state: BreakerState,
    pub failure_rate: f64,
    pub calls_in_window: usize,
    pub failures_in_window: usize,
    #[serde(rename = "time_until_half_open_ms", serialize_with = "as_millis")]
    pub time_until_half_open: Option<Duration>,
    pub half_open_in_flight: usize,
    /// Calls refused without reaching the adapter, since creation.
    pub rejected_total: u64,
    /// Times the breaker went OPEN, since creation.
    pub opened_total: u64,
}

fn as_millis<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Failure,
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open {
        until: Instant,
    },
    HalfOpen {
        admitted: usize,
        successes: usize,
        failures: usize,
    },
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    /// Bumped on every transition so that an outcome of a call admitted under an
    /// earlier phase cannot skew the statistics of the current one.
    generation: u64,
    window: VecDeque<(Instant, Outcome)>,
    window_failures: usize,
    rejected_total: u64,
    opened_total: u64,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    name: Arc<str>,
    settings: BreakerSettings,
    inner: Mutex<Inner>,
}

/// Admission to call the adapter. Dropping it without `record` (the caller's future
/// was cancelled or cut by its deadline) gives a half-open probe slot back.
#[derive(Debug)]
pub(crate) struct Permit {
    breaker: Arc<Breaker>,
    generation: u64,
    probe: bool,
    settled: bool,
}

impl Permit {
    pub(crate) fn record(mut self, outcome: Outcome) {
        self.settled = true;
        self.breaker
            .on_outcome(self.generation, self.probe, outcome);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.settled && self.probe {
            self.breaker.on_probe_cancelled(self.generation);
        }
    }
}

impl Breaker {
    pub(crate) fn new(name: Arc<str>, settings: &BreakerSettings) -> Self {
        Self {
            name,
            settings: settings.normalized(),
            inner: Mutex::new(Inner {
                phase: Phase::Closed,
                generation: 0,
                window: VecDeque::new(),
                window_failures: 0,
                rejected_total: 0,
                opened_total: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code panics while holding the lock, so a poisoned state is still coherent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err(retry_after)` when the call must fail fast.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Result<Permit, Duration> {
        let now = Instant::now();
        let mut inner = self.lock();
        self.advance(&mut inner, now);
        let generation = inner.generation;
        let probes = self.settings.half_open_probes;
        match &mut inner.phase {
            Phase::Closed => Ok(self.permit(generation, false)),
            Phase::HalfOpen { admitted, .. } if *admitted < probes => {
                *admitted += 1;
                Ok(self.permit(generation, true))
            }
            Phase::HalfOpen { .. } => {
                inner.rejected_total += 1;
                Err(HALF_OPEN_BUSY_RETRY_AFTER)
            }
            Phase::Open { until } => {
                let retry_after = until.saturating_duration_since(now);
                inner.rejected_total += 1;
                Err(retry_after)
            }
        }
    }

    fn permit(self: &Arc<Self>, generation: u64, probe: bool) -> Permit {
        Permit {
            breaker: Arc::clone(self),
            generation,
            probe,
            settled: false,
        }
    }

    pub(crate) fn snapshot(&self) -> BreakerSnapshot {
        let now = Instant::now();
        let mut inner = self.lock();
        self.advance(&mut inner, now);
        let (calls, failures) = stats(&inner);
        let (until, in_flight) = match inner.phase {
            Phase::Closed => (None, 0),
            Phase::Open { until } => (Some(until.saturating_duration_since(now)), 0),
            Phase::HalfOpen {
                admitted,
                successes,
                failures,
            } => (None, admitted.saturating_sub(successes + failures)),
        };
        let state = phase_state(&inner.phase);
        BreakerSnapshot {
            name: self.name.to_string(),
            state,
            failure_rate: rate(failures, calls),
            calls_in_window: calls,
            failures_in_window: failures,
            time_until_half_open: until,
            half_open_in_flight: in_flight,
            rejected_total: inner.rejected_total,
            opened_total: inner.opened_total,
        }
    }

    /// Applies the transitions that depend only on the clock.
    fn advance(&self, inner: &mut Inner, now: Instant) {
        if let Phase::Open { until } = inner.phase
            && now >= until
        {
            self.transition(
                inner,
                Phase::HalfOpen {
                    admitted: 0,
                    successes: 0,
                    failures: 0,
                },
                now,
            );
        }
        self.evict_expired(inner, now);
    }

    fn evict_expired(&self, inner: &mut Inner, now: Instant) {
        let Some(max_age) = self.settings.window_duration else {
            return;
        };
        while let Some(&(at, outcome)) = inner.window.front() {
            if now.saturating_duration_since(at) < max_age {
                break;
            }
            inner.window.pop_front();
            if outcome == Outcome::Failure {
                inner.window_failures -= 1;
            }
        }
    }

    fn on_outcome(&self, generation: u64, probe: bool, outcome: Outcome) {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if probe {
            self.on_probe_outcome(&mut inner, outcome, now);
        } else {
            self.on_closed_outcome(&mut inner, outcome, now);
        }
    }

    fn on_closed_outcome(&self, inner: &mut Inner, outcome: Outcome, now: Instant) {
        self.evict_expired(inner, now);
        inner.window.push_back((now, outcome));
        if outcome == Outcome::Failure {
            inner.window_failures += 1;
        }
        while inner.window.len() > self.settings.window_size {
            if let Some((_, Outcome::Failure)) = inner.window.pop_front() {
                inner.window_failures -= 1;
            }
        }
        let calls = inner.window.len();
        if calls >= self.settings.minimum_calls && self.trips(inner.window_failures, calls) {
            let until = now + self.settings.open_duration;
            self.transition(inner, Phase::Open { until }, now);
        }
    }

    fn on_probe_outcome(&self, inner: &mut Inner, outcome: Outcome, now: Instant) {
        let probes = self.settings.half_open_probes;
        let Phase::HalfOpen {
            successes,
            failures,
            ..
        } = &mut inner.phase
        else {
            return;
        };
        match outcome {
            Outcome::Success => *successes += 1,
            Outcome::Failure => *failures += 1,
        }
        let (done, failed) = (*successes + *failures, *failures);
        // Open as soon as the failures alone reach the threshold over all probes: the
        // remaining probes could not bring the rate back below it.
        if self.trips(failed, probes) {
            let until = now + self.settings.open_duration;
            self.transition(inner, Phase::Open { until }, now);
        } else if done >= probes {
            self.transition(inner, Phase::Closed, now);
        }
    }

    fn on_probe_cancelled(&self, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if let Phase::HalfOpen { admitted, .. } = &mut inner.phase {
            *admitted = admitted.saturating_sub(1);
        }
    }

    fn trips(&self, failures: usize, calls: usize) -> bool {
        calls > 0 && rate(failures, calls) >= self.settings.failure_rate_threshold
    }

    fn transition(&self, inner: &mut Inner, to: Phase, now: Instant) {
        let from = phase_state(&inner.phase);
        let (calls, failures) = stats(inner);
        let failure_rate = rate(failures, calls);
        inner.generation += 1;
        match &to {
            Phase::Open { until } => {
                inner.opened_total += 1;
                tracing::warn!(
                    adapter = %self.name,
                    from = ?from,
                    to = "OPEN",
                    failure_rate,
                    calls_in_window = calls,
                    open_for_ms = until.saturating_duration_since(now).as_millis() as u64,
                    "circuit breaker state change"
                );
            }
            Phase::HalfOpen { .. } | Phase::Closed => {
                // A fresh period starts; old outcomes must not decide the next verdict.
                inner.window.clear();
                inner.window_failures = 0;
                tracing::info!(
                    adapter = %self.name,
                    from = ?from,
                    to = ?phase_state(&to),
                    "circuit breaker state change"
                );
            }
        }
        inner.phase = to;
    }
}

fn phase_state(phase: &Phase) -> BreakerState {
    match phase {
        Phase::Closed => BreakerState::Closed,
        Phase::Open { .. } => BreakerState::Open,
        Phase::HalfOpen { .. } => BreakerState::HalfOpen,
    }
}

/// (calls, failures) that currently decide the verdict: the probes while HALF-OPEN,
/// the sliding window otherwise.
fn stats(inner: &Inner) -> (usize, usize) {
    match inner.phase {
        Phase::HalfOpen {
            successes,
            failures,
            ..
        } => (successes + failures, failures),
        _ => (inner.window.len(), inner.window_failures),
    }
}

fn rate(failures: usize, calls: usize) -> f64 {
    if calls == 0 {
        0.0
    } else {
        failures as f64 / calls as f64
    }
}
