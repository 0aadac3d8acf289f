//! `POST /v1.0/$batch`: Graph's JSON batching. Up to 20 requests in one POST; each is run
//! through the emulator's own router with the caller's `Authorization`, so token checks,
//! permissions, faults (429/503), latency and counters apply to every inner request as if it
//! had been sent alone. The batch itself answers 200 whatever its requests answered: a 429 of
//! one request is that response's `status`, its `Retry-After` in that response's `headers`.
//!
//! Request: `{"requests":[{"id":"1","method":"GET","url":"/groups/{id}/transitiveMembers?…",
//! "headers":{…}}]}`, urls relative to `/v1.0`. Answer: `{"responses":[{"id","status",
//! "headers","body"}]}`. Graph promises no order of the responses (clients match them by
//! `id`); the emulator answers in reverse request order so a client relying on order fails.
//! `dependsOn` is accepted and needs nothing: requests run one after another, in order.

use super::context::GraphCtx;
use super::error::GraphError;
use crate::state::EmulatorState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use tower::ServiceExt;

/// Graph's limit on the requests of one batch.
pub const MAX_REQUESTS: usize = 20;

/// Inner response bodies larger than this are refused (a page of 999 members is far smaller).
const MAX_INNER_BODY: usize = 64 * 1024 * 1024;

/// Headers of the outer request that each inner request inherits.
const INHERITED: [HeaderName; 3] = [
    header::AUTHORIZATION,
    header::HOST,
    HeaderName::from_static("x-forwarded-proto"),
];

/// Headers of an inner response that are the transport's or the outer response's business.
const NOT_REPORTED: [&str; 5] = [
    "content-length",
    "request-id",
    "client-request-id",
    "x-ms-ags-diagnostic",
    "date",
];

#[derive(Deserialize)]
struct BatchBody {
    requests: Option<Vec<InnerRequest>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InnerRequest {
    id: Option<Value>,
    method: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct InnerResponse {
    id: String,
    status: u16,
    headers: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
}

#[derive(Serialize)]
struct BatchAnswer {
    responses: Vec<InnerResponse>,
}

/// One request of the batch, checked.
struct Checked {
    id: String,
    method: Method,
    /// Path and query under the emulator's origin, e.g. `/v1.0/groups/x/transitiveMembers?…`.
    target: String,
    headers: BTreeMap<String, String>,
}

pub async fn batch(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let requests = check(&ctx, &body)?;
    let mut responses = Vec::with_capacity(requests.len());
    for request in requests {
        responses.push(run(&state, &ctx, &headers, request).await);
    }
    responses.reverse();
    Ok(ctx.json(&BatchAnswer { responses }))
}

/// Reads and checks the batch body as Graph does before running anything: a malformed body,
/// more than 20 requests, a request without id, method or relative url, or an id used twice
/// fails the whole batch with 400.
fn check(ctx: &GraphCtx, body: &[u8]) -> Result<Vec<Checked>, GraphError> {
    let bad = |message: String| ctx.error(StatusCode::BAD_REQUEST, "BadRequest", message);
    let parsed: BatchBody = serde_json::from_slice(body)
        .map_err(|e| bad(format!("Invalid batch payload format: {e}.")))?;
    let requests = parsed
        .requests
        .ok_or_else(|| bad("Invalid batch payload format: 'requests' is missing.".into()))?;
    if requests.len() > MAX_REQUESTS {
        return Err(bad(
            "Number of requests inside batch exceeds the limit.".into()
        ));
    }
    let mut seen = HashSet::new();
    let mut checked = Vec::with_capacity(requests.len());
    for request in requests {
        let id = match request.id {
            Some(Value::String(s)) if !s.trim().is_empty() => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(bad("Batch request is missing the 'id' property.".into())),
        };
        // Ids are compared without regard to case, as Graph does.
        if !seen.insert(id.to_lowercase()) {
            return Err(bad(format!(
                "Batch request contains duplicate request id '{id}'."
            )));
        }
        let method = request
            .method
            .as_deref()
            .and_then(|m| Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes()).ok())
            .ok_or_else(|| bad(format!("Request '{id}' has no valid 'method'.")))?;
        let url = request.url.unwrap_or_default();
        let url = url.trim();
        if url.is_empty() || url.contains("://") {
            return Err(bad(format!(
                "Request '{id}' needs a 'url' relative to the service root, such as '/users'."
            )));
        }
        checked.push(Checked {
            id,
            method,
            target: format!("/v1.0/{}", url.trim_start_matches('/')),
            headers: request.headers,
        });
    }
    Ok(checked)
}

/// Runs one inner request through the whole router (middleware included).
async fn run(
    state: &Arc<EmulatorState>,
    ctx: &GraphCtx,
    outer: &HeaderMap,
    request: Checked,
) -> InnerResponse {
    let id = request.id.clone();
    if crate::counters::path_kind(path_of(&request.target)) == "batch" {
        return error_response(
            id,
            ctx.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "A batch request cannot contain another batch request.",
            ),
        )
        .await;
    }
    let mut builder = Request::builder()
        .method(request.method)
        .uri(&request.target);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let Ok(mut inner) = builder.body(Body::empty()) else {
        return error_response(
            id,
            ctx.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Invalid request URL or header.",
            ),
        )
        .await;
    };
    for name in INHERITED {
        match outer.get(&name) {
            Some(value) => {
                inner.headers_mut().insert(name, value.clone());
            }
            None => {
                inner.headers_mut().remove(&name);
            }
        }
    }
    let response = match crate::router(state.clone()).oneshot(inner).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let response = if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        ctx.error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
        .into_response()
    } else {
        response
    };
    report(id, response).await
}

async fn error_response(id: String, error: GraphError) -> InnerResponse {
    report(id, error.into_response()).await
}

/// An inner response as a batch entry: status, its own headers, its body as JSON.
async fn report(id: String, response: Response) -> InnerResponse {
    let (parts, body) = response.into_parts();
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        if NOT_REPORTED.contains(&name.as_str()) {
            continue;
        }
        if let Ok(v) = value.to_str() {
            headers.insert(header_case(name.as_str()), Value::String(v.to_string()));
        }
    }
    let bytes = axum::body::to_bytes(body, MAX_INNER_BODY)
        .await
        .unwrap_or_default();
    let body = if bytes.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        )
    };
    InnerResponse {
        id,
        status: parts.status.as_u16(),
        headers,
        body,
    }
}

fn path_of(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
}

/// `retry-after` → `Retry-After`, as Graph writes inner header names.
fn header_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_header_names_are_title_case() {
        assert_eq!(header_case("retry-after"), "Retry-After");
        assert_eq!(header_case("content-type"), "Content-Type");
        assert_eq!(header_case("location"), "Location");
    }
}
