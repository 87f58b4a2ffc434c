//! Behaviour of the composed call path. Time is tokio's paused clock: sleeps and
//! timeouts complete instantly and `Instant` differences are exact.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TestError {
    Transient,
    Permanent,
    Benign,
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for TestError {}

impl Classify for TestError {
    fn classify(&self) -> ErrorClass {
        match self {
            TestError::Transient => ErrorClass::Transient,
            TestError::Permanent => ErrorClass::Permanent,
            TestError::Benign => ErrorClass::Benign,
        }
    }
}

type Res = Result<(), CallError<TestError>>;

const OPEN_FOR: Duration = Duration::from_secs(30);

fn settings(window: usize, min: usize, threshold: f64, probes: usize) -> ResilienceSettings {
    ResilienceSettings {
        call_timeout: Duration::from_secs(1),
        retry: RetrySettings {
            max_attempts: 1,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            jitter: Jitter::None,
        },
        breaker: BreakerSettings {
            window_size: window,
            window_duration: None,
            minimum_calls: min,
            failure_rate_threshold: threshold,
            open_duration: OPEN_FOR,
            half_open_probes: probes,
        },
    }
}

fn with_retries(mut s: ResilienceSettings, attempts: u32, jitter: Jitter) -> ResilienceSettings {
    s.retry.max_attempts = attempts;
    s.retry.jitter = jitter;
    s
}

async fn ok(r: &Resilience) -> Res {
    r.call(false, || async { Ok::<(), TestError>(()) }).await
}

async fn fail(r: &Resilience) -> Res {
    r.call(false, || async { Err::<(), _>(TestError::Transient) })
        .await
}

#[track_caller]
fn assert_snap(r: &Resilience, state: BreakerState, calls: usize, failures: usize) {
    let s = r.snapshot();
    assert_eq!(
        (s.state, s.calls_in_window, s.failures_in_window),
        (state, calls, failures),
        "{s:?}"
    );
    let expected_rate = if calls == 0 {
        0.0
    } else {
        failures as f64 / calls as f64
    };
    assert_eq!(s.failure_rate, expected_rate);
}

/// Calls that always fail transiently, returning the instants of the attempts.
async fn failing_attempt_times(r: &Resilience, idempotent: bool) -> (Res, Vec<Instant>) {
    let times = Mutex::new(Vec::new());
    let result = r
        .call(idempotent, || {
            times.lock().unwrap().push(Instant::now());
            async { Err::<(), _>(TestError::Transient) }
        })
        .await;
    (result, times.into_inner().unwrap())
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn timeout_fires_and_counts_as_failure() {
    let r = Resilience::new("t", settings(10, 10, 0.5, 1));
    let start = Instant::now();
    let result: Res = r
        .call(false, || async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(())
        })
        .await;
    assert!(
        matches!(result, Err(CallError::Timeout { timeout }) if timeout == Duration::from_secs(1))
    );
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_snap(&r, BreakerState::Closed, 1, 1);
}

#[tokio::test(start_paused = true)]
async fn timed_out_idempotent_call_is_retried_and_each_timeout_counts() {
    let r = Resilience::new("t", with_retries(settings(10, 10, 0.5, 1), 3, Jitter::None));
    let start = Instant::now();
    let attempts = AtomicU32::new(0);
    let result: Res = r
        .call(true, || {
            attempts.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok(())
            }
        })
        .await;
    assert!(matches!(result, Err(CallError::Timeout { .. })));
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    // 1 s + 100 ms + 1 s + 200 ms + 1 s
    assert_eq!(start.elapsed(), Duration::from_millis(3_300));
    assert_snap(&r, BreakerState::Closed, 3, 3);
}

