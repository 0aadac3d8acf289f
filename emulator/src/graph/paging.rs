//! Paging with opaque `$skiptoken`s and absolute `@odata.nextLink`s.
//!
//! A skiptoken names the collection, the tenant and the last id served; the next page is a
//! range scan of the id-ordered map after that id. So a page costs O(log n + page) and no
//! snapshot is copied, and objects added or removed between pages shift nothing: each object
//! present throughout is served exactly once.

use super::context::GraphCtx;
use super::error::GraphError;
use super::query::GraphQuery;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// Characters escaped in query values of generated links; OData's `$ , ' ( ) : / @` stay.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'=')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A collection page as Graph sends it.
#[derive(Serialize)]
pub struct PageBody<T: Serialize> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", skip_serializing_if = "Option::is_none")]
    pub delta_link: Option<String>,
    pub value: Vec<T>,
}

/// Opaque token for "after id X in collection C of tenant T".
pub fn encode_skiptoken(collection: &str, tenant_id: &str, after: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("emu1\n{collection}\n{tenant_id}\n{after}"))
}

/// The id to resume after, if the token is one of ours for this collection and tenant.
pub fn decode_skiptoken(token: &str, collection: &str, tenant_id: &str) -> Option<String> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(token.trim()).ok()?).ok()?;
    let mut parts = raw.splitn(4, '\n');
    let ok = parts.next() == Some("emu1")
        && parts.next() == Some(collection)
        && parts.next() == Some(tenant_id);
    ok.then(|| parts.next().map(str::to_string)).flatten()
}

/// Reads `$skiptoken`; a token that is not valid here is Graph's expired-page-token error.
pub fn resume_after(
    ctx: &GraphCtx,
    q: &GraphQuery,
    collection: &str,
) -> Result<Option<String>, GraphError> {
    let Some(token) = q.get("$skiptoken") else {
        return Ok(None);
    };
    decode_skiptoken(token, collection, &ctx.tenant_id).map(Some).ok_or_else(|| {
        ctx.error(
            axum::http::StatusCode::BAD_REQUEST,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        )
    })
}

/// `base + path + ?params&name=token`, values escaped.
pub fn link(
    base: &str,
    path: &str,
    params: &[(String, String)],
    name: &str,
    token: &str,
) -> String {
    let mut query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect();
    query.push(format!("{name}={token}"));
    format!("{base}{path}?{}", query.join("&"))
}

/// Up to `top` entries of an id-ordered map after `after` that pass `keep`, and the id to
/// resume after when more remain.
pub fn page_of<'a, V>(
    map: &'a BTreeMap<String, V>,
    after: Option<&str>,
    top: usize,
    keep: impl Fn(&V) -> bool,
) -> (Vec<&'a V>, Option<String>) {
    let start = match after {
        Some(a) => Bound::Excluded(a),
        None => Bound::Unbounded,
    };
    let mut iter = map
        .range::<str, _>((start, Bound::Unbounded))
        .filter(|(_, v)| keep(v));
    let mut items = Vec::with_capacity(top.min(1000));
    let mut last = None;
    for (id, v) in iter.by_ref().take(top) {
        items.push(v);
        last = Some(id.clone());
    }
    let more = iter.next().is_some();
    (items, last.filter(|_| more))
}

/// The same over an ordered set of ids.
pub fn page_of_ids<'a>(
    ids: &'a BTreeSet<String>,
    after: Option<&str>,
    top: usize,
) -> (Vec<&'a String>, Option<String>) {
    let start = match after {
        Some(a) => Bound::Excluded(a),
        None => Bound::Unbounded,
    };
    let mut iter = ids.range::<str, _>((start, Bound::Unbounded));
    let items: Vec<&String> = iter.by_ref().take(top).collect();
    let more = iter.next().is_some();
    let next = items.last().filter(|_| more).map(|s| s.to_string());
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skiptokens_round_trip_and_are_bound_to_collection_and_tenant() {
        let t = encode_skiptoken("users", "t1", "abc");
        assert_eq!(decode_skiptoken(&t, "users", "t1"), Some("abc".into()));
        assert_eq!(decode_skiptoken(&t, "groups", "t1"), None);
        assert_eq!(decode_skiptoken(&t, "users", "t2"), None);
        assert_eq!(decode_skiptoken("garbage!", "users", "t1"), None);
    }

    #[test]
    fn pages_cover_everything_once() {
        let map: BTreeMap<String, u32> = (0..25).map(|i| (format!("{i:03}"), i)).collect();
        let mut after = None;
        let mut seen = Vec::new();
        loop {
            let (items, next) = page_of(&map, after.as_deref(), 10, |v| v % 2 == 0);
            seen.extend(items.into_iter().copied());
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, (0..25).filter(|v| v % 2 == 0).collect::<Vec<_>>());
    }

    #[test]
    fn links_keep_odata_characters() {
        let params = vec![
            ("$select".to_string(), "id,mail".to_string()),
            ("$filter".to_string(), "mailEnabled eq true".to_string()),
        ];
        assert_eq!(
            link("http://h", "/v1.0/groups", &params, "$skiptoken", "T"),
            "http://h/v1.0/groups?$select=id,mail&$filter=mailEnabled%20eq%20true&$skiptoken=T"
        );
    }
}
