//! Control API: add, change and delete users, groups, contacts and memberships. Every edit
//! goes to the tenant's change log, so the next delta round reports it.

use super::{bad_request, merge, no_tenant, ControlError};
use crate::changes::RemovalReason;
use crate::model::{Contact, Group, User};
use crate::state::EmulatorState;
use crate::tenant::{DirectoryError, Tenant};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

type Shared = State<Arc<EmulatorState>>;

/// `?permanent=true` deletes for good (`@removed.reason` "deleted"); the default is a soft
/// delete, as in Entra ("changed").
#[derive(Deserialize, Default)]
pub struct DeleteOptions {
    #[serde(default)]
    permanent: bool,
}

impl DeleteOptions {
    fn reason(&self) -> RemovalReason {
        if self.permanent {
            RemovalReason::Deleted
        } else {
            RemovalReason::Changed
        }
    }
}

/// Runs an edit on a tenant under the write lock.
fn edit<R>(
    state: &EmulatorState,
    key: &str,
    f: impl FnOnce(&mut Tenant) -> Result<R, DirectoryError>,
) -> Result<R, ControlError> {
    let mut dir = state.directory_mut();
    let tenant = dir.resolve_mut(key).ok_or_else(|| no_tenant(key))?;
    Ok(f(tenant)?)
}

fn read<R>(
    state: &EmulatorState,
    key: &str,
    f: impl FnOnce(&Tenant) -> Option<R>,
    id: &str,
) -> Result<R, ControlError> {
    let dir = state.directory();
    let tenant = dir.resolve(key).ok_or_else(|| no_tenant(key))?;
    f(tenant).ok_or_else(|| ControlError(StatusCode::NOT_FOUND, format!("object {id} not found")))
}

/// Reads a new object, giving it a fresh GUID when the body has no `id`.
fn new_object<T: DeserializeOwned>(mut body: Value) -> Result<T, ControlError> {
    let Value::Object(fields) = &mut body else {
        return Err(bad_request("the body must be a JSON object"));
    };
    fields
        .entry("id")
        .or_insert_with(|| Value::String(uuid::Uuid::new_v4().to_string()));
    serde_json::from_value(body).map_err(|e| bad_request(e.to_string()))
}

fn same_id(path_id: &str, body_id: &str) -> Result<(), ControlError> {
    if path_id == body_id {
        Ok(())
    } else {
        Err(bad_request("the id of an object cannot change"))
    }
}

pub async fn add_user(
    State(state): Shared,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<User>), ControlError> {
    let user: User = new_object(body)?;
    edit(&state, &key, |t| t.add_user(user.clone()))?;
    Ok((StatusCode::CREATED, Json(user)))
}

pub async fn get_user(
    State(state): Shared,
    Path((key, id)): Path<(String, String)>,
) -> Result<Json<User>, ControlError> {
    Ok(Json(read(
        &state,
        &key,
        |t| t.users.get(&id).cloned(),
        &id,
    )?))
}

pub async fn patch_user(
    State(state): Shared,
    Path((key, id)): Path<(String, String)>,
    Json(patch): Json<Value>,
) -> Result<Json<User>, ControlError> {
    let current = read(&state, &key, |t| t.users.get(&id).cloned(), &id)?;
    let user: User = merge(&current, patch)?;
    same_id(&id, &user.id)?;
    edit(&state, &key, |t| t.update_user(user.clone()))?;
    Ok(Json(user))
}

pub async fn delete_user(
    State(state): Shared,
    Path((key, id)): Path<(String, String)>,
    Query(opts): Query<DeleteOptions>,
) -> Result<StatusCode, ControlError> {
    edit(&state, &key, |t| t.delete_user(&id, opts.reason()))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_group(
    State(state): Shared,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Group>), ControlError> {
    let group: Group = new_object(body)?;
    edit(&state, &key, |t| t.add_group(group.clone()))?;
    Ok((StatusCode::CREATED, Json(group)))
}

pub async fn get_group(
    State(state): Shared,
    Path((key, id)): Path<(String, String)>,
) -> Result<Json<Group>, ControlError> {
    Ok(Json(read(
        &state,
        &key,
        |t| t.groups.get(&id).cloned(),
        &id,
    )?))
}

pub async fn patch_group(
    State(state): Shared,
    Path((key, id)): Path<(String, String)>,
    Json(patch): Json<Value>,
) -> Result<Json<Group>, ControlError> {
    let current = read(&state, &key, |t| t.groups.get(&id).cloned(), &id)?;
    let group: Group = merge(&current, patch)?;
    same_id(&id, &group.id)?;
    edit(&state, &key, |t| t.update_group(group.clone()))?;
    Ok(Json(group))
}

pub async fn delete_group(
    State(state): Shared,
    Path((key, id)): Path<(String, String)>,
    Query(opts): Query<DeleteOptions>,
) -> Result<StatusCode, ControlError> {
    edit(&state, &key, |t| t.delete_group(&id, opts.reason()))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_contact(
    State(state): Shared,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Contact>), ControlError> {
    let contact: Contact = new_object(body)?;
    edit(&state, &key, |t| t.add_contact(contact.clone()))?;
    Ok((StatusCode::CREATED, Json(contact)))
}

pub async fn get_contact(
    State(state): Shared,
    Path((key, id)): Path<(String, String)>,
) -> Result<Json<Contact>, ControlError> {
    Ok(Json(read(
        &state,
        &key,
        |t| t.contacts.get(&id).cloned(),
        &id,
    )?))
}

pub async fn patch_contact(
    State(state): Shared,
    Path((key, id)): Path<(String, String)>,
    Json(patch): Json<Value>,
) -> Result<Json<Contact>, ControlError> {
    let current = read(&state, &key, |t| t.contacts.get(&id).cloned(), &id)?;
    let contact: Contact = merge(&current, patch)?;
    same_id(&id, &contact.id)?;
    edit(&state, &key, |t| t.update_contact(contact.clone()))?;
    Ok(Json(contact))
}

pub async fn delete_contact(
    State(state): Shared,
    Path((key, id)): Path<(String, String)>,
    Query(opts): Query<DeleteOptions>,
) -> Result<StatusCode, ControlError> {
    edit(&state, &key, |t| t.delete_contact(&id, opts.reason()))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST …/groups/{id}/members`: `{"id": "…"}` or Graph's
/// `{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}`.
#[derive(Deserialize)]
pub struct MemberRef {
    id: Option<String>,
    #[serde(rename = "@odata.id")]
    odata_id: Option<String>,
}

pub async fn add_member(
    State(state): Shared,
    Path((key, group)): Path<(String, String)>,
    Json(body): Json<MemberRef>,
) -> Result<StatusCode, ControlError> {
    let member = body
        .id
        .or_else(|| {
            body.odata_id
                .and_then(|u| u.rsplit('/').next().map(str::to_string))
        })
        .ok_or_else(|| bad_request("the body needs an id"))?;
    edit(&state, &key, |t| t.add_member(&group, &member))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_member(
    State(state): Shared,
    Path((key, group, member)): Path<(String, String, String)>,
) -> Result<StatusCode, ControlError> {
    let removed = edit(&state, &key, |t| t.remove_member(&group, &member))?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ControlError(
            StatusCode::NOT_FOUND,
            format!("{member} is not a member of {group}"),
        ))
    }
}
