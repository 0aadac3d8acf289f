//! The security headers of every response:
//! - `Content-Security-Policy`: a page's carries the nonce Leptos put on its hydration scripts
//!   (read from the rendered page, `page_policy`); every other response gets the same policy
//!   without a nonce, so it runs no inline script at all. Both forbid framing
//!   (`frame-ancestors 'none'`) and let forms post only to Roster itself and to the Microsoft
//!   sign-in that grant-consent redirects to (Chromium applies `form-action` to the redirects
//!   after a form post, which is how the consent flow leaves Roster without JavaScript);
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`;
//! - `Strict-Transport-Security` when `ROSTER_PUBLIC_URL` is https;
//! - `Cache-Control: no-store` on everything but the static files under `/pkg/`: pages and
//!   answers show an organization's data and must not stay in a shared browser's cache.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS,
};
use http::HeaderValue;
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the static site (WASM, JS, CSS) is served; the only responses that may be cached.
pub const STATIC_PREFIX: &str = "/pkg/";

/// The Content-Security-Policy of this installation.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Origins forms may post to besides Roster (Microsoft's and Google's sign-in).
    form_action: String,
    /// Send HSTS (served over https).
    https: bool,
}

impl Policy {
    /// `consent_origins`: the origins of `ROSTER_MS_LOGIN_URL` and `ROSTER_GOOGLE_ACCOUNTS_URL`,
    /// of the directories set up, where "Grant permission" sends the admin.
    pub fn new(https: bool, consent_origins: &[String]) -> Policy {
        let mut form_action = "'self'".to_owned();
        for origin in consent_origins {
            if !form_action.split(' ').any(|o| o == origin) {
                form_action.push(' ');
                form_action.push_str(origin);
            }
        }
        Policy { form_action, https }
    }

    /// The origin of a URL (`scheme://host[:port]`), for `Policy::new`.
    pub fn origin_of(url: &str) -> Option<String> {
        let url = url::Url::parse(url).ok()?;
        Some(url.origin().ascii_serialization()).filter(|o| o != "null")
    }

    fn with_scripts(&self, scripts: &str) -> String {
        format!(
            "default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
             form-action {}",
            self.form_action
        )
    }

    /// A page's policy: its own scripts by nonce, the site's scripts, and compiling the WASM.
    pub fn page(&self, nonce: &str) -> String {
        self.with_scripts(&format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"))
    }

    /// Every other response's: no inline script.
    pub fn fallback(&self) -> String {
        self.with_scripts("'self' 'wasm-unsafe-eval'")
    }
}

/// The largest page whose policy is read from its body (pages are a few hundred KiB at most).
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// Gives an HTML page the policy with the nonce its own scripts carry. The nonce is read from
/// the rendered page itself, so header and scripts can never disagree: taking it from the
/// Leptos context while the page rendered left now and then a page with the nonce-less policy,
/// whose hydration scripts the browser then refused (seen in Playwright, one load in ~20).
/// Leptos escapes every text and attribute value, so `nonce="…"` can only be its own.
async fn page_policy(
    axum::extract::State(policy): axum::extract::State<Policy>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "reading a page to give it its Content-Security-Policy");
            return http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let value = match page_nonce(&bytes) {
        Some(nonce) => policy.page(nonce),
        None => policy.fallback(),
    };
    match HeaderValue::from_str(&value) {
        Ok(value) => {
            parts.headers.insert(CONTENT_SECURITY_POLICY, value);
        }
        Err(error) => tracing::error!(%error, "the Content-Security-Policy is not a valid header"),
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The one nonce of a page's `nonce="…"` attributes; `None` when there is none, or more than one.
fn page_nonce(html: &[u8]) -> Option<&str> {
    let html = std::str::from_utf8(html).ok()?;
    let mut found: Option<&str> = None;
    for (at, _) in html.match_indices("nonce=\"") {
        let rest = &html[at + 7..];
        let value = &rest[..rest.find('"')?];
        let well_formed = !value.is_empty()
            && value.len() <= 64
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '='));
        if !well_formed || found.is_some_and(|f| f != value) {
            return None;
        }
        found = Some(value);
    }
    found
}

/// The headers above, layered over the whole router.
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>, policy: &Policy) -> Router<S> {
    let fallback = HeaderValue::from_str(&policy.fallback()).ok();
    let hsts = policy
        .https
        .then(|| HeaderValue::from_static("max-age=31536000"));
    router
        .layer(axum::middleware::from_fn_with_state(
            policy.clone(),
            page_policy,
        ))
        .layer(axum::middleware::from_fn(no_store_outside_static))
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            move |_: &Response| fallback.clone(),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            STRICT_TRANSPORT_SECURITY,
            move |_: &Response| hsts.clone(),
        ))
}

/// `Cache-Control: no-store` unless the response is a static file or chose its own.
async fn no_store_outside_static(request: Request, next: Next) -> Response {
    let static_file = request.uri().path().starts_with(STATIC_PREFIX);
    let mut response = next.run(request).await;
    if !static_file {
        response
            .headers_mut()
            .entry(CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_allows_its_nonce_and_the_consent_redirect() {
        let origins: Vec<String> = [
            "https://login.microsoftonline.com/",
            "https://accounts.google.com",
        ]
        .iter()
        .filter_map(|u| Policy::origin_of(u))
        .collect();
        let policy = Policy::new(true, &origins);
        let page = policy.page("abc123");
        assert!(page.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(page.contains("frame-ancestors 'none'"));
        assert!(page.ends_with(
            "form-action 'self' https://login.microsoftonline.com https://accounts.google.com"
        ));
        assert!(!policy.fallback().contains("nonce"));
    }

    #[test]
    fn without_microsoft_forms_post_only_to_roster() {
        assert!(Policy::new(false, &[])
            .fallback()
            .ends_with("form-action 'self'"));
    }

    #[test]
    fn a_pages_nonce_is_the_one_its_scripts_carry() {
        let page = br#"<script nonce="AbC-_12"></script><link nonce="AbC-_12">"#;
        assert_eq!(page_nonce(page), Some("AbC-_12"));
        assert_eq!(page_nonce(b"<p>no scripts</p>"), None);
        assert_eq!(
            page_nonce(br#"<script nonce="a"></script><script nonce="b">"#),
            None
        );
        assert_eq!(page_nonce(br#"<script nonce="a b"></script>"#), None);
    }
}
