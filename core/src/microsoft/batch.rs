//! Graph's JSON batching: many GETs in one `POST /v1.0/$batch` (at most 20 per batch), where
//! the connector would otherwise send one request per object.
//!
//! The batch POST itself goes through [`Inner::post_json`] (token, one refresh on 401,
//! retries). Its 200 says nothing about the requests inside: each has its own status, so each
//! is judged like a single GET — 403 is a permission error, 404 and other 4xx are Graph errors
//! for the caller to weigh, 429 and 5xx are sent again in a following batch after the longest
//! `Retry-After` among them (or the backoff) within the same [`super::RetryPolicy`]; an inner
//! 401 is sent again once (the POST refreshes a token Graph refuses).

use std::collections::HashMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::graph::{backoff, graph_error, log_failure, record_status, retry_after_header, Inner};
use super::TenantId;
use crate::directory::DirectoryError;

/// Graph's limit on the requests of one batch.
pub(crate) const MAX_REQUESTS: usize = 20;

#[derive(Serialize)]
struct BatchRequest<'a> {
    requests: Vec<InnerRequest<'a>>,
}

#[derive(Serialize)]
struct InnerRequest<'a> {
    id: String,
    method: &'static str,
    url: &'a str,
}

#[derive(Deserialize)]
struct BatchAnswer {
    #[serde(default)]
    responses: Vec<InnerResponse>,
}

#[derive(Deserialize)]
struct InnerResponse {
    id: String,
    status: u16,
    #[serde(default)]
    headers: Map<String, Value>,
    #[serde(default)]
    body: Value,
}

/// What became of one inner request in one round.
enum Outcome<T> {
    Done(Result<T, DirectoryError>),
    /// Worth sending again: the error if the budget runs out, and Microsoft's `Retry-After`.
    Again(DirectoryError, Option<Duration>),
}

/// GETs every URL (relative to `/v1.0`, e.g. `/groups/{id}/transitiveMembers?…`) through
/// `$batch`, 20 per POST, and returns each answer decoded as `T`, or its error, in the order of
/// `urls`. `Err` only when a batch POST itself fails (after its own retries).
pub(crate) async fn get_all<T: DeserializeOwned>(
    inner: &Inner,
    tenant: &TenantId,
    urls: &[String],
) -> Result<Vec<Result<T, DirectoryError>>, DirectoryError> {
    let policy = inner.config.retry;
    let mut results: Vec<Option<Result<T, DirectoryError>>> = urls.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = (0..urls.len()).collect();
    let mut unauthorized_once = vec![false; urls.len()];
    let mut retries = 0u32;
    let mut waited = Duration::ZERO;
    while !pending.is_empty() {
        let mut again: Vec<(usize, DirectoryError)> = Vec::new();
        let mut wait = Duration::ZERO;
        let mut without_retry_after = false;
        for chunk in pending.chunks(MAX_REQUESTS) {
            let request = BatchRequest {
                requests: chunk
                    .iter()
                    .map(|&i| InnerRequest {
                        id: i.to_string(),
                        method: "GET",
                        url: &urls[i],
                    })
                    .collect(),
            };
            let answer: BatchAnswer = inner.post_json(tenant, "/v1.0/$batch", &request).await?;
            let mut by_id: HashMap<String, InnerResponse> = answer
                .responses
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect();
            for &i in chunk {
                let outcome = match by_id.remove(&i.to_string()) {
                    Some(response) => judge(tenant, &urls[i], response, &mut unauthorized_once[i]),
                    None => Outcome::Done(Err(DirectoryError::InvalidResponse {
                        reason: "a Graph batch answer left out one of its requests.".into(),
                    })),
                };
                match outcome {
                    Outcome::Done(result) => results[i] = Some(result),
                    Outcome::Again(error, retry_after) => {
                        match retry_after {
                            Some(after) => wait = wait.max(after),
                            None => without_retry_after = true,
                        }
                        again.push((i, error));
                    }
                }
            }
        }
        if again.is_empty() {
            break;
        }
        if without_retry_after {
            wait = wait.max(backoff(&policy, retries));
        }
        if retries >= policy.max_retries || waited + wait > policy.max_total_wait {
            tracing::warn!(
                tenant = %tenant,
                requests = again.len(),
                retries,
                waited_ms = waited.as_millis() as u64,
                "Graph batch requests given up"
            );
            for (i, error) in again {
                results[i] = Some(Err(error));
            }
            break;
        }
        retries += 1;
        waited += wait;
        tracing::debug!(
            tenant = %tenant,
            requests = again.len(),
            retry = retries,
            wait_ms = wait.as_millis() as u64,
            "waiting before sending batch requests again"
        );
        tokio::time::sleep(wait).await;
        pending = again.into_iter().map(|(i, _)| i).collect();
    }
    Ok(results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(DirectoryError::InvalidResponse {
                    reason: "a Graph batch request got no answer.".into(),
                })
            })
        })
        .collect())
}

