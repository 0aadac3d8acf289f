//! Limits over the whole router: a request body limit with a clear 413, and a per-client-IP
//! rate on sign-in with a clear 429 and `Retry-After`. Refusals are an `AppError` in JSON for
//! the app (which shows its message) and plain text for a browser posting a form.

use app::api::auth::Login;
use app::api::ldap::SaveLdapSettings;
use app::api::sync_settings::SaveAutoSync;
use app::error::AppError;
use app::ssr::limits::Limits;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, StatusCode};
use leptos::server_fn::ServerFn;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The largest request body any route takes, unless it needs more (below).
pub const BODY_LIMIT: usize = 64 * 1024;
/// The sync settings form: up to 500 exclusion patterns of up to 254 characters each.
pub const LARGE_BODY_LIMIT: usize = 512 * 1024;

/// Adds both limits to `router`: every route and the fallback.
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>, limits: &Limits) -> Router<S> {
    router
        .layer(from_fn(limit_body))
        // Outside the body limit: a client over its rate is refused before its body is read.
        .layer(from_fn_with_state(
            Arc::new(SignInRate::new(limits)),
            limit_sign_ins,
        ))
}

fn body_limit_for(path: &str) -> usize {
    if path == SaveAutoSync::PATH || path == SaveLdapSettings::PATH {
        LARGE_BODY_LIMIT
    } else {
        BODY_LIMIT
    }
}

/// Reads the body up to the route's limit before anything else sees it (server functions
/// read it whole anyway), so an oversized one is a 413 whether it declared its length or not.
async fn limit_body(req: Request, next: Next) -> Response {
    let limit = body_limit_for(req.uri().path());
    let html = wants_html(req.headers());
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(limit, html);
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(err) => {
            let over = err
                .into_inner()
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            if over {
                too_large(limit, html)
            } else {
                // The client went away or sent a broken body; nobody reads this answer.
                (StatusCode::BAD_REQUEST, "The request could not be read.").into_response()
            }
        }
    }
}

fn too_large(limit: usize, html: bool) -> Response {
    let message = format!(
        "The request was too large (over {} KiB). Shorten what you entered and try again.",
        limit / 1024
    );
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        AppError::invalid("", message),
        html,
    )
}

/// Sign-in requests per client, in this instance's memory (each instance counts its own; the
/// per-email lock-out in Postgres is shared by all).
struct SignInRate {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    trusted_proxies: Vec<IpAddr>,
    checks: AtomicU64,
}

impl SignInRate {
    fn new(limits: &Limits) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(limits.sign_ins_per_minute)),
            trusted_proxies: limits.trusted_proxies.clone(),
            checks: AtomicU64::new(0),
        }
    }
}

async fn limit_sign_ins(State(rate): State<Arc<SignInRate>>, req: Request, next: Next) -> Response {
    if req.uri().path() != Login::PATH {
        return next.run(req).await;
    }
    // Without the peer's address (a router served without connect info) there is no key.
    let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>() else {
        return next.run(req).await;
    };
    let client = client_key(peer.0.ip(), req.headers(), &rate.trusted_proxies);
    if let Err(not_until) = rate.limiter.check_key(&client) {
        let wait = not_until.wait_time_from(rate.limiter.clock().now());
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        tracing::warn!(%client, seconds, "sign-in rate limit reached");
        let mut response = refusal(
            StatusCode::TOO_MANY_REQUESTS,
            AppError::RateLimited { seconds },
            wants_html(req.headers()),
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    // Forget clients whose allowance is full again, now and then.
    if rate.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
        rate.limiter.retain_recent();
        rate.limiter.shrink_to_fit();
    }
    next.run(req).await
}

/// Whom a request counts against: the peer, or, when the peer is a trusted reverse proxy, the
/// address that proxy appended to `X-Forwarded-For` (the last entry; earlier ones are what the
/// client claimed). An IPv6 client counts by its /64, which one subscriber usually holds whole.
fn client_key(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = peer.to_canonical();
    let client = if trusted_proxies.contains(&peer) {
        forwarded_for(headers).unwrap_or(peer)
    } else {
        peer
    };
    match client.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
        v4 => v4,
    }
}

fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    last.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The error as the app's client decodes it, or as text for a plain form post.
fn refusal(status: StatusCode, error: AppError, html: bool) -> Response {
    if html {
        return (
            status,
            [(CONTENT_TYPE, "text/plain; charset=utf-8")],
            error.to_string(),
        )
            .into_response();
    }
    match serde_json::to_string(&error) {
        Ok(json) => (status, [(CONTENT_TYPE, "application/json")], json).into_response(),
        Err(_) => (status, error.to_string()).into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let proxy = ip("10.0.0.1");
        let headers = xff(&["198.51.100.7"]);
        assert_eq!(
            client_key(ip("203.0.113.5"), &headers, &[proxy]),
            ip("203.0.113.5")
        );
        assert_eq!(client_key(proxy, &headers, &[proxy]), ip("198.51.100.7"));
        assert_eq!(client_key(proxy, &headers, &[]), proxy);
        // The proxy's own entry is the last one; what the client put before it is ignored.
        let spoofed = xff(&["1.2.3.4, 198.51.100.7"]);
        assert_eq!(client_key(proxy, &spoofed, &[proxy]), ip("198.51.100.7"));
        let two_headers = xff(&["1.2.3.4", "198.51.100.7"]);
        assert_eq!(
            client_key(proxy, &two_headers, &[proxy]),
            ip("198.51.100.7")
        );
        // No usable header: the proxy itself.
        assert_eq!(client_key(proxy, &xff(&["nonsense"]), &[proxy]), proxy);
        assert_eq!(client_key(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a = client_key(ip("2001:db8:1:2::5"), &HeaderMap::new(), &[]);
        let b = client_key(ip("2001:db8:1:2:ffff::9"), &HeaderMap::new(), &[]);
        let c = client_key(ip("2001:db8:1:3::5"), &HeaderMap::new(), &[]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        // An IPv4 peer seen through an IPv6 socket is still its IPv4 address.
        assert_eq!(
            client_key(ip("::ffff:192.0.2.1"), &HeaderMap::new(), &[]),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn the_sync_settings_form_may_be_larger() {
        assert_eq!(body_limit_for("/api/login"), BODY_LIMIT);
        assert_eq!(body_limit_for(SaveAutoSync::PATH), LARGE_BODY_LIMIT);
        assert_eq!(Login::PATH, "/api/login");
    }
}
