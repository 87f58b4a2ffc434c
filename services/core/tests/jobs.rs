//! Acceptance tests; each runs on every backend from `support::kinds()`.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use support::{Env, eventually, kinds, setup};
use service_core::jobs::{Backoff, EnqueueOptions, JobContext, JobError, JobState, Worker, WorkerOptions};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

fn fast_options() -> WorkerOptions {
    WorkerOptions {
        concurrency: 4,
        lease: Duration::from_millis(1500),
        poll_interval: Duration::from_millis(50),
        backoff: Backoff { base: Duration::from_millis(50), max: Duration::from_millis(200), jitter: 0.5 },
        shutdown_grace: Duration::from_secs(2),
    }
}

fn with_id(id: &str) -> EnqueueOptions {
    EnqueueOptions { job_id: Some(id.to_owned()), ..EnqueueOptions::default() }
}

async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(Env) -> Fut,
    Fut: std::future::Future<Output = Env>,
{
    for kind in kinds() {
        eprintln!("backend {kind:?}");
        let env = setup(kind).await;
        let env = test(env).await;
        env.teardown().await;
    }
}

// 1. PENDING → PROCESSING → COMPLETED with result; idempotent enqueue; every job delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_transitions_and_idempotent_enqueue() {
    for_each_backend(|env| async move {
        let kind = env.kind;
        let first = env.jobs.enqueue("q", json!({"n": 1}), with_id("job-1")).await.unwrap();
        let again = env.jobs.enqueue("q", json!({"n": 99}), with_id("job-1")).await.unwrap();
        assert_eq!((first.as_str(), again.as_str()), ("job-1", "job-1"));
        let record = env.record("job-1").await;
        assert_eq!((record.state, record.attempts, record.payload.clone()), (JobState::Pending, 0, json!({"n": 1})), "{kind:?}");
        let mut others = Vec::new();
        for n in 2..=10 {
            others.push(env.jobs.enqueue("q", json!({"n": n}), EnqueueOptions::default()).await.unwrap());
        }

        let runs: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (started_tx, mut started_rx) = tokio::sync::watch::channel(false);
        let (release_tx, release_rx) = tokio::sync::watch::channel(false);
        let started_tx = Arc::new(started_tx);
        let worker = Worker::new(&env.jobs, "q", fast_options(), {
            let runs = runs.clone();
            move |ctx: JobContext| {
                let runs = runs.clone();
                let started_tx = started_tx.clone();
                let mut release_rx = release_rx.clone();
                async move {
                    *runs.lock().unwrap().entry(ctx.id.clone()).or_default() += 1;
                    if ctx.id == "job-1" {
                        let _ = started_tx.send(true);
                        let _ = release_rx.wait_for(|released| *released).await;
                    }
                    let n = ctx.payload["n"].as_i64().unwrap_or(0);
                    Ok(json!({"double": n * 2}))
                }
            }
        })
        .spawn();

        started_rx.wait_for(|started| *started).await.unwrap();
        let record = env.record("job-1").await;
        assert_eq!((record.state, record.attempts), (JobState::Processing, 1), "{kind:?}");
        release_tx.send(true).unwrap();

        let all: Vec<String> = std::iter::once("job-1".to_owned()).chain(others).collect();
        eventually("all jobs completed", WAIT, || async {
            for id in &all {
                if env.state(id).await != Some(JobState::Completed) {
                    return false;
                }
            }
            true
        })
        .await;
        let record = env.record("job-1").await;
        assert_eq!(record.result, Some(json!({"double": 2})), "{kind:?}");
        assert_eq!(record.last_error, None);
        assert!(record.updated_at >= record.created_at);
        // Re-enqueueing a finished id changes nothing and runs nothing.
        env.jobs.enqueue("q", json!({"n": 5}), with_id("job-1")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(env.state("job-1").await, Some(JobState::Completed));
        worker.stop().await.unwrap();
        let runs = runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 10, "{kind:?}: every job ran");
        assert_eq!(runs.get("job-1"), Some(&1), "{kind:?}: the duplicate enqueue made no second job");
        env
    })
    .await;
}

