//! The frame of every server function: capture the request, run the body, then set the HTTP
//! status for errors and, for a plain HTML form post (no JavaScript), send the browser back to
//! the form with the error in the URL so the page can show it. That redirect stays on Roster's
//! own origin, and the error travels as a code (`crate::url_error`), never as text.

use super::Request;
use crate::error::AppError;
use http::header::{LOCATION, REFERER};
use http::{HeaderValue, Method, StatusCode};
use std::future::Future;

/// Runs a server function body with its request and reports the outcome to the HTTP layer.
pub async fn respond<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let req = match Request::capture() {
        Ok(req) => req,
        Err(err) => return Err(err),
    };
    let result = body(req.clone()).await;
    let (Some(parts), Some(response)) = (&req.parts, &req.response) else {
        return result;
    };
    let plain_form_post = parts.method == Method::POST && req.accepts_html();
    if !plain_form_post {
        if let Err(err) = &result {
            response.set_status(err.status());
        }
        return result;
    }
    let referer = parts.headers.get(REFERER).and_then(|v| v.to_str().ok());
    let back = back_to_form(referer, &req.state.public_url);
    match &result {
        Err(err) => {
            let location = with_error(&back, parts.uri.path(), err);
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.insert_header(LOCATION, value);
                response.set_status(StatusCode::SEE_OTHER);
            }
        }
        // Back to the form, without the error of an earlier attempt. A server function that
        // redirected elsewhere has set its own Location, which is kept.
        Ok(_) if !has_location(response) => {
            if let Ok(value) = HeaderValue::from_str(&back) {
                response.insert_header(LOCATION, value);
                response.set_status(StatusCode::SEE_OTHER);
            }
        }
        Ok(_) => {}
    }
    result
}

/// Where a plain form post goes back to: the page it came from (the `Referer`) when that is a
/// page of Roster's own origin, as a path and query without an earlier error; otherwise the
/// start page. Never another site.
pub fn back_to_form(referer: Option<&str>, public_url: &str) -> String {
    const START: &str = "/";
    let (Some(referer), Ok(public)) = (referer, url::Url::parse(public_url)) else {
        return START.to_owned();
    };
    let Ok(referer) = url::Url::parse(referer) else {
        return START.to_owned();
    };
    if referer.origin() != public.origin() {
        return START.to_owned();
    }
    let kept: Vec<(String, String)> = referer
        .query_pairs()
        .filter(|(k, _)| k != "__path" && k != "__err")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut back = referer.path().to_owned();
    if !back.starts_with('/') || back.starts_with("//") {
        return START.to_owned();
    }
    if !kept.is_empty() {
        back.push('?');
        back.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish(),
        );
    }
    back
}

/// `back` with the failed function's path and the error's code (`crate::url_error`).
fn with_error(back: &str, fn_path: &str, err: &AppError) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("__path", fn_path)
        .append_pair("__err", &crate::url_error::encode(err))
        .finish();
    let separator = if back.contains('?') { '&' } else { '?' };
    format!("{back}{separator}{query}")
}

fn has_location(response: &leptos_axum::ResponseOptions) -> bool {
    response
        .0
        .read()
        .map(|parts| parts.headers.contains_key(LOCATION))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "http://127.0.0.1:3000";

    #[test]
    fn back_to_a_page_of_roster() {
        assert_eq!(
            back_to_form(
                Some("http://127.0.0.1:3000/domains/new?x=1&__path=/api/a&__err=conflict"),
                PUBLIC
            ),
            "/domains/new?x=1"
        );
    }

    #[test]
    fn never_to_another_site() {
        for referer in [
            "https://evil.example/phish",
            "http://127.0.0.1:3001/domains",
            "https://127.0.0.1:3000/domains",
            "not a url",
            "javascript:alert(1)",
        ] {
            assert_eq!(back_to_form(Some(referer), PUBLIC), "/", "{referer}");
        }
        assert_eq!(back_to_form(None, PUBLIC), "/");
    }

    #[test]
    fn the_error_goes_as_a_code() {
        assert_eq!(
            with_error(
                "/domains/new",
                "/api/create_domain",
                &AppError::Conflict("free text".into())
            ),
            "/domains/new?__path=%2Fapi%2Fcreate_domain&__err=conflict"
        );
        assert_eq!(
            with_error("/x?a=b", "/api/login", &AppError::BadCredentials),
            "/x?a=b&__path=%2Fapi%2Flogin&__err=bad_credentials"
        );
    }
}
