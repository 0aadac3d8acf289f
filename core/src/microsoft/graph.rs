//! Talking to Graph: the shared HTTP client, URLs, and one GET (or POST) with its retries — 429/503/504
//! after `Retry-After` or a capped, jittered exponential backoff within the [`RetryPolicy`],
//! one token refresh on 401 — and Graph's error bodies turned into [`DirectoryError`]s.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::token::TokenCache;
use super::{MicrosoftConfig, RetryPolicy, TenantId};
use crate::directory::{DirectoryError, MicrosoftDetail};

/// What users are read with: exactly the properties normalization uses.
pub(crate) const USER_SELECT: &str =
    "id,displayName,mail,userPrincipalName,proxyAddresses,accountEnabled,userType,mailNickname";
/// What groups are read with.
pub(crate) const GROUP_SELECT: &str =
    "id,displayName,mail,proxyAddresses,groupTypes,mailEnabled,securityEnabled";
/// What group members are read with.
pub(crate) const MEMBER_SELECT: &str = "id,mail,proxyAddresses";
/// Graph's largest page.
pub(crate) const PAGE_SIZE: u32 = 999;

/// The connector's shared state: settings, HTTP client, token cache.
pub(crate) struct Inner {
    pub config: MicrosoftConfig,
    pub http: reqwest::Client,
    pub tokens: TokenCache,
    /// ID-token signing keys per tenant (admin consent's sign-in proof).
    pub keys: super::sign_in::KeyCache,
    /// Login base URL without trailing slash.
    pub login_base: String,
    pub login_host: String,
    /// Graph base URL without trailing slash.
    pub graph_base: String,
    pub graph_host: String,
    graph_origin: Url,
}

fn base_url(raw: &str, what: &str) -> Result<(String, Url), DirectoryError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let invalid = |why: &str| DirectoryError::InvalidConfig {
        reason: format!("the {what} “{trimmed}” {why}."),
    };
    let url = Url::parse(trimmed).map_err(|_| invalid("is not a valid URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("must start with https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host name"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("cannot have a query or fragment"));
    }
    Ok((trimmed.to_string(), url))
}

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => String::new(),
    }
}

