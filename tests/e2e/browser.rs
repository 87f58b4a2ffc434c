//! Browser clients: CORS (preflight from the route table, headers on actual answers, refused
//! origins get none), compressed responses and gzip request bodies, gRPC-Web (binary and
//! text) on a service's gRPC port, and every answer the gateway makes itself — including
//! hyper's own refusals of unparsable requests — in the API's documented error body.

use std::collections::HashMap;
use std::io::{Read, Write};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::spec::Spec;
use crate::support::stack::{Stack, backends};

const ALLOWED: &str = "http://localhost:5173";
const REFUSED: &str = "https://evil.example";
const LOGIN: &str = "/api/v1/auth/login";
const CREDENTIALS: &str = r#"{"username":"user001","password":"P@ssw0rd123!"}"#;

/// API name → its spec file.
const SPECS: &[(&str, &str)] = &[
    ("event", "event-service.yaml"),
    ("content", "content-service.yaml"),
    ("user", "user-service.yaml"),
    ("ticketing", "ticketing.yaml"),
    ("product_change", "product-change-service.yaml"),
];

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} body is not JSON ({e}): {:?}", self.status, String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 request with exactly these headers; the body bytes as received.
async fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client.request(request.body(Full::new(Bytes::from(body))).expect("request")).await.expect("answer");
    let (parts, body) = response.into_parts();
    Answer { status: parts.status.as_u16(), headers: parts.headers, body: body.collect().await.expect("body").to_bytes() }
}

/// Bytes written as they are on a fresh connection (requests hyper cannot parse).
async fn send_bytes(url: &str, request: &[u8]) -> Answer {
    let authority = url.trim_start_matches("http://").split('/').next().expect("authority").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read until the server closes");
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(&raw) {
        Ok(httparse::Status::Complete(head)) => head,
        other => panic!("no complete response ({other:?}): {:?}", String::from_utf8_lossy(&raw)),
    };
    let mut map = http::HeaderMap::new();
    for header in response.headers.iter() {
        map.append(
            http::HeaderName::from_bytes(header.name.as_bytes()).expect("name"),
            http::HeaderValue::from_bytes(header.value).expect("value"),
        );
    }
    Answer { status: response.code.expect("status"), headers: map, body: Bytes::copy_from_slice(&raw[head..]) }
}

