//! The event-marketing services against fake external providers (local HTTP servers that speak
//! each provider's protocol): image APIs failing (breaker opens, local fallback used and
//! reported; without fallback the documented 503), an OpenAI-Images-style API answering, and an
//! OpenAI-compatible chat API answering or talking nonsense (rule-based fallback).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use crate::support::http;
use crate::support::spec::Spec;
use crate::support::stack::{Backend, Stack};

type Handler = Arc<dyn Fn(&str, Value) -> (u16, Value) + Send + Sync>;

/// A fake provider: answers every POST with `handler(path, body)`, counting calls.
struct FakeServer {
    url: String,
    calls: Arc<AtomicUsize>,
}

async fn fake_server(handler: Handler) -> FakeServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { break };
            let (handler, counter) = (handler.clone(), counter.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (handler, counter) = (handler.clone(), counter.clone());
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let path = request.uri().path().to_owned();
                        let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let (status, answer) = handler(&path, json);
                        let mut response = hyper::Response::new(Full::new(Bytes::from(answer.to_string())));
                        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
            });
        }
    });
    FakeServer { url, calls }
}

fn tiny_png() -> String {
    let mut pixmap = tiny_skia::Pixmap::new(64, 48).expect("pixmap");
    pixmap.fill(tiny_skia::Color::from_rgba8(30, 140, 200, 255));
    base64::engine::general_purpose::STANDARD.encode(pixmap.encode_png().expect("png"))
}

async fn login(stack: &Stack) -> String {
    let reply = http::post_json(&stack.url("user", "/api/v1/auth/login"), None, &json!({"username": "user001", "password": "P@ssw0rd123!"})).await;
    reply.json["accessToken"].as_str().expect("token").to_owned()
}

async fn generate(stack: &Stack, token: &str, draft: &str) -> http::Reply {
    let body = json!({"eventDraftId": draft, "eventInfo": {"title": "신메뉴 출시 기념 경품 추첨", "giftName": "아메리카노 1+1"}});
    http::post_json(&stack.url("content", "/content/images/generate"), Some(token), &body).await
}