#[tokio::test(start_paused = true)]
async fn non_idempotent_call_is_tried_once() {
    let r = Resilience::new("t", with_retries(settings(10, 10, 0.5, 1), 5, Jitter::Full));
    let (result, times) = failing_attempt_times(&r, false).await;
    assert!(matches!(
        result,
        Err(CallError::Failed(TestError::Transient))
    ));
    assert_eq!(times.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn idempotent_transient_failures_are_retried_up_to_the_bound() {
    let r = Resilience::new("t", with_retries(settings(10, 10, 0.5, 1), 4, Jitter::Full));
    let (result, times) = failing_attempt_times(&r, true).await;
    assert!(matches!(
        result,
        Err(CallError::Failed(TestError::Transient))
    ));
    assert_eq!(times.len(), 4);
    assert_snap(&r, BreakerState::Closed, 4, 4);
}

#[tokio::test(start_paused = true)]
async fn permanent_and_benign_errors_are_not_retried() {
    let r = Resilience::new("t", with_retries(settings(10, 10, 0.5, 1), 4, Jitter::None));
    for error in [TestError::Permanent, TestError::Benign] {
        let attempts = AtomicU32::new(0);
        let result: Res = r
            .call(true, || {
                attempts.fetch_add(1, Ordering::SeqCst);
                async move { Err(error) }
            })
            .await;
        assert!(matches!(result, Err(CallError::Failed(e)) if e == error));
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
    // The permanent error counted as a failure, the benign one as a success.
    assert_snap(&r, BreakerState::Closed, 2, 1);
}

#[tokio::test(start_paused = true)]
async fn retry_returns_the_first_success() {
    let r = Resilience::new("t", with_retries(settings(10, 10, 0.5, 1), 5, Jitter::None));
    let attempts = AtomicU32::new(0);
    let result = r
        .call(true, || {
            let n = attempts.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    Err(TestError::Transient)
                } else {
                    Ok(n)
                }
            }
        })
        .await;
    assert_eq!(result.ok(), Some(2));
    assert_snap(&r, BreakerState::Closed, 3, 2);
}

#[tokio::test(start_paused = true)]
async fn backoff_without_jitter_doubles_up_to_the_cap() {
    let r = Resilience::new("t", with_retries(settings(10, 10, 0.5, 1), 5, Jitter::None));
    let (_, times) = failing_attempt_times(&r, true).await;
    let ms: Vec<u128> = gaps(&times).iter().map(Duration::as_millis).collect();
    assert_eq!(ms, vec![100, 200, 400, 500]);
}

#[tokio::test(start_paused = true)]
async fn jittered_backoff_delays_stay_within_bounds() {
    for _ in 0..20 {
        let r = Resilience::new("t", with_retries(settings(10, 10, 0.5, 1), 5, Jitter::Full));
        let (_, times) = failing_attempt_times(&r, true).await;
        let ceilings = [100, 200, 400, 500].map(Duration::from_millis);
        for (gap, ceiling) in gaps(&times).into_iter().zip(ceilings) {
            assert!(gap <= ceiling, "full jitter {gap:?} > {ceiling:?}");
        }

        let r = Resilience::new(
            "t",
            with_retries(settings(10, 10, 0.5, 1), 5, Jitter::Decorrelated),
        );
        let (_, times) = failing_attempt_times(&r, true).await;
        let mut previous = Duration::from_millis(100);
        for gap in gaps(&times) {
            let upper = (previous * 3).min(Duration::from_millis(500));
            assert!(
                gap >= Duration::from_millis(100) && gap <= upper,
                "decorrelated {gap:?}"
            );
            previous = gap;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn retries_stop_when_the_breaker_opens() {
    let r = Resilience::new("t", with_retries(settings(2, 2, 1.0, 1), 5, Jitter::None));
    let (result, times) = failing_attempt_times(&r, true).await;
    assert_eq!(times.len(), 2);
    // Opened by the attempt at 100 ms; the third attempt comes after a 200 ms backoff.
    let expected = OPEN_FOR - Duration::from_millis(200);
    assert!(matches!(result, Err(CallError::Open { retry_after }) if retry_after == expected));
}

#[tokio::test(start_paused = true)]
async fn breaker_stays_closed_below_minimum_calls_even_at_full_failure() {
    let r = Resilience::new("t", settings(10, 5, 0.5, 1));
    for n in 1..=4 {
        assert!(fail(&r).await.is_err());
        assert_snap(&r, BreakerState::Closed, n, n);
    }
    assert!(matches!(fail(&r).await, Err(CallError::Failed(_))));
    assert_snap(&r, BreakerState::Open, 5, 5);
}

#[tokio::test(start_paused = true)]
async fn breaker_opens_at_exactly_the_threshold() {
    let r = Resilience::new("t", settings(10, 5, 0.5, 1));
    for _ in 0..5 {
        ok(&r).await.unwrap();
    }
    // 1/6, 2/7, 3/8, 4/9: all below 50 %.
    for n in 1..=4 {
        assert!(fail(&r).await.is_err());
        assert_snap(&r, BreakerState::Closed, 5 + n, n);
    }
    assert!(fail(&r).await.is_err());
    assert_snap(&r, BreakerState::Open, 10, 5);
    let s = r.snapshot();
    assert_eq!(
        (s.opened_total, s.time_until_half_open),
        (1, Some(OPEN_FOR))
    );
}

#[tokio::test(start_paused = true)]
async fn open_breaker_rejects_fast_with_remaining_time() {
    let r = Resilience::new("t", settings(4, 2, 0.5, 1));
    for _ in 0..2 {
        assert!(fail(&r).await.is_err());
    }
    tokio::time::advance(Duration::from_millis(10_400)).await;
    let called = AtomicU32::new(0);
    let result: Res = r
        .call(true, || {
            called.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .await;
    let expected = Duration::from_millis(19_600);
    assert!(matches!(&result, Err(CallError::Open { retry_after }) if *retry_after == expected));
    assert_eq!(result.err().and_then(|e| e.retry_after_secs()), Some(20));
    assert_eq!(called.load(Ordering::SeqCst), 0);
    let s = r.snapshot();
    assert_eq!(
        (s.state, s.rejected_total, s.time_until_half_open),
        (BreakerState::Open, 1, Some(expected))
    );
}

#[tokio::test(start_paused = true)]
async fn half_open_after_open_duration_then_closes_when_probes_succeed() {
    let r = Resilience::new("t", settings(4, 2, 0.5, 2));
    for _ in 0..2 {
        assert!(fail(&r).await.is_err());
    }
    tokio::time::advance(OPEN_FOR - Duration::from_millis(1)).await;
    assert_eq!(r.snapshot().state, BreakerState::Open);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_snap(&r, BreakerState::HalfOpen, 0, 0);
    ok(&r).await.unwrap();
    assert_snap(&r, BreakerState::HalfOpen, 1, 0);
    ok(&r).await.unwrap();
    assert_snap(&r, BreakerState::Closed, 0, 0);
}

#[tokio::test(start_paused = true)]
async fn half_open_reopens_when_a_probe_fails() {
    let r = Resilience::new("t", settings(4, 2, 0.5, 1));
    for _ in 0..2 {
        assert!(fail(&r).await.is_err());
    }
    tokio::time::advance(OPEN_FOR).await;
    assert!(matches!(fail(&r).await, Err(CallError::Failed(_))));
    let s = r.snapshot();
    assert_eq!(
        (s.state, s.opened_total, s.time_until_half_open),
        (BreakerState::Open, 2, Some(OPEN_FOR))
    );
    assert!(
        matches!(ok(&r).await, Err(CallError::Open { retry_after }) if retry_after == OPEN_FOR)
    );
}

#[tokio::test(start_paused = true)]
async fn half_open_probe_failure_rate_below_threshold_closes() {
    // 1 failure out of 3 probes is 33 % < 50 %.
    let r = Resilience::new("t", settings(4, 2, 0.5, 3));
    for _ in 0..2 {
        assert!(fail(&r).await.is_err());
    }
    tokio::time::advance(OPEN_FOR).await;
    assert!(fail(&r).await.is_err());
    ok(&r).await.unwrap();
    assert_snap(&r, BreakerState::HalfOpen, 2, 1);
    ok(&r).await.unwrap();
    assert_snap(&r, BreakerState::Closed, 0, 0);
}

async fn open_then_half_open(r: &Resilience) {
    for _ in 0..2 {
        assert!(fail(r).await.is_err());
    }
    tokio::time::advance(OPEN_FOR).await;
}

/// Spawns a probe that reports when it started and then waits for `gate`.
fn spawn_blocked_probe(
    r: &Resilience,
    gate: &Arc<Semaphore>,
    started: &mpsc::UnboundedSender<()>,
) -> tokio::task::JoinHandle<Res> {
    let (r, gate, started) = (r.clone(), Arc::clone(gate), started.clone());
    tokio::spawn(async move {
        r.call(false, move || {
            let (gate, started) = (Arc::clone(&gate), started.clone());
            async move {
                let _ = started.send(());
                let _permit = gate.acquire().await;
                Ok(())
            }
        })
        .await
    })
}

#[tokio::test(start_paused = true)]
async fn half_open_lets_only_the_configured_probes_through_concurrently() {
    let r = Resilience::new("t", settings(4, 2, 0.5, 2));
    open_then_half_open(&r).await;
    let gate = Arc::new(Semaphore::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let probes = [
        spawn_blocked_probe(&r, &gate, &tx),
        spawn_blocked_probe(&r, &gate, &tx),
    ];
    for _ in 0..2 {
        rx.recv().await.unwrap();
    }
    assert_eq!(r.snapshot().half_open_in_flight, 2);
    let result = ok(&r).await;
    assert!(
        matches!(result, Err(CallError::Open { retry_after }) if retry_after == HALF_OPEN_BUSY_RETRY_AFTER)
    );
    assert_eq!(r.snapshot().rejected_total, 1);
    gate.add_permits(2);
    for probe in probes {
        probe.await.unwrap().unwrap();
    }
    assert_snap(&r, BreakerState::Closed, 0, 0);
}

#[tokio::test(start_paused = true)]
async fn cancelled_probe_gives_its_slot_back() {
    let r = Resilience::new("t", settings(4, 2, 0.5, 1));
    open_then_half_open(&r).await;
    let gate = Arc::new(Semaphore::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let probe = spawn_blocked_probe(&r, &gate, &tx);
    rx.recv().await.unwrap();
    assert!(matches!(ok(&r).await, Err(CallError::Open { .. })));
    probe.abort();
    assert!(probe.await.unwrap_err().is_cancelled());
    assert_eq!(r.snapshot().half_open_in_flight, 0);
    ok(&r).await.unwrap();
    assert_snap(&r, BreakerState::Closed, 0, 0);
}

#[tokio::test(start_paused = true)]
async fn outcome_of_a_call_admitted_before_a_transition_is_ignored() {
    let mut s = settings(4, 2, 0.5, 1);
    // Longer than the open period, so the slow call really completes late.
    s.call_timeout = Duration::from_secs(120);
    let r = Resilience::new("t", s);
    let gate = Arc::new(Semaphore::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let slow = spawn_blocked_probe(&r, &gate, &tx);
    rx.recv().await.unwrap();
    open_then_half_open(&r).await;
    // The slow call was admitted while CLOSED; its late success must not count as a probe.
    gate.add_permits(1);
    slow.await.unwrap().unwrap();
    assert_snap(&r, BreakerState::HalfOpen, 0, 0);
}

#[tokio::test(start_paused = true)]
async fn count_window_forgets_outcomes_older_than_the_last_n_calls() {
    let r = Resilience::new("t", settings(4, 4, 0.75, 1));
    assert!(fail(&r).await.is_err());
    assert!(fail(&r).await.is_err());
    for _ in 0..4 {
        ok(&r).await.unwrap();
    }
    assert_snap(&r, BreakerState::Closed, 4, 0);
    assert!(fail(&r).await.is_err());
    assert!(fail(&r).await.is_err());
    assert_snap(&r, BreakerState::Closed, 4, 2);
    assert!(fail(&r).await.is_err());
    assert_snap(&r, BreakerState::Open, 4, 3);
}

#[tokio::test(start_paused = true)]
async fn time_window_forgets_outcomes_older_than_its_duration() {
    let mut s = settings(10, 5, 0.5, 1);
    s.breaker.window_duration = Some(Duration::from_secs(60));
    let r = Resilience::new("t", s);
    for _ in 0..3 {
        assert!(fail(&r).await.is_err());
    }
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_snap(&r, BreakerState::Closed, 3, 3);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_snap(&r, BreakerState::Closed, 0, 0);
    for _ in 0..4 {
        assert!(fail(&r).await.is_err());
    }
    assert_snap(&r, BreakerState::Closed, 4, 4);
}

#[tokio::test(start_paused = true)]
async fn deadline_bounds_the_whole_retry_loop() {
    let s = with_retries(settings(10, 10, 0.5, 1), 10, Jitter::None);
    let r = Resilience::new("t", s);
    let start = Instant::now();
    let options = CallOptions::idempotent().with_deadline(start + Duration::from_millis(2_500));
    let result: Res = r
        .call_with(options, TestError::classify, || async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(())
        })
        .await;
    // Attempts at 0 s and 1.1 s time out; the third (2.3 s) is cut at the deadline.
    assert!(matches!(result, Err(CallError::DeadlineExceeded)));
    assert_eq!(start.elapsed(), Duration::from_millis(2_500));
    assert_snap(&r, BreakerState::Closed, 2, 2);
}

#[tokio::test(start_paused = true)]
async fn image_preset_opens_only_above_half_failures() {
    let r = Resilience::new("image", ResilienceSettings::image_generation());
    for _ in 0..5 {
        ok(&r).await.unwrap();
    }
    for _ in 0..5 {
        assert!(fail(&r).await.is_err());
    }
    assert_snap(&r, BreakerState::Closed, 10, 5);
    assert!(fail(&r).await.is_err());
    assert_snap(&r, BreakerState::Open, 10, 6);
}

#[test]
fn presets_fit_the_project_budgets() {
    let channel = ResilienceSettings::distribution_channel();
    let worst = channel.call_timeout * channel.retry.max_attempts + channel.retry.max_delay;
    assert!(worst < DISTRIBUTION_TOTAL_BUDGET);
    for s in [
        ResilienceSettings::kos(),
        ResilienceSettings::stripe(),
        channel,
    ] {
        assert!(
            s.retry.max_attempts > 1,
            "idempotent calls should be retried"
        );
        assert!(s.breaker.minimum_calls <= s.breaker.window_size);
    }
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    let open: CallError<TestError> = CallError::Open {
        retry_after: Duration::from_millis(29_001),
    };
    assert_eq!(open.retry_after_secs(), Some(30));
    let exact: CallError<TestError> = CallError::Open {
        retry_after: Duration::from_secs(30),
    };
    assert_eq!(exact.retry_after_secs(), Some(30));
    assert_eq!(
        CallError::Failed(TestError::Permanent).retry_after_secs(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_keep_the_window_consistent() {
    let r = Resilience::new("t", settings(1_000, 1_000, 0.5, 1));
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                if i % 2 == 0 {
                    ok(&r).await
                } else {
                    fail(&r).await
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await.unwrap();
    }
    assert_snap(&r, BreakerState::Closed, 400, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_failures_open_the_breaker_once() {
    let r = Resilience::new("t", settings(10, 5, 0.5, 1));
    let executed = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (r, executed) = (r.clone(), Arc::clone(&executed));
            tokio::spawn(async move {
                r.call(false, || {
                    executed.fetch_add(1, Ordering::SeqCst);
                    async {
                        tokio::task::yield_now().await;
                        Err::<(), _>(TestError::Transient)
                    }
                })
                .await
            })
        })
        .collect();
    let mut rejected = 0;
    for t in tasks {
        if let Err(CallError::Open { .. }) = t.await.unwrap() {
            rejected += 1;
        }
    }
    let s = r.snapshot();
    assert_eq!((s.state, s.opened_total), (BreakerState::Open, 1));
    assert_eq!(s.rejected_total, rejected);
    assert_eq!(u64::from(executed.load(Ordering::SeqCst)) + rejected, 200);
    assert!(executed.load(Ordering::SeqCst) >= 5);
}
