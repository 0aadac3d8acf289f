//! The Admin SDK Directory API reads Roster uses, under `/admin/directory/v1/`: users.list,
//! groups.list, members.list, domains.list and domainAliases.list, with Google's paging
//! (`maxResults`, `pageToken`/`nextPageToken`, the key omitted on the last page), partial
//! responses (`fields=`), bearer-token and scope checks, and faults.

use super::errors::ApiError;
use super::fields::Selection;
use super::model::{etag, Workspace};
use super::state::{GoogleState, Inner, ThrottleKind};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::SystemTime;

const SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    customer: Option<String>,
    domain: Option<String>,
    max_results: Option<String>,
    page_token: Option<String>,
    fields: Option<String>,
    parent_domain_name: Option<String>,
}

/// Checks the bearer token, its scopes (any of `scopes`, short names) and the faults; returns
/// the customer id of the grant.
fn authorize(
    inner: &mut Inner,
    state: &GoogleState,
    headers: &HeaderMap,
    scopes: &[&str],
) -> Result<String, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let grant = token
        .and_then(|t| inner.access_tokens.get(t))
        .filter(|t| t.expires_at > SystemTime::now())
        .and_then(|t| inner.grants.get(&t.grant_id))
        .filter(|g| !g.revoked)
        .cloned();
    let Some(grant) = grant else {
        inner.counters.unauthorized += 1;
        return Err(ApiError::unauthenticated());
    };
    if !grant.scopes.iter().any(|s| {
        scopes
            .iter()
            .any(|want| s.strip_prefix(SCOPE).is_some_and(|short| short == *want))
    }) {
        inner.counters.forbidden += 1;
        return Err(ApiError::insufficient_scopes());
    }
    if inner.faults.api_not_enabled {
        inner.counters.forbidden += 1;
        return Err(ApiError::access_not_configured(
            &state.config.project_number,
        ));
    }
    let is_admin = inner
        .workspace(&grant.customer_id)
        .and_then(|w| w.users.get(&grant.user_id))
        .is_some_and(|u| u.is_admin && !u.suspended);
    if !is_admin || inner.faults.grantor_not_admin {
        inner.counters.forbidden += 1;
        return Err(ApiError::forbidden());
    }
    if let Some(kind) = inner.next_throttle() {
        inner.counters.throttled += 1;
        return Err(match kind {
            ThrottleKind::UserRateLimitExceeded => ApiError::user_rate_limit(),
            ThrottleKind::QuotaExceeded => ApiError::quota_exceeded(),
            ThrottleKind::RateLimitExceeded => ApiError::rate_limit(),
            ThrottleKind::BackendError => ApiError::backend_error(),
        });
    }
    Ok(grant.customer_id)
}

fn page_size(raw: Option<&str>, default: u32, max: u32) -> Result<usize, ApiError> {
    match raw {
        None => Ok(default as usize),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n as usize),
            _ => Err(ApiError::invalid_value("maxResults", v, max)),
        },
    }
}

/// Page tokens are opaque: base64url of the last id served (a range scan after it, so an
/// object present throughout is served once even while the directory changes).
fn decode_token(token: Option<&str>) -> Result<Option<String>, ApiError> {
    match token.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("after:").map(str::to_string))
            .map(Some)
            .ok_or_else(ApiError::invalid_page_token),
    }
}

/// One page of `items` (paging key, item; in key order) after the token, with
/// `nextPageToken` when more follow; only the page's items are rendered to JSON (a large
/// Workspace pages in time proportional to its size, not to its size times its pages).
/// `(kind, key)` of the list, `(default, max)` page sizes.
fn page<K: AsRef<str>, T>(
    customer: &str,
    (kind, key): (&str, &str),
    items: impl Iterator<Item = (K, T)>,
    render: impl Fn(T) -> Value,
    query: &ListQuery,
    (default, max): (u32, u32),
) -> Result<Value, ApiError> {
    let size = page_size(query.max_results.as_deref(), default, max)?;
    let after = decode_token(query.page_token.as_deref())?;
    let mut rest = items
        .filter(|(id, _)| after.as_deref().is_none_or(|a| id.as_ref() > a))
        .peekable();
    let chunk: Vec<(K, T)> = rest.by_ref().take(size).collect();
    let next = chunk
        .last()
        .filter(|_| rest.peek().is_some())
        .map(|(last, _)| URL_SAFE_NO_PAD.encode(format!("after:{}", last.as_ref())));
    let items = chunk.into_iter().map(|(_, v)| render(v)).collect();
    envelope(customer, (kind, key), items, next, query.fields.as_deref())
}

