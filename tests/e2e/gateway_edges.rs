//! Gateway behaviour that needs no real service behind it: unreachable and silent backends
//! (503, 504), query parameters bound to repeated and nested fields, and the split roles
//! (`serve user` + `gateway`) working together over gRPC.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use contracts::auth::{Claims, ISSUER, TokenKind, TokenVerifier};
use service_core::SigningKeys;
use contracts::{BodyRule, Contracts};
use contracts::json::FieldNames;
use gateway::request::build_request_json;
use gateway::{Gateway, GatewayConfig};
use serde_json::json;

use crate::support::http;
use crate::support::spec::Spec;

fn access_token(keys: &SigningKeys) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        iss: ISSUER.into(),
        sub: "user001".into(),
        aud: "meeting".into(),
        exp: now + 600,
        nbf: now,
        iat: now,
        jti: "j".into(),
        sid: "s".into(),
        typ: TokenKind::Access,
        username: "user001".into(),
        roles: vec!["USER".into()],
    };
    keys.sign(&claims).expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_backends_are_503_and_silent_ones_504() {
    // A port with nothing behind it, and one that accepts and never speaks.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });

    let keys = SigningKeys::ephemeral();
    let token = access_token(&keys);
    let contracts = Arc::new(Contracts::embedded().expect("contracts"));
    let listen: HashMap<String, std::net::SocketAddr> = contracts
        .apis
        .iter()
        .map(|api| (api.options.name.clone(), "127.0.0.1:0".parse().expect("addr")))
        .collect();
    let config = GatewayConfig {
        listen,
        backends: HashMap::from([
            ("event.v1".to_owned(), format!("http://{closed}")),
            ("content.v1".to_owned(), format!("http://{silent_addr}")),
        ]),
        request_timeout: Duration::from_millis(700),
        ..GatewayConfig::default()
    };
    let gateway = Gateway::new(contracts, TokenVerifier::new(keys.public_keys()), &config)
        .expect("gateway")
        .start()
        .await
        .expect("listening");

    let event = Spec::load("event-service.yaml");
    let refused = http::get(&format!("http://{}/api/events", gateway.addresses["event"]), Some(&token)).await;
    assert_eq!(refused.status, 503, "{}", refused.json);
    event.check_schema("ErrorResponse", &refused.json).expect("event error body");
    assert_eq!(refused.json["error"], "SERVICE_UNAVAILABLE");

    let content = Spec::load("content-service.yaml");
    let started = std::time::Instant::now();
    let timed_out = http::get(&format!("http://{}/content/images/i1", gateway.addresses["content"]), Some(&token)).await;
    assert_eq!(timed_out.status, 504, "{}", timed_out.json);
    content.check_schema("ErrorResponse", &timed_out.json).expect("content error body");
    assert_eq!(timed_out.json["code"], "GATEWAY_TIMEOUT");
    assert!(started.elapsed() < Duration::from_secs(5), "the deadline bounds the wait");

    holder.abort();
    gateway.shutdown().await;
}