// 2. Retries with backoff; dead letter after max_attempts with the last error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_with_backoff_then_dead_letter() {
    for_each_backend(|env| async move {
        let kind = env.kind;
        let max = |n| EnqueueOptions { max_attempts: Some(n), ..EnqueueOptions::default() };
        let flaky = env.jobs.enqueue("r", json!({"kind": "flaky"}), max(5)).await.unwrap();
        let always = env.jobs.enqueue("r", json!({"kind": "always"}), max(3)).await.unwrap();
        let permanent = env.jobs.enqueue("r", json!({"kind": "permanent"}), max(5)).await.unwrap();
        let worker = Worker::new(&env.jobs, "r", fast_options(), |ctx: JobContext| async move {
            match ctx.payload["kind"].as_str() {
                Some("flaky") if ctx.attempt < 3 => Err(JobError::retry(format!("flaky {}", ctx.attempt))),
                Some("always") => Err(JobError::retry(format!("boom {}", ctx.attempt))),
                Some("permanent") => Err(JobError::permanent("bad payload")),
                _ => Ok(json!({"attempt": ctx.attempt})),
            }
        })
        .spawn();
        eventually("retries settle", WAIT, || async {
            env.state(&flaky).await == Some(JobState::Completed)
                && env.state(&always).await == Some(JobState::Failed)
                && env.state(&permanent).await == Some(JobState::Failed)
        })
        .await;
        worker.stop().await.unwrap();
        let record = env.record(&flaky).await;
        assert_eq!((record.attempts, record.result.clone()), (3, Some(json!({"attempt": 3}))), "{kind:?}");
        assert_eq!(record.last_error.as_deref(), Some("flaky 2"), "{kind:?}");
        let record = env.record(&always).await;
        assert_eq!((record.attempts, record.last_error.as_deref()), (3, Some("boom 3")), "{kind:?}");
        assert_eq!(record.result, None);
        let record = env.record(&permanent).await;
        assert_eq!((record.attempts, record.last_error.as_deref()), (1, Some("bad payload")), "{kind:?}");
        env
    })
    .await;
}

// 3. A delayed job does not run before its run_at, and does run after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_job_runs_after_run_at() {
    for_each_backend(|env| async move {
        let kind = env.kind;
        let worker = Worker::new(&env.jobs, "d", fast_options(), |_ctx: JobContext| async move {
            Ok(json!({"ran_at_ms": Utc::now().timestamp_millis()}))
        })
        .spawn();
        let run_at = Utc::now() + chrono::TimeDelta::milliseconds(2000);
        let options = EnqueueOptions { run_at: Some(run_at), ..EnqueueOptions::default() };
        let delayed = env.jobs.enqueue("d", json!({}), options).await.unwrap();
        let now = env.jobs.enqueue("d", json!({}), EnqueueOptions::default()).await.unwrap();
        eventually("immediate job completed", WAIT, || async { env.state(&now).await == Some(JobState::Completed) }).await;
        eventually("delayed job completed", WAIT, || async { env.state(&delayed).await == Some(JobState::Completed) }).await;
        worker.stop().await.unwrap();
        let record = env.record(&delayed).await;
        let ran_at = record.result.as_ref().and_then(|r| r["ran_at_ms"].as_i64()).unwrap();
        assert!(ran_at >= run_at.timestamp_millis(), "{kind:?}: ran {ran_at} before {}", run_at.timestamp_millis());
        assert_eq!(record.attempts, 1);
        env
    })
    .await;
}

fn read_log(path: &std::path::Path) -> Vec<(String, String, u32, u32, i64)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                [what, id, attempt, pid, ms] => Some((
                    what.to_string(),
                    id.to_string(),
                    attempt.parse().ok()?,
                    pid.parse().ok()?,
                    ms.parse().ok()?,
                )),
                _ => None,
            }
        })
        .collect()
}

