//! Runs the real binary with debug logging through a login / failed login / refresh /
//! validate / logout session and reads everything it printed: the requests are logged, but
//! no password and no token (nor a token's signature) appears; output to a file carries no
//! colour codes, and `LOG_FORMAT=json` writes one JSON object per line.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::http;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// What one session printed, and the secrets it used.
struct Session {
    logs: String,
    secrets: Vec<String>,
}

async fn run_session(log_format: &str) -> Session {
    let dir = std::env::temp_dir().join(format!("kt-logs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let log_path = dir.join("platform.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let user_port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_platform-e2e"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "debug")
        .env("LOG_FORMAT", log_format)
        .env("DATA_DIR", dir.join("data"))
        .env("HTTP_HOST", "127.0.0.1")
        .env("GRPC_HOST", "127.0.0.1")
        .env("USER_HTTP_PORT", user_port.to_string())
        .env("TICKETING_SANDBOX_PORT", free_port().to_string())
        .env("CDN_HTTP_PORT", free_port().to_string())
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log));
    for api in ["EVENT", "CONTENT", "TICKETING", "PRODUCT_CHANGE"] {
        command.env(format!("{api}_HTTP_PORT"), free_port().to_string());
    }
    for (service, _, _) in platform::config::SERVICES {
        command.env(format!("{}_GRPC_PORT", service.to_uppercase()), free_port().to_string());
    }
    let mut child = command.spawn().expect("platform starts");

    let base = format!("http://127.0.0.1:{user_port}");
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", user_port)).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "platform did not listen: {}", std::fs::read_to_string(&log_path).unwrap_or_default());

    let wrong_password = "Wr0ng-Secret-Pa55!";
    let password = "P@ssw0rd123!";
    let failed = http::post_json(&format!("{base}/api/v1/auth/login"), None, &json!({"username": "user001", "password": wrong_password})).await;
    assert_eq!(failed.status, 401);
    let login = http::post_json(&format!("{base}/api/v1/auth/login"), None, &json!({"username": "user001", "password": password})).await;
    assert_eq!(login.status, 200);
    let access = login.json["accessToken"].as_str().expect("access").to_owned();
    let refresh = login.json["refreshToken"].as_str().expect("refresh").to_owned();
    let rotated = http::post_json(&format!("{base}/api/v1/auth/refresh"), None, &json!({"refreshToken": refresh})).await;
    assert_eq!(rotated.status, 200);
    let new_access = rotated.json["accessToken"].as_str().expect("access").to_owned();
    let new_refresh = rotated.json["refreshToken"].as_str().expect("refresh").to_owned();
    let replay = http::post_json(&format!("{base}/api/v1/auth/refresh"), None, &json!({"refreshToken": refresh})).await;
    assert_eq!(replay.status, 401);
    assert_eq!(http::get(&format!("{base}/api/v1/auth/validate"), Some(&new_access)).await.status, 200);
    assert_eq!(http::get(&format!("{base}/api/v1/auth/validate"), Some("garbage-token-value")).await.status, 401);
    let logout = http::post_json(&format!("{base}/api/v1/auth/logout"), Some(&new_access), &serde_json::Value::Null).await;
    assert_eq!(logout.status, 200);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log_path).expect("logs");
    let _ = std::fs::remove_dir_all(&dir);

    let signature = |token: &str| token.rsplit('.').next().unwrap_or_default().to_owned();
    let secrets = [
        password.to_owned(),
        wrong_password.to_owned(),
        "garbage-token-value".to_owned(),
        access.clone(),
        refresh.clone(),
        new_access.clone(),
        new_refresh.clone(),
        signature(&access),
        signature(&refresh),
        signature(&new_access),
        signature(&new_refresh),
    ];
    Session { logs, secrets: secrets.to_vec() }
}

fn assert_no_secrets(session: &Session) {
    // The capture works: the session's requests are there.
    let logs = &session.logs;
    assert!(logs.contains("/api/v1/auth/login") && logs.contains("/api/v1/auth/logout"), "no access log lines:\n{logs}");
    assert!(logs.contains("login failed"), "no login failure line:\n{logs}");
    for secret in &session.secrets {
        assert!(!logs.contains(secret.as_str()), "a secret leaked into the logs: {}…", &secret[..8.min(secret.len())]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_passwords_or_tokens_and_no_colour_codes() {
    let session = run_session("text").await;
    assert_no_secrets(&session);
    assert!(!session.logs.contains('\u{1b}'), "escape codes in a log written to a file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let session = run_session("json").await;
    assert_no_secrets(&session);
    // The start-up banner (REST/gRPC URLs) is printed for people; every log line is JSON.
    let records: Vec<serde_json::Value> = session
        .logs
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let access: Vec<_> = records.iter().filter(|record| record["target"] == "access").collect();
    assert!(access.len() >= 7, "one access record per request, found {}", access.len());
    for record in access {
        assert!(record["status"].is_u64() && record["path"].is_string() && record["request_id"].is_string(), "{record}");
    }
    assert!(!session.logs.contains('\u{1b}'));
}