impl Inner {
    pub(crate) fn new(config: MicrosoftConfig) -> Result<Inner, DirectoryError> {
        let (login_base, login_url) = base_url(&config.login_url, "login URL")?;
        let (graph_base, graph_origin) = base_url(&config.graph_url, "Graph URL")?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("Roster/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DirectoryError::InvalidConfig {
                reason: format!("the HTTP client could not be set up ({e})."),
            })?;
        Ok(Inner {
            login_host: host_of(&login_url),
            graph_host: host_of(&graph_origin),
            config,
            http,
            tokens: TokenCache::default(),
            keys: Default::default(),
            login_base,
            graph_base,
            graph_origin,
        })
    }

    pub(crate) fn users_url(&self) -> String {
        format!(
            "{}/v1.0/users?$select={USER_SELECT}&$top={PAGE_SIZE}",
            self.graph_base
        )
    }

    pub(crate) fn groups_url(&self) -> String {
        format!(
            "{}/v1.0/groups?$filter=mailEnabled%20eq%20true&$select={GROUP_SELECT}&$top={PAGE_SIZE}",
            self.graph_base
        )
    }

    pub(crate) fn organization_url(&self) -> String {
        format!(
            "{}/v1.0/organization?$select=id,displayName,verifiedDomains",
            self.graph_base
        )
    }

    pub(crate) fn members_url(&self, group_id: &str) -> String {
        format!("{}/v1.0{}", self.graph_base, members_path(group_id))
    }

    /// A URL to send the token to: only on Graph's own origin (a nextLink elsewhere is refused).
    fn graph_link(&self, link: &str) -> Result<Url, DirectoryError> {
        let url = Url::parse(link).map_err(|_| DirectoryError::InvalidResponse {
            reason: "a page link from Microsoft Graph is not a valid URL.".into(),
        })?;
        let same_origin = url.scheme() == self.graph_origin.scheme()
            && url.host_str() == self.graph_origin.host_str()
            && url.port_or_known_default() == self.graph_origin.port_or_known_default();
        if !same_origin {
            return Err(DirectoryError::InvalidResponse {
                reason: format!(
                    "a page link points away from Microsoft Graph (to {}).",
                    host_of(&url)
                ),
            });
        }
        Ok(url)
    }

    /// GETs a Graph URL (used verbatim) and decodes its JSON, retrying as the policy allows.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        link: &str,
    ) -> Result<T, DirectoryError> {
        let url = self.graph_link(link)?;
        self.send_json(tenant, Method::GET, url, None).await
    }

    /// POSTs a JSON body to a Graph path (e.g. `/v1.0/$batch`) and decodes the JSON answer,
    /// with the same token handling and retries as [`Inner::get_json`]: safe only for requests
    /// that may be repeated, such as a batch of reads.
    pub(crate) async fn post_json<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, DirectoryError> {
        let url = self.graph_link(&format!("{}{path}", self.graph_base))?;
        let body = serde_json::to_vec(body).map_err(|e| DirectoryError::InvalidResponse {
            reason: format!("a Graph request could not be written ({e})."),
        })?;
        self.send_json(tenant, Method::POST, url, Some(body)).await
    }

    /// One Graph request and its retries: 429/5xx after `Retry-After` or backoff within the
    /// policy, one token refresh on 401.
    async fn send_json<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<T, DirectoryError> {
        let policy = self.config.retry;
        let mut token = self.tokens.token(self, tenant).await?;
        let mut refreshed = false;
        let mut retries = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            let client_request_id = uuid::Uuid::new_v4().to_string();
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.secret())
                .header("client-request-id", &client_request_id)
                .header(ACCEPT, "application/json");
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let sent = request.send().await;
            record_request(&sent);
            let (error, retry_after) = match sent {
                Err(e) => (network_error(&self.graph_host, &e), None),
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(body) => {
                        return serde_json::from_slice(&body).map_err(|e| {
                            tracing::warn!(
                                tenant = %tenant,
                                path = url.path(),
                                %client_request_id,
                                error = %e,
                                "Graph answer not understood"
                            );
                            DirectoryError::InvalidResponse {
                                reason: format!("a Graph page could not be read ({e})."),
                            }
                        })
                    }
                    Err(e) => (network_error(&self.graph_host, &e), None),
                },
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let body = response.bytes().await.unwrap_or_default();
                    let detail = Box::new(graph_error(status, &headers, &body, &client_request_id));
                    let retryable = matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504);
                    let refreshing = status == StatusCode::UNAUTHORIZED && !refreshed;
                    log_failure(tenant, url.path(), &detail, retryable || refreshing);
                    match status {
                        StatusCode::UNAUTHORIZED if !refreshed => {
                            refreshed = true;
                            token = self.tokens.refresh(self, tenant, &token).await?;
                            continue;
                        }
                        StatusCode::UNAUTHORIZED => {
                            return Err(DirectoryError::TokenRejected(detail))
                        }
                        StatusCode::FORBIDDEN => {
                            return Err(DirectoryError::PermissionDenied(detail))
                        }
                        StatusCode::TOO_MANY_REQUESTS => (
                            DirectoryError::Throttled(detail),
                            retry_after_header(&headers),
                        ),
                        _ if retryable => (
                            DirectoryError::ServiceUnavailable(detail),
                            retry_after_header(&headers),
                        ),
                        _ => return Err(DirectoryError::Graph(detail)),
                    }
                }
            };
            let wait = retry_after.unwrap_or_else(|| backoff(&policy, retries));
            if retries >= policy.max_retries || waited + wait > policy.max_total_wait {
                tracing::warn!(
                    tenant = %tenant,
                    path = url.path(),
                    retries,
                    waited_ms = waited.as_millis() as u64,
                    "Graph request given up"
                );
                return Err(error);
            }
            retries += 1;
            waited += wait;
            tracing::debug!(
                tenant = %tenant,
                path = url.path(),
                retry = retries,
                wait_ms = wait.as_millis() as u64,
                reason = %error,
                "waiting before trying again"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// Logs a failed Graph answer with Microsoft's `request-id` and the `client-request-id` sent
/// (never a header value or the token).
pub(crate) fn log_failure(
    tenant: &TenantId,
    path: &str,
    detail: &MicrosoftDetail,
    will_retry: bool,
) {
    let status = detail.status.unwrap_or_default();
    let code = detail.code.as_deref().unwrap_or("");
    let request_id = detail.request_id.as_deref().unwrap_or("");
    let client_request_id = detail.correlation_id.as_deref().unwrap_or("");
    if will_retry {
        tracing::info!(tenant = %tenant, status, code, request_id, client_request_id, path, "Graph request failed; trying again");
    } else {
        tracing::warn!(tenant = %tenant, status, code, request_id, client_request_id, path, "Graph request failed");
    }
}

/// A group's transitive members relative to `/v1.0`, as a `$batch` request names them.
pub(crate) fn members_path(group_id: &str) -> String {
    format!(
        "/groups/{}/transitiveMembers?$select={MEMBER_SELECT}&$top={PAGE_SIZE}",
        path_segment(group_id)
    )
}

/// Percent-encodes everything but unreserved characters (object ids are GUIDs anyway).
fn path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A connection-level failure: timed out, or could not reach the host.
pub(crate) fn network_error(host: &str, error: &reqwest::Error) -> DirectoryError {
    if error.is_timeout() {
        return DirectoryError::TimedOut {
            host: host.to_string(),
        };
    }
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    DirectoryError::Unreachable {
        host: host.to_string(),
        reason,
    }
}

/// Counts one Graph request by its answer (`roster_graph_requests_total{status}`, the status
/// code or `network_error`) and each throttled one (`roster_graph_throttled_total`), through the
/// `metrics` facade: the server installs the exporter; elsewhere these are no-ops.
fn record_request(sent: &Result<reqwest::Response, reqwest::Error>) {
    let status = match sent {
        Ok(response) => response.status().as_u16().to_string(),
        Err(_) => "network_error".to_owned(),
    };
    record_status(status);
}

/// Counts one answer by its status; also each request inside a `$batch` (Graph throttles and
/// budgets them one by one), so a batch counts once for its POST and once per request in it.
pub(crate) fn record_status(status: String) {
    if status == "429" {
        metrics::counter!("roster_graph_throttled_total").increment(1);
    }
    metrics::counter!("roster_graph_requests_total", "status" => status).increment(1);
}

/// `Retry-After` in seconds, fractions allowed ("2.128"); `None` when absent or unreadable.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(seconds.min(86_400.0)))
}

