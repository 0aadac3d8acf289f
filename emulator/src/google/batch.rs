//! Google's batch requests (`POST /batch`, and the older `/batch/admin/directory_v1`): a
//! `multipart/mixed` body of `application/http` parts, each a Directory request; the answer is
//! `multipart/mixed` again, one `application/http` part per request in request order, with
//! `Content-ID: <response-{id}>`.
//!
//! Each inner request runs through the emulator's own router with the outer `Authorization`
//! (unless the part has its own), so it gets its own token checks, faults and counters,
//! exactly as if sent alone; the batch itself answers 200 whatever the inner statuses.

use super::errors::ApiError;
use super::state::GoogleState;
use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use tower::ServiceExt;

/// Google's documented limit of calls in one batch.
const MAX_PARTS: usize = 1000;
/// Largest inner response body read back (a full page of users is well below).
const MAX_INNER_BODY: usize = 64 * 1024 * 1024;

/// One parsed part.
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    pub content_id: Option<String>,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

fn bad(message: &str) -> Response {
    let mut e = ApiError::bad_request();
    e.body["error"]["message"] = json!(message);
    e.body["error"]["errors"][0]["message"] = json!(message);
    e.into_response()
}

/// The boundary of a `multipart/mixed` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/mixed") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

/// Splits a batch body into its requests; `None` if a part is not an HTTP request.
pub fn parse(body: &str, boundary: &str) -> Option<Vec<Part>> {
    let body = body.replace("\r\n", "\n");
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    for chunk in body.split(&delimiter).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let chunk = chunk.trim_start_matches('\n');
        let (part_headers, http) = chunk.split_once("\n\n")?;
        let content_id = part_headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case("content-id").then(|| {
                v.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
        });
        let mut lines = http.lines();
        let mut request_line = lines.next()?.split_whitespace();
        let method = request_line.next()?.to_string();
        let target = request_line.next()?;
        let path = match target.find("://") {
            Some(i) => target[i + 3..].find('/').map(|j| &target[i + 3 + j..])?,
            None => target,
        };
        if !path.starts_with('/') {
            return None;
        }
        let headers = lines
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        parts.push(Part {
            content_id,
            method,
            path: path.to_string(),
            headers,
        });
    }
    Some(parts)
}

/// `POST /batch` and `POST /batch/admin/directory_v1`.
pub async fn batch(
    axum::extract::State(state): axum::extract::State<Arc<GoogleState>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Some(boundary) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .and_then(boundary)
    else {
        return bad("Batch requests need Content-Type multipart/mixed with a boundary.");
    };
    let Some(parts) = parse(&body, &boundary) else {
        return bad("A batch part is not an HTTP request.");
    };
    if parts.is_empty() {
        return bad("The batch has no requests.");
    }
    if parts.len() > MAX_PARTS {
        return bad("Too many requests in one batch (at most 1000).");
    }
    let out_boundary = format!("batch_{}", super::state::random_token(""));
    let mut out = String::new();
    for (i, part) in parts.into_iter().enumerate() {
        let (status, content_type, text) = run(&state, &headers, &part).await;
        let id = part.content_id.unwrap_or_else(|| (i + 1).to_string());
        out.push_str(&format!(
            "--{out_boundary}\r\nContent-Type: application/http\r\nContent-ID: <response-{id}>\r\n\r\nHTTP/1.1 {} {}\r\nContent-Type: {content_type}\r\n\r\n{text}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
        ));
    }
    out.push_str(&format!("--{out_boundary}--\r\n"));
    let mut response = (StatusCode::OK, out).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("multipart/mixed; boundary={out_boundary}")) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

/// Runs one part through the router: status, content type and body text.
async fn run(
    state: &Arc<GoogleState>,
    outer: &HeaderMap,
    part: &Part,
) -> (StatusCode, String, String) {
    let method = Method::from_bytes(part.method.as_bytes()).unwrap_or(Method::GET);
    let mut builder = Request::builder().method(method).uri(&part.path);
    let mut has_auth = false;
    for (k, v) in &part.headers {
        has_auth |= k.eq_ignore_ascii_case("authorization");
        builder = builder.header(k.as_str(), v.as_str());
    }
    if !has_auth {
        if let Some(auth) = outer.get(header::AUTHORIZATION) {
            builder = builder.header(header::AUTHORIZATION, auth);
        }
    }
    if part.path.starts_with("/batch") {
        let e = ApiError::bad_request();
        return (
            e.status,
            "application/json; charset=UTF-8".into(),
            e.body.to_string(),
        );
    }
    let Ok(request) = builder.body(Body::empty()) else {
        let e = ApiError::bad_request();
        return (
            e.status,
            "application/json; charset=UTF-8".into(),
            e.body.to_string(),
        );
    };
    let response = match super::router(state.clone()).oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status();
    let text = match to_bytes(response.into_body(), MAX_INNER_BODY).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            tracing::error!(error = %e, "reading a batch part's answer");
            String::new()
        }
    };
    (status, "application/json; charset=UTF-8".into(), text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_googles_batch_format() {
        assert_eq!(
            boundary("multipart/mixed; boundary=\"b1\"").as_deref(),
            Some("b1")
        );
        assert_eq!(boundary("application/json"), None);
        let body = "--b1\r\nContent-Type: application/http\r\nContent-ID: <item1>\r\n\r\nGET /admin/directory/v1/groups/g1/members?maxResults=200 HTTP/1.1\r\n\r\n\r\n--b1\r\nContent-Type: application/http\r\n\r\nGET https://admin.googleapis.com/admin/directory/v1/groups/g2/members\r\nAuthorization: Bearer x\r\n\r\n--b1--\r\n";
        let parts = parse(body, "b1").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].content_id.as_deref(), Some("item1"));
        assert_eq!(
            parts[0].path,
            "/admin/directory/v1/groups/g1/members?maxResults=200"
        );
        assert_eq!(parts[1].path, "/admin/directory/v1/groups/g2/members");
        assert_eq!(
            parts[1].headers,
            vec![("Authorization".to_string(), "Bearer x".to_string())]
        );
        assert!(parse("--b1\r\n\r\nnot http\r\n--b1--", "b1").is_none());
    }
}
