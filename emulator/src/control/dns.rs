//! Control API: the test DNS server's TXT records, and removing a verified domain from a
//! tenant (as an admin does in the Microsoft 365 admin center).

use super::{no_tenant, ControlError};
use crate::state::{EmulatorState, TenantSummary};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

type Shared = State<Arc<EmulatorState>>;

/// Body of `PUT /_emulator/dns/{name}`.
#[derive(Deserialize)]
pub struct TxtBody {
    txt: Vec<String>,
}

/// `GET /_emulator/dns`: every name and its TXT values.
pub async fn list(State(state): Shared) -> Json<BTreeMap<String, Vec<String>>> {
    Json(state.dns().all().clone())
}

/// `PUT /_emulator/dns/{name}` `{"txt": ["…"]}`: the name's TXT values (replacing any).
pub async fn set(
    State(state): Shared,
    Path(name): Path<String>,
    Json(body): Json<TxtBody>,
) -> StatusCode {
    state.dns().set_txt(&name, body.txt);
    StatusCode::NO_CONTENT
}

/// `DELETE /_emulator/dns/{name}`: the name no longer exists (NXDOMAIN).
pub async fn remove(State(state): Shared, Path(name): Path<String>) -> StatusCode {
    state.dns().remove(&name);
    StatusCode::NO_CONTENT
}

/// `DELETE /_emulator/tenants/{tenant}/domains/{domain}`: the domain is no longer one of the
/// tenant's verified domains (`/organization` stops listing it). Unlike Microsoft, objects
/// keep addresses in it, so a test can see what a sync does then, and removing the default
/// domain makes the initial (onmicrosoft) domain default. The initial domain stays.
pub async fn remove_verified_domain(
    State(state): Shared,
    Path((key, domain)): Path<(String, String)>,
) -> Result<Json<TenantSummary>, ControlError> {
    let id = {
        let mut dir = state.directory_mut();
        let tenant = dir.resolve_mut(&key).ok_or_else(|| no_tenant(&key))?;
        let at = tenant
            .domains
            .iter()
            .position(|d| d.name.eq_ignore_ascii_case(domain.trim()))
            .ok_or_else(|| {
                ControlError(
                    StatusCode::NOT_FOUND,
                    format!("{domain} is not a verified domain of tenant {key}"),
                )
            })?;
        if tenant.domains[at].is_initial {
            return Err(ControlError(
                StatusCode::CONFLICT,
                format!(
                    "{domain} is the tenant's initial (onmicrosoft) domain, which can't be removed"
                ),
            ));
        }
        let removed = tenant.domains.remove(at);
        if removed.is_default {
            // Microsoft asks to pick another default first; the initial domain takes over.
            for d in tenant.domains.iter_mut() {
                d.is_default = d.is_initial;
            }
        }
        tenant.id.clone()
    };
    state.summary(&id).map(Json).ok_or_else(|| no_tenant(&key))
}
