//! Holds not paid in time expire by the durable job: the seats come back and
//! `booking.expired` is published on the bus, also when the platform restarted in between.

use serde_json::Value;
use service_core::jobs::{Jobs, WorkerOptions};

use super::*;
use crate::support::stack::backends;

/// Subscribes to `booking.expired` on Ticketing's bus (its database) and forwards payloads.
async fn expired_events(stack: &Stack) -> (tokio::sync::mpsc::UnboundedReceiver<Value>, service_core::jobs::WorkerHandle) {
    let jobs = Jobs::database(stack.database("ticketing").await);
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let options = WorkerOptions { poll_interval: Duration::from_millis(100), ..WorkerOptions::default() };
    let worker = jobs
        .subscribe("booking.expired", "e2e-observer", options, move |event| {
            let sender = sender.clone();
            async move {
                let _ = sender.send(event.payload);
                Ok(())
            }
        })
        .await
        .expect("subscribe");
    (receiver, worker.spawn())
}

async fn expect_expired(stack: &Stack, token: &str, booking_id: &str, events: &mut tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let reply = eventually("the hold to expire", || async {
        let reply = get_booking(stack, token, booking_id).await;
        (reply.json["status"] == "cancelled").then_some(reply)
    })
    .await;
    documented("getBooking", &reply, 200);
    // Other holds of the test expire too: wait for this booking's event.
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv()).await.expect("booking.expired in time").expect("event");
        assert_eq!(event["type"], "booking.expired");
        if event["booking_id"] == booking_id {
            assert_eq!(event["status"], "cancelled");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaid_holds_expire_and_release_their_seats() {
    for backend in backends() {
        let mut stack = Stack::start_with(&backend, config(2)).await;
        let (mut events, observer) = expired_events(&stack).await;
        let admin = login(&stack, ADMIN).await;
        let token = login(&stack, CUSTOMER).await;
        let event_id = create_event(&stack, &admin, 40, "musical", "2030-08-20T19:00:00Z").await;

        let held = hold(&stack, &token, &event_id, &["A-1-1", "A-1-2"], 600000.0).await;
        documented("createBooking", &held, 200);
        let booking_id = field(&held, "booking_id").to_owned();
        expect_expired(&stack, &token, &booking_id, &mut events).await;
        assert_eq!(seat_map(&stack, &event_id).await["A-1-1"].0, "available");
        assert_eq!(available_seats(&stack, &event_id).await, 40);
        // An expired booking can no longer be paid.
        let intent = http::post_json(
            &stack.url("ticketing", "/api/payment/create-intent"),
            Some(&token),
            &serde_json::json!({"booking_id": booking_id, "amount": 600000, "currency": "krw"}),
        )
        .await;
        error_body(&intent, 400, "BOOKING_EXPIRED");
        // The seats can be held again.
        let again = hold(&stack, &token, &event_id, &["A-1-1"], 300000.0).await;
        documented("createBooking", &again, 200);

        // Across a restart: hold, stop the platform at once, start it again: the job fires.
        let second = hold(&stack, &token, &event_id, &["A-1-5"], 300000.0).await;
        documented("createBooking", &second, 200);
        let second_id = field(&second, "booking_id").to_owned();
        stack.restart().await;
        let token = login(&stack, CUSTOMER).await;
        expect_expired(&stack, &token, &second_id, &mut events).await;
        assert_eq!(seat_map(&stack, &event_id).await["A-1-5"].0, "available");
        observer.stop().await.expect("observer stops");
        stack.stop().await;
    }
}