async fn wait_job(stack: &Stack, token: &str, job: &str) -> Value {
    for _ in 0..900 {
        let reply = http::get(&stack.url("content", &format!("/content/images/jobs/{job}")), Some(token)).await;
        if matches!(reply.json["status"].as_str(), Some("COMPLETED" | "FAILED")) {
            return reply.json;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {job} did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_image_api_trips_the_breaker_and_the_fallback_is_reported() {
    let content = Spec::load("content-service.yaml");
    let failing = fake_server(Arc::new(|_, _| (500, json!({"error": "GPU on fire"})))).await;
    let stack = Stack::start_with(&Backend::Embedded, HashMap::from([("IMAGE_SD_URL".to_owned(), failing.url.clone())])).await;
    let token = login(&stack).await;
    let reply = generate(&stack, &token, "evt-fallback").await;
    assert_eq!(reply.status, 202, "{}", reply.json);
    let done = wait_job(&stack, &token, reply.json["jobId"].as_str().expect("job")).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let calls = failing.calls.load(Ordering::SeqCst);
    assert!((5..18).contains(&calls), "the breaker opened before every image tried the API twice: {calls} calls");
    let reply = http::get(&stack.url("content", "/content/events/evt-fallback"), Some(&token)).await;
    content.check_response("getContentByEventId", 200, &reply.json).expect("documented");
    let images = reply.json["images"].as_array().expect("images");
    assert_eq!(images.len(), 9);
    assert!(images.iter().all(|i| i["fallbackUsed"] == true), "{}", reply.json);
    stack.stop().await;

    // Without the local fallback, an open breaker is the documented 503 with Retry-After.
    let failing = fake_server(Arc::new(|_, _| (503, json!({"error": "overloaded"})))).await;
    let config = HashMap::from([("IMAGE_SD_URL".to_owned(), failing.url.clone()), ("CONTENT_LOCAL_FALLBACK".to_owned(), "false".to_owned())]);
    let stack = Stack::start_with(&Backend::Embedded, config).await;
    let token = login(&stack).await;
    let first = generate(&stack, &token, "evt-no-fallback").await;
    assert_eq!(first.status, 202);
    let mut refused = None;
    for _ in 0..600 {
        let reply = generate(&stack, &token, "evt-no-fallback-2").await;
        if reply.status == 503 {
            refused = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = refused.expect("the breaker opened");
    content.check_schema("CircuitBreakerErrorResponse", &refused.json).expect("CircuitBreakerErrorResponse");
    assert_eq!(refused.json["circuitBreakerState"], "OPEN");
    assert_eq!(refused.json["fallbackAvailable"], false);
    assert!(refused.header("retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s > 0), "{:?}", refused.headers);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_images_api_supplies_the_artwork() {
    let png = tiny_png();
    let api = fake_server(Arc::new(move |path, body| {
        if path != "/v1/images/generations" || body["response_format"] != "b64_json" {
            return (400, json!({"error": {"message": "bad request"}}));
        }
        (200, json!({"created": 1, "data": [{"b64_json": png}]}))
    }))
    .await;
    let stack = Stack::start_with(&Backend::Embedded, HashMap::from([("IMAGE_OPENAI_URL".to_owned(), api.url.clone()), ("IMAGE_OPENAI_KEY".to_owned(), "sk-test".to_owned())])).await;
    let token = login(&stack).await;
    let reply = generate(&stack, &token, "evt-openai").await;
    let done = wait_job(&stack, &token, reply.json["jobId"].as_str().expect("job")).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(api.calls.load(Ordering::SeqCst), 9);
    let reply = http::get(&stack.url("content", "/content/events/evt-openai"), Some(&token)).await;
    let images = reply.json["images"].as_array().expect("images");
    assert!(images.iter().all(|i| i["fallbackUsed"] == false), "{}", reply.json);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_expires_after_its_ttl() {
    let content = Spec::load("content-service.yaml");
    let stack = Stack::start_with(&Backend::Embedded, HashMap::from([("CONTENT_TTL_SECONDS".to_owned(), "10".to_owned())])).await;
    let token = login(&stack).await;
    let reply = generate(&stack, &token, "evt-ttl").await;
    let done = wait_job(&stack, &token, reply.json["jobId"].as_str().expect("job")).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let reply = http::get(&stack.url("content", "/content/events/evt-ttl"), Some(&token)).await;
    content.check_response("getContentByEventId", 200, &reply.json).expect("documented");
    // Wait until just past the announced expiry.
    let expires = chrono::DateTime::parse_from_rfc3339(reply.json["expiresAt"].as_str().expect("expiresAt")).expect("time");
    let left = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(1200)).await;
    let reply = http::get(&stack.url("content", "/content/events/evt-ttl"), Some(&token)).await;
    assert_eq!(reply.status, 404, "{}", reply.json);
    content.check_response("getContentByEventId", 404, &reply.json).expect("documented 404");
    stack.stop().await;
}

fn chat_answer(content: &str) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_chat_recommender_and_its_fallback() {
    let event = Spec::load("event-service.yaml");
    for (answer, expect_fake) in [(true, true), (false, false)] {
        let api = fake_server(Arc::new(move |path, body| {
            assert_eq!(path, "/v1/chat/completions");
            assert_eq!(body["response_format"]["type"], "json_object");
            if !answer {
                return (200, chat_answer("죄송합니다, 지금은 추천할 수 없어요"));
            }
            let one = json!({"title": "AI 추천 가을 이벤트", "prize": "커피 쿠폰", "participationMethod": "팔로우", "estimatedCost": 300000, "estimatedParticipants": 400, "estimatedROI": 210.5});
            (200, chat_answer(&json!({"recommendations": [one, one, one]}).to_string()))
        }))
        .await;
        let config = HashMap::from([("RECOMMENDER_OPENAI_URL".to_owned(), format!("{}/v1", api.url)), ("RECOMMENDER_OPENAI_KEY".to_owned(), "sk-test".to_owned())]);
        let stack = Stack::start_with(&Backend::Embedded, config).await;
        let token = login(&stack).await;
        let body = json!({"objective": "NEW_CUSTOMER", "storeInfo": {"storeName": "홍길동 카페", "industry": "카페", "region": "서울"}});
        let draft = http::post_json(&stack.url("event", "/api/events/purposes"), Some(&token), &body).await;
        let id = draft.json["eventDraftId"].as_str().expect("id").to_owned();
        let job = http::post_json(&stack.url("event", &format!("/api/events/{id}/ai-recommendations")), Some(&token), &Value::Null).await;
        let job_id = job.json["jobId"].as_str().expect("job").to_owned();
        let mut done = Value::Null;
        for _ in 0..300 {
            done = http::get(&stack.url("event", &format!("/api/jobs/{job_id}/status")), Some(&token)).await.json;
            if done["status"] == "COMPLETED" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(done["status"], "COMPLETED", "{done}");
        event.check_schema("AIRecommendationJobResult", &done).expect("AIRecommendationJobResult");
        let first = done["recommendations"][0]["title"].as_str().unwrap_or_default().to_owned();
        assert_eq!(first == "AI 추천 가을 이벤트", expect_fake, "{done}");
        assert!(api.calls.load(Ordering::SeqCst) >= 1);
        stack.stop().await;
    }
}
