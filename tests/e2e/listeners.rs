//! The other four listeners before their services exist: each answers in its own API's
//! documented error body (no token → 401, bad input → 400, unknown path → 404, no backend →
//! 503), and no listener accepts another API's tokens.

use serde_json::json;

use crate::support::http::{self, Reply};
use crate::support::spec::Spec;
use crate::support::stack::{Backend, Stack};

fn error_shape(spec: &Spec, reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{}: {}", spec.name(), reply.json);
    if let Err(violations) = spec.check_schema("ErrorResponse", &reply.json) {
        panic!("{}: error body breaks ErrorResponse:\n{violations}\n{:#}", spec.name(), reply.json);
    }
}

async fn user_token(stack: &Stack) -> String {
    let reply = http::post_json(
        &stack.url("user", "/api/v1/auth/login"),
        None,
        &json!({"username": "user001", "password": "P@ssw0rd123!"}),
    )
    .await;
    reply.json["accessToken"].as_str().expect("access token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_listener_answers_in_its_own_error_body() {
    let stack = Stack::start(&Backend::Embedded).await;
    let token = user_token(&stack).await;

    // Event Service: {error, message, timestamp, details?}
    let event = Spec::load("event-service.yaml");
    let no_token = http::get(&stack.url("event", "/api/events"), None).await;
    error_shape(&event, &no_token, 401);
    assert_eq!(no_token.json["error"], "UNAUTHORIZED");
    event.check_response("getEventList", 401, &no_token.json).expect("documented 401");
    let dashboard = http::get(&stack.url("event", "/api/events/dashboard"), Some(&token)).await;
    assert_eq!(dashboard.status, 200, "the Event Service answers: {}", dashboard.json);
    let bad_json = http::post_raw(&stack.url("event", "/api/events/purposes"), Some(&token), b"{not json").await;
    error_shape(&event, &bad_json, 400);
    assert_eq!(bad_json.json["error"], "BAD_REQUEST");
    let bad_enum = http::post_json(&stack.url("event", "/api/events/purposes"), Some(&token), &json!({"objective": "WORLD_DOMINATION"})).await;
    error_shape(&event, &bad_enum, 400);
    assert!(bad_enum.json["details"].as_str().is_some_and(|d| d.contains("objective")), "{}", bad_enum.json);
    let bad_uuid = http::get(&stack.url("event", "/api/events/not-a-uuid"), Some(&token)).await;
    error_shape(&event, &bad_uuid, 400);
    error_shape(&event, &http::get(&stack.url("event", "/nowhere"), None).await, 404);

    // Content Service: {code, message, timestamp, retryAfter?}
    let content = Spec::load("content-service.yaml");
    let no_token = http::get(&stack.url("content", "/content/images/abc"), None).await;
    error_shape(&content, &no_token, 401);
    assert_eq!(no_token.json["code"], "UNAUTHORIZED");
    error_shape(&content, &http::get(&stack.url("content", "/content/images/abc"), Some(&token)).await, 404);
    let bad_style = http::get(&stack.url("content", "/content/events/e1/images?style=NEON"), Some(&token)).await;
    error_shape(&content, &bad_style, 400);

    // Ticketing: {error: {code, message, details}, timestamp, path}; its own tokens only.
    let ticketing = Spec::load("ticketing.yaml");
    let no_token = http::get(&stack.url("ticketing", "/api/auth/me"), None).await;
    error_shape(&ticketing, &no_token, 401);
    assert_eq!(no_token.json["error"]["code"], "UNAUTHORIZED");
    assert_eq!(no_token.json["path"], "/api/auth/me");
    let foreign_token = http::get(&stack.url("ticketing", "/api/auth/me"), Some(&token)).await;
    error_shape(&ticketing, &foreign_token, 401);
    let public_no_backend = http::get(&stack.url("ticketing", "/api/search/autocomplete?q=ab"), None).await;
    error_shape(&ticketing, &public_no_backend, 503);
    let bad_page = http::get(&stack.url("ticketing", "/api/events?page=abc"), None).await;
    error_shape(&ticketing, &bad_page, 400);
    assert_eq!(bad_page.json["error"]["details"]["field"], "page", "{}", bad_page.json);

    // Product-Change: {success: false, error: {...}} under /v1/product-change
    let product = Spec::load("product-change-service.yaml");
    let no_token = http::get(&stack.url("product_change", "/products/menu"), None).await;
    error_shape(&product, &no_token, 401);
    assert_eq!(no_token.json["success"], false);
    assert_eq!(no_token.json["error"]["path"], "/v1/product-change/products/menu");
    let menu = http::get(&stack.url("product_change", "/products/menu"), Some(&token)).await;
    assert_eq!(menu.status, 200, "{}", menu.json);
    crate::support::spec::assert_response(&product, "getProductMenu", 200, &menu.json);
    let outside_base = http::get(&stack.url("product_change", "").replace("/v1/product-change", "/products/menu"), Some(&token)).await;
    error_shape(&product, &outside_base, 404);
    stack.stop().await;
}