// 4. A worker process killed with SIGKILL mid-job: after a restart every job completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_process_loses_no_jobs() {
    for_each_backend(|env| async move {
        let kind = env.kind;
        let log = env.dir.join("runs.log");
        let mut ids = vec![env.jobs.enqueue("k", json!({"sleep_ms": 3000}), with_id("long")).await.unwrap()];
        for _ in 1..20 {
            ids.push(env.jobs.enqueue("k", json!({"sleep_ms": 100}), EnqueueOptions::default()).await.unwrap());
        }
        let mut first = env.worker_command("k", &log).spawn().unwrap();
        eventually("the long job started", WAIT, || async {
            read_log(&log).iter().any(|(what, id, ..)| what == "start" && id == "long")
        })
        .await;
        first.start_kill().unwrap();
        let _ = first.wait().await;
        assert_eq!(env.state("long").await, Some(JobState::Processing), "{kind:?}: killed mid-run");

        let mut second = env.worker_command("k", &log).spawn().unwrap();
        eventually("all 20 jobs completed", Duration::from_secs(60), || async {
            for id in &ids {
                if env.state(id).await != Some(JobState::Completed) {
                    return false;
                }
            }
            true
        })
        .await;
        second.start_kill().unwrap();
        let _ = second.wait().await;
        let mut completed = 0;
        for id in &ids {
            completed += usize::from(env.state(id).await == Some(JobState::Completed));
        }
        assert_eq!(completed, 20, "{kind:?}: 0 jobs lost");
        let long = env.record("long").await;
        assert!(long.attempts >= 2, "{kind:?}: the killed run was retried ({} attempts)", long.attempts);
        assert_ne!(long.result, None);
        env
    })
    .await;
}

// 5. Two worker processes never run one job at the same time; a stale worker cannot
//    complete a job that was claimed again after its lease lapsed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_overlap_and_stale_claims_are_fenced() {
    for_each_backend(|env| async move {
        let kind = env.kind;
        let log = env.dir.join("runs.log");
        let mut ids = Vec::new();
        for _ in 0..30 {
            ids.push(env.jobs.enqueue("p", json!({"sleep_ms": 40}), EnqueueOptions::default()).await.unwrap());
        }
        let mut a = env.worker_command("p", &log).spawn().unwrap();
        let mut b = env.worker_command("p", &log).spawn().unwrap();
        eventually("all 30 jobs completed", Duration::from_secs(60), || async {
            for id in &ids {
                if env.state(id).await != Some(JobState::Completed) {
                    return false;
                }
            }
            true
        })
        .await;
        a.start_kill().unwrap();
        b.start_kill().unwrap();
        let _ = (a.wait().await, b.wait().await);
        // Per job, its runs as (start, end): sorted by start, each must end before the next.
        let mut runs: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        let entries = read_log(&log);
        for (what, id, attempt, pid, start) in &entries {
            if what != "start" {
                continue;
            }
            let end = entries
                .iter()
                .find(|(w, i, at, p, _)| w == "end" && i == id && at == attempt && p == pid)
                .map(|e| e.4)
                .unwrap_or(i64::MAX);
            runs.entry(id.clone()).or_default().push((*start, end));
        }
        assert_eq!(runs.len(), 30, "{kind:?}: every job ran");
        for (id, mut spans) in runs {
            spans.sort();
            for pair in spans.windows(2) {
                assert!(pair[0].1 <= pair[1].0, "{kind:?}: job {id} ran twice at once: {spans:?}");
            }
        }

        // Fencing, with two handles on separate connections.
        let other = env.second_handle().await;
        env.jobs.enqueue("fence", json!({}), with_id("fenced")).await.unwrap();
        let lease = Duration::from_millis(800);
        let stale = env.jobs.claim("fence", "worker-a", lease, 1).await.unwrap();
        assert_eq!(stale.len(), 1, "{kind:?}");
        assert!(other.claim("fence", "worker-b", lease, 1).await.unwrap().is_empty(), "{kind:?}: lease holds");
        let deadline = std::time::Instant::now() + WAIT;
        let fresh = loop {
            let claimed = other.claim("fence", "worker-b", lease, 1).await.unwrap();
            if !claimed.is_empty() {
                break claimed;
            }
            assert!(std::time::Instant::now() < deadline, "{kind:?}: no re-claim after the lease");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(fresh[0].attempt, 2, "{kind:?}");
        assert_ne!(fresh[0].token(), stale[0].token());
        assert!(!env.jobs.heartbeat(&stale[0], "worker-a", lease).await.unwrap(), "{kind:?}");
        assert!(!env.jobs.complete(&stale[0], &json!("stale")).await.unwrap(), "{kind:?}");
        assert!(!env.jobs.fail(&stale[0], "stale", None).await.unwrap(), "{kind:?}");
        assert_eq!(env.state("fenced").await, Some(JobState::Processing));
        assert!(other.complete(&fresh[0], &json!("fresh")).await.unwrap(), "{kind:?}");
        let record = env.record("fenced").await;
        assert_eq!((record.state, record.result), (JobState::Completed, Some(json!("fresh"))), "{kind:?}");
        env
    })
    .await;
}

