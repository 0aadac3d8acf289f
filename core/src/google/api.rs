//! Talking to the Directory API: the shared HTTP client and URLs, the per-process pacing, one
//! GET with its retries — 403 `userRateLimitExceeded`/`quotaExceeded`, 429 `rateLimitExceeded`,
//! 5xx and connection failures after a capped, jittered exponential backoff within the
//! [`GoogleRetry`] budget (Google sends no `Retry-After`), one token refresh on 401 — and
//! Google's error bodies turned into [`DirectoryError`]s.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use reqwest::header::ACCEPT;
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::config::{GoogleConfig, GoogleRetry, RefreshToken};
use super::token::TokenCache;
use crate::directory::jwks::JwksCache;
use crate::directory::{DirectoryError, GoogleDetail};

/// `users.list`'s largest page.
pub(crate) const USERS_PAGE: u32 = 500;
/// `groups.list`'s and `members.list`'s largest page.
pub(crate) const GROUPS_PAGE: u32 = 200;
/// What users are read with: exactly what normalization needs.
pub(crate) const USER_FIELDS: &str =
    "nextPageToken,users(id,primaryEmail,aliases,nonEditableAliases,suspended,archived,name/fullName)";
pub(crate) const GROUP_FIELDS: &str =
    "nextPageToken,groups(id,email,name,aliases,nonEditableAliases)";
pub(crate) const MEMBER_FIELDS: &str = "nextPageToken,members(id,email,type)";

/// The connector's shared state: settings, HTTP client, pacing, token and key caches.
pub(crate) struct Inner {
    pub config: GoogleConfig,
    pub http: reqwest::Client,
    pub tokens: TokenCache,
    pub keys: JwksCache,
    /// Base URLs without trailing slash.
    pub accounts_base: String,
    pub oauth2_base: String,
    pub oauth2_host: String,
    pub admin_host: String,
    admin_url: Url,
    limiter: DefaultDirectRateLimiter,
}

