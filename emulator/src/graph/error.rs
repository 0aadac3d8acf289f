//! Graph's error body and the headers that go with every Graph response.
//!
//! Shape (see `tests/samples/graph_error_*.json`):
//! `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`;
//! a 429 has the older shape of the real sample (`code`, `innerError` with `code`/`status`,
//! then `message`). `request-id` and `client-request-id` are also response headers.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

/// Ids and date of one Graph request, for headers and error bodies.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub request_id: String,
    /// The caller's `client-request-id`, or the request id when it sent none.
    pub client_request_id: String,
    pub date: String,
}

impl RequestMeta {
    pub fn new(headers: &HeaderMap) -> Self {
        let request_id = uuid::Uuid::new_v4().to_string();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| request_id.clone());
        RequestMeta {
            request_id,
            client_request_id,
            date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
        }
    }

    /// Adds `request-id`, `client-request-id` and `x-ms-ags-diagnostic` to a response.
    pub fn stamp(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            ("request-id", self.request_id.as_str()),
            ("client-request-id", self.client_request_id.as_str()),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
        headers.insert(
            HeaderName::from_static("x-ms-ags-diagnostic"),
            HeaderValue::from_static(r#"{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"EMU","ADSiteName":"EMU"}}"#),
        );
    }

    pub fn error(&self, status: StatusCode, code: &str, message: impl Into<String>) -> GraphError {
        GraphError(Box::new(Details {
            status,
            code: code.to_string(),
            message: message.into(),
            headers: Vec::new(),
            meta: self.clone(),
            throttle_shape: false,
        }))
    }
}

/// An error answered by Graph (boxed: it travels in `Result`s).
#[derive(Debug)]
pub struct GraphError(Box<Details>);

#[derive(Debug)]
struct Details {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub headers: Vec<(HeaderName, String)>,
    meta: RequestMeta,
    throttle_shape: bool,
}

impl GraphError {
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.0.headers.push((name, value.into()));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// 429 TooManyRequests with `Retry-After`, in the shape of the real sample.
    pub fn throttled(meta: &RequestMeta, retry_after: &str) -> Self {
        let mut e = meta
            .error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Please retry again later.",
            )
            .with_header(axum::http::header::RETRY_AFTER, retry_after);
        e.0.throttle_shape = true;
        e
    }

    fn body(&self) -> String {
        let d = &self.0;
        let m = &d.meta;
        let result = if d.throttle_shape {
            let status = d.status.as_u16().to_string();
            serde_json::to_string(&json!({"error": {
                "code": d.code,
                "innerError": {
                    "code": status,
                    "date": m.date,
                    "message": "Please retry after",
                    "request-id": m.request_id,
                    "status": status,
                },
                "message": d.message,
            }}))
        } else {
            serde_json::to_string(&Body {
                error: Inner {
                    code: &d.code,
                    message: &d.message,
                    inner_error: InnerError {
                        date: &m.date,
                        request_id: &m.request_id,
                        client_request_id: &m.client_request_id,
                    },
                },
            })
        };
        result.unwrap_or_default()
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(rename = "innerError")]
    inner_error: InnerError<'a>,
}

#[derive(Serialize)]
struct InnerError<'a> {
    date: &'a str,
    #[serde(rename = "request-id")]
    request_id: &'a str,
    #[serde(rename = "client-request-id")]
    client_request_id: &'a str,
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let body = self.body();
        let d = *self.0;
        let mut response = (d.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        d.meta.stamp(headers);
        for (name, value) in d.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        response
    }
}
