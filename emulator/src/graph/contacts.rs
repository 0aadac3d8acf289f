//! `GET /v1.0/contacts` and `GET /v1.0/contacts/{id}`: organisational contacts.

use super::context::GraphCtx;
use super::error::GraphError;
use super::paging::{page_of, resume_after};
use super::project::{contact_json, Selection, CONTACT_PROPS};
use super::query::{unsupported_filter, GraphQuery};
use super::{entity, page};
use crate::state::EmulatorState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use std::sync::Arc;

const CONTACT_TYPE: &str = "microsoft.graph.orgContact";

pub async fn list(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    let q = GraphQuery::parse(&ctx, raw.as_deref(), &["$orderby", "$search", "$expand"])?;
    if let Some(filter) = q.get("$filter") {
        return Err(unsupported_filter(&ctx, filter, "OrgContact"));
    }
    let sel = Selection::parse(&ctx, q.get("$select"), &[CONTACT_PROPS], CONTACT_TYPE)?;
    let top = q.top(&ctx, state.settings.default_page_size)?;
    let after = resume_after(&ctx, &q, "contacts")?;
    let dir = state.directory();
    let tenant = ctx.tenant(&dir)?;
    let (items, next) = page_of(&tenant.contacts, after.as_deref(), top, |_| true);
    let value = items.iter().map(|c| contact_json(c, &sel)).collect();
    let count = q.wants_count().then_some(tenant.contacts.len());
    Ok(page(
        &ctx, &q, "contacts", "contacts", &sel, value, next, count,
    ))
}

pub async fn get(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    let q = GraphQuery::parse(&ctx, raw.as_deref(), &["$expand"])?;
    let sel = Selection::parse(&ctx, q.get("$select"), &[CONTACT_PROPS], CONTACT_TYPE)?;
    let dir = state.directory();
    let tenant = ctx.tenant(&dir)?;
    let contact = tenant.contacts.get(&id).ok_or_else(|| ctx.not_found(&id))?;
    Ok(entity(&ctx, "contacts", &sel, contact_json(contact, &sel)))
}
