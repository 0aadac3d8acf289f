//! Directory objects (users, groups, organisational contacts) in the emulator's own format.
//!
//! The same serde types are the tenant file, the control API's bodies and the emulator's
//! storage, so "what you load is what Graph serves". Field names follow Graph's camelCase;
//! Graph's JSON output is built separately (see `graph::project`) because Graph only returns
//! what `$select` names.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

fn yes() -> bool {
    true
}

fn member() -> String {
    "Member".to_string()
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A user object: a person, a guest, a shared or room mailbox, or an account without mailbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub user_principal_name: String,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub proxy_addresses: Vec<String>,
    #[serde(default = "yes")]
    pub account_enabled: bool,
    /// `Member` or `Guest`.
    #[serde(default = "member")]
    pub user_type: String,
    #[serde(default)]
    pub mail_nickname: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub business_phones: Vec<String>,
    #[serde(default)]
    pub mobile_phone: Option<String>,
    #[serde(default)]
    pub office_location: Option<String>,
    #[serde(default)]
    pub preferred_language: Option<String>,
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// Emulator-only: this user is a Global Administrator (may grant admin consent).
    /// Never returned by Graph.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_admin: bool,
}

/// A group: Microsoft 365 group, distribution list, mail-enabled security group or security group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub mail_nickname: Option<String>,
    #[serde(default)]
    pub proxy_addresses: Vec<String>,
    /// `["Unified"]` for a Microsoft 365 group, `[]` otherwise.
    #[serde(default)]
    pub group_types: Vec<String>,
    #[serde(default)]
    pub mail_enabled: bool,
    #[serde(default)]
    pub security_enabled: bool,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// Direct members: ids of users, groups or contacts of the same tenant.
    #[serde(default)]
    pub members: BTreeSet<String>,
}

/// An organisational contact (`orgContact`): an external address in the address book.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub mail_nickname: Option<String>,
    #[serde(default)]
    pub proxy_addresses: Vec<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
}

/// The three kinds of directory object that can be group members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectKind {
    User,
    Group,
    Contact,
}

impl ObjectKind {
    /// The `@odata.type` Graph puts on each member of a `directoryObject` collection.
    pub fn odata_type(self) -> &'static str {
        match self {
            ObjectKind::User => "#microsoft.graph.user",
            ObjectKind::Group => "#microsoft.graph.group",
            ObjectKind::Contact => "#microsoft.graph.orgContact",
        }
    }
}

/// A verified domain of a tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDomain {
    pub name: String,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub is_initial: bool,
}

/// In a tenant file a domain is a plain name or a full object.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DomainSpec {
    Name(String),
    Full(VerifiedDomain),
}

/// The tenant file: one tenant's complete state (see README.md, "Tenant file").
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantFile {
    pub id: String,
    pub display_name: String,
    pub verified_domains: Vec<DomainSpec>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// Emulator-only: admin consent already granted to the emulator's app in this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consented: Option<bool>,
}

/// The SMTP address of a `proxyAddresses` entry, as Exchange reads it: prefix matched without
/// regard to case, spaces trimmed. `None` for non-mail entries (X500:, SIP:, SPO:, …).
pub fn smtp_address(entry: &str) -> Option<&str> {
    let (prefix, rest) = entry.trim().split_once(':')?;
    prefix
        .trim()
        .eq_ignore_ascii_case("smtp")
        .then(|| rest.trim())
        .filter(|a| !a.is_empty())
}

/// Every mail address an object answers to, lower-cased: `mail` and its SMTP proxy addresses.
pub fn mail_addresses(mail: Option<&str>, proxies: &[String]) -> BTreeSet<String> {
    proxies
        .iter()
        .filter_map(|p| smtp_address(p))
        .chain(mail.map(str::trim))
        .filter(|a| !a.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_prefixes_are_read_like_exchange() {
        assert_eq!(smtp_address("SMTP:a@b.com"), Some("a@b.com"));
        assert_eq!(smtp_address("SMTP: bob@b.com"), Some("bob@b.com"));
        assert_eq!(smtp_address(" Smtp:x@b.com "), Some("x@b.com"));
        assert_eq!(smtp_address("X500:/o=Org/cn=x"), None);
        assert_eq!(smtp_address("SPO:SPO_1@SPO_2"), None);
    }
}
