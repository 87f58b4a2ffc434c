//! The Stripe webhook: forged signature, stale timestamp, altered body, replayed event,
//! unknown intent; failed and cancelled payments leave the booking payable.

use serde_json::json;

use super::*;
use crate::support::stack::backends;

fn signed(body: &[u8], secret: &str, at: i64) -> String {
    ticketing_service::signature::header(secret, at, body)
}

async fn post_webhook(stack: &Stack, body: &[u8], signature: &str) -> Reply {
    http::send(
        "POST",
        &stack.url("ticketing", "/api/payment/webhook"),
        &[("stripe-signature", signature)],
        Some(body.to_vec()),
    )
    .await
}

fn event(id: &str, kind: &str, intent: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id, "object": "event", "type": kind,
        "data": {"object": {"id": intent, "object": "payment_intent", "payment_method": "card_4242"}},
    }))
    .unwrap()
}

async fn webhook_rows(stack: &Stack, event_id: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = stack.database("ticketing").await;
    let sql = format!("SELECT COUNT(*) AS n FROM tk_webhook_events WHERE event_id = '{event_id}'");
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect("query").expect("row");
    row.try_get::<i64>("", "n").expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_verifies_signatures_and_applies_each_event_once() {
    for backend in backends() {
        let stack = Stack::start_with(&backend, config(600)).await;
        let admin = login(&stack, ADMIN).await;
        let token = login(&stack, CUSTOMER).await;
        let event_id = create_event(&stack, &admin, 40, "sports", "2030-08-20T19:00:00Z").await;
        let held = hold(&stack, &token, &event_id, &["C-1-1"], 100000.0).await;
        documented("createBooking", &held, 200);
        let booking_id = field(&held, "booking_id").to_owned();
        let intent = http::post_json(
            &stack.url("ticketing", "/api/payment/create-intent"),
            Some(&token),
            &json!({"booking_id": booking_id, "amount": 100000, "currency": "krw"}),
        )
        .await;
        documented("createPaymentIntent", &intent, 200);
        let intent_id = field(&intent, "payment_intent_id").to_owned();
        let now = chrono::Utc::now().timestamp();
        let status = || async { get_booking(&stack, &token, &booking_id).await.json["status"].clone() };

        // A failed payment leaves the booking payable.
        let failed = event("evt_failed_1", "payment_intent.payment_failed", &intent_id);
        assert_eq!(post_webhook(&stack, &failed, &signed(&failed, WEBHOOK_SECRET, now)).await.status, 204);
        assert_eq!(status().await, "reserved");

        let success = event("evt_success_1", "payment_intent.succeeded", &intent_id);
        // Forged (other secret), stale (400 s old), altered body (signature of another body).
        let forged = post_webhook(&stack, &success, &signed(&success, "whsec_attacker", now)).await;
        error_body(&forged, 400, "INVALID_REQUEST");
        let stale = post_webhook(&stack, &success, &signed(&success, WEBHOOK_SECRET, now - 400)).await;
        error_body(&stale, 400, "INVALID_REQUEST");
        let altered = post_webhook(&stack, &success, &signed(&failed, WEBHOOK_SECRET, now)).await;
        error_body(&altered, 400, "INVALID_REQUEST");
        let missing = post_webhook(&stack, &success, "").await;
        error_body(&missing, 400, "INVALID_REQUEST");
        assert_eq!(status().await, "reserved", "refused webhooks change nothing");
        assert_eq!(webhook_rows(&stack, "evt_success_1").await, 0);

        // Several v1 values: one valid one is enough.
        let header = format!("t={now},v1={},v1={}", "ab".repeat(32), ticketing_service::signature::sign(WEBHOOK_SECRET, now, &success));
        let accepted = post_webhook(&stack, &success, &header).await;
        assert_eq!(accepted.status, 204, "{}", accepted.json);
        assert_eq!(status().await, "confirmed");
        let confirmed_at = get_booking(&stack, &token, &booking_id).await.json["confirmed_at"].clone();

        // Replayed: acknowledged, applied once.
        let replay = post_webhook(&stack, &success, &signed(&success, WEBHOOK_SECRET, now)).await;
        assert_eq!(replay.status, 204);
        assert_eq!(webhook_rows(&stack, "evt_success_1").await, 1);
        assert_eq!(get_booking(&stack, &token, &booking_id).await.json["confirmed_at"], confirmed_at);

        // An unknown intent: acknowledged, nothing changes.
        let unknown = event("evt_unknown_1", "payment_intent.succeeded", "pi_does_not_exist");
        assert_eq!(post_webhook(&stack, &unknown, &signed(&unknown, WEBHOOK_SECRET, now)).await.status, 204);
        assert_eq!(status().await, "confirmed");

        // Not JSON at all: the documented 400 before anything is read.
        let garbage = post_webhook(&stack, b"not json", &signed(b"not json", WEBHOOK_SECRET, now)).await;
        error_body(&garbage, 400, "INVALID_REQUEST");
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_intents_and_idempotency_keys() {
    for backend in backends() {
        let stack = Stack::start_with(&backend, config(600)).await;
        let admin = login(&stack, ADMIN).await;
        let token = login(&stack, CUSTOMER).await;
        let event_id = create_event(&stack, &admin, 40, "exhibition", "2030-08-20T19:00:00Z").await;
        let first = hold(&stack, &token, &event_id, &["C-1-1"], 100000.0).await;
        let second = hold(&stack, &token, &event_id, &["C-1-2"], 100000.0).await;
        let (first_id, second_id) = (field(&first, "booking_id").to_owned(), field(&second, "booking_id").to_owned());
        let url = stack.url("ticketing", "/api/payment/create-intent");
        let auth = format!("Bearer {token}");
        let create = |booking: String, key: &'static str| {
            let url = url.clone();
            let auth = auth.clone();
            async move {
                let body = serde_json::to_vec(&json!({"booking_id": booking, "amount": 100000, "currency": "krw"})).unwrap();
                http::send("POST", &url, &[("authorization", auth.as_str()), ("idempotency-key", key)], Some(body)).await
            }
        };
        let intent = create(first_id.clone(), "key-a").await;
        documented("createPaymentIntent", &intent, 200);
        let again = create(first_id.clone(), "key-a").await;
        assert_eq!(again.json["payment_intent_id"], intent.json["payment_intent_id"]);
        let reused = create(second_id.clone(), "key-a").await;
        documented("createPaymentIntent", &reused, 400);
        assert_eq!(reused.json["error"]["details"]["field"], "Idempotency-Key");

        // Cancel the intent: canceled, the booking stays payable with a new intent.
        let intent_id = field(&intent, "payment_intent_id").to_owned();
        let cancelled = http::post_raw(&stack.url("ticketing", &format!("/api/payment/{intent_id}/cancel")), Some(&token), b"").await;
        documented("cancelPaymentIntent", &cancelled, 200);
        assert_eq!(cancelled.json["status"], "canceled");
        assert_eq!(get_booking(&stack, &token, &first_id).await.json["status"], "reserved");
        let fresh = create(first_id.clone(), "key-b").await;
        documented("createPaymentIntent", &fresh, 200);
        assert_ne!(fresh.json["payment_intent_id"], intent.json["payment_intent_id"]);

        // 3-D Secure: requires_action until the challenge is completed.
        let fresh_id = field(&fresh, "payment_intent_id").to_owned();
        let challenged = pay_at_sandbox(&stack, &fresh_id, "pm_card_authenticationRequired").await;
        assert_eq!(challenged.json["status"], "requires_action", "{}", challenged.json);
        let pending = http::get(&stack.url("ticketing", &format!("/api/payment/{fresh_id}")), Some(&token)).await;
        documented("getPaymentIntent", &pending, 200);
        assert_eq!(pending.json["status"], "requires_action");
        let sandbox = stack.running.as_ref().and_then(|r| r.payment_sandbox).expect("sandbox");
        let done = http::send("POST", &format!("http://{sandbox}/v1/payment_intents/{fresh_id}/authenticate"), &[], Some(Vec::new())).await;
        assert_eq!(done.json["status"], "succeeded");
        eventually("the 3-D Secure payment to confirm the booking", || async {
            (get_booking(&stack, &token, &first_id).await.json["status"] == "confirmed").then_some(())
        })
        .await;
        // Two intents for one booking (two keys), both paid: the booking is sold once and the
        // second payment is refunded by a durable job.
        let one = create(second_id.clone(), "key-c").await;
        let two = create(second_id.clone(), "key-d").await;
        let (one_id, two_id) = (field(&one, "payment_intent_id").to_owned(), field(&two, "payment_intent_id").to_owned());
        assert_ne!(one_id, two_id);
        assert_eq!(pay_at_sandbox(&stack, &one_id, "pm_card_visa").await.json["status"], "succeeded");
        eventually("the first payment to confirm the booking", || async {
            (get_booking(&stack, &token, &second_id).await.json["status"] == "confirmed").then_some(())
        })
        .await;
        assert_eq!(pay_at_sandbox(&stack, &two_id, "pm_card_visa").await.json["status"], "succeeded");
        let jobs = service_core::jobs::Jobs::database(stack.database("ticketing").await);
        eventually("the second payment refunded", || async {
            let record = jobs.status(&format!("refund-intent:{two_id}")).await.expect("job status")?;
            (record.state == service_core::jobs::JobState::Completed).then_some(())
        })
        .await;
        assert_eq!(get_booking(&stack, &token, &second_id).await.json["payment_intent_id"], one_id.as_str());

        // Someone else's intent is not found.
        let (_, stranger) = new_customer(&stack, "stranger@example.com").await;
        let hidden = http::get(&stack.url("ticketing", &format!("/api/payment/{fresh_id}")), Some(&stranger)).await;
        error_body(&hidden, 404, "NOT_FOUND");
        stack.stop().await;
    }
}