/// One inner answer, judged as [`Inner::get_json`] judges a single one.
fn judge<T: DeserializeOwned>(
    tenant: &TenantId,
    url: &str,
    response: InnerResponse,
    unauthorized_once: &mut bool,
) -> Outcome<T> {
    record_status(response.status.to_string());
    let path = url.split('?').next().unwrap_or(url);
    let Ok(status) = StatusCode::from_u16(response.status) else {
        return Outcome::Done(Err(DirectoryError::InvalidResponse {
            reason: format!("a Graph batch answer has the status {}.", response.status),
        }));
    };
    if status.is_success() {
        return Outcome::Done(serde_json::from_value(response.body).map_err(|e| {
            tracing::warn!(tenant = %tenant, path, error = %e, "Graph batch answer not understood");
            DirectoryError::InvalidResponse {
                reason: format!("a Graph page could not be read ({e})."),
            }
        }));
    }
    let headers = header_map(&response.headers);
    let body = serde_json::to_vec(&response.body).unwrap_or_default();
    let client_request_id = response
        .body
        .pointer("/error/innerError/client-request-id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let detail = Box::new(graph_error(status, &headers, &body, &client_request_id));
    let retryable = matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504);
    let first_unauthorized = status == StatusCode::UNAUTHORIZED && !*unauthorized_once;
    log_failure(tenant, path, &detail, retryable || first_unauthorized);
    match status {
        StatusCode::UNAUTHORIZED if first_unauthorized => {
            *unauthorized_once = true;
            Outcome::Again(DirectoryError::TokenRejected(detail), Some(Duration::ZERO))
        }
        StatusCode::UNAUTHORIZED => Outcome::Done(Err(DirectoryError::TokenRejected(detail))),
        StatusCode::FORBIDDEN => Outcome::Done(Err(DirectoryError::PermissionDenied(detail))),
        StatusCode::TOO_MANY_REQUESTS => Outcome::Again(
            DirectoryError::Throttled(detail),
            retry_after_header(&headers),
        ),
        _ if retryable => Outcome::Again(
            DirectoryError::ServiceUnavailable(detail),
            retry_after_header(&headers),
        ),
        _ => Outcome::Done(Err(DirectoryError::Graph(detail))),
    }
}

/// An inner answer's `headers` object as HTTP headers (names are case-insensitive there too).
fn header_map(headers: &Map<String, Value>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) else {
            continue;
        };
        map.insert(name, value);
    }
    map
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn inner_headers_are_read_whatever_their_case() {
        let headers: Map<String, Value> = serde_json::from_str(
            r#"{"Retry-After":"0.5","Content-Type":"application/json","X":1}"#,
        )
        .unwrap();
        let map = header_map(&headers);
        assert_eq!(retry_after_header(&map), Some(Duration::from_millis(500)));
        assert_eq!(map.len(), 2);
    }
}
