//! Ticketing Pro's money path through the gateway over HTTP, on every backend: the whole
//! story, seat contention, hold expiry (also across a restart), the Stripe webhook. Every
//! body is checked against ticketing.yaml.

mod contention;
mod expiry;
mod story;
mod webhook;

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use serde_json::json;

use crate::support::http::{self, Reply};
use crate::support::spec::Spec;
use crate::support::stack::Stack;

pub static SPEC: LazyLock<Spec> = LazyLock::new(|| Spec::load("ticketing.yaml"));

/// The seeded accounts of the embedded default.
pub const ADMIN: (&str, &str) = (ticketing_service::SEED_ADMIN_EMAIL, ticketing_service::SEED_ADMIN_PASSWORD);
pub const CUSTOMER: (&str, &str) = (ticketing_service::SEED_CUSTOMER_EMAIL, ticketing_service::SEED_CUSTOMER_PASSWORD);
/// The sandbox's default webhook secret (STRIPE_WEBHOOK_SECRET unset).
pub const WEBHOOK_SECRET: &str = "whsec_local_sandbox_secret";

/// Checks status and body against the operation's documented response.
pub fn documented(operation: &str, reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{operation}: unexpected status, body {}", reply.json);
    if let Err(violations) = SPEC.check_response(operation, status, &reply.json) {
        panic!("{operation} {status} breaks the spec:\n{violations}\n{:#}", reply.json);
    }
}

/// An error in Ticketing's error body with this status and code.
pub fn error_body(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "body {}", reply.json);
    if let Err(violations) = SPEC.check_schema("ErrorResponse", &reply.json) {
        panic!("error body breaks ErrorResponse:\n{violations}\n{:#}", reply.json);
    }
    assert_eq!(reply.json["error"]["code"], code, "body {}", reply.json);
}

pub async fn login(stack: &Stack, (email, password): (&str, &str)) -> String {
    let reply =
        http::post_json(&stack.url("ticketing", "/api/auth/login"), None, &json!({"email": email, "password": password})).await;
    documented("login", &reply, 200);
    reply.json["access_token"].as_str().expect("token").to_owned()
}

/// Registers a new customer and logs in: (user_id, token).
pub async fn new_customer(stack: &Stack, email: &str) -> (String, String) {
    let body = json!({"email": email, "password": "securePassword123!", "name": "테스트", "phone_number": "010-1234-5678"});
    let reply = http::post_json(&stack.url("ticketing", "/api/auth/register"), None, &body).await;
    documented("register", &reply, 200);
    let user_id = reply.json["user_id"].as_str().expect("user_id").to_owned();
    (user_id, login(stack, (email, "securePassword123!")).await)
}

/// Creates an event of `seats` seats priced 100,000 (C) to 400,000 (VIP); returns its id.
/// With 40 seats: VIP-1-1..4 at 400,000, A-1-1..12 at 300,000, B-1-1..12 at 200,000,
/// C-1-1..12 at 100,000.
pub async fn create_event(stack: &Stack, admin: &str, seats: i32, category: &str, start: &str) -> String {
    let body = json!({
        "title": format!("{category} night"), "description": "e2e", "category": category,
        "venue": "고척 스카이돔", "location": "서울특별시 구로구",
        "start_date": start, "end_date": start,
        "min_price": 100000.0, "max_price": 400000.0, "total_seats": seats,
    });
    let reply = http::post_json(&stack.url("ticketing", "/api/events"), Some(admin), &body).await;
    documented("createEvent", &reply, 200);
    reply.json["event_id"].as_str().expect("event_id").to_owned()
}

/// seat id → (status, price), from the documented seat map.
pub async fn seat_map(stack: &Stack, event_id: &str) -> HashMap<String, (String, f64)> {
    let reply = http::get(&stack.url("ticketing", &format!("/api/events/{event_id}/seats")), None).await;
    documented("getEventSeats", &reply, 200);
    let mut seats = HashMap::new();
    for section in reply.json["sections"].as_array().expect("sections") {
        for row in section["rows"].as_array().expect("rows") {
            for seat in row["seats"].as_array().expect("seats") {
                let id = seat["seat_id"].as_str().expect("seat_id").to_owned();
                seats.insert(id, (seat["status"].as_str().expect("status").to_owned(), seat["price"].as_f64().expect("price")));
            }
        }
    }
    seats
}

pub async fn available_seats(stack: &Stack, event_id: &str) -> i64 {
    let reply = http::get(&stack.url("ticketing", &format!("/api/events/{event_id}")), None).await;
    documented("getEvent", &reply, 200);
    reply.json["available_seats"].as_i64().expect("available_seats")
}

pub async fn hold(stack: &Stack, token: &str, event_id: &str, seats: &[&str], total: f64) -> Reply {
    let body = json!({"event_id": event_id, "seat_ids": seats, "total_amount": total});
    http::post_json(&stack.url("ticketing", "/api/bookings"), Some(token), &body).await
}

pub async fn get_booking(stack: &Stack, token: &str, booking_id: &str) -> Reply {
    http::get(&stack.url("ticketing", &format!("/api/bookings/{booking_id}")), Some(token)).await
}

/// Pays an intent at the sandbox's Stripe-shaped API, as Stripe.js would with a test card.
pub async fn pay_at_sandbox(stack: &Stack, intent_id: &str, payment_method: &str) -> Reply {
    let sandbox = stack.running.as_ref().and_then(|r| r.payment_sandbox).expect("sandbox provider");
    let url = format!("http://{sandbox}/v1/payment_intents/{intent_id}/confirm");
    let body = format!("payment_method={payment_method}");
    http::send("POST", &url, &[("content-type", "application/x-www-form-urlencoded")], Some(body.into_bytes())).await
}

/// Polls `check` until it yields a value (bounded; webhooks and jobs are asynchronous).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..300 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up waiting for {what}");
}

/// A configuration with short holds and no fixed ports (sandbox on a free port).
pub fn config(hold_seconds: u64) -> HashMap<String, String> {
    HashMap::from([
        ("TICKETING_HOLD_SECONDS".to_owned(), hold_seconds.to_string()),
        ("TICKETING_SANDBOX_PORT".to_owned(), "0".to_owned()),
    ])
}

pub fn field<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply.json[name].as_str().unwrap_or_else(|| panic!("no {name} in {}", reply.json))
}

