//! Control API: load, replace, generate, export, list and delete tenants.

use super::{bad_request, no_tenant, ControlError};
use crate::generate::GenerateSpec;
use crate::model::TenantFile;
use crate::state::{EmulatorState, TenantSummary};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

type Shared = State<Arc<EmulatorState>>;

pub async fn list(State(state): Shared) -> Json<Vec<TenantSummary>> {
    Json(state.summaries())
}

/// `POST /_emulator/tenants`: load a tenant file (replacing a tenant with the same id).
pub async fn create(
    State(state): Shared,
    Json(file): Json<TenantFile>,
) -> Result<(StatusCode, Json<TenantSummary>), ControlError> {
    Ok((StatusCode::CREATED, Json(state.load_tenant(file)?)))
}

/// `PUT /_emulator/tenants/{id}`: load or replace; the file's id must match the path.
pub async fn replace(
    State(state): Shared,
    Path(id): Path<String>,
    Json(file): Json<TenantFile>,
) -> Result<Json<TenantSummary>, ControlError> {
    if !file.id.trim().eq_ignore_ascii_case(id.trim()) {
        return Err(bad_request(format!(
            "the body's id {} is not the path's {id}",
            file.id
        )));
    }
    Ok(Json(state.load_tenant(file)?))
}

pub async fn generate(
    State(state): Shared,
    Json(spec): Json<GenerateSpec>,
) -> Result<(StatusCode, Json<TenantSummary>), ControlError> {
    Ok((StatusCode::CREATED, Json(state.generate_tenant(&spec)?)))
}

/// `GET /_emulator/tenants/{tenant}`: the tenant in the tenant-file format.
pub async fn export(
    State(state): Shared,
    Path(key): Path<String>,
) -> Result<Json<TenantFile>, ControlError> {
    let dir = state.directory();
    let tenant = dir.resolve(&key).ok_or_else(|| no_tenant(&key))?;
    let consented = dir.consent(&tenant.id).is_some();
    Ok(Json(tenant.to_file(consented)))
}

pub async fn remove(
    State(state): Shared,
    Path(key): Path<String>,
) -> Result<StatusCode, ControlError> {
    let mut dir = state.directory_mut();
    let id = dir
        .resolve(&key)
        .map(|t| t.id.clone())
        .ok_or_else(|| no_tenant(&key))?;
    dir.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}
