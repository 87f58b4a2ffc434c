//! The whole story: register → login → list → seat map → hold 2 seats → intent → signed
//! webhook (sent by the sandbox after paying with a test card) → confirmed with a QR code →
//! cancel → refund recorded. Plus the documented errors on the way.

use serde_json::json;

use super::*;
use crate::support::stack::backends;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_book_pay_confirm_cancel_refund() {
    for backend in backends() {
        let stack = Stack::start_with(&backend, config(600)).await;
        let admin = login(&stack, ADMIN).await;

        // Accounts: register, duplicate (400), invalid (422), me.
        let (user_id, token) = new_customer(&stack, "fan@example.com").await;
        let again = http::post_json(
            &stack.url("ticketing", "/api/auth/register"),
            None,
            &json!({"email": "FAN@example.com", "password": "securePassword123!", "name": "또"}),
        )
        .await;
        error_body(&again, 400, "ALREADY_EXISTS");
        documented("register", &again, 400);
        let invalid = http::post_json(
            &stack.url("ticketing", "/api/auth/register"),
            None,
            &json!({"email": "not-an-email", "password": "securePassword123!", "name": "x"}),
        )
        .await;
        documented("register", &invalid, 422);
        assert_eq!(invalid.json["error"]["details"]["field"], "email");
        let short = http::post_json(
            &stack.url("ticketing", "/api/auth/register"),
            None,
            &json!({"email": "short@example.com", "password": "short", "name": "x"}),
        )
        .await;
        documented("register", &short, 422);
        let wrong = http::post_json(
            &stack.url("ticketing", "/api/auth/login"),
            None,
            &json!({"email": "fan@example.com", "password": "nope-nope"}),
        )
        .await;
        documented("login", &wrong, 401);
        let me = http::get(&stack.url("ticketing", "/api/auth/me"), Some(&token)).await;
        documented("getCurrentUser", &me, 200);
        assert_eq!((me.json["user_id"].as_str(), me.json["email"].as_str()), (Some(user_id.as_str()), Some("fan@example.com")));

        // Only admins create events (403 in Ticketing's error body).
        let refused = http::post_json(&stack.url("ticketing", "/api/events"), Some(&token), &json!({"title": "x"})).await;
        error_body(&refused, 403, "FORBIDDEN");
        let event_id = create_event(&stack, &admin, 40, "concert", "2030-08-20T19:00:00Z").await;

        // List and seat map.
        let list = http::get(&stack.url("ticketing", "/api/events?category=concert&page=1&page_size=10"), None).await;
        documented("listEvents", &list, 200);
        assert_eq!(list.json["total"], 1);
        assert_eq!(list.json["events"][0]["available_seats"], 40);
        let seats = seat_map(&stack, &event_id).await;
        assert_eq!(seats.len(), 40);
        assert_eq!(seats["VIP-1-1"], ("available".to_owned(), 400000.0));
        let vip = http::get(&stack.url("ticketing", &format!("/api/events/{event_id}/seats?section=VIP")), None).await;
        documented("getEventSeats", &vip, 200);
        assert_eq!(vip.json["sections"].as_array().map(Vec::len), Some(1));
        assert_eq!(vip.json["sections"][0]["section"], "VIP");

        // Hold errors: wrong total, 5 seats, unknown event, unknown seat.
        let wrong_total = hold(&stack, &token, &event_id, &["VIP-1-1", "VIP-1-2"], 1.0).await;
        documented("createBooking", &wrong_total, 400);
        let five = hold(&stack, &token, &event_id, &["C-1-1", "C-1-2", "C-1-3", "C-1-4", "C-1-5"], 500000.0).await;
        documented("createBooking", &five, 400);
        let no_event = hold(&stack, &token, "evt_missing", &["VIP-1-1"], 400000.0).await;
        documented("createBooking", &no_event, 404);
        let no_seat = hold(&stack, &token, &event_id, &["VIP-9-9"], 400000.0).await;
        documented("createBooking", &no_seat, 404);

        // Hold 2 seats.
        let held = hold(&stack, &token, &event_id, &["VIP-1-1", "VIP-1-2"], 800000.0).await;
        documented("createBooking", &held, 200);
        assert_eq!(held.json["status"], "reserved");
        let booking_id = field(&held, "booking_id").to_owned();
        let taken = hold(&stack, &admin, &event_id, &["VIP-1-2", "VIP-1-3"], 800000.0).await;
        documented("createBooking", &taken, 400);
        assert_eq!(taken.json["error"]["code"], "SEAT_NOT_AVAILABLE");
        assert_eq!(seat_map(&stack, &event_id).await["VIP-1-2"].0, "reserved");
        assert_eq!(available_seats(&stack, &event_id).await, 38);

        // Another customer cannot see it; an admin can.
        let (_, other) = new_customer(&stack, "other@example.com").await;
        documented("getBooking", &get_booking(&stack, &other, &booking_id).await, 401);
        documented("getBooking", &get_booking(&stack, &admin, &booking_id).await, 200);
        documented("getBooking", &get_booking(&stack, &token, "book_missing").await, 404);

        // Payment: confirm before paying fails; amount and currency are the booking's.
        let early = http::post_json(&stack.url("ticketing", &format!("/api/bookings/{booking_id}/confirm")), Some(&token), &json!({})).await;
        error_body(&early, 400, "PAYMENT_FAILED");
        let intent_url = stack.url("ticketing", "/api/payment/create-intent");
        let wrong_amount = http::post_json(&intent_url, Some(&token), &json!({"booking_id": booking_id, "amount": 1000, "currency": "krw"})).await;
        documented("createPaymentIntent", &wrong_amount, 400);
        let wrong_currency = http::post_json(&intent_url, Some(&token), &json!({"booking_id": booking_id, "amount": 800000, "currency": "usd"})).await;
        documented("createPaymentIntent", &wrong_currency, 400);
        let body = serde_json::to_vec(&json!({"booking_id": booking_id, "amount": 800000, "currency": "krw",
                                              "metadata": {"event_id": event_id, "user_id": user_id}})).unwrap();
        let auth = format!("Bearer {token}");
        let headers = [("authorization", auth.as_str()), ("idempotency-key", "order-1")];
        let intent = http::send("POST", &intent_url, &headers, Some(body.clone())).await;
        documented("createPaymentIntent", &intent, 200);
        assert_eq!(intent.json["status"], "requires_payment_method");
        let intent_id = field(&intent, "payment_intent_id").to_owned();
        let retried = http::send("POST", &intent_url, &headers, Some(body)).await;
        documented("createPaymentIntent", &retried, 200);
        assert_eq!(retried.json["payment_intent_id"], intent_id.as_str(), "same key, same intent");

        // Pay with the sandbox's test card; its signed webhook confirms the booking.
        let declined = pay_at_sandbox(&stack, &intent_id, "pm_card_chargeDeclined").await;
        assert_eq!(declined.status, 402, "{}", declined.json);
        let paid = pay_at_sandbox(&stack, &intent_id, "pm_card_visa").await;
        assert_eq!(paid.json["status"], "succeeded", "{}", paid.json);
        let detail = eventually("the booking confirmed by the webhook", || async {
            let reply = get_booking(&stack, &token, &booking_id).await;
            (reply.json["status"] == "confirmed").then_some(reply)
        })
        .await;
        documented("getBooking", &detail, 200);
        assert_eq!(detail.json["payment_intent_id"], intent_id.as_str());
        assert_eq!(seat_map(&stack, &event_id).await["VIP-1-1"].0, "sold");
        let payment = http::get(&stack.url("ticketing", &format!("/api/payment/{intent_id}")), Some(&token)).await;
        documented("getPaymentIntent", &payment, 200);
        assert_eq!(payment.json["status"], "succeeded");
        let confirmed = http::post_json(
            &stack.url("ticketing", &format!("/api/bookings/{booking_id}/confirm")),
            Some(&token),
            &json!({"payment_intent_id": intent_id}),
        )
        .await;
        documented("confirmBooking", &confirmed, 200);
        assert_eq!(confirmed.json["status"], "confirmed");
        assert!(confirmed.json["qr_code"].as_str().is_some_and(|qr| qr.contains(&booking_id)));
        let mine = http::get(&stack.url("ticketing", &format!("/api/bookings/user/{user_id}?status=confirmed")), Some(&token)).await;
        documented("listUserBookings", &mine, 200);
        assert_eq!(mine.json["total"], 1);
        assert_eq!(mine.json["bookings"][0]["seat_count"], 2);

        // Cancel: seats come back, the refund is recorded when Stripe reports it.
        let cancelled = http::post_raw(&stack.url("ticketing", &format!("/api/bookings/{booking_id}/cancel")), Some(&token), b"").await;
        documented("cancelBooking", &cancelled, 200);
        assert_eq!(cancelled.json["status"], "cancelled");
        assert_eq!(cancelled.json["refund_amount"], 800000.0);
        assert_eq!(cancelled.json["refund_status"], "processing");
        assert_eq!(seat_map(&stack, &event_id).await["VIP-1-1"].0, "available");
        assert_eq!(available_seats(&stack, &event_id).await, 40);
        let db = stack.database("ticketing").await;
        eventually("the refund recorded", || async {
            let row = ticketing_store_booking(&db, &booking_id).await;
            (row.as_deref() == Some("succeeded")).then_some(())
        })
        .await;
        stack.stop().await;
    }
}