pub(crate) fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

/// The wait before retry number `retries + 1` when Microsoft gives no `Retry-After`:
/// `base · 2^retries`, capped, with jitter (between half and all of it).
pub(crate) fn backoff(policy: &RetryPolicy, retries: u32) -> Duration {
    let factor = 2u32.saturating_pow(retries.min(30));
    let full = policy
        .base_delay
        .saturating_mul(factor)
        .min(policy.max_delay);
    let half = full / 2;
    let spread = (full - half).as_micros() as u64;
    let jitter = if spread == 0 {
        0
    } else {
        rand::thread_rng().gen_range(0..=spread)
    };
    half + Duration::from_micros(jitter)
}

/// Graph's error body (`{"error":{"code","message","innerError":{"request-id",…}}}`, also
/// `innererror`) with the status and request ids.
pub(crate) fn graph_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    client_request_id: &str,
) -> MicrosoftDetail {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = json.get("error").unwrap_or(&Value::Null);
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let inner = error.get("innerError").or_else(|| error.get("innererror"));
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    MicrosoftDetail {
        code: text(error.get("code")),
        error: None,
        message: text(error.get("message")).and_then(|m| m.lines().next().map(str::to_string)),
        status: Some(status.as_u16()),
        request_id: header("request-id").or_else(|| text(inner.and_then(|i| i.get("request-id")))),
        correlation_id: Some(client_request_id.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_values() {
        assert_eq!(
            parse_retry_after("2.128"),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after(" 10 "), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("0.05"), Some(Duration::from_millis(50)));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let policy = RetryPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            for (retries, full) in [(0u32, 1u64), (1, 2), (2, 4), (4, 16), (5, 30), (40, 30)] {
                let d = backoff(&policy, retries);
                let full = Duration::from_secs(full);
                assert!(d >= full / 2 && d <= full, "{retries}: {d:?}");
            }
        }
        let zero = RetryPolicy {
            base_delay: Duration::ZERO,
            ..RetryPolicy::default()
        };
        assert_eq!(backoff(&zero, 3), Duration::ZERO);
    }

    #[test]
    fn graph_error_bodies() {
        let body =
            include_bytes!("../../../emulator/tests/samples/graph_error_403_authz_denied.json");
        let d = graph_error(StatusCode::FORBIDDEN, &HeaderMap::new(), body, "mine");
        assert_eq!(d.code.as_deref(), Some("Authorization_RequestDenied"));
        assert_eq!(
            d.message.as_deref(),
            Some("Insufficient privileges to complete the operation.")
        );
        assert_eq!(d.status, Some(403));
        assert_eq!(
            d.request_id.as_deref(),
            Some("93b6f17e-c05d-4f45-ad2a-6665c708d8a0")
        );
        assert_eq!(d.correlation_id.as_deref(), Some("mine"));

        let body = include_bytes!("../../../emulator/tests/samples/graph_error_429.json");
        let mut headers = HeaderMap::new();
        headers.insert("request-id", "from-header".parse().unwrap());
        let d = graph_error(StatusCode::TOO_MANY_REQUESTS, &headers, body, "mine");
        assert_eq!(d.code.as_deref(), Some("TooManyRequests"));
        assert_eq!(d.request_id.as_deref(), Some("from-header"));

        let d = graph_error(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"error":{"code":"X","message":"m","innererror":{"request-id":"r"}}}"#,
            "c",
        );
        assert_eq!(d.request_id.as_deref(), Some("r"));
        let d = graph_error(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html>", "c");
        assert_eq!((d.code, d.status), (None, Some(502)));
    }

    #[test]
    fn urls() {
        let config = MicrosoftConfig::new("app", super::super::ClientSecret::new("s"))
            .with_graph_url("https://graph.microsoft.us/");
        let inner = Inner::new(config).unwrap();
        assert_eq!(
            inner.users_url(),
            "https://graph.microsoft.us/v1.0/users?$select=id,displayName,mail,userPrincipalName,proxyAddresses,accountEnabled,userType,mailNickname&$top=999"
        );
        assert_eq!(
            inner.groups_url(),
            "https://graph.microsoft.us/v1.0/groups?$filter=mailEnabled%20eq%20true&$select=id,displayName,mail,proxyAddresses,groupTypes,mailEnabled,securityEnabled&$top=999"
        );
        assert_eq!(
            inner.members_url("a/b c"),
            "https://graph.microsoft.us/v1.0/groups/a%2Fb%20c/transitiveMembers?$select=id,mail,proxyAddresses&$top=999"
        );
        assert!(inner
            .graph_link("https://graph.microsoft.us:443/v1.0/users?$skiptoken=x")
            .is_ok());
        for bad in [
            "https://evil.example/v1.0/users",
            "http://graph.microsoft.us/v1.0/users",
            "https://graph.microsoft.us:8443/v1.0/users",
            "/v1.0/users",
        ] {
            assert!(
                matches!(
                    inner.graph_link(bad),
                    Err(DirectoryError::InvalidResponse { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(inner.login_host, "login.microsoftonline.com");
    }
}
