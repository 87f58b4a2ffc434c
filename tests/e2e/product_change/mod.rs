//! The MVNO Product-Change Service through the gateway over HTTP (base path
//! `/v1/product-change`), with the KOS simulator behind it misbehaving on demand, on every
//! backend. Every body is checked against product-change-service.yaml.

mod faults;
mod grpc;
mod roles;
mod rules;
mod story;

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use serde_json::{Value, json};

use contracts::auth::{Claims, ISSUER, TokenKind};
use contracts::proto::kos::v1::Faults;
use contracts::proto::kos::v1::kos_service_client::KosServiceClient;
use service_core::SigningKeys;

use crate::support::http::{self, Reply};
use crate::support::spec::{Spec, assert_response};
use crate::support::stack::{Backend, Stack};

pub static SPEC: LazyLock<Spec> = LazyLock::new(|| Spec::load("product-change-service.yaml"));

/// user001's lines in the KOS seed: active on PLAN001 (MVNO001), and suspended on PLAN002.
pub const LINE: &str = "01012345678";
pub const SUSPENDED_LINE: &str = "01087654321";
/// user002's line (another customer).
pub const OTHER_LINE: &str = "01023456789";

/// Settings the tests share: a short breaker, provisioning slow enough to watch.
pub fn settings(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut values: HashMap<String, String> = [
        ("KOS_BREAKER_OPEN_MS", "1500"),
        ("KOS_DEFERRED_COMPLETION_MS", "3000"),
        ("PRODUCT_CHANGE_SYNC_BUDGET_MS", "3000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    values.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    values
}

/// A stack and a caller.
pub struct Pc {
    pub stack: Stack,
    pub token: String,
}

impl Pc {
    pub async fn start(backend: &Backend, extra: &[(&str, &str)]) -> Pc {
        let stack = Stack::start_with(backend, settings(extra)).await;
        let token = login(&stack).await;
        Pc { stack, token }
    }

    pub fn url(&self, path: &str) -> String {
        self.stack.url("product_change", path)
    }

    pub async fn get(&self, path: &str) -> Reply {
        http::get(&self.url(path), Some(&self.token)).await
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        http::get(&self.url(path), Some(token)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        http::post_json(&self.url(path), Some(&self.token), body).await
    }

    pub async fn change(&self, line: &str, current: &str, target: &str) -> Reply {
        self.post("/products/change", &json!({"lineNumber": line, "currentProductCode": current, "targetProductCode": target}))
            .await
    }

    pub async fn validate(&self, line: &str, current: &str, target: &str) -> Reply {
        let body = json!({"lineNumber": line, "currentProductCode": current, "targetProductCode": target});
        self.post("/products/change/validation", &body).await
    }

    /// A valid token for another portal user (signed with the stack's own key).
    pub fn token_for(&self, username: &str) -> String {
        let keys = SigningKeys::load_dir(&self.stack.data_dir.join("keys"), false).expect("stack keys");
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: username.into(),
            aud: "meeting".into(),
            exp: now + 600,
            nbf: now - 5,
            iat: now - 5,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: uuid::Uuid::new_v4().to_string(),
            typ: TokenKind::Access,
            username: username.into(),
            roles: vec!["USER".into()],
        };
        keys.sign(&claims).expect("signed")
    }

    pub async fn kos(&self) -> KosServiceClient<tonic::transport::Channel> {
        KosServiceClient::connect(format!("http://{}", self.stack.grpc("kos"))).await.expect("KOS gRPC")
    }

    pub async fn set_faults(&self, error_rate: f64, latency_ms: u32, down: bool) {
        self.kos().await.set_faults(Faults { error_rate, latency_ms, down }).await.expect("SetFaults");
    }

    /// Polls getProductChangeResult until the request reaches `status` (every answer checked).
    pub async fn wait_for_result(&self, request_id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..300 {
            let reply = self.get(&format!("/products/change/{request_id}")).await;
            documented("getProductChangeResult", &reply, 200);
            if reply.json["data"]["processStatus"] == status {
                return reply.json;
            }
            last = reply.json;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("request {request_id} never reached {status}: {last}");
    }

    /// Polls the history (built asynchronously from events) until `request_id` shows `status`.
    pub async fn wait_for_history(&self, query: &str, request_id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..300 {
            let reply = self.get(&format!("/products/history{query}")).await;
            documented("getProductChangeHistory", &reply, 200);
            let items = reply.json["data"]["history"].as_array().cloned().unwrap_or_default();
            if items.iter().any(|item| item["requestId"] == request_id && item["processStatus"] == status) {
                return reply.json;
            }
            last = reply.json;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("history never showed {request_id} as {status}: {last}");
    }

    pub async fn stop(self) {
        self.stack.stop().await;
    }
}

pub async fn login(stack: &Stack) -> String {
    let reply = http::post_json(
        &stack.url("user", "/api/v1/auth/login"),
        None,
        &json!({"username": "user001", "password": "P@ssw0rd123!"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json["accessToken"].as_str().expect("accessToken").to_owned()
}

/// Checks status and body against the operation's documented response.
pub fn documented(operation: &str, reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{operation}: unexpected status, body {}", reply.json);
    assert_response(&SPEC, operation, status, &reply.json);
}

/// A documented error: status, body against the spec, and its code.
pub fn documented_error(operation: &str, reply: &Reply, status: u16, code: &str) {
    documented(operation, reply, status);
    assert_eq!(reply.json["success"], false, "{}", reply.json);
    assert_eq!(reply.json["error"]["code"], code, "{operation}: {}", reply.json);
}

/// The three checks of a validation answer, as (checkType, result).
pub fn checks(reply: &Reply) -> Vec<(String, String)> {
    reply.json["data"]["validationDetails"]
        .as_array()
        .map(|details| {
            details
                .iter()
                .map(|d| (d["checkType"].as_str().unwrap_or("").to_owned(), d["result"].as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}