/// A list answer: kind, the items (omitted when empty), `nextPageToken` when given, etag;
/// trimmed to `fields`.
fn envelope(
    customer: &str,
    (kind, key): (&str, &str),
    items: Vec<Value>,
    next: Option<String>,
    fields: Option<&str>,
) -> Result<Value, ApiError> {
    let selection = match fields {
        None => None,
        Some(f) => Some(Selection::parse(f).ok_or_else(|| ApiError::invalid_fields(f))?),
    };
    let mut body = json!({ "kind": kind });
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    if !items.is_empty() {
        body[key] = Value::Array(items);
    }
    body["etag"] = json!(etag(customer, &body));
    Ok(match selection {
        Some(sel) => sel.apply(&body),
        None => body,
    })
}

/// The Workspace named by `customer` (or owning `domain`) for the grant's customer.
fn scoped<'a>(
    inner: &'a Inner,
    granted: &str,
    customer: Option<&str>,
    domain: Option<&str>,
) -> Result<(&'a Workspace, Option<String>), ApiError> {
    let ws = inner.workspace(granted).ok_or_else(ApiError::forbidden)?;
    match (customer, domain) {
        (Some(c), _) if !c.is_empty() => {
            if ws.is_customer(c) {
                Ok((ws, None))
            } else {
                Err(ApiError::forbidden())
            }
        }
        (_, Some(d)) if !d.is_empty() => {
            let d = d.to_ascii_lowercase();
            if ws.domains().contains(&d) {
                Ok((ws, Some(d)))
            } else {
                Err(ApiError::domain_not_found())
            }
        }
        _ => Err(ApiError::bad_request()),
    }
}

fn in_domain(email: &str, domain: Option<&str>) -> bool {
    domain.is_none_or(|d| {
        email
            .rsplit_once('@')
            .is_some_and(|(_, e)| e.eq_ignore_ascii_case(d))
    })
}

