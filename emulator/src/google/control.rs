//! The Google emulator's control API under `/_emulator/` (no token): Workspaces, user and
//! group edits, members, grants and tokens, faults and counters. Errors are `{"error": "…"}`.

use super::generate::{generate, GenerateSpec};
use super::model::{GroupFile, UserFile, WorkspaceError, WorkspaceFile};
use super::state::{GoogleFaults, GoogleState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type S = State<Arc<GoogleState>>;

fn err(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({"error": message.to_string()}))).into_response()
}

fn ws_err(e: WorkspaceError) -> Response {
    match e {
        WorkspaceError::NotFound(_) => err(StatusCode::NOT_FOUND, e),
        WorkspaceError::Invalid(_) => err(StatusCode::BAD_REQUEST, e),
    }
}

pub fn routes() -> Router<Arc<GoogleState>> {
    Router::new()
        .route("/_emulator/workspaces", get(list).post(load))
        .route("/_emulator/workspaces/generate", post(generate_ws))
        .route("/_emulator/workspaces/{ws}", get(export).delete(remove))
        .route("/_emulator/workspaces/{ws}/users", post(add_user))
        .route(
            "/_emulator/workspaces/{ws}/users/{key}",
            get(get_user).patch(patch_user).delete(delete_user),
        )
        .route("/_emulator/workspaces/{ws}/groups", post(add_group))
        .route(
            "/_emulator/workspaces/{ws}/groups/{key}",
            get(get_group).patch(patch_group).delete(delete_group),
        )
        .route(
            "/_emulator/workspaces/{ws}/groups/{key}/members",
            post(add_member),
        )
        .route(
            "/_emulator/workspaces/{ws}/groups/{key}/members/{member}",
            delete(remove_member),
        )
        .route("/_emulator/grants", get(grants))
        .route("/_emulator/grants/revoke", post(revoke_grants))
        .route("/_emulator/tokens/expire", post(expire))
        .route(
            "/_emulator/faults",
            get(get_faults).put(put_faults).delete(clear_faults),
        )
        .route("/_emulator/counters", get(counters).delete(reset_counters))
        .route("/_emulator/counters/reset", post(reset_counters))
}

fn summary(ws: &super::model::Workspace) -> Value {
    json!({
        "customerId": ws.customer_id,
        "primaryDomain": ws.primary_domain,
        "domains": ws.domains(),
        "users": ws.users.len(),
        "groups": ws.groups.len(),
        "admins": ws.users.values().filter(|u| u.is_admin).map(|u| &u.primary_email).collect::<Vec<_>>(),
    })
}

async fn list(State(s): S) -> Json<Value> {
    Json(Value::Array(
        s.lock().workspaces.iter().map(summary).collect(),
    ))
}

async fn load(State(s): S, Json(file): Json<WorkspaceFile>) -> Response {
    let id = file.customer_id.clone();
    match s.load_workspace(file) {
        Ok(()) => (
            StatusCode::CREATED,
            Json(summary(s.lock().workspace(&id).expect("just loaded"))),
        )
            .into_response(),
        Err(e) => ws_err(e),
    }
}

async fn generate_ws(State(s): S, Json(spec): Json<GenerateSpec>) -> Response {
    let id = spec.customer_id.clone();
    match s.load_workspace(generate(&spec)) {
        Ok(()) => (
            StatusCode::CREATED,
            Json(summary(s.lock().workspace(&id).expect("just loaded"))),
        )
            .into_response(),
        Err(e) => ws_err(e),
    }
}

async fn export(State(s): S, Path(ws): Path<String>) -> Response {
    match s.lock().workspace_mut(&ws) {
        Some(w) => Json(w.export()).into_response(),
        None => err(StatusCode::NOT_FOUND, format!("no Workspace {ws}")),
    }
}

