//! Runs the real binary with debug logging through a login / failed login / refresh /
//! validate / logout session and reads everything it printed: the requests are logged, but
//! no password and no token (nor a token's signature) appears.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::http;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_passwords_or_tokens() {
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
        .env("DATA_DIR", dir.join("data"))
        .env("HTTP_HOST", "127.0.0.1")
        .env("GRPC_HOST", "127.0.0.1")
        .env("USER_HTTP_PORT", user_port.to_string())
        .env("USER_GRPC_PORT", free_port().to_string())
        .env("TICKETING_GRPC_PORT", free_port().to_string())
        .env("TICKETING_SANDBOX_PORT", free_port().to_string())
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log));
    for api in ["EVENT", "CONTENT", "TICKETING", "PRODUCT_CHANGE"] {
        command.env(format!("{api}_HTTP_PORT"), free_port().to_string());
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

    // The capture works: the session's requests are there.
    assert!(logs.contains("/api/v1/auth/login") && logs.contains("/api/v1/auth/logout"), "no access log lines:\n{logs}");
    assert!(logs.contains("login failed"), "no login failure line:\n{logs}");
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
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret leaked into the logs: {}…", &secret[..8.min(secret.len())]);
    }
}
