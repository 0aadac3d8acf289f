//! The control API under `/_emulator/`: not Microsoft's surface, but how tests and developers
//! set the scene (tenants, edits that feed delta, consent, faults, tokens, counters).
//! It needs no token. Errors are `{"error": "…"}` with 400, 404 or 409.

mod dns;
mod objects;
mod service;
mod tenants;

use crate::state::EmulatorState;
use crate::tenant::DirectoryError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub fn routes() -> Router<Arc<EmulatorState>> {
    Router::new()
        .route(
            "/_emulator/tenants",
            get(tenants::list).post(tenants::create),
        )
        .route("/_emulator/tenants/generate", post(tenants::generate))
        .route(
            "/_emulator/tenants/{tenant}",
            get(tenants::export)
                .put(tenants::replace)
                .delete(tenants::remove),
        )
        .route(
            "/_emulator/tenants/{tenant}/consent",
            put(service::grant).delete(service::revoke),
        )
        .route(
            "/_emulator/tenants/{tenant}/delta/invalidate",
            post(service::invalidate_delta),
        )
        .route(
            "/_emulator/tenants/{tenant}/domains/{domain}",
            delete(dns::remove_verified_domain),
        )
        .route("/_emulator/dns", get(dns::list))
        .route("/_emulator/dns/{name}", put(dns::set).delete(dns::remove))
        .route("/_emulator/tenants/{tenant}/users", post(objects::add_user))
        .route(
            "/_emulator/tenants/{tenant}/users/{id}",
            get(objects::get_user)
                .patch(objects::patch_user)
                .delete(objects::delete_user),
        )
        .route(
            "/_emulator/tenants/{tenant}/groups",
            post(objects::add_group),
        )
        .route(
            "/_emulator/tenants/{tenant}/groups/{id}",
            get(objects::get_group)
                .patch(objects::patch_group)
                .delete(objects::delete_group),
        )
        .route(
            "/_emulator/tenants/{tenant}/groups/{id}/members",
            post(objects::add_member),
        )
        .route(
            "/_emulator/tenants/{tenant}/groups/{id}/members/{member}",
            delete(objects::remove_member),
        )
        .route(
            "/_emulator/tenants/{tenant}/contacts",
            post(objects::add_contact),
        )
        .route(
            "/_emulator/tenants/{tenant}/contacts/{id}",
            get(objects::get_contact)
                .patch(objects::patch_contact)
                .delete(objects::delete_contact),
        )
        .route(
            "/_emulator/faults",
            get(service::get_faults)
                .put(service::set_faults)
                .delete(service::clear_faults),
        )
        .route(
            "/_emulator/faults/id-token",
            get(service::get_id_token_fault)
                .put(service::set_id_token_fault)
                .delete(service::clear_id_token_fault),
        )
        .route("/_emulator/tokens/expire", post(service::expire_tokens))
        .route(
            "/_emulator/counters",
            get(service::counters).delete(service::reset_counters),
        )
        .route("/_emulator/counters/reset", post(service::reset_counters))
}

/// A control API failure.
#[derive(Debug)]
pub struct ControlError(pub StatusCode, pub String);

impl From<DirectoryError> for ControlError {
    fn from(e: DirectoryError) -> Self {
        let status = match e {
            DirectoryError::Invalid(_) => StatusCode::BAD_REQUEST,
            DirectoryError::NotFound(_) => StatusCode::NOT_FOUND,
            DirectoryError::Conflict(_) => StatusCode::CONFLICT,
        };
        ControlError(status, e.to_string())
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

pub(crate) fn bad_request(message: impl Into<String>) -> ControlError {
    ControlError(StatusCode::BAD_REQUEST, message.into())
}

pub(crate) fn no_tenant(key: &str) -> ControlError {
    ControlError(StatusCode::NOT_FOUND, format!("tenant {key} not found"))
}

/// Applies a JSON merge (top-level keys) to an object and reads it back.
pub(crate) fn merge<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: Value,
) -> Result<T, ControlError> {
    let mut value = serde_json::to_value(current).map_err(|e| bad_request(e.to_string()))?;
    match (&mut value, patch) {
        (Value::Object(fields), Value::Object(changes)) => {
            for (k, v) in changes {
                fields.insert(k, v);
            }
        }
        _ => return Err(bad_request("the body must be a JSON object")),
    }
    serde_json::from_value(value).map_err(|e| bad_request(e.to_string()))
}
