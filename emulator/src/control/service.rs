//! Control API: consent, delta-token invalidation, faults, token expiry and counters.

use super::{no_tenant, ControlError};
use crate::counters::Counters;
use crate::faults::FaultConfig;
use crate::identity::id_token::IdTokenFault;
use crate::state::{EmulatorState, TenantSummary};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type Shared = State<Arc<EmulatorState>>;

/// Body of `PUT …/consent` (optional): the permissions to grant, by default all configured.
#[derive(Deserialize, Default)]
pub struct GrantBody {
    roles: Option<Vec<String>>,
}

pub async fn grant(
    State(state): Shared,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Json<TenantSummary>, ControlError> {
    let roles = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<GrantBody>(&body)
            .map_err(|e| super::bad_request(e.to_string()))?
            .roles
    };
    let id = state.grant_consent(&key, roles)?;
    state.summary(&id).map(Json).ok_or_else(|| no_tenant(&key))
}

/// Revokes consent: the next token request fails with AADSTS700016, issued tokens get 403.
pub async fn revoke(
    State(state): Shared,
    Path(key): Path<String>,
) -> Result<StatusCode, ControlError> {
    state.revoke_consent(&key)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes every delta token of the tenant unusable (`syncStateNotFound`).
pub async fn invalidate_delta(
    State(state): Shared,
    Path(key): Path<String>,
) -> Result<StatusCode, ControlError> {
    let mut dir = state.directory_mut();
    let tenant = dir.resolve_mut(&key).ok_or_else(|| no_tenant(&key))?;
    tenant.changes.invalidate_tokens();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_faults(State(state): Shared) -> Json<FaultConfig> {
    Json(state.faults().config().clone())
}

pub async fn set_faults(
    State(state): Shared,
    Json(config): Json<FaultConfig>,
) -> Json<FaultConfig> {
    state.set_faults(config.clone());
    Json(config)
}

pub async fn clear_faults(State(state): Shared) -> StatusCode {
    state.set_faults(FaultConfig::default());
    StatusCode::NO_CONTENT
}

/// Body of `PUT /_emulator/faults/id-token`: `{"fault": "otherTenant" | "wrongNonce" |
/// "expired" | "badSignature"}`. The next ID token only; `DELETE` clears it.
#[derive(Deserialize, serde::Serialize)]
pub struct IdTokenFaultBody {
    fault: Option<IdTokenFault>,
}

pub async fn get_id_token_fault(State(state): Shared) -> Json<IdTokenFaultBody> {
    Json(IdTokenFaultBody {
        fault: state.sign_ins().fault(),
    })
}

pub async fn set_id_token_fault(
    State(state): Shared,
    Json(body): Json<IdTokenFaultBody>,
) -> Json<IdTokenFaultBody> {
    state.set_id_token_fault(body.fault);
    Json(body)
}

pub async fn clear_id_token_fault(State(state): Shared) -> StatusCode {
    state.set_id_token_fault(None);
    StatusCode::NO_CONTENT
}

pub async fn expire_tokens(State(state): Shared) -> Json<Value> {
    Json(json!({"expired": state.expire_tokens()}))
}

pub async fn counters(State(state): Shared) -> Json<Counters> {
    Json(state.counter_snapshot())
}

pub async fn reset_counters(State(state): Shared) -> StatusCode {
    state.reset_counters();
    StatusCode::NO_CONTENT
}
