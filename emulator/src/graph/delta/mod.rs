//! `GET /v1.0/users/delta`, `/v1.0/groups/delta` and `/v1.0/contacts/delta`: a full round paged with `$skiptoken`
//! ending in a `@odata.deltaLink`; replaying that link starts a round with only the changes
//! since (changed objects, `@removed` entries, `members@delta` for groups).
//!
//! Tokens carry the tenant's change-log epoch and sequence number (base64url JSON, opaque to
//! clients). A token from an older epoch, an invalidated log or past its lifetime gets
//! `syncStateNotFound` (410 Gone with a `Location` to start over, or 400 if so configured).
//! As in Graph, a group with many members spreads over several pages: merge by id.

mod rounds;

use rounds::{changes_page, full_page};

use super::context::GraphCtx;
use super::error::GraphError;
use super::paging::PageBody;
use super::project::{Selection, CONTACT_PROPS, GROUP_PROPS, USER_PROPS};
use super::query::GraphQuery;
use crate::state::EmulatorState;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Members listed per group object in one page of a full round.
pub const MEMBERS_PER_OBJECT: usize = 100;

#[derive(Clone, Copy, PartialEq)]
enum Collection {
    Users,
    Groups,
    Contacts,
}

impl Collection {
    fn name(self) -> &'static str {
        match self {
            Collection::Users => "users",
            Collection::Groups => "groups",
            Collection::Contacts => "contacts",
        }
    }
}

/// What a delta or skip token stands for.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Token {
    v: u8,
    k: String,
    t: String,
    e: u64,
    sel: Option<String>,
    /// When the round started (unix seconds).
    ts: u64,
    #[serde(flatten)]
    pos: Pos,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "p")]
enum Pos {
    /// A full listing of the objects present at sequence `to`, resuming after `after`
    /// (at member `moff` of that group when a group's members span pages).
    Full {
        to: u64,
        after: Option<String>,
        moff: usize,
    },
    /// The changes in `(from, to]`, from the `off`-th changed object.
    Changes { from: u64, to: u64, off: usize },
    /// End of a round: the next round reports changes after `seq`.
    Done { seq: u64 },
}

fn encode(token: &Token) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(token).unwrap_or_default())
}

fn decode(raw: &str) -> Option<Token> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw.trim()).ok()?).ok()
}

pub async fn users(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    delta(&state, &ctx, raw.as_deref(), Collection::Users)
}

pub async fn groups(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    delta(&state, &ctx, raw.as_deref(), Collection::Groups)
}

pub async fn contacts(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    delta(&state, &ctx, raw.as_deref(), Collection::Contacts)
}

fn delta(
    state: &EmulatorState,
    ctx: &GraphCtx,
    raw: Option<&str>,
    coll: Collection,
) -> Result<Response, GraphError> {
    let q = GraphQuery::parse(
        ctx,
        raw,
        &[
            "$top", "$orderby", "$expand", "$filter", "$search", "$count",
        ],
    )?;
    let (allowed, type_name): (&[&[&str]], &str) = match coll {
        Collection::Users => (&[USER_PROPS], "microsoft.graph.user"),
        Collection::Groups => (&[GROUP_PROPS, &["members"]], "microsoft.graph.group"),
        Collection::Contacts => (&[CONTACT_PROPS], "microsoft.graph.orgContact"),
    };
    let dir = state.directory();
    let tenant = ctx.tenant(&dir)?;
    let now = unix_now();
    let fresh = |sel: Option<String>, pos: Pos| Token {
        v: 1,
        k: coll.name().to_string(),
        t: tenant.id.clone(),
        e: tenant.changes.epoch(),
        sel,
        ts: now,
        pos,
    };
    let token = if let Some(dt) = q.get("$deltatoken") {
        if dt == "latest" {
            let sel = Selection::parse(ctx, q.get("$select"), allowed, type_name)?;
            fresh(
                sel.raw().map(str::to_string),
                Pos::Done {
                    seq: tenant.changes.seq(),
                },
            )
        } else {
            let tok = decode(dt)
                .filter(|t| t.k == coll.name() && t.t == tenant.id)
                .ok_or_else(|| sync_error(state, ctx, coll, None))?;
            let seq = match tok.pos {
                Pos::Done { seq } => seq,
                _ => return Err(sync_error(state, ctx, coll, tok.sel.as_deref())),
            };
            let age = now.saturating_sub(tok.ts);
            if !tenant.changes.can_replay(tok.e, seq)
                || age > state.settings.delta_token_ttl.as_secs()
            {
                return Err(sync_error(state, ctx, coll, tok.sel.as_deref()));
            }
            let to = tenant.changes.seq();
            fresh(
                tok.sel,
                Pos::Changes {
                    from: seq,
                    to,
                    off: 0,
                },
            )
        }
    } else if let Some(st) = q.get("$skiptoken") {
        let tok = decode(st)
            .filter(|t| t.k == coll.name() && t.t == tenant.id)
            .ok_or_else(|| sync_error(state, ctx, coll, None))?;
        let replayable = match &tok.pos {
            Pos::Full { .. } => tok.e == tenant.changes.epoch(),
            Pos::Changes { from, .. } => tenant.changes.can_replay(tok.e, *from),
            Pos::Done { .. } => false,
        };
        if !replayable {
            return Err(sync_error(state, ctx, coll, tok.sel.as_deref()));
        }
        tok
    } else {
        let sel = Selection::parse(ctx, q.get("$select"), allowed, type_name)?;
        let to = tenant.changes.seq();
        fresh(
            sel.raw().map(str::to_string),
            Pos::Full {
                to,
                after: None,
                moff: 0,
            },
        )
    };
    let sel = Selection::parse(ctx, token.sel.as_deref(), allowed, type_name)?;
    let size = state.settings.delta_page_size;
    let (value, next) = match &token.pos {
        Pos::Full { to, after, moff } => {
            full_page(tenant, coll, &sel, *to, after.as_deref(), *moff, size)
        }
        Pos::Changes { from, to, off } => changes_page(tenant, coll, &sel, *from, *to, *off, size),
        Pos::Done { seq } => (Vec::new(), Pos::Done { seq: *seq }),
    };
    let link_token = encode(&Token {
        pos: next.clone(),
        ..token
    });
    let path = format!("{}/v1.0/{}/delta", ctx.base, coll.name());
    let (next_link, delta_link) = match next {
        Pos::Done { .. } => (None, Some(format!("{path}?$deltatoken={link_token}"))),
        _ => (Some(format!("{path}?$skiptoken={link_token}")), None),
    };
    let body = PageBody {
        context: format!("{}/v1.0/$metadata#{}", ctx.base, coll.name()),
        count: None,
        next_link,
        delta_link,
        value,
    };
    Ok(ctx.json(&body))
}

/// `syncStateNotFound`: 410 Gone with a `Location` to start over, or 400 if so configured.
fn sync_error(
    state: &EmulatorState,
    ctx: &GraphCtx,
    coll: Collection,
    sel: Option<&str>,
) -> GraphError {
    let status = state.faults().config().delta_token_error_status;
    let message =
        "The delta token is expired or not valid. Start over with a full synchronization.";
    if status == 400 {
        return ctx.error(StatusCode::BAD_REQUEST, "syncStateNotFound", message);
    }
    let mut restart = format!("{}/v1.0/{}/delta", ctx.base, coll.name());
    if let Some(s) = sel {
        restart.push_str(&format!("?$select={s}"));
    }
    ctx.error(StatusCode::GONE, "syncStateNotFound", message)
        .with_header(header::LOCATION, restart)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