// 6. Every group gets every event; an event published while a group is down arrives later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_bus_delivers_to_every_group_and_survives_downtime() {
    for_each_backend(|env| async move {
        let kind = env.kind;
        let seen: Arc<Mutex<Vec<(String, String, Value)>>> = Arc::default();
        let handler = |seen: Arc<Mutex<Vec<(String, String, Value)>>>| {
            move |ctx: service_core::jobs::EventContext| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push((ctx.group, ctx.event_id, ctx.payload));
                    Ok(())
                }
            }
        };
        let got = |group: &str, event: &str| {
            seen.lock().unwrap().iter().filter(|(g, e, _)| g == group && e == event).count()
        };
        let topic = "booking.created";
        let mail = env.jobs.subscribe(topic, "mail", fast_options(), handler(seen.clone())).await.unwrap().spawn();
        let search = env.jobs.subscribe(topic, "search", fast_options(), handler(seen.clone())).await.unwrap().spawn();
        env.jobs.publish(topic, "e1", &json!({"booking": 1})).await.unwrap();
        env.jobs.publish(topic, "e2", &json!({"booking": 2})).await.unwrap();
        env.jobs.publish(topic, "e1", &json!({"booking": 1})).await.unwrap();
        env.jobs.publish("other.topic", "x1", &json!({})).await.unwrap();
        eventually("both groups got e1 and e2", WAIT, || async {
            ["mail", "search"].iter().all(|g| got(g, "e1") >= 1 && got(g, "e2") >= 1)
        })
        .await;

        search.stop().await.unwrap();
        env.jobs.publish(topic, "e3", &json!({"booking": 3})).await.unwrap();
        eventually("mail got e3", WAIT, || async { got("mail", "e3") >= 1 }).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(got("search", "e3"), 0, "{kind:?}: search is down");

        let search = env.jobs.subscribe(topic, "search", fast_options(), handler(seen.clone())).await.unwrap().spawn();
        eventually("search got e3 after restart", WAIT, || async { got("search", "e3") >= 1 }).await;
        mail.stop().await.unwrap();
        search.stop().await.unwrap();
        let seen = seen.lock().unwrap().clone();
        let pairs: HashSet<(String, String)> = seen.iter().map(|(g, e, _)| (g.clone(), e.clone())).collect();
        assert_eq!(pairs.len(), 6, "{kind:?}: {pairs:?}");
        assert_eq!(got("mail", "e1"), 1, "{kind:?}: a re-published event id is delivered once");
        assert!(seen.iter().any(|(g, e, p)| g == "mail" && e == "e2" && p == &json!({"booking": 2})));
        assert!(seen.iter().all(|(_, e, _)| e != "x1"), "{kind:?}: other topics stay out");
        env
    })
    .await;
}
