//! The last step of every server function: set the HTTP status for errors and, for a plain
//! HTML form post (no JavaScript), send the browser back to the form with the error in the URL
//! so the page can show it.

use crate::error::AppError;
use http::header::{ACCEPT, LOCATION, REFERER};
use http::{HeaderValue, Method, StatusCode};
use leptos::prelude::use_context;
use leptos::server_fn::error::ServerFnUrlError;
use leptos_axum::ResponseOptions;

/// Runs a server function body and reports its outcome to the HTTP layer.
pub async fn respond<T>(
    body: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let result = body.await;
    let (Some(parts), Some(response)) = (
        use_context::<http::request::Parts>(),
        use_context::<ResponseOptions>(),
    ) else {
        return result;
    };
    let plain_form_post = parts.method == Method::POST
        && parts
            .headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
    let referer = parts
        .headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    match (&result, plain_form_post, referer) {
        (Err(err), true, Some(mut referer)) => {
            ServerFnUrlError::<AppError>::strip_error_info(&mut referer);
            let url = ServerFnUrlError::new(parts.uri.path(), err.clone()).to_url(&referer);
            if let Some(value) = url.ok().and_then(|u| HeaderValue::from_str(u.as_str()).ok()) {
                response.insert_header(LOCATION, value);
                response.set_status(StatusCode::SEE_OTHER);
            }
        }
        (Err(err), _, _) => response.set_status(err.status()),
        (Ok(_), true, Some(mut referer)) => {
            // Back to the form, without the error of an earlier attempt. A server function that
            // redirected elsewhere has set its own Location, which the handler keeps.
            if !has_location(&response) {
                ServerFnUrlError::<AppError>::strip_error_info(&mut referer);
                if let Ok(value) = HeaderValue::from_str(&referer) {
                    response.insert_header(LOCATION, value);
                    response.set_status(StatusCode::SEE_OTHER);
                }
            }
        }
        _ => {}
    }
    result
}

fn has_location(response: &ResponseOptions) -> bool {
    response
        .0
        .read()
        .map(|parts| parts.headers.contains_key(LOCATION))
        .unwrap_or(false)
}
