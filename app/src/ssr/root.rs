//! `GET /`: the server decides where a visitor starts, with a real redirect, so the first page
//! a newcomer opens is never blank (without JavaScript, or before the WASM has loaded).

use super::auth::require_admin;
use super::{AppState, Request};
use crate::error::AppError;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn root(state: AppState, headers: HeaderMap) -> Response {
    let req = Request::from_headers(state, headers);
    let to = match require_admin(&req).await {
        Err(AppError::Unauthorized) => "/login",
        // Signed in, or the check itself failed: the Domains page says what went wrong.
        Ok(_) | Err(_) => "/domains",
    };
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}
