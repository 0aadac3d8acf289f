//! `GET /v1.0/users` and `GET /v1.0/users/{id | userPrincipalName}`.

use super::context::GraphCtx;
use super::error::GraphError;
use super::paging::{page_of, resume_after};
use super::project::{user_json, Selection, USER_PROPS};
use super::query::{unsupported_filter, GraphQuery};
use super::{entity, page};
use crate::state::EmulatorState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use std::sync::Arc;

const USER_TYPE: &str = "microsoft.graph.user";

pub async fn list(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    let q = GraphQuery::parse(&ctx, raw.as_deref(), &["$orderby", "$search", "$expand"])?;
    if let Some(filter) = q.get("$filter") {
        return Err(unsupported_filter(&ctx, filter, "User"));
    }
    let sel = Selection::parse(&ctx, q.get("$select"), &[USER_PROPS], USER_TYPE)?;
    let top = q.top(&ctx, state.settings.default_page_size)?;
    let after = resume_after(&ctx, &q, "users")?;
    let dir = state.directory();
    let tenant = ctx.tenant(&dir)?;
    let (items, next) = page_of(&tenant.users, after.as_deref(), top, |_| true);
    let value = items.iter().map(|u| user_json(u, &sel)).collect();
    let count = q.wants_count().then_some(tenant.users.len());
    Ok(page(&ctx, &q, "users", "users", &sel, value, next, count))
}

pub async fn get(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    let q = GraphQuery::parse(&ctx, raw.as_deref(), &["$expand"])?;
    let sel = Selection::parse(&ctx, q.get("$select"), &[USER_PROPS], USER_TYPE)?;
    let dir = state.directory();
    let tenant = ctx.tenant(&dir)?;
    let user = tenant.users.get(&id).or_else(|| {
        tenant
            .users
            .values()
            .find(|u| u.user_principal_name.eq_ignore_ascii_case(&id))
    });
    let user = user.ok_or_else(|| ctx.not_found(&id))?;
    Ok(entity(&ctx, "users", &sel, user_json(user, &sel)))
}
