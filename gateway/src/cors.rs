//! CORS for browser front ends on another origin, per API. Preflights are answered from the
//! route table (the methods of that path); actual responses get the headers when the
//! request's `Origin` is allowed. A request without `Origin` costs one header lookup.

use http::{HeaderMap, HeaderValue, Method, header};

/// One API's CORS settings, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    /// Exact origins (`https://app.example.com`), `scheme://host:*` for any port of a host,
    /// or `*` for any origin (then never with credentials).
    pub origins: Vec<String>,
    /// Request headers a browser may send (`Access-Control-Allow-Headers`).
    pub allow_headers: Vec<String>,
    /// Response headers a page may read (`Access-Control-Expose-Headers`).
    pub expose_headers: Vec<String>,
    pub allow_credentials: bool,
    pub max_age_seconds: u32,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            origins: Vec::new(),
            allow_headers: ["Authorization", "Content-Type", "Content-Encoding", "X-Request-Id"]
                .map(str::to_owned)
                .to_vec(),
            expose_headers: [
                "X-Request-Id",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "Retry-After",
            ]
            .map(str::to_owned)
            .to_vec(),
            allow_credentials: false,
            max_age_seconds: 600,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("CORS setting {value:?} is not a valid header value")]
pub struct CorsConfigError {
    value: String,
}

#[derive(Debug, Clone)]
enum OriginRule {
    Any,
    Exact(String),
    /// `scheme://host` followed by nothing or `:<port>`.
    AnyPort(String),
}

impl OriginRule {
    fn parse(text: &str) -> Self {
        let text = text.trim().trim_end_matches('/');
        if text == "*" {
            OriginRule::Any
        } else if let Some(prefix) = text.strip_suffix(":*") {
            OriginRule::AnyPort(prefix.to_ascii_lowercase())
        } else {
            OriginRule::Exact(text.to_ascii_lowercase())
        }
    }

    fn matches(&self, origin: &str) -> bool {
        match self {
            OriginRule::Any => true,
            OriginRule::Exact(exact) => origin.eq_ignore_ascii_case(exact),
            OriginRule::AnyPort(prefix) => {
                let Some(head) = origin.get(..prefix.len()) else { return false };
                if !head.eq_ignore_ascii_case(prefix) {
                    return false;
                }
                match &origin[prefix.len()..] {
                    "" => true,
                    rest => rest
                        .strip_prefix(':')
                        .is_some_and(|port| !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())),
                }
            }
        }
    }
}

/// The compiled policy: header values built once at start.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    rules: Vec<OriginRule>,
    /// Answer `*` instead of echoing the origin (any origin, no credentials).
    wildcard: bool,
    allow_headers: HeaderValue,
    expose_headers: HeaderValue,
    allow_credentials: bool,
    max_age: HeaderValue,
}

fn joined(values: &[String]) -> Result<HeaderValue, CorsConfigError> {
    let text = values.join(", ");
    HeaderValue::from_str(&text).map_err(|_| CorsConfigError { value: text })
}

impl CorsPolicy {
    /// None when no origin is allowed (the API answers browsers without CORS).
    pub fn new(config: &CorsConfig) -> Result<Option<Self>, CorsConfigError> {
        let rules: Vec<OriginRule> = config.origins.iter().filter(|o| !o.trim().is_empty()).map(|o| OriginRule::parse(o)).collect();
        if rules.is_empty() {
            return Ok(None);
        }
        let any = rules.iter().any(|rule| matches!(rule, OriginRule::Any));
        Ok(Some(Self {
            rules,
            // Browsers refuse `*` with credentials: then the origin is echoed instead.
            wildcard: any && !config.allow_credentials,
            allow_headers: joined(&config.allow_headers)?,
            expose_headers: joined(&config.expose_headers)?,
            allow_credentials: config.allow_credentials,
            max_age: HeaderValue::from(config.max_age_seconds),
        }))
    }