#[test]
fn query_parameters_bind_repeated_and_nested_fields_by_either_name() {
    let contracts = Contracts::embedded().expect("contracts");
    let ticketing = contracts.api("ticketing").expect("ticketing");
    let find = |id: &str| {
        let mut operation = ticketing.operations.iter().find(|op| op.options.operation_id == id).expect(id).clone();
        // Read everything from the query string, as a GET-style binding would.
        operation.http.body = BodyRule::None;
        operation
    };
    let booking = find("createBooking");
    let built = build_request_json(&booking, FieldNames::Proto, &[], Some("seat_ids=A1&seat_ids=A2&event_id=e%201"), json!({}))
        .expect("binds");
    assert_eq!(built, json!({"seat_ids": ["A1", "A2"], "event_id": "e 1"}));
    let by_json_name = build_request_json(&booking, FieldNames::Proto, &[], Some("seatIds=A1&totalAmount=10.5"), json!({}))
        .expect("binds");
    assert_eq!(by_json_name, json!({"seat_ids": ["A1"], "total_amount": 10.5}));
    let wrong_type = build_request_json(&booking, FieldNames::Proto, &[], Some("total_amount=lots"), json!({}));
    assert!(wrong_type.is_err());

    let payment = find("createPaymentIntent");
    let nested = build_request_json(&payment, FieldNames::Proto, &[], Some("metadata.user_id=u1&amount=1000&unknown=x"), json!({}))
        .expect("binds");
    assert_eq!(nested, json!({"metadata": {"user_id": "u1"}, "amount": 1000}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_roles_work_together_over_grpc() {
    use platform::config::{Config, Role, Source};
    let dir = std::env::temp_dir().join(format!("kt-split-{}", uuid::Uuid::new_v4().simple()));
    let mut common = HashMap::from([
        ("DATA_DIR".to_owned(), dir.display().to_string()),
        ("HTTP_HOST".to_owned(), "127.0.0.1".to_owned()),
        ("GRPC_HOST".to_owned(), "127.0.0.1".to_owned()),
        ("USER_GRPC_PORT".to_owned(), "0".to_owned()),
    ]);
    for api in platform::config::APIS {
        common.insert(format!("{}_HTTP_PORT", api.to_uppercase()), "0".into());
    }
    let service = platform::app::start(
        Config::load(Role::Serve(vec!["user".into()]), &Source::from_map(common.clone())).expect("config"),
    )
    .await
    .expect("user service");
    assert!(service.http.is_empty(), "serve runs no REST listener");
    let user_grpc = service.grpc["user"];

    common.insert("USER_GRPC_URL".into(), format!("http://{user_grpc}"));
    let gateway = platform::app::start(Config::load(Role::Gateway, &Source::from_map(common)).expect("config"))
        .await
        .expect("gateway");
    assert!(gateway.grpc.is_empty(), "the gateway role runs no service");

    let login = http::post_json(
        &format!("http://{}/api/v1/auth/login", gateway.http["user"]),
        None,
        &json!({"username": "user001", "password": "P@ssw0rd123!"}),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.json);
    let token = login.json["accessToken"].as_str().expect("token");
    // The gateway verifies with the keys it fetched from the service (JWKS over gRPC).
    let validate = http::get(&format!("http://{}/api/v1/auth/validate", gateway.http["user"]), Some(token)).await;
    assert_eq!(validate.status, 200, "{}", validate.json);
    let event = http::get(&format!("http://{}/api/events", gateway.http["event"]), Some(token)).await;
    assert_eq!(event.status, 503, "a verified token reaches the (absent) Event backend");

    gateway.shutdown().await;
    service.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn body_field_and_response_body_rules_are_applied() {
    use gateway::request::select_response_body;
    let contracts = Contracts::embedded().expect("contracts");
    let ticketing = contracts.api("ticketing").expect("ticketing");
    let webhook = ticketing
        .operations
        .iter()
        .find(|op| op.options.operation_id == "handleStripeWebhook")
        .expect("webhook");
    assert_eq!(webhook.http.body, BodyRule::Field("event".into()));
    let stripe_event = json!({"id": "evt_1", "type": "payment_intent.succeeded"});
    let built = build_request_json(webhook, FieldNames::Proto, &[], Some("event=ignored"), stripe_event.clone())
        .expect("binds");
    assert_eq!(built, json!({"event": stripe_event}), "the body lands in its field; the query cannot overwrite it");

    let mut list = ticketing.operations.iter().find(|op| op.options.operation_id == "listEvents").expect("op").clone();
    list.http.response_body = Some("events".into());
    let selected = select_response_body(&list, FieldNames::Proto, json!({"events": [{"event_id": "e1"}], "total": 1}));
    assert_eq!(selected, json!([{"event_id": "e1"}]));

    // The gateway writes success bodies straight from the message; it must equal the
    // Value path for the whole message, a message field, a list field, and an unset field.
    use gateway::response::success_json;
    let user = contracts.api("user").expect("user");
    let login = user.operations.iter().find(|op| op.options.operation_id == "login").expect("login");
    let reply = json!({"accessToken": "a", "refreshToken": "r", "tokenType": "Bearer", "expiresIn": 3600,
        "user": {"userId": "u", "username": "n", "name": "N", "email": "e@x.io", "roles": ["admin"]}});
    let message = contracts::json::decode(&login.method.output(), reply.clone(), &contracts, true).expect("decodes");
    let value_path = |operation: &contracts::Operation| {
        select_response_body(operation, FieldNames::Json, contracts::json::encode(&message, &contracts, FieldNames::Json))
    };
    assert_eq!(success_json(login, &message, &contracts, FieldNames::Json, false), value_path(login));
    assert_eq!(success_json(login, &message, &contracts, FieldNames::Json, true), json!({"success": true, "data": value_path(login)}));
    for field in ["user", "user.roles", "tokenType"] {
        let mut selecting = login.clone();
        selecting.http.response_body = Some(field.replace("tokenType", "token_type"));
        assert_eq!(success_json(&selecting, &message, &contracts, FieldNames::Json, false), value_path(&selecting), "{field}");
    }
    let unset = contracts::json::decode(&login.method.output(), json!({"accessToken": "a"}), &contracts, false).expect("decodes");
    let mut selecting = login.clone();
    selecting.http.response_body = Some("user".into());
    assert_eq!(success_json(&selecting, &unset, &contracts, FieldNames::Json, false), serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_base_path_is_configurable() {
    use crate::support::stack::{Backend, Stack};
    let extra = HashMap::from([("PRODUCT_CHANGE_BASE_PATH".to_owned(), "/mvno/pc".to_owned())]);
    let stack = Stack::start_with(&Backend::Embedded, extra).await;
    let moved = http::get(&stack.url("product_change", "/products/menu"), None).await;
    assert!(stack.url("product_change", "").ends_with("/mvno/pc"));
    assert_eq!(moved.status, 401, "the route lives under the new base: {}", moved.json);
    assert_eq!(moved.json["error"]["path"], "/mvno/pc/products/menu");
    let old = stack.url("product_change", "/products/menu").replace("/mvno/pc", "/v1/product-change");
    assert_eq!(http::get(&old, None).await.status, 404);
    stack.stop().await;
}