/// The refund status stored for a booking (the API shows it only in the cancel response).
async fn ticketing_store_booking(db: &sea_orm::DatabaseConnection, booking_id: &str) -> Option<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let sql = format!("SELECT refund_status FROM tk_bookings WHERE booking_id = '{booking_id}'");
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.ok()??;
    row.try_get::<Option<String>>("", "refund_status").ok()?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_filter_sort_and_page() {
    for backend in backends() {
        let stack = Stack::start_with(&backend, config(600)).await;
        let admin = login(&stack, ADMIN).await;
        create_event(&stack, &admin, 8, "concert", "2030-06-15T19:00:00Z").await;
        create_event(&stack, &admin, 8, "sports", "2030-07-15T19:00:00Z").await;
        create_event(&stack, &admin, 8, "musical", "2030-08-15T19:00:00Z").await;
        let list = |query: &'static str| {
            let url = stack.url("ticketing", &format!("/api/events?{query}"));
            async move {
                let reply = http::get(&url, None).await;
                documented("listEvents", &reply, 200);
                reply
            }
        };
        let all = list("sort_by=start_date&order=desc&page_size=2").await;
        assert_eq!((all.json["total"].as_i64(), all.json["total_pages"].as_i64()), (Some(3), Some(2)));
        assert_eq!(all.json["events"][0]["category"], "musical");
        let second = list("sort_by=start_date&order=desc&page_size=2&page=2").await;
        assert_eq!(second.json["events"][0]["category"], "concert");
        let sports = list("category=sports").await;
        assert_eq!(sports.json["total"], 1);
        let dated = list("start_date_from=2030-07-01&start_date_to=2030-08-15").await;
        assert_eq!(dated.json["total"], 2);
        let cheap = list("max_price=50000").await;
        assert_eq!(cheap.json["total"], 0, "every event starts at 100,000");
        let priced = list("min_price=350000&status=published").await;
        assert_eq!(priced.json["total"], 3);
        let too_big = http::get(&stack.url("ticketing", "/api/events?page_size=101"), None).await;
        error_body(&too_big, 400, "INVALID_REQUEST");
        let bad_date = http::get(&stack.url("ticketing", "/api/events?start_date_from=soon"), None).await;
        error_body(&bad_date, 400, "INVALID_REQUEST");
        documented("getEvent", &http::get(&stack.url("ticketing", "/api/events/evt_missing"), None).await, 404);
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_other_audience_are_refused() {
    let stack = Stack::start_with(&crate::support::stack::Backend::Embedded, config(600)).await;
    let ticketing_token = login(&stack, CUSTOMER).await;
    let meeting = http::post_json(
        &stack.url("user", "/api/v1/auth/login"),
        None,
        &json!({"username": "user001", "password": "P@ssw0rd123!"}),
    )
    .await;
    let meeting_token = meeting.json["accessToken"].as_str().expect("meeting token").to_owned();
    let refused_here = http::get(&stack.url("ticketing", "/api/auth/me"), Some(&meeting_token)).await;
    error_body(&refused_here, 401, "UNAUTHORIZED");
    let refused_there = http::get(&stack.url("user", "/api/v1/auth/validate"), Some(&ticketing_token)).await;
    assert_eq!(refused_there.status, 401, "{}", refused_there.json);
    let accepted = http::get(&stack.url("ticketing", "/api/auth/me"), Some(&ticketing_token)).await;
    documented("getCurrentUser", &accepted, 200);
    // Directly over gRPC too: the service checks the audience itself.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", stack.grpc("ticketing")))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut client = contracts::proto::ticketing::v1::auth_service_client::AuthServiceClient::new(channel);
    let mut request = tonic::Request::new(contracts::proto::ticketing::v1::GetCurrentUserRequest {});
    request.metadata_mut().insert("authorization", format!("Bearer {meeting_token}").parse().expect("metadata"));
    let status = client.get_current_user(request).await.expect_err("foreign audience");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    stack.stop().await;
}