fn base_url(raw: &str, what: &str) -> Result<(String, Url), DirectoryError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let invalid = |why: &str| DirectoryError::GoogleInvalidConfig {
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

/// The pacing of one process: `per_minute` requests a minute, a twentieth of them allowed at
/// once and the rest spread evenly, so that no 60-second window sees more than `per_minute`.
pub(crate) fn quota(per_minute: u32) -> Quota {
    let per_minute = per_minute.max(2);
    let burst = (per_minute / 20).max(1);
    let steady = per_minute - burst;
    let period = Duration::from_secs(60) / steady;
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Inner {
    pub(crate) fn new(config: GoogleConfig) -> Result<Inner, DirectoryError> {
        let (accounts_base, _) = base_url(&config.accounts_url, "Google accounts URL")?;
        let (oauth2_base, oauth2_url) = base_url(&config.oauth2_url, "Google OAuth 2.0 URL")?;
        let (_, admin_url) = base_url(&config.admin_url, "Google Admin SDK URL")?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("Roster/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DirectoryError::GoogleInvalidConfig {
                reason: format!("the HTTP client could not be set up ({e})."),
            })?;
        Ok(Inner {
            limiter: RateLimiter::direct(quota(config.requests_per_minute)),
            config,
            http,
            tokens: TokenCache::default(),
            keys: JwksCache::default(),
            accounts_base,
            oauth2_base,
            oauth2_host: host_of(&oauth2_url),
            admin_host: host_of(&admin_url),
            admin_url,
        })
    }

    fn directory_url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.admin_url.clone();
        let full = format!(
            "{}/admin/directory/v1{path}",
            url.path().trim_end_matches('/')
        );
        url.set_path(&full);
        url.query_pairs_mut().extend_pairs(query);
        url
    }

    pub(crate) fn users_url(&self, page_token: Option<&str>, max: u32, fields: &str) -> Url {
        let max = max.to_string();
        let mut query = vec![
            ("customer", "my_customer"),
            ("maxResults", max.as_str()),
            ("fields", fields),
        ];
        if let Some(token) = page_token {
            query.push(("pageToken", token));
        }
        self.directory_url("/users", &query)
    }

    pub(crate) fn groups_url(&self, page_token: Option<&str>) -> Url {
        let max = GROUPS_PAGE.to_string();
        let mut query = vec![
            ("customer", "my_customer"),
            ("maxResults", max.as_str()),
            ("fields", GROUP_FIELDS),
        ];
        if let Some(token) = page_token {
            query.push(("pageToken", token));
        }
        self.directory_url("/groups", &query)
    }

    pub(crate) fn members_url(&self, group_id: &str, page_token: Option<&str>) -> Url {
        let max = GROUPS_PAGE.to_string();
        let mut query = vec![("maxResults", max.as_str()), ("fields", MEMBER_FIELDS)];
        if let Some(token) = page_token {
            query.push(("pageToken", token));
        }
        self.directory_url(
            &format!("/groups/{}/members", path_segment(group_id)),
            &query,
        )
    }

    /// Where batch requests go: the discovery document's `batchPath` (`batch`) on the Admin
    /// SDK's host.
    pub(crate) fn batch_url(&self) -> Url {
        let mut url = self.admin_url.clone();
        let full = format!("{}/batch", url.path().trim_end_matches('/'));
        url.set_path(&full);
        url
    }

    pub(crate) fn domains_url(&self) -> Url {
        self.directory_url("/customer/my_customer/domains", &[])
    }

    pub(crate) fn domain_aliases_url(&self) -> Url {
        self.directory_url("/customer/my_customer/domainaliases", &[])
    }

    /// Waits for this process's share of the project's quota.
    pub(crate) async fn paced(&self) {
        self.limiter.until_ready().await;
    }

    /// GETs a Directory API URL as the grant of `refresh` and decodes its JSON, retrying as
    /// the policy allows.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        refresh: &RefreshToken,
        url: &Url,
    ) -> Result<T, DirectoryError> {
        let policy = self.config.retry;
        let mut token = self.tokens.token(self, refresh).await?;
        let mut refreshed = false;
        let mut retries = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            self.paced().await;
            let sent = self
                .http
                .get(url.clone())
                .bearer_auth(token.secret())
                .header(ACCEPT, "application/json")
                .send()
                .await;
            record_request(&sent);
            let error = match sent {
                Err(e) => network_error(&self.admin_host, &e),
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(body) => {
                        return serde_json::from_slice(&body).map_err(|e| {
                            tracing::warn!(path = url.path(), error = %e, "Directory API answer not understood");
                            DirectoryError::GoogleInvalidResponse {
                                reason: format!("a Directory API page could not be read ({e})."),
                            }
                        })
                    }
                    Err(e) => network_error(&self.admin_host, &e),
                },
                Ok(response) => {
                    let status = response.status();
                    let body = response.bytes().await.unwrap_or_default();
                    let detail = api_error(status, &body);
                    if status == StatusCode::UNAUTHORIZED && !refreshed {
                        tracing::info!(path = url.path(), "Directory API refused the access token; refreshing it");
                        refreshed = true;
                        token = self.tokens.refresh(self, refresh, &token).await?;
                        continue;
                    }
                    let error = classify(detail);
                    if matches!(error, DirectoryError::GoogleThrottled(_)) {
                        metrics::counter!("roster_google_throttled_total").increment(1);
                    }
                    if !is_retried(&error) {
                        tracing::warn!(path = url.path(), detail = ?error.google(), "Directory API request failed");
                        return Err(error);
                    }
                    error
                }
            };
            let wait = backoff(&policy, retries);
            if retries >= policy.max_retries || waited + wait > policy.max_total_wait {
                tracing::warn!(
                    path = url.path(),
                    retries,
                    waited_ms = waited.as_millis() as u64,
                    detail = ?error.google(),
                    "Directory API request given up"
                );
                return Err(error);
            }
            retries += 1;
            waited += wait;
            tracing::debug!(path = url.path(), retry = retries, wait_ms = wait.as_millis() as u64,
                reason = %error, "waiting before trying again");
            tokio::time::sleep(wait).await;
        }
    }
}

/// Whether a failure is passing trouble worth the next try within the budget.
pub(crate) fn is_retried(error: &DirectoryError) -> bool {
    matches!(
        error,
        DirectoryError::GoogleThrottled(_)
            | DirectoryError::GoogleUnavailable(_)
            | DirectoryError::GoogleUnreachable { .. }
            | DirectoryError::GoogleTimedOut { .. }
    )
}

/// Percent-encodes everything but unreserved characters (group ids are plain anyway).
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
        return DirectoryError::GoogleTimedOut {
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
    DirectoryError::GoogleUnreachable {
        host: host.to_string(),
        reason,
    }
}

/// Counts one request by its answer (`roster_google_requests_total{status}`) through the
/// `metrics` facade; throttled answers (429, and 403 with a rate-limit reason, known only from
/// the body) are counted where they are classified (`roster_google_throttled_total`).
pub(crate) fn record_request(sent: &Result<reqwest::Response, reqwest::Error>) {
    let status = match sent {
        Ok(response) => response.status().as_u16().to_string(),
        Err(_) => "network_error".to_owned(),
    };
    metrics::counter!("roster_google_requests_total", "status" => status).increment(1);
}

