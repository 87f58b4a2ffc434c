//! Route test: every documented operation, as a concrete request, resolves in its API's
//! route table to the right RPC with its path variables bound. No server needed.

use std::sync::Arc;

use contracts::auth::TokenVerifier;
use service_core::SigningKeys;
use contracts::Contracts;
use gateway::routes::RouteMatch;
use gateway::{Gateway, GatewayConfig};

use crate::support::spec::Spec;

/// Spec file → the API (listener) that serves it.
pub const SPEC_APIS: &[(&str, &str)] = &[
    ("event-service.yaml", "event"),
    ("content-service.yaml", "content"),
    ("user-service.yaml", "user"),
    ("ticketing.yaml", "ticketing"),
    ("product-change-service.yaml", "product_change"),
];

fn gateway() -> Gateway {
    let contracts = Arc::new(Contracts::embedded().expect("contracts load"));
    let verifier = TokenVerifier::new(SigningKeys::ephemeral().public_keys());
    Gateway::new(contracts, verifier, &GatewayConfig::default()).expect("gateway builds")
}

/// Resolves `method path` on an API; returns (operation id, bound values).
fn resolve(gateway: &Gateway, api: &str, method: &str, path: &str) -> Option<(String, Vec<(String, String)>)> {
    let runtime = gateway.runtime(api).unwrap_or_else(|| panic!("no API {api}"));
    let method = http::Method::from_bytes(method.as_bytes()).expect("method");
    match runtime.routes.find(&method, path) {
        RouteMatch::Found { operation, bindings } => Some((operation.options.operation_id.clone(), bindings)),
        _ => None,
    }
}

#[test]
fn every_documented_operation_resolves_with_its_path_variables() {
    let gateway = gateway();
    let mut checked = 0;
    for (file, api) in SPEC_APIS {
        let spec = Spec::load(file);
        for operation in spec.operations() {
            // A concrete path: each {param} becomes a distinct sample value.
            let mut path = operation.path.clone();
            let mut samples = Vec::new();
            while let Some(start) = path.find('{') {
                let end = path[start..].find('}').expect("closing brace") + start;
                let name = path[start + 1..end].to_owned();
                let sample = format!("3f2c9a4e-0000-4000-8000-00000000000{}", samples.len());
                path.replace_range(start..=end, &sample);
                samples.push((name, sample));
            }
            let (operation_id, bindings) = resolve(&gateway, api, &operation.method, &path)
                .unwrap_or_else(|| panic!("{file}: {} {path} does not resolve", operation.method));
            assert_eq!(operation_id, operation.operation_id, "{file}: {} {path}", operation.method);
            assert_eq!(bindings.len(), samples.len(), "{file}: {} {path}: {bindings:?}", operation.method);
            for ((name, sample), (field, value)) in samples.iter().zip(&bindings) {
                assert_eq!(value, sample, "{file} {path}: {{{name}}} bound to {field}");
                let snake: String = name
                    .chars()
                    .flat_map(|c| if c.is_uppercase() { vec!['_', c.to_ascii_lowercase()] } else { vec![c] })
                    .collect();
                assert_eq!(field, &snake, "{file} {path}: {{{name}}} must bind field {snake}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 49, "the specs document 49 operations");
}

#[test]
fn colliding_paths_resolve_per_listener() {
    let gateway = gateway();
    let id = "3f2c9a4e-1111-4000-8000-000000000001";
    let cases = [
        ("event", "GET", "/api/events/dashboard".to_owned(), "getDashboard", vec![]),
        ("event", "GET", format!("/api/events/{id}"), "getEventDetail", vec![id]),
        ("event", "GET", "/api/events".to_owned(), "getEventList", vec![]),
        ("ticketing", "GET", "/api/events/42".to_owned(), "getEvent", vec!["42"]),
        ("ticketing", "GET", "/api/events/dashboard".to_owned(), "getEvent", vec!["dashboard"]),
        ("ticketing", "GET", "/api/events".to_owned(), "listEvents", vec![]),
        ("ticketing", "POST", "/api/events".to_owned(), "createEvent", vec![]),
        ("ticketing", "POST", "/api/auth/login".to_owned(), "login", vec![]),
        ("user", "POST", "/api/v1/auth/login".to_owned(), "login", vec![]),
        ("content", "GET", "/content/events/e1/images".to_owned(), "getImages", vec!["e1"]),
        ("content", "GET", "/content/events/e1".to_owned(), "getContentByEventId", vec!["e1"]),
        ("content", "GET", "/content/images/jobs/j1".to_owned(), "getImageGenerationStatus", vec!["j1"]),
        ("content", "GET", "/content/images/i1".to_owned(), "getImageById", vec!["i1"]),
        ("product_change", "POST", "/products/change/validation".to_owned(), "validateProductChange", vec![]),
        ("product_change", "GET", "/products/change/r1".to_owned(), "getProductChangeResult", vec!["r1"]),
    ];
    for (api, method, path, expected, values) in cases {
        let (operation_id, bindings) =
            resolve(&gateway, api, method, &path).unwrap_or_else(|| panic!("{api}: {method} {path} unresolved"));
        assert_eq!(operation_id, expected, "{api}: {method} {path}");
        let bound: Vec<&str> = bindings.iter().map(|(_, value)| value.as_str()).collect();
        assert_eq!(bound, values, "{api}: {method} {path}");
    }
    // Not on the wrong listener.
    assert!(resolve(&gateway, "user", "GET", "/api/events").is_none());
    assert!(resolve(&gateway, "event", "POST", "/api/auth/login").is_none());
    assert!(resolve(&gateway, "product_change", "GET", "/products/history/extra").is_none());
}
