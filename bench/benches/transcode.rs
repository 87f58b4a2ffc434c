//! JSON → protobuf → JSON for a 1 KB message, as the gateway does it per request: parse and
//! check the request JSON against the contract, encode protobuf; decode the answer and write
//! the spec's JSON (the goal: both ways under 5 µs).

use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message;
use prost_reflect::DynamicMessage;
use serde_json::json;

use contracts::Contracts;
use contracts::json::{self, FieldNames};

/// A 1 KB getEventDetail answer: nested messages, enums, timestamps, a list that is pruned
/// when empty (`omit_empty`), Korean text.
fn event_detail() -> serde_json::Value {
    json!({
        "event": {
            "eventId": "2f7b0d5e-8a41-4c7e-9d55-0c6b1a3e9f10",
            "title": "신규 고객 환영 이벤트 — 첫 방문 시 아메리카노 1+1 증정",
            "objective": "NEW_CUSTOMER",
            "period": {"startDate": "2026-12-01", "endDate": "2026-12-31"},
            "status": "ACTIVE",
            "participationMethod": "매장 방문 후 인스타그램에 해시태그와 함께 인증 사진을 올려 주세요",
            "selectedImageUrl": "https://cdn.example.com/content/images/2f7b0d5e/instagram-fancy.png",
            "editedContent": {
                "title": "첫 방문 아메리카노 1+1",
                "prizeText": "아메리카노 1+1 쿠폰 (선착순 100명)",
                "participationText": "해시태그 #우리동네카페 와 함께 인증",
                "backgroundColor": "#1E3A8A",
                "textColor": "#FFFFFF",
                "accentColor": "#F59E0B"
            },
            "createdAt": "2026-11-20T09:30:00Z",
            "publishedAt": "2026-11-21T10:00:00Z"
        },
        "prizes": [
            {"prizeId": "0b7e2c1a-3d4f-4a5b-8c9d-1e2f3a4b5c6d", "prizeName": "아메리카노 1+1 쿠폰", "quantity": 100},
            {"prizeId": "1c8f3d2b-4e5a-4b6c-9d0e-2f3a4b5c6d7e", "prizeName": "시그니처 케이크 교환권", "quantity": 10}
        ],
        "distributionStatus": {"channels": [
            {"channelType": "INSTAGRAM", "status": "ACTIVE", "distributionId": "ig-7781", "estimatedReach": 12000, "actualReach": 8450},
            {"channelType": "NAVER_BLOG", "status": "ACTIVE", "distributionId": "nb-1120", "estimatedReach": 5000, "actualReach": 3120},
            {"channelType": "KAKAO_CHANNEL", "status": "FAILED", "estimatedReach": 8000}
        ]}
    })
}

fn transcode(c: &mut Criterion) {
    let contracts = Contracts::embedded().expect("contracts");
    let api = contracts.api("event").expect("event API");
    let operation = api.operations.iter().find(|op| op.options.operation_id == "getEventDetail").expect("operation");
    let desc = operation.method.output();
    let body = serde_json::to_vec(&event_detail()).expect("json");
    assert!((900..1400).contains(&body.len()), "a 1 KB message, got {} bytes", body.len());

    let to_protobuf = |bytes: &[u8]| -> Vec<u8> {
        let value: serde_json::Value = serde_json::from_slice(bytes).expect("json");
        json::decode(&desc, value, &contracts, false).expect("valid").encode_to_vec()
    };
    let to_json = |bytes: &[u8]| -> Vec<u8> {
        let message = DynamicMessage::decode(desc.clone(), bytes).expect("protobuf");
        gateway::response::success_body(operation, &message, &contracts, FieldNames::Json, false)
    };
    let protobuf = to_protobuf(&body);

    let mut group = c.benchmark_group("transcode_1k");
    group.bench_function("json_to_protobuf", |b| b.iter(|| to_protobuf(std::hint::black_box(&body))));
    group.bench_function("protobuf_to_json", |b| b.iter(|| to_json(std::hint::black_box(&protobuf))));
    group.bench_function("round_trip", |b| b.iter(|| to_json(&to_protobuf(std::hint::black_box(&body)))));
    group.finish();

    // Where the time goes, step by step.
    let value: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let message = json::decode(&desc, value.clone(), &contracts, false).expect("valid");
    let mut steps = c.benchmark_group("transcode_1k_steps");
    steps.bench_function("parse_json", |b| b.iter(|| serde_json::from_slice::<serde_json::Value>(std::hint::black_box(&body))));
    steps.bench_function("validate", |b| b.iter(|| json::validate(&desc, std::hint::black_box(&value), &contracts, "")));
    steps.bench_function("deserialize_dynamic", |b| {
        b.iter(|| DynamicMessage::deserialize(desc.clone(), std::hint::black_box(&value)))
    });
    steps.bench_function("encode_protobuf", |b| b.iter(|| std::hint::black_box(&message).encode_to_vec()));
    steps.bench_function("decode_protobuf", |b| b.iter(|| DynamicMessage::decode(desc.clone(), std::hint::black_box(protobuf.as_slice()))));
    steps.bench_function("encode_json_value", |b| b.iter(|| json::encode(std::hint::black_box(&message), &contracts, FieldNames::Json)));
    steps.bench_function("encode_json_bytes", |b| b.iter(|| json::encode_to_vec(std::hint::black_box(&message), &contracts, FieldNames::Json)));
    steps.finish();
}

criterion_group!(benches, transcode);
criterion_main!(benches);
