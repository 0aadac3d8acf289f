//! The Microsoft Graph surface under `/v1.0/`: the directory reads Roster makes, alone or in a
//! JSON batch (`$batch`).

pub mod batch;
pub mod contacts;
pub mod context;
pub mod delta;
pub mod error;
pub mod groups;
pub mod members;
pub mod organization;
pub mod paging;
pub mod project;
pub mod query;
pub mod users;

use crate::state::EmulatorState;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use context::GraphCtx;
use error::GraphError;
use paging::{encode_skiptoken, link, PageBody};
use project::{Obj, Selection};
use query::GraphQuery;
use std::sync::Arc;

pub fn routes() -> Router<Arc<EmulatorState>> {
    Router::new()
        .route("/v1.0/users", get(users::list))
        .route("/v1.0/users/delta", get(delta::users))
        .route("/v1.0/users/{id}", get(users::get))
        .route("/v1.0/groups", get(groups::list))
        .route("/v1.0/groups/delta", get(delta::groups))
        .route("/v1.0/groups/{id}", get(groups::get))
        .route("/v1.0/groups/{id}/members", get(members::direct))
        .route(
            "/v1.0/groups/{id}/transitiveMembers",
            get(members::transitive),
        )
        .route("/v1.0/contacts", get(contacts::list))
        .route("/v1.0/contacts/delta", get(delta::contacts))
        .route("/v1.0/contacts/{id}", get(contacts::get))
        .route("/v1.0/organization", get(organization::organization))
        .route("/v1.0/domains", get(organization::domains))
        .route("/v1.0/$batch", post(batch::batch))
        .route("/v1.0/{*rest}", get(unknown_segment))
}

/// Graph's answer to a path it has no resource for.
async fn unknown_segment(ctx: GraphCtx, uri: Uri) -> GraphError {
    let segment = uri
        .path()
        .trim_start_matches("/v1.0/")
        .split('/')
        .next_back()
        .unwrap_or("")
        .to_string();
    ctx.error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Resource not found for the segment '{segment}'."),
    )
}

/// A collection page: `@odata.context` (with the `$select` list), `@odata.count` when asked,
/// `@odata.nextLink` when more remain (the request's options plus a fresh `$skiptoken`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn page(
    ctx: &GraphCtx,
    q: &GraphQuery,
    collection: &str,
    entity_set: &str,
    sel: &Selection,
    value: Vec<Obj>,
    next_after: Option<String>,
    count: Option<usize>,
) -> Response {
    let next_link = next_after.map(|after| {
        let token = encode_skiptoken(collection, &ctx.tenant_id, &after);
        link(&ctx.base, &ctx.path, &q.carried(), "$skiptoken", &token)
    });
    ctx.json(&PageBody {
        context: format!(
            "{}/v1.0/$metadata#{entity_set}{}",
            ctx.base,
            sel.context_suffix()
        ),
        count,
        next_link,
        delta_link: None,
        value,
    })
}

/// A single object with `@odata.context` first.
pub(crate) fn entity(ctx: &GraphCtx, entity_set: &str, sel: &Selection, mut obj: Obj) -> Response {
    let context = format!(
        "{}/v1.0/$metadata#{entity_set}{}/$entity",
        ctx.base,
        sel.context_suffix()
    );
    obj.0
        .insert(0, ("@odata.context", serde_json::Value::String(context)));
    ctx.json(&obj)
}
