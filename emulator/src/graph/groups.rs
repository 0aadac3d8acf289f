//! `GET /v1.0/groups` (with `$filter=mailEnabled eq true` and friends) and `GET /v1.0/groups/{id}`.

use super::context::GraphCtx;
use super::error::GraphError;
use super::paging::{page_of, resume_after};
use super::project::{group_json, Selection, GROUP_PROPS};
use super::query::{GraphQuery, GroupFilter};
use super::{entity, page};
use crate::state::EmulatorState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use std::sync::Arc;

const GROUP_TYPE: &str = "microsoft.graph.group";

pub async fn list(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    let q = GraphQuery::parse(&ctx, raw.as_deref(), &["$orderby", "$search", "$expand"])?;
    let filter = GroupFilter::parse(&ctx, q.get("$filter"))?;
    let sel = Selection::parse(&ctx, q.get("$select"), &[GROUP_PROPS], GROUP_TYPE)?;
    let top = q.top(&ctx, state.settings.default_page_size)?;
    let after = resume_after(&ctx, &q, "groups")?;
    let dir = state.directory();
    let tenant = ctx.tenant(&dir)?;
    let (items, next) = page_of(&tenant.groups, after.as_deref(), top, |g| filter.matches(g));
    let value = items.iter().map(|g| group_json(g, &sel)).collect();
    let count = q
        .wants_count()
        .then(|| tenant.groups.values().filter(|g| filter.matches(g)).count());
    Ok(page(&ctx, &q, "groups", "groups", &sel, value, next, count))
}

pub async fn get(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    let q = GraphQuery::parse(&ctx, raw.as_deref(), &["$expand"])?;
    let sel = Selection::parse(&ctx, q.get("$select"), &[GROUP_PROPS], GROUP_TYPE)?;
    let dir = state.directory();
    let tenant = ctx.tenant(&dir)?;
    let group = tenant.groups.get(&id).ok_or_else(|| ctx.not_found(&id))?;
    Ok(entity(&ctx, "groups", &sel, group_json(group, &sel)))
}
