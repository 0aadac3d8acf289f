//! `GET /v1.0/groups/{id}/members` (direct) and `/transitiveMembers` (flattened, nested groups
//! included once each). Members are users, groups and orgContacts, each with `@odata.type`.

use super::context::GraphCtx;
use super::error::GraphError;
use super::page;
use super::paging::{page_of_ids, resume_after};
use super::project::{member_json, Selection, CONTACT_PROPS, GROUP_PROPS, USER_PROPS};
use super::query::{unsupported_filter, GraphQuery};
use crate::state::EmulatorState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use std::sync::Arc;

pub async fn direct(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    list(&state, &ctx, &id, raw.as_deref(), false)
}

pub async fn transitive(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    list(&state, &ctx, &id, raw.as_deref(), true)
}

fn list(
    state: &EmulatorState,
    ctx: &GraphCtx,
    id: &str,
    raw: Option<&str>,
    transitive: bool,
) -> Result<Response, GraphError> {
    let q = GraphQuery::parse(ctx, raw, &["$orderby", "$search", "$expand"])?;
    if let Some(filter) = q.get("$filter") {
        return Err(unsupported_filter(ctx, filter, "DirectoryObject"));
    }
    let sel = Selection::parse(
        ctx,
        q.get("$select"),
        &[USER_PROPS, GROUP_PROPS, CONTACT_PROPS],
        "microsoft.graph.directoryObject",
    )?;
    let top = q.top(ctx, state.settings.default_page_size)?;
    let collection = format!(
        "{}:{id}",
        if transitive {
            "transitiveMembers"
        } else {
            "members"
        }
    );
    let after = resume_after(ctx, &q, &collection)?;
    let dir = state.directory();
    let tenant = ctx.tenant(&dir)?;
    let group = tenant.groups.get(id).ok_or_else(|| ctx.not_found(id))?;
    let flattened;
    let ids = if transitive {
        flattened = tenant.transitive_members(id);
        &flattened
    } else {
        &group.members
    };
    let (items, next) = page_of_ids(ids, after.as_deref(), top);
    let value = items
        .iter()
        .filter_map(|m| member_json(tenant, m, &sel))
        .collect();
    let count = q.wants_count().then_some(ids.len());
    Ok(page(
        ctx,
        &q,
        &collection,
        "directoryObjects",
        &sel,
        value,
        next,
        count,
    ))
}