async fn remove(State(s): S, Path(ws): Path<String>) -> Response {
    let mut inner = s.lock();
    let before = inner.workspaces.len();
    inner
        .workspaces
        .retain(|w| w.customer_id != ws && !w.domains().contains(&ws));
    if inner.workspaces.len() == before {
        return err(StatusCode::NOT_FOUND, format!("no Workspace {ws}"));
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Applies `edit` to the Workspace's file form and reloads it (see
/// [`GoogleState::edit_workspace`]); answers what `edit` returns.
fn edit_workspace(
    s: &GoogleState,
    ws: &str,
    edit: impl FnOnce(&mut WorkspaceFile) -> Result<Value, WorkspaceError>,
) -> Response {
    match s.edit_workspace(ws, edit) {
        Ok(v) => Json(v).into_response(),
        Err(e) => ws_err(e),
    }
}

fn find_user<'a>(
    file: &'a mut WorkspaceFile,
    key: &str,
) -> Result<&'a mut UserFile, WorkspaceError> {
    file.users
        .iter_mut()
        .find(|u| u.id == key || u.primary_email.eq_ignore_ascii_case(key))
        .ok_or_else(|| WorkspaceError::NotFound(format!("user {key}")))
}

fn find_group<'a>(
    file: &'a mut WorkspaceFile,
    key: &str,
) -> Result<&'a mut GroupFile, WorkspaceError> {
    file.groups
        .iter_mut()
        .find(|g| g.id == key || g.email.eq_ignore_ascii_case(key))
        .ok_or_else(|| WorkspaceError::NotFound(format!("group {key}")))
}

/// Merges the JSON `patch` into `target` (top-level keys).
fn merge<T: serde::Serialize + serde::de::DeserializeOwned>(
    target: &mut T,
    patch: Value,
) -> Result<(), WorkspaceError> {
    let mut v =
        serde_json::to_value(&*target).map_err(|e| WorkspaceError::Invalid(e.to_string()))?;
    if let (Some(obj), Value::Object(p)) = (v.as_object_mut(), patch) {
        obj.extend(p);
    }
    *target = serde_json::from_value(v).map_err(|e| WorkspaceError::Invalid(e.to_string()))?;
    Ok(())
}

async fn add_user(State(s): S, Path(ws): Path<String>, Json(user): Json<UserFile>) -> Response {
    edit_workspace(&s, &ws, |f| {
        let v = serde_json::to_value(&user).unwrap_or_default();
        f.users.push(user);
        Ok(v)
    })
}

async fn get_user(State(s): S, Path((ws, key)): Path<(String, String)>) -> Response {
    let mut inner = s.lock();
    match inner
        .workspace_mut(&ws)
        .and_then(|w| w.user(&key).map(|u| w.user_json(u)))
    {
        Some(v) => Json(v).into_response(),
        None => err(StatusCode::NOT_FOUND, format!("no user {key} in {ws}")),
    }
}

async fn patch_user(
    State(s): S,
    Path((ws, key)): Path<(String, String)>,
    Json(patch): Json<Value>,
) -> Response {
    edit_workspace(&s, &ws, |f| {
        let u = find_user(f, &key)?;
        merge(u, patch)?;
        Ok(serde_json::to_value(&*u).unwrap_or_default())
    })
}

async fn delete_user(State(s): S, Path((ws, key)): Path<(String, String)>) -> Response {
    edit_workspace(&s, &ws, |f| {
        let id = find_user(f, &key)?.id.clone();
        f.users.retain(|u| u.id != id);
        for g in &mut f.groups {
            g.members.retain(|m| m.key() != id);
        }
        Ok(json!({"deleted": id}))
    })
}

async fn add_group(State(s): S, Path(ws): Path<String>, Json(group): Json<GroupFile>) -> Response {
    edit_workspace(&s, &ws, |f| {
        let v = serde_json::to_value(&group).unwrap_or_default();
        f.groups.push(group);
        Ok(v)
    })
}

async fn get_group(State(s): S, Path((ws, key)): Path<(String, String)>) -> Response {
    let mut inner = s.lock();
    match inner
        .workspace_mut(&ws)
        .and_then(|w| w.group(&key).map(|g| w.group_json(g)))
    {
        Some(v) => Json(v).into_response(),
        None => err(StatusCode::NOT_FOUND, format!("no group {key} in {ws}")),
    }
}

