//! Request counts, so tests can assert how a client behaved (retries, page count, throttling).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts of requests to the Microsoft surfaces (the control API is not counted).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub total: u64,
    pub identity: u64,
    pub graph: u64,
    /// Answered 429.
    pub throttled: u64,
    /// Answered 503.
    pub unavailable: u64,
    /// Graph requests answered 401.
    pub unauthorized: u64,
    /// Graph requests answered 403.
    pub forbidden: u64,
    /// Token requests that got a token.
    pub tokens_issued: u64,
    /// Per path kind: `token`, `adminconsent`, `users`, `usersDelta`, `groups`, `groupsDelta`,
    /// `members`, `transitiveMembers`, `contacts`, `organization`, `domains`, `user`, `group`,
    /// `contact`, `batch` (a `$batch` POST; each of its requests is counted by its own kind too),
    /// `other`.
    pub by_kind: BTreeMap<String, u64>,
}

impl Counters {
    pub fn hit(&mut self, kind: &str) {
        self.total += 1;
        if matches!(kind, "token" | "adminconsent") {
            self.identity += 1;
        } else {
            self.graph += 1;
        }
        *self.by_kind.entry(kind.to_string()).or_insert(0) += 1;
    }
}

/// The path kind of a request path, as counted and as fault settings name it.
pub fn path_kind(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [_, "oauth2", "v2.0", "token"] => "token",
        [_, "v2.0", "adminconsent"] | [_, "adminconsent"] => "adminconsent",
        ["v1.0", "users"] => "users",
        ["v1.0", "users", "delta"] => "usersDelta",
        ["v1.0", "users", _] => "user",
        ["v1.0", "groups"] => "groups",
        ["v1.0", "groups", "delta"] => "groupsDelta",
        ["v1.0", "groups", _] => "group",
        ["v1.0", "groups", _, "members"] => "members",
        ["v1.0", "groups", _, "transitiveMembers"] => "transitiveMembers",
        ["v1.0", "contacts"] => "contacts",
        ["v1.0", "contacts", _] => "contact",
        ["v1.0", "organization"] => "organization",
        ["v1.0", "domains"] => "domains",
        ["v1.0", "$batch"] => "batch",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_paths() {
        assert_eq!(path_kind("/contoso.com/oauth2/v2.0/token"), "token");
        assert_eq!(
            path_kind("/organizations/v2.0/adminconsent"),
            "adminconsent"
        );
        assert_eq!(path_kind("/v1.0/users/delta"), "usersDelta");
        assert_eq!(
            path_kind("/v1.0/groups/abc/transitiveMembers"),
            "transitiveMembers"
        );
        assert_eq!(path_kind("/v1.0/$batch"), "batch");
        assert_eq!(path_kind("/v1.0/nope/x/y/z"), "other");
    }
}