fn assert_error_body(spec: &Spec, answer: &Answer, status: u16) -> Value {
    assert_eq!(answer.status, status, "body {:?}", String::from_utf8_lossy(&answer.body));
    assert!(
        answer.header("content-type").is_some_and(|value| value.starts_with("application/json")),
        "{status}: JSON content type, got {:?}",
        answer.header("content-type")
    );
    let json = answer.json();
    if let Err(violations) = spec.check_schema("ErrorResponse", &json) {
        panic!("{status} body breaks {}'s ErrorResponse:\n{violations}\n{json:#}", spec.name());
    }
    json
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("gzip body");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out).expect("br body");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_and_actual_calls_from_allowed_and_refused_origins() {
    let user = Spec::load("user-service.yaml");
    let event = Spec::load("event-service.yaml");
    for backend in backends() {
        let stack = Stack::start(&backend).await;
        let login = stack.url("user", LOGIN);
        let preflight = |origin: &'static str, url: String| async move {
            send(
                "OPTIONS",
                &url,
                &[("origin", origin), ("access-control-request-method", "POST"), ("access-control-request-headers", "content-type")],
                Vec::new(),
            )
            .await
        };

        // Allowed origin: 204 with the path's methods from the route table.
        let allowed = preflight(ALLOWED, login.clone()).await;
        assert_eq!(allowed.status, 204, "{}", backend.label());
        assert_eq!(allowed.header("access-control-allow-origin"), Some(ALLOWED));
        assert_eq!(allowed.header("access-control-allow-methods"), Some("POST"));
        assert_eq!(allowed.header("allow"), Some("POST"));
        let allow_headers = allowed.header("access-control-allow-headers").expect("allowed headers").to_ascii_lowercase();
        assert!(allow_headers.contains("content-type") && allow_headers.contains("authorization"), "{allow_headers}");
        assert_eq!(allowed.header("access-control-max-age"), Some("600"));
        assert!(allowed.body.is_empty());

        // Refused origin: the same answer without any CORS header.
        let refused = preflight(REFUSED, login.clone()).await;
        assert_eq!(refused.status, 204);
        assert!(refused.headers.keys().all(|name| !name.as_str().starts_with("access-control-")), "{:?}", refused.headers);

        // Unknown path: the API's 404.
        let unknown = preflight(ALLOWED, stack.url("user", "/api/v1/nowhere")).await;
        let json = assert_error_body(&user, &unknown, 404);
        assert_eq!(json["error"]["code"], "NOT_FOUND");

        // Actual call from the allowed origin: CORS headers, readable request id.
        let body = CREDENTIALS.as_bytes().to_vec();
        let headers = [("origin", ALLOWED), ("content-type", "application/json")];
        let call = send("POST", &login, &headers, body.clone()).await;
        assert_eq!(call.status, 200, "{:?}", call.json());
        user.check_response("login", 200, &call.json()).expect("login body");
        assert_eq!(call.header("access-control-allow-origin"), Some(ALLOWED));
        let exposed = call.header("access-control-expose-headers").expect("exposed").to_ascii_lowercase();
        for name in ["x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining", "retry-after"] {
            assert!(exposed.contains(name), "{name} exposed: {exposed}");
        }
        assert!(call.headers.get_all("vary").iter().any(|v| v.to_str().unwrap_or("").contains("origin")));

        // Refused origin: the answer, no CORS headers (the browser hides it from the page).
        let call = send("POST", &login, &[("origin", REFUSED), ("content-type", "application/json")], body).await;
        assert_eq!(call.status, 200);
        assert!(call.header("access-control-allow-origin").is_none());

        // An error answered by the gateway itself carries them too (Event API, no token).
        let events = send("GET", &stack.url("event", "/api/events"), &[("origin", "http://127.0.0.1:8081")], Vec::new()).await;
        assert_error_body(&event, &events, 401);
        assert_eq!(events.header("access-control-allow-origin"), Some("http://127.0.0.1:8081"));

        // Without Origin: no CORS work at all.
        let plain = send("GET", &stack.url("user", "/.well-known/jwks.json"), &[], Vec::new()).await;
        assert_eq!(plain.status, 200);
        assert!(plain.headers.keys().all(|name| !name.as_str().starts_with("access-control-") && name != "vary"));
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_origins_are_configured_per_api() {
    let backend = backends().remove(0);
    let extra = HashMap::from([
        ("USER_CORS_ORIGINS".to_owned(), "https://app.example.com".to_owned()),
        ("USER_CORS_CREDENTIALS".to_owned(), "true".to_owned()),
        ("EVENT_CORS_ORIGINS".to_owned(), "none".to_owned()),
    ]);
    let stack = Stack::start_with(&backend, extra).await;
    let jwks = stack.url("user", "/.well-known/jwks.json");
    let production = send("GET", &jwks, &[("origin", "https://app.example.com")], Vec::new()).await;
    assert_eq!(production.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert_eq!(production.header("access-control-allow-credentials"), Some("true"));
    let localhost = send("GET", &jwks, &[("origin", ALLOWED)], Vec::new()).await;
    assert!(localhost.header("access-control-allow-origin").is_none(), "the explicit list replaces the default");
    let events = send("GET", &stack.url("event", "/api/events"), &[("origin", ALLOWED)], Vec::new()).await;
    assert_eq!(events.status, 401);
    assert!(events.header("access-control-allow-origin").is_none(), "CORS off for this API");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_compressed_and_gzip_request_bodies_accepted_within_the_limit() {
    let user = Spec::load("user-service.yaml");
    for backend in backends() {
        let extra = HashMap::from([
            ("COMPRESSION_MIN_BYTES".to_owned(), "300".to_owned()),
            ("MAX_BODY_BYTES".to_owned(), "65536".to_owned()),
        ]);
        let stack = Stack::start_with(&backend, extra).await;
        let login = stack.url("user", LOGIN);
        let json = ("content-type", "application/json");

        // A login answer (two tokens, over the threshold) in each accepted encoding.
        for (accept, decode) in [("gzip", gunzip as fn(&[u8]) -> Vec<u8>), ("br", unbrotli), ("br;q=1.0, gzip;q=0.5", unbrotli)] {
            let answer = send("POST", &login, &[json, ("accept-encoding", accept)], CREDENTIALS.into()).await;
            assert_eq!(answer.status, 200, "{}", backend.label());
            let expected = if accept == "gzip" { "gzip" } else { "br" };
            assert_eq!(answer.header("content-encoding"), Some(expected), "Accept-Encoding: {accept}");
            assert!(answer.headers.get_all("vary").iter().any(|v| v.to_str().unwrap_or("").contains("accept-encoding")));
            let body: Value = serde_json::from_slice(&decode(&answer.body)).expect("JSON inside");
            user.check_response("login", 200, &body).expect("login body");
        }
        let identity = send("POST", &login, &[json], CREDENTIALS.into()).await;
        assert_eq!(identity.status, 200);
        assert!(identity.header("content-encoding").is_none(), "not asked for, not compressed");
        // Under the threshold: sent as it is even when gzip is accepted.
        let small = send("GET", &stack.url("user", "/api/v1/nowhere"), &[("accept-encoding", "gzip")], Vec::new()).await;
        assert!(small.body.len() < 300, "a small body: {}", small.body.len());
        assert!(small.header("content-encoding").is_none());
        assert_error_body(&user, &small, 404);

        // Request bodies: gzip accepted; the limit counts the inflated bytes.
        let gzipped = send("POST", &login, &[json, ("content-encoding", "gzip")], gzip(CREDENTIALS.as_bytes())).await;
        assert_eq!(gzipped.status, 200, "{:?}", gzipped.json());
        user.check_response("login", 200, &gzipped.json()).expect("login body");
        let mut bomb = b"{\"username\":\"".to_vec();
        bomb.extend(std::iter::repeat_n(b'a', 1024 * 1024));
        bomb.extend_from_slice(b"\"}");
        let bomb = gzip(&bomb);
        assert!(bomb.len() < 65536 / 8, "the bomb itself is small: {}", bomb.len());
        let refused = send("POST", &login, &[json, ("content-encoding", "gzip")], bomb).await;
        let body = assert_error_body(&user, &refused, 413);
        assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE");
        let not_gzip = send("POST", &login, &[json, ("content-encoding", "gzip")], CREDENTIALS.into()).await;
        assert_error_body(&user, &not_gzip, 400);
        let brotli_body = send("POST", &login, &[json, ("content-encoding", "br")], CREDENTIALS.into()).await;
        let body = assert_error_body(&user, &brotli_body, 415);
        assert_eq!(body["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_the_gateway_makes_itself_is_in_the_api_error_body() {
    let backend = backends().remove(0);
    let stack = Stack::start_with(&backend, HashMap::from([("MAX_BODY_BYTES".to_owned(), "1024".to_owned())])).await;
    for (api, file) in SPECS {
        let spec = Spec::load(file);
        let url = stack.url(api, "/");
        let base = url.split_once("//").map(|(_, rest)| rest).and_then(|rest| rest.find('/').map(|i| &rest[i..])).unwrap_or("/");
        let base = base.trim_end_matches('/');

        // Refused by hyper's parser: URI over 65 534 bytes, more than 100 headers, bad syntax.
        let long = format!("GET {base}/{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
        let answer = send_bytes(&url, long.as_bytes()).await;
        assert_error_body(&spec, &answer, 414);
        let mut many = format!("GET {base}/ HTTP/1.1\r\nHost: x\r\n");
        for index in 0..120 {
            many.push_str(&format!("X-Filler-{index}: {index}\r\n"));
        }
        many.push_str("\r\n");
        assert_error_body(&spec, &send_bytes(&url, many.as_bytes()).await, 431);
        let bad = format!("GET {base}/ HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n");
        assert_error_body(&spec, &send_bytes(&url, bad.as_bytes()).await, 400);
        let garbage = send_bytes(&url, b"\x01\x02 nonsense\r\n\r\n").await;
        assert_error_body(&spec, &garbage, 400);
    }

    // The rest, on the User API: a body that is not JSON, a method the path does not have,
    // a body over the limit.
    let user = Spec::load("user-service.yaml");
    let login = stack.url("user", LOGIN);
    let text = send("POST", &login, &[("content-type", "text/plain")], CREDENTIALS.into()).await;
    let body = assert_error_body(&user, &text, 415);
    assert_eq!(body["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    let form = send("POST", &login, &[("content-type", "application/x-www-form-urlencoded")], b"username=a".to_vec()).await;
    assert_error_body(&user, &form, 415);
    let untyped = send("POST", &login, &[], CREDENTIALS.into()).await;
    assert_eq!(untyped.status, 200, "no Content-Type: read as JSON");
    let problem_json = send("POST", &login, &[("content-type", "application/merge-patch+json; charset=utf-8")], CREDENTIALS.into()).await;
    assert_eq!(problem_json.status, 200, "+json media types are JSON");
    let method = send("DELETE", &login, &[], Vec::new()).await;
    assert_error_body(&user, &method, 405);
    assert_eq!(method.header("allow"), Some("POST"));
    let large = send("POST", &login, &[("content-type", "application/json")], vec![b' '; 4096]).await;
    assert_error_body(&user, &large, 413);
    // Timeouts (504) and unreachable services (503) are covered in gateway_edges.
    stack.stop().await;
}

/// One gRPC-Web call of `user.v1.UserService/GetJwks` (empty request) in a content type.
async fn grpc_web_jwks(stack: &Stack, content_type: &str, text: bool) -> (Vec<u8>, String) {
    let frame = [0u8, 0, 0, 0, 0]; // data frame, no compression, 0-byte message
    let body = if text { base64::engine::general_purpose::STANDARD.encode(frame).into_bytes() } else { frame.to_vec() };
    let url = format!("http://{}/user.v1.UserService/GetJwks", stack.grpc("user"));
    // The answer's encoding follows `Accept`, as grpc-web's JavaScript client sends it.
    let headers = [("content-type", content_type), ("accept", content_type), ("x-grpc-web", "1")];
    let answer = send("POST", &url, &headers, body).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some(content_type));
    let raw = if text {
        // Each frame may be base64 on its own: decode the concatenation piecewise.
        let text = String::from_utf8(answer.body.to_vec()).expect("text");
        text.split_inclusive('=')
            .flat_map(|piece| base64::engine::general_purpose::STANDARD.decode(piece).expect("base64"))
            .collect()
    } else {
        answer.body.to_vec()
    };
    // Frames: [flag][u32 length][payload]; flag 0x80 marks the trailers.
    let (mut message, mut trailers, mut rest) = (Vec::new(), String::new(), raw.as_slice());
    while rest.len() >= 5 {
        let length = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let payload = &rest[5..5 + length];
        if rest[0] & 0x80 != 0 {
            trailers = String::from_utf8_lossy(payload).into_owned();
        } else {
            message = payload.to_vec();
        }
        rest = &rest[5 + length..];
    }
    (message, trailers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_binary_and_text_on_the_grpc_port() {
    use prost::Message;
    let backend = backends().remove(0);
    let stack = Stack::start(&backend).await;
    for (content_type, text) in [("application/grpc-web+proto", false), ("application/grpc-web-text+proto", true)] {
        let (message, trailers) = grpc_web_jwks(&stack, content_type, text).await;
        assert!(trailers.contains("grpc-status:0"), "{content_type}: trailers {trailers:?}");
        let jwks = contracts::proto::user::v1::JsonWebKeySet::decode(message.as_slice()).expect("a JwkSet");
        assert!(!jwks.keys.is_empty(), "{content_type}: keys published");
        assert!(jwks.keys.iter().all(|key| key.kty == "OKP" && !key.x.is_empty()));
    }
    // A page on another origin: preflight, then the call, with CORS for allowed origins only.
    let url = format!("http://{}/user.v1.UserService/GetJwks", stack.grpc("user"));
    let preflight = [
        ("origin", ALLOWED),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type,x-grpc-web,x-user-agent"),
    ];
    let answer = send("OPTIONS", &url, &preflight, Vec::new()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), Some(ALLOWED));
    let allowed = answer.header("access-control-allow-headers").unwrap_or_default().to_owned();
    assert!(allowed.contains("x-grpc-web") && allowed.contains("content-type"), "{allowed}");
    let web = [("content-type", "application/grpc-web+proto"), ("x-grpc-web", "1")];
    let call = send("POST", &url, &[web[0], web[1], ("origin", ALLOWED)], vec![0, 0, 0, 0, 0]).await;
    assert_eq!(call.header("access-control-allow-origin"), Some(ALLOWED));
    assert!(call.header("access-control-expose-headers").unwrap_or_default().contains("grpc-status"));
    let refused = send("POST", &url, &[web[0], web[1], ("origin", REFUSED)], vec![0, 0, 0, 0, 0]).await;
    assert_eq!(refused.status, 200);
    assert!(refused.header("access-control-allow-origin").is_none());

    // Plain gRPC still works on the same port.
    let mut client = contracts::proto::user::v1::user_service_client::UserServiceClient::connect(format!(
        "http://{}",
        stack.grpc("user")
    ))
    .await
    .expect("connect");
    let jwks = client.get_jwks(contracts::proto::user::v1::GetJwksRequest {}).await.expect("gRPC");
    assert!(!jwks.into_inner().keys.is_empty());
    stack.stop().await;
}