    /// Whether a page of this origin may call (also used for gRPC-Web on the gRPC ports).
    pub fn allows(&self, origin: &str) -> bool {
        self.rules.iter().any(|rule| rule.matches(origin))
    }

    /// The request's origin when it is allowed.
    pub fn allowed_origin<'a>(&self, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        self.allows(origin.to_str().ok()?).then_some(origin)
    }

    /// Whether the request is a CORS preflight (OPTIONS with `Access-Control-Request-Method`).
    pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// Headers of an actual response to an allowed origin.
    pub fn decorate(&self, origin: &HeaderValue, headers: &mut HeaderMap) {
        self.allow_origin(origin, headers);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, self.expose_headers.clone());
    }

    /// Headers of a preflight answer to an allowed origin; `methods` from the route table.
    pub fn decorate_preflight(&self, origin: &HeaderValue, methods: &[Method], headers: &mut HeaderMap) {
        self.allow_origin(origin, headers);
        let methods: Vec<&str> = methods.iter().map(Method::as_str).collect();
        if let Ok(value) = HeaderValue::from_str(&methods.join(", ")) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, value);
        }
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, self.allow_headers.clone());
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
    }

    fn allow_origin(&self, origin: &HeaderValue, headers: &mut HeaderMap) {
        if self.wildcard {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            return;
        }
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        // The answer depends on the origin: shared caches must key on it.
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        if self.allow_credentials {
            headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str], credentials: bool) -> CorsPolicy {
        let config = CorsConfig {
            origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            allow_credentials: credentials,
            ..CorsConfig::default()
        };
        CorsPolicy::new(&config).expect("valid").expect("some origin")
    }

    fn with_origin(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_str(origin).expect("value"));
        headers
    }

    #[test]
    fn any_port_patterns_match_only_that_host_with_a_numeric_port() {
        let policy = policy(&["http://localhost:*"], false);
        for allowed in ["http://localhost:3000", "http://localhost", "HTTP://LOCALHOST:8080"] {
            assert!(policy.allowed_origin(&with_origin(allowed)).is_some(), "{allowed}");
        }
        for refused in [
            "http://localhost.evil.com",
            "http://localhost:80.evil.com",
            "https://localhost:3000",
            "http://localhost:",
            "http://127.0.0.1:3000",
            "null",
        ] {
            assert!(policy.allowed_origin(&with_origin(refused)).is_none(), "{refused}");
        }
        assert!(policy.allowed_origin(&HeaderMap::new()).is_none(), "no Origin, no CORS");
    }

    #[test]
    fn exact_origins_are_echoed_and_vary_on_origin() {
        let policy = policy(&["https://app.example.com"], true);
        let request = with_origin("https://app.example.com");
        let origin = policy.allowed_origin(&request).expect("allowed");
        let mut headers = HeaderMap::new();
        policy.decorate(origin, &mut headers);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(headers[header::VARY], "origin");
        assert!(headers[header::ACCESS_CONTROL_EXPOSE_HEADERS].to_str().expect("text").contains("X-Request-Id"));
        assert!(policy.allowed_origin(&with_origin("https://app.example.com.evil")).is_none());
    }

    #[test]
    fn wildcard_without_credentials_answers_star_and_with_credentials_echoes() {
        let request = with_origin("https://any.example");
        let star = policy(&["*"], false);
        let mut headers = HeaderMap::new();
        star.decorate(star.allowed_origin(&request).expect("allowed"), &mut headers);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(!headers.contains_key(header::VARY));

        let echo = policy(&["*"], true);
        let mut headers = HeaderMap::new();
        echo.decorate_preflight(echo.allowed_origin(&request).expect("allowed"), &[Method::GET, Method::POST], &mut headers);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://any.example");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_METHODS], "GET, POST");
        assert_eq!(headers[header::ACCESS_CONTROL_MAX_AGE], "600");
    }

    #[test]
    fn no_origins_means_no_policy() {
        assert!(CorsPolicy::new(&CorsConfig::default()).expect("valid").is_none());
    }
}
