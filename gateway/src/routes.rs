//! The route table of one API: `google.api.http` path templates matched against request
//! paths. Literal segments win over variables, so `/api/events/dashboard` beats
//! `/api/events/{id}` whatever order the contract declares them in.

use std::sync::Arc;

use contracts::Operation;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{field}` or `{field=*}`: one segment bound to a (dotted) request field.
    Variable(String),
    /// `{field=**}`: the rest of the path.
    Rest(String),
}

#[derive(Debug)]
struct Route {
    segments: Vec<Segment>,
    operation: Arc<Operation>,
}

/// The outcome of a lookup.
#[derive(Debug)]
pub enum RouteMatch<'a> {
    Found { operation: &'a Arc<Operation>, bindings: Vec<(String, String)> },
    /// The path exists, not with this method: 405 with these methods in `Allow`.
    MethodNotAllowed(Vec<http::Method>),
    NotFound,
}

#[derive(Debug, thiserror::Error)]
#[error("bad path template {template:?}: {reason}")]
pub struct TemplateError {
    template: String,
    reason: &'static str,
}

fn parse_template(template: &str) -> Result<Vec<Segment>, TemplateError> {
    let error = |reason| TemplateError { template: template.to_owned(), reason };
    let Some(rest) = template.strip_prefix('/') else { return Err(error("must start with /")) };
    let mut segments = Vec::new();
    for part in rest.split('/') {
        if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            let (field, pattern) = inner.split_once('=').unwrap_or((inner, "*"));
            if field.is_empty() {
                return Err(error("empty variable name"));
            }
            segments.push(match pattern {
                "*" => Segment::Variable(field.to_owned()),
                "**" => Segment::Rest(field.to_owned()),
                _ => return Err(error("only {field}, {field=*} and {field=**} are supported")),
            });
        } else if part.is_empty() || part.contains(['{', '}']) {
            return Err(error("empty or malformed segment"));
        } else {
            segments.push(Segment::Literal(part.to_owned()));
        }
    }
    Ok(segments)
}

/// Percent-decodes one path segment; None when it is not valid UTF-8 after decoding.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Routes of one API, most specific first.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    pub fn new(operations: impl IntoIterator<Item = Arc<Operation>>) -> Result<Self, TemplateError> {
        let mut routes = Vec::new();
        for operation in operations {
            let segments = parse_template(&operation.http.path)?;
            routes.push(Route { segments, operation });
        }
        // Literal before variable before rest, segment by segment.
        let rank = |segment: &Segment| match segment {
            Segment::Literal(_) => 0,
            Segment::Variable(_) => 1,
            Segment::Rest(_) => 2,
        };
        routes.sort_by(|a, b| {
            let a_ranks = a.segments.iter().map(rank);
            let b_ranks = b.segments.iter().map(rank);
            a_ranks.cmp(b_ranks).then(b.segments.len().cmp(&a.segments.len()))
        });
        Ok(Self { routes })
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Finds the operation for a method and a path (already stripped of the base path).
    pub fn find(&self, method: &http::Method, path: &str) -> RouteMatch<'_> {
        let Some(rest) = path.strip_prefix('/') else { return RouteMatch::NotFound };
        let parts: Vec<&str> = rest.split('/').collect();
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(bindings) = match_segments(&route.segments, &parts) else { continue };
            if route.operation.http.method == *method {
                return RouteMatch::Found { operation: &route.operation, bindings };
            }
            if !allowed.contains(&route.operation.http.method) {
                allowed.push(route.operation.http.method.clone());
            }
        }
        if allowed.is_empty() { RouteMatch::NotFound } else { RouteMatch::MethodNotAllowed(allowed) }
    }

    /// Every method a path is served with (a CORS preflight's answer); empty: unknown path.
    pub fn methods(&self, path: &str) -> Vec<http::Method> {
        let Some(rest) = path.strip_prefix('/') else { return Vec::new() };
        let parts: Vec<&str> = rest.split('/').collect();
        let mut methods: Vec<http::Method> = Vec::new();
        for route in &self.routes {
            if match_segments(&route.segments, &parts).is_some() && !methods.contains(&route.operation.http.method) {
                methods.push(route.operation.http.method.clone());
            }
        }
        methods
    }
}

fn match_segments(segments: &[Segment], parts: &[&str]) -> Option<Vec<(String, String)>> {
    let mut bindings = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Literal(literal) => {
                if parts.get(index) != Some(&literal.as_str()) {
                    return None;
                }
            }
            Segment::Variable(field) => {
                let part = parts.get(index).filter(|part| !part.is_empty())?;
                bindings.push((field.clone(), percent_decode(part)?));
            }
            Segment::Rest(field) => {
                let rest = parts.get(index..)?.join("/");
                bindings.push((field.clone(), percent_decode(&rest)?));
                return Some(bindings);
            }
        }
    }
    (parts.len() == segments.len()).then_some(bindings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        assert_eq!(
            parse_template("/api/jobs/{job_id}/status").unwrap(),
            vec![
                Segment::Literal("api".into()),
                Segment::Literal("jobs".into()),
                Segment::Variable("job_id".into()),
                Segment::Literal("status".into()),
            ]
        );
        assert!(parse_template("api/x").is_err());
        assert!(parse_template("/api/{}").is_err());
        assert!(parse_template("/api//x").is_err());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("%ED%99%8D").as_deref(), Some("홍"));
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
    }

    #[test]
    fn segments_match() {
        let segments = parse_template("/a/{x}/c").unwrap();
        assert_eq!(
            match_segments(&segments, &["a", "b", "c"]),
            Some(vec![("x".to_owned(), "b".to_owned())])
        );
        assert_eq!(match_segments(&segments, &["a", "", "c"]), None);
        assert_eq!(match_segments(&segments, &["a", "b"]), None);
        assert_eq!(match_segments(&segments, &["a", "b", "c", "d"]), None);
    }
}
