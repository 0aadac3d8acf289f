//! The frame of every server function: capture the request, run the body, then set the HTTP
//! status for errors and, for a plain HTML form post (no JavaScript), send the browser back to
//! the form with the error in the URL so the page can show it.

use super::Request;
use crate::error::AppError;
use http::header::{LOCATION, REFERER};
use http::{HeaderValue, Method, StatusCode};
use leptos::server_fn::error::ServerFnUrlError;
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
    let referer = parts
        .headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    match (&result, plain_form_post, referer) {
        (Err(err), true, Some(mut referer)) => {
            ServerFnUrlError::<AppError>::strip_error_info(&mut referer);
            let url = ServerFnUrlError::new(parts.uri.path(), err.clone()).to_url(&referer);
            if let Some(value) = url
                .ok()
                .and_then(|u| HeaderValue::from_str(u.as_str()).ok())
            {
                response.insert_header(LOCATION, value);
                response.set_status(StatusCode::SEE_OTHER);
            }
        }
        (Err(err), _, _) => response.set_status(err.status()),
        // Back to the form, without the error of an earlier attempt. A server function that
        // redirected elsewhere has set its own Location, which is kept.
        (Ok(_), true, Some(mut referer)) if !has_location(response) => {
            ServerFnUrlError::<AppError>::strip_error_info(&mut referer);
            if let Ok(value) = HeaderValue::from_str(&referer) {
                response.insert_header(LOCATION, value);
                response.set_status(StatusCode::SEE_OTHER);
            }
        }
        _ => {}
    }
    result
}

fn has_location(response: &leptos_axum::ResponseOptions) -> bool {
    response
        .0
        .read()
        .map(|parts| parts.headers.contains_key(LOCATION))
        .unwrap_or(false)
}
