//! Refuses requests that change something (every method but GET, HEAD and OPTIONS) when a
//! browser says they come from another site: a page elsewhere must not sign an admin in or
//! out, nor call a server function with the admin's cookie.
//!
//! The rule, from the request's headers:
//! - `Origin` present: it must be `ROSTER_PUBLIC_URL`'s origin (`null` is refused too);
//! - no `Origin`, `Sec-Fetch-Site` present: it must be `same-origin` or `none` (typed by the
//!   user);
//! - neither: allowed. Every browser Roster supports sends `Origin` on a POST (and
//!   `Sec-Fetch-Site` on everything), so a request without both comes from a program such as
//!   curl, a test client or a script of the operator's: it carries no cookie a victim's
//!   browser attached for it, so there is nothing to forge.
//!
//! A refusal is a `403` with a plain sentence, logged at info with method, path and origin.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode};
use std::sync::Arc;

/// The origin (`scheme://host[:port]`) admins use, from `ROSTER_PUBLIC_URL`.
#[derive(Clone, Debug)]
pub struct PublicOrigin(Arc<str>);

impl PublicOrigin {
    /// The origin of `public_url`; `None` if it is not an http(s) URL.
    pub fn of(public_url: &str) -> Option<PublicOrigin> {
        let url = url::Url::parse(public_url).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        Some(PublicOrigin(url.origin().ascii_serialization().into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a request was refused, for the log.
#[derive(Debug, PartialEq, Eq)]
pub enum CrossSite {
    /// `Origin` named another origin (or `null`).
    Origin(String),
    /// No `Origin`, and `Sec-Fetch-Site` said `cross-site` or `same-site`.
    FetchSite(String),
}

/// The verdict on a request's headers (for a method that changes something).
pub fn check(headers: &HeaderMap, public: &PublicOrigin) -> Result<(), CrossSite> {
    if let Some(origin) = headers.get(http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("(not text)");
        return if origin == public.as_str() {
            Ok(())
        } else {
            Err(CrossSite::Origin(origin.to_owned()))
        };
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("(not text)");
        return if matches!(site, "same-origin" | "none") {
            Ok(())
        } else {
            Err(CrossSite::FetchSite(site.to_owned()))
        };
    }
    Ok(())
}

/// The middleware: layered once over every route in `startup::router`.
pub async fn refuse_cross_site(
    State(public): State<PublicOrigin>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    match check(request.headers(), &public) {
        Ok(()) => next.run(request).await,
        Err(why) => {
            tracing::info!(
                method = %request.method(),
                path = request.uri().path(),
                refused = ?why,
                "refused a cross-site request"
            );
            (
                StatusCode::FORBIDDEN,
                "This request came from another site, so Roster refused it. Open Roster at its own address and try again.",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    fn public() -> PublicOrigin {
        PublicOrigin::of("https://roster.example.com/").unwrap()
    }

    #[test]
    fn the_public_origin_drops_path_and_default_port() {
        assert_eq!(public().as_str(), "https://roster.example.com");
        assert_eq!(
            PublicOrigin::of("http://127.0.0.1:3000").unwrap().as_str(),
            "http://127.0.0.1:3000"
        );
        assert!(PublicOrigin::of("roster.example.com").is_none());
    }

    #[test]
    fn the_same_origin_passes_and_others_are_refused() {
        assert_eq!(
            check(
                &headers(&[("origin", "https://roster.example.com")]),
                &public()
            ),
            Ok(())
        );
        for other in [
            "https://evil.example",
            "http://roster.example.com",
            "https://roster.example.com:8443",
            "null",
        ] {
            let mut map = HeaderMap::new();
            map.insert("origin", other.parse().unwrap());
            assert_eq!(
                check(&map, &public()),
                Err(CrossSite::Origin(other.to_owned()))
            );
        }
    }

    #[test]
    fn origin_wins_over_sec_fetch_site() {
        assert!(check(
            &headers(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "same-origin")
            ]),
            &public()
        )
        .is_err());
    }

    #[test]
    fn without_origin_sec_fetch_site_decides() {
        for ok in ["same-origin", "none"] {
            let mut map = HeaderMap::new();
            map.insert("sec-fetch-site", ok.parse().unwrap());
            assert_eq!(check(&map, &public()), Ok(()));
        }
        for bad in ["cross-site", "same-site"] {
            let mut map = HeaderMap::new();
            map.insert("sec-fetch-site", bad.parse().unwrap());
            assert!(check(&map, &public()).is_err());
        }
    }

    #[test]
    fn a_client_without_either_header_passes() {
        assert_eq!(check(&HeaderMap::new(), &public()), Ok(()));
    }
}