async fn patch_group(
    State(s): S,
    Path((ws, key)): Path<(String, String)>,
    Json(patch): Json<Value>,
) -> Response {
    edit_workspace(&s, &ws, |f| {
        let g = find_group(f, &key)?;
        merge(g, patch)?;
        Ok(serde_json::to_value(&*g).unwrap_or_default())
    })
}

async fn delete_group(State(s): S, Path((ws, key)): Path<(String, String)>) -> Response {
    edit_workspace(&s, &ws, |f| {
        let id = find_group(f, &key)?.id.clone();
        f.groups.retain(|g| g.id != id);
        for g in &mut f.groups {
            g.members.retain(|m| m.key() != id);
        }
        Ok(json!({"deleted": id}))
    })
}

#[derive(Debug, Deserialize)]
struct NewMember {
    /// Email or id of a user or group, or the customer id.
    key: String,
    #[serde(default)]
    role: Option<String>,
}

async fn add_member(
    State(s): S,
    Path((ws, key)): Path<(String, String)>,
    Json(m): Json<NewMember>,
) -> Response {
    let mut inner = s.lock();
    let Some(w) = inner.workspace_mut(&ws) else {
        return err(StatusCode::NOT_FOUND, format!("no Workspace {ws}"));
    };
    match w.add_member(&key, &m.key, m.role.as_deref().unwrap_or("MEMBER")) {
        Ok(()) => (
            StatusCode::CREATED,
            Json(json!({"group": key, "member": m.key})),
        )
            .into_response(),
        Err(e) => ws_err(e),
    }
}

async fn remove_member(
    State(s): S,
    Path((ws, key, member)): Path<(String, String, String)>,
) -> Response {
    let mut inner = s.lock();
    let Some(w) = inner.workspace_mut(&ws) else {
        return err(StatusCode::NOT_FOUND, format!("no Workspace {ws}"));
    };
    match w.remove_member(&key, &member) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => err(
            StatusCode::NOT_FOUND,
            format!("{member} is not a direct member of {key}"),
        ),
        Err(e) => ws_err(e),
    }
}

/// Grants (who, scopes, revoked) and how many access tokens each has; token values are not
/// shown.
async fn grants(State(s): S) -> Json<Value> {
    let inner = s.lock();
    let now = std::time::SystemTime::now();
    let list: Vec<Value> = inner
        .grants
        .values()
        .map(|g| {
            let mut v = serde_json::to_value(g).unwrap_or_default();
            let tokens = inner.access_tokens.values().filter(|t| t.grant_id == g.id);
            let (live, expired) = tokens.fold((0, 0), |(l, e), t| {
                if t.expires_at > now {
                    (l + 1, e)
                } else {
                    (l, e + 1)
                }
            });
            v["accessTokens"] = json!({"live": live, "expired": expired});
            v
        })
        .collect();
    Json(Value::Array(list))
}

async fn revoke_grants(State(s): S) -> Json<Value> {
    Json(json!({"revoked": s.revoke_all_grants()}))
}

async fn expire(State(s): S) -> Json<Value> {
    Json(json!({"expired": s.expire_tokens()}))
}

async fn get_faults(State(s): S) -> Json<GoogleFaults> {
    Json(s.lock().faults.clone())
}

async fn put_faults(State(s): S, Json(f): Json<GoogleFaults>) -> Json<GoogleFaults> {
    s.set_faults(f.clone());
    Json(f)
}

async fn clear_faults(State(s): S) -> StatusCode {
    s.set_faults(GoogleFaults::default());
    StatusCode::NO_CONTENT
}

async fn counters(State(s): S) -> Json<Value> {
    Json(serde_json::to_value(s.counters()).unwrap_or_default())
}

async fn reset_counters(State(s): S) -> StatusCode {
    s.lock().counters = Default::default();
    StatusCode::NO_CONTENT
}