/// Runs one Directory read: token, scopes and faults first, then `read` on the grant's
/// customer id; counted under `kind`.
fn answer(
    state: &GoogleState,
    headers: &HeaderMap,
    scopes: &[&str],
    kind: &str,
    read: impl FnOnce(&Inner, &str) -> Result<Value, ApiError>,
) -> Response {
    let mut inner = state.lock();
    *inner.counters.by_kind.entry(kind.into()).or_default() += 1;
    let result = authorize(&mut inner, state, headers, scopes).and_then(|c| read(&inner, &c));
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

const USER_SCOPES: &[&str] = &["user.readonly", "user"];
const GROUP_SCOPES: &[&str] = &["group.readonly", "group"];
const MEMBER_SCOPES: &[&str] = &[
    "group.readonly",
    "group",
    "group.member.readonly",
    "group.member",
];
const DOMAIN_SCOPES: &[&str] = &["domain.readonly", "domain"];

/// `GET /admin/directory/v1/users`.
pub async fn users(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    answer(&state, &headers, USER_SCOPES, "users", |inner, customer| {
        let (ws, domain) = scoped(inner, customer, q.customer.as_deref(), q.domain.as_deref())?;
        let items = ws
            .users
            .values()
            .filter(|u| in_domain(&u.primary_email, domain.as_deref()))
            .map(|u| (u.id.as_str(), u));
        page(
            &ws.customer_id,
            ("admin#directory#users", "users"),
            items,
            |u| ws.user_json(u),
            &q,
            (100, 500),
        )
    })
}

/// `GET /admin/directory/v1/groups`.
pub async fn groups(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    answer(
        &state,
        &headers,
        GROUP_SCOPES,
        "groups",
        |inner, customer| {
            let (ws, domain) = scoped(inner, customer, q.customer.as_deref(), q.domain.as_deref())?;
            let items = ws
                .groups
                .values()
                .filter(|g| in_domain(&g.email, domain.as_deref()))
                .map(|g| (g.id.as_str(), g));
            page(
                &ws.customer_id,
                ("admin#directory#groups", "groups"),
                items,
                |g| ws.group_json(g),
                &q,
                (200, 200),
            )
        },
    )
}

/// `GET /admin/directory/v1/groups/{groupKey}/members` (groupKey: id, email or alias).
pub async fn members(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Path(group_key): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    answer(
        &state,
        &headers,
        MEMBER_SCOPES,
        "members",
        |inner, customer| {
            let ws = inner.workspace(customer).ok_or_else(ApiError::forbidden)?;
            let group = ws
                .group(&group_key)
                .ok_or_else(|| ApiError::not_found("groupKey"))?;
            let items = ws
                .members
                .get(&group.id)
                .into_iter()
                .flatten()
                .enumerate()
                // Members page in the order they were added: the token is the position.
                .map(|(i, m)| (format!("{i:010}"), m));
            page(
                &ws.customer_id,
                ("admin#directory#members", "members"),
                items,
                |m| ws.member_json(m),
                &q,
                (200, 200),
            )
        },
    )
}

/// `GET /admin/directory/v1/customer/{customer}/domains` (no paging).
pub async fn domains(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    answer(
        &state,
        &headers,
        DOMAIN_SCOPES,
        "domains",
        |inner, granted| {
            let (ws, _) = scoped(inner, granted, Some(&customer), None)?;
            let list: Vec<Value> = ws
                .domains()
                .iter()
                .map(|d| {
                    let aliases: Vec<Value> = ws
                        .domain_aliases
                        .iter()
                        .filter(|a| a.parent_domain_name.eq_ignore_ascii_case(d))
                        .map(|a| alias_json(ws, a))
                        .collect();
                    let mut v = json!({
                        "kind": "admin#directory#domain",
                        "domainName": d,
                        "isPrimary": *d == ws.primary_domain,
                        "verified": true,
                        "creationTime": "1614592800000",
                    });
                    if !aliases.is_empty() {
                        v["domainAliases"] = Value::Array(aliases);
                    }
                    v["etag"] = json!(etag(&ws.customer_id, &v));
                    v
                })
                .collect();
            envelope(
                &ws.customer_id,
                ("admin#directory#domains", "domains"),
                list,
                None,
                q.fields.as_deref(),
            )
        },
    )
}

/// `GET /admin/directory/v1/customer/{customer}/domainaliases[?parentDomainName=]`.
pub async fn domain_aliases(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    answer(
        &state,
        &headers,
        DOMAIN_SCOPES,
        "domainAliases",
        |inner, granted| {
            let (ws, _) = scoped(inner, granted, Some(&customer), None)?;
            let list: Vec<Value> = ws
                .domain_aliases
                .iter()
                .filter(|a| {
                    q.parent_domain_name
                        .as_deref()
                        .is_none_or(|p| a.parent_domain_name.eq_ignore_ascii_case(p))
                })
                .map(|a| alias_json(ws, a))
                .collect();
            envelope(
                &ws.customer_id,
                ("admin#directory#domainAliases", "domainAliases"),
                list,
                None,
                q.fields.as_deref(),
            )
        },
    )
}

fn alias_json(ws: &Workspace, a: &super::model::DomainAliasFile) -> Value {
    let mut v = json!({
        "kind": "admin#directory#domainAlias",
        "domainAliasName": a.domain_alias_name,
        "parentDomainName": a.parent_domain_name,
        "verified": true,
        "creationTime": "1614592800000",
    });
    v["etag"] = json!(etag(&ws.customer_id, &v));
    v
}
