//! The identity platform's error shapes: the token endpoint's JSON body and the HTML error
//! page shown when the sign-in request itself is unusable.
//!
//! The JSON follows the real samples (`tests/samples/token_error_*.json`): `error`,
//! `error_description` "AADSTSnnnn: … Trace ID … Correlation ID … Timestamp …", `error_codes`,
//! `timestamp`, `trace_id`, `correlation_id`, `error_uri`.

use crate::html::escape;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

/// A token endpoint error.
#[derive(Debug)]
pub struct AadError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub message: String,
    pub correlation_id: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: String,
    error_codes: [u32; 1],
    timestamp: String,
    trace_id: String,
    correlation_id: &'a str,
    error_uri: String,
}

impl AadError {
    pub fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        message: impl Into<String>,
    ) -> Self {
        AadError {
            status,
            error,
            code,
            message: message.into(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Uses the caller's `client-request-id` as correlation id, as Entra does.
    pub fn correlated(mut self, headers: &HeaderMap) -> Self {
        if let Some(id) = correlation_from(headers) {
            self.correlation_id = id;
        }
        self
    }
}

/// The caller's `client-request-id`, when it sent one.
pub fn correlation_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// "2020-04-07 20:52:51Z", the identity platform's timestamp format.
pub fn timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// "AADSTSnnnn: message\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …"
pub fn description(
    code: u32,
    message: &str,
    trace_id: &str,
    correlation_id: &str,
    timestamp: &str,
) -> String {
    format!(
        "AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
    )
}

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        let trace_id = uuid::Uuid::new_v4().to_string();
        let timestamp = timestamp();
        let body = Body {
            error: self.error,
            error_description: description(
                self.code,
                &self.message,
                &trace_id,
                &self.correlation_id,
                &timestamp,
            ),
            error_codes: [self.code],
            timestamp,
            trace_id,
            correlation_id: &self.correlation_id,
            error_uri: format!("https://login.microsoftonline.com/error?code={}", self.code),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        no_store(response.headers_mut());
        response
    }
}

/// Token responses must not be cached.
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The page Microsoft shows when it cannot send the browser back to the app.
pub fn error_page(status: StatusCode, code: u32, message: &str) -> Response {
    let trace_id = uuid::Uuid::new_v4();
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in to your account</title></head>\n\
         <body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">\n\
         <h1>Sign in</h1>\n<p>Sorry, but we're having trouble signing you in.</p>\n\
         <p id=\"error\"><strong>AADSTS{code}</strong>: {}</p>\n\
         <p><small>Request Id: {trace_id}<br>Timestamp: {}</small></p>\n\
         <p><small>Microsoft 365 emulator</small></p>\n</body></html>\n",
        escape(message),
        timestamp()
    );
    (status, Html(page)).into_response()
}