/// The wait before retry number `retries + 1`: `base · 2^retries`, capped, with jitter
/// (between half and all of it).
pub(crate) fn backoff(policy: &GoogleRetry, retries: u32) -> Duration {
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

/// First line of a text, at most 300 characters, or `None` when blank.
pub(crate) fn first_line(text: &str) -> Option<String> {
    let line = text.lines().next().unwrap_or_default().trim();
    (!line.is_empty()).then(|| line.chars().take(300).collect())
}

/// The Directory API's error body (`{"error":{"errors":[{"domain","reason","message"}],
/// "code","message"}}`) with the status; a body that is not JSON keeps only the status.
pub(crate) fn api_error(status: StatusCode, body: &[u8]) -> GoogleDetail {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = json.get("error").unwrap_or(&Value::Null);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).and_then(first_line);
    let first = error
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|e| e.first());
    GoogleDetail {
        status: Some(status.as_u16()),
        reason: text(first.and_then(|f| f.get("reason"))).or_else(|| text(error.get("status"))),
        error: None,
        message: text(error.get("message")).or_else(|| text(first.and_then(|f| f.get("message")))),
    }
}

/// The typed error of a Directory API refusal.
pub(crate) fn classify(detail: GoogleDetail) -> DirectoryError {
    let detail = Box::new(detail);
    let status = detail.status.unwrap_or_default();
    match (status, detail.reason.as_deref()) {
        (403, Some("userRateLimitExceeded" | "quotaExceeded" | "rateLimitExceeded")) | (429, _) => {
            DirectoryError::GoogleThrottled(detail)
        }
        (403, Some("accessNotConfigured" | "SERVICE_DISABLED")) => {
            DirectoryError::GoogleApiNotEnabled(detail)
        }
        (401 | 403, _) => DirectoryError::GoogleNotAuthorized(detail),
        (500..=599, _) => DirectoryError::GoogleUnavailable(detail),
        _ => DirectoryError::GoogleApi(detail),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::google::config::GoogleClientSecret;
    use crate::google::model::tests::sample;

    fn body(status: u16, reason: &str, message: &str) -> Vec<u8> {
        serde_json::json!({"error": {"errors": [{"domain": "global", "reason": reason, "message": message}],
            "code": status, "message": message}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_real_403_means_the_granter_may_not_read() {
        let raw = sample("forseti-unauthorized-403.json");
        let d = api_error(StatusCode::FORBIDDEN, raw.as_bytes());
        assert_eq!(d.status, Some(403));
        assert_eq!(d.reason.as_deref(), Some("forbidden"));
        assert_eq!(
            d.message.as_deref(),
            Some("Not Authorized to access this resource/api")
        );
        let e = classify(d);
        assert!(matches!(e, DirectoryError::GoogleNotAuthorized(_)), "{e:?}");
        assert!(e
            .to_string()
            .contains("Grant permission again as a super admin"));
        assert!(!e.to_string().contains("Not Authorized"));
        assert!(e.needs_admin() && !e.is_transient());
        assert_eq!(
            e.google().unwrap().to_string(),
            "HTTP 403, forbidden, Not Authorized to access this resource/api"
        );
    }

    type Is = fn(&DirectoryError) -> bool;

    #[test]
    fn errors_are_classified_by_status_and_reason() {
        let cases: [(u16, &str, &str, Is); 9] = [
            (403, "userRateLimitExceeded", "User Rate Limit Exceeded", |e| matches!(e, DirectoryError::GoogleThrottled(_))),
            (403, "quotaExceeded", "Quota exceeded", |e| matches!(e, DirectoryError::GoogleThrottled(_))),
            (429, "rateLimitExceeded", "Rate Limit Exceeded", |e| matches!(e, DirectoryError::GoogleThrottled(_))),
            (403, "accessNotConfigured", "Admin Directory API has not been used in project 1234 before or it is disabled. Enable it by visiting …", |e| matches!(e, DirectoryError::GoogleApiNotEnabled(_))),
            (403, "domainCannotUseApis", "Domain cannot use apis.", |e| matches!(e, DirectoryError::GoogleNotAuthorized(_))),
            (500, "backendError", "Backend Error", |e| matches!(e, DirectoryError::GoogleUnavailable(_))),
            (503, "backendError", "Service unavailable", |e| matches!(e, DirectoryError::GoogleUnavailable(_))),
            (404, "notFound", "Resource Not Found: groupKey", |e| matches!(e, DirectoryError::GoogleApi(_))),
            (400, "badRequest", "Bad Request", |e| matches!(e, DirectoryError::GoogleApi(_))),
        ];
        for (status, reason, message, expected) in cases {
            let d = api_error(
                StatusCode::from_u16(status).unwrap(),
                &body(status, reason, message),
            );
            assert_eq!(d.reason.as_deref(), Some(reason));
            let e = classify(d);
            assert!(expected(&e), "{status} {reason} → {e:?}");
        }
        // Throttling and 5xx are retried; the rest is not.
        let retried = |status: u16, reason: &str| {
            is_retried(&classify(api_error(
                StatusCode::from_u16(status).unwrap(),
                &body(status, reason, "m"),
            )))
        };
        assert!(
            retried(403, "userRateLimitExceeded")
                && retried(429, "rateLimitExceeded")
                && retried(502, "badGateway")
        );
        assert!(
            !retried(403, "forbidden")
                && !retried(403, "accessNotConfigured")
                && !retried(404, "notFound")
        );
        // Not JSON (Google's plain 503 "Quota exceeded for the current request"): status only.
        let d = api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            b"Quota exceeded for the current request",
        );
        assert_eq!((d.status, d.reason, d.message), (Some(503), None, None));
        assert!(matches!(
            classify(d_503()),
            DirectoryError::GoogleUnavailable(_)
        ));
    }

    fn d_503() -> GoogleDetail {
        GoogleDetail {
            status: Some(503),
            ..GoogleDetail::default()
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let policy = GoogleRetry {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(32),
            ..GoogleRetry::default()
        };
        for _ in 0..50 {
            for (retries, full) in [
                (0u32, 1u64),
                (1, 2),
                (2, 4),
                (4, 16),
                (5, 32),
                (6, 32),
                (40, 32),
            ] {
                let d = backoff(&policy, retries);
                let full = Duration::from_secs(full);
                assert!(d >= full / 2 && d <= full, "{retries}: {d:?}");
            }
        }
        // Jitter: not every wait is the same.
        let waits: std::collections::HashSet<Duration> =
            (0..20).map(|_| backoff(&policy, 3)).collect();
        assert!(waits.len() > 1);
        let zero = GoogleRetry {
            base_delay: Duration::ZERO,
            ..GoogleRetry::default()
        };
        assert_eq!(backoff(&zero, 3), Duration::ZERO);
    }

    #[test]
    fn pacing_never_exceeds_the_share_in_a_minute() {
        for per_minute in [2_400u32, 1_200, 100, 20, 2, 1, 0] {
            let q = quota(per_minute);
            let burst = q.burst_size().get();
            let steady =
                (Duration::from_secs(60).as_nanos() / q.replenish_interval().as_nanos()) as u32;
            assert!(
                burst + steady <= per_minute.max(2),
                "{per_minute}: {burst} + {steady}"
            );
            assert!(burst >= 1);
        }
        let q = quota(2_400);
        assert_eq!(q.burst_size().get(), 120);
        assert_eq!(q.replenish_interval(), Duration::from_secs(60) / 2_280);
    }

    #[test]
    fn urls_ask_only_for_what_is_needed() {
        let config = GoogleConfig::new(
            "id",
            GoogleClientSecret::new("s"),
            "https://roster.example/cb",
        )
        .with_admin_url("http://127.0.0.1:9000/");
        let inner = Inner::new(config).unwrap();
        assert_eq!(
            inner.users_url(None, USERS_PAGE, USER_FIELDS).as_str(),
            "http://127.0.0.1:9000/admin/directory/v1/users?customer=my_customer&maxResults=500&fields=nextPageToken%2Cusers%28id%2CprimaryEmail%2Caliases%2CnonEditableAliases%2Csuspended%2Carchived%2Cname%2FfullName%29"
        );
        let url = inner.groups_url(Some("tok en"));
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/admin/directory/v1/groups");
        assert!(q.contains(&("maxResults".into(), "200".into())));
        assert!(q.contains(&("pageToken".into(), "tok en".into())));
        assert!(q.contains(&("customer".into(), "my_customer".into())));
        assert_eq!(
            inner.members_url("a/b", None).path(),
            "/admin/directory/v1/groups/a%2Fb/members"
        );
        assert_eq!(inner.batch_url().as_str(), "http://127.0.0.1:9000/batch");
        assert_eq!(
            inner.domains_url().path(),
            "/admin/directory/v1/customer/my_customer/domains"
        );
        assert_eq!(inner.admin_host, "127.0.0.1:9000");
        assert_eq!(inner.oauth2_host, "oauth2.googleapis.com");
        for bad in ["not a url", "ftp://x.example", "https://x.example/?a=b"] {
            let config = GoogleConfig::new("id", GoogleClientSecret::new("s"), "https://r/cb")
                .with_oauth2_url(bad);
            assert!(
                matches!(
                    Inner::new(config),
                    Err(DirectoryError::GoogleInvalidConfig { .. })
                ),
                "{bad}"
            );
        }
    }
}
