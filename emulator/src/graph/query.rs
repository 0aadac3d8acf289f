//! OData query options as Graph's directory endpoints treat them: `$top` 1–999, no `$skip`,
//! `$count` only with `ConsistencyLevel: eventual`, and a small `$filter` grammar (the one
//! filter Roster needs: `mailEnabled eq true`). Anything else gets Graph's 400.

use super::context::GraphCtx;
use super::error::GraphError;
use axum::http::StatusCode;

/// The decoded query string, in order.
#[derive(Clone, Debug, Default)]
pub struct GraphQuery {
    pub params: Vec<(String, String)>,
}

impl GraphQuery {
    /// Parses the query and refuses the options the emulator (or Graph) does not support here.
    pub fn parse(
        ctx: &GraphCtx,
        raw: Option<&str>,
        unsupported: &[&str],
    ) -> Result<Self, GraphError> {
        let params: Vec<(String, String)> =
            serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|_| {
                ctx.error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "The query specified in the URI is not valid.",
                )
            })?;
        let q = GraphQuery { params };
        if q.get("$skip").is_some() {
            return Err(ctx.error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "'$skip' is not supported by the service.",
            ));
        }
        for option in unsupported {
            if q.get(option).is_some() {
                return Err(ctx.error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    format!("The query option '{option}' is not supported on this resource."),
                ));
            }
        }
        if q.get("$count")
            .is_some_and(|c| c.eq_ignore_ascii_case("true"))
            && !ctx.eventual
        {
            return Err(ctx.error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "$count is not currently supported.",
            ));
        }
        Ok(q)
    }

    /// The value of an option; names compare without regard to case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn wants_count(&self) -> bool {
        self.get("$count")
            .is_some_and(|c| c.eq_ignore_ascii_case("true"))
    }

    /// `$top`, or the default page size; outside 1–999 is Graph's 400.
    pub fn top(&self, ctx: &GraphCtx, default: usize) -> Result<usize, GraphError> {
        let Some(raw) = self.get("$top") else {
            return Ok(default);
        };
        match raw.trim().parse::<i64>() {
            Ok(n) if (1..=999).contains(&n) => Ok(n as usize),
            _ => Err(ctx.error(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                format!(
                    "Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive."
                ),
            )),
        }
    }

    /// The options to repeat in a nextLink: all but `$skiptoken`.
    pub fn carried(&self) -> Vec<(String, String)> {
        self.params
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
            .cloned()
            .collect()
    }
}

/// The group filters understood: conjunctions of `mailEnabled|securityEnabled eq true|false`
/// and `groupTypes/any(c:c eq 'Unified')`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupFilter {
    pub mail_enabled: Option<bool>,
    pub security_enabled: Option<bool>,
    pub unified: bool,
}

impl GroupFilter {
    pub fn parse(ctx: &GraphCtx, raw: Option<&str>) -> Result<Self, GraphError> {
        let mut f = GroupFilter::default();
        let Some(raw) = raw else {
            return Ok(f);
        };
        for clause in split_and(raw) {
            let squeezed: String = clause
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            if squeezed.starts_with("grouptypes/any(") && squeezed.ends_with("eq'unified')") {
                f.unified = true;
                continue;
            }
            let words: Vec<&str> = clause.split_whitespace().collect();
            let value = match words.as_slice() {
                [_, op, v] if op.eq_ignore_ascii_case("eq") => {
                    match v.to_ascii_lowercase().as_str() {
                        "true" => Some(true),
                        "false" => Some(false),
                        _ => None,
                    }
                }
                _ => None,
            };
            let prop = words.first().copied().unwrap_or("");
            match (prop.to_ascii_lowercase().as_str(), value) {
                ("mailenabled", Some(v)) => f.mail_enabled = Some(v),
                ("securityenabled", Some(v)) => f.security_enabled = Some(v),
                _ => return Err(unsupported_filter(ctx, clause, "Group")),
            }
        }
        Ok(f)
    }

    pub fn matches(&self, g: &crate::model::Group) -> bool {
        self.mail_enabled.is_none_or(|v| g.mail_enabled == v)
            && self
                .security_enabled
                .is_none_or(|v| g.security_enabled == v)
            && (!self.unified
                || g.group_types
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case("Unified")))
    }
}

fn split_and(raw: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = raw.trim();
    while let Some(i) = rest.to_ascii_lowercase().find(" and ") {
        out.push(rest[..i].trim());
        rest = rest[i + 5..].trim();
    }
    out.push(rest);
    out
}

/// Graph's 400 for a filter it will not run: the advanced-query message for the operators that
/// need `ConsistencyLevel: eventual` (as in the real sample), the generic one otherwise.
pub fn unsupported_filter(ctx: &GraphCtx, clause: &str, resource: &str) -> GraphError {
    let lower = clause.to_ascii_lowercase();
    let advanced = ["endswith", "contains", " ne ", "not(", "not ", "$count"]
        .iter()
        .find(|op| lower.contains(*op));
    let message = match advanced {
        Some(op) => {
            let name = match op.trim() {
                "endswith" => "endsWith",
                "not(" => "not",
                other => other,
            };
            format!("Operator '{name}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information")
        }
        None => {
            let prop = clause
                .split(|c: char| c.is_whitespace() || c == '(' || c == ',' || c == '/')
                .find(|w| !w.is_empty() && !w.eq_ignore_ascii_case("startswith"))
                .unwrap_or(clause);
            format!("Unsupported or invalid query filter clause specified for property '{prop}' of resource '{resource}'.")
        }
    };
    ctx.error(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
}
