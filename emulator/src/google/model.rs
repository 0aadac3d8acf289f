//! A Google Workspace as the emulator holds it: one customer, its domains and domain aliases,
//! users (with editable and non-editable aliases), groups and their direct members.
//!
//! The file format (`WorkspaceFile`, camelCase JSON) is what tests and the control API load.
//! Google derives the non-editable aliases itself (the `…test-google-a.com` address of the
//! primary domain, and an address in every domain alias of the address's domain); a user or
//! group without `nonEditableAliases` in the file gets them derived the same way.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A domain alias: mail to `local@alias` is delivered to `local@parent`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainAliasFile {
    pub domain_alias_name: String,
    pub parent_domain_name: String,
}

/// A user of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserFile {
    /// Numeric string; generated from the email when absent.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub primary_email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// `name.fullName`; "given family" when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Derived by Google's rule when absent (see the module doc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_editable_aliases: Option<Vec<String>>,
    pub suspended: bool,
    pub archived: bool,
    /// Emulator and Directory: a super admin (may grant Roster's access).
    pub is_admin: bool,
}

/// A member reference in the file: the email or id of a user or group of the Workspace, or
/// the customer id (`CUSTOMER`: everyone in the organization), with an optional role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MemberFile {
    Key(String),
    WithRole { key: String, role: String },
}

impl MemberFile {
    pub fn key(&self) -> &str {
        match self {
            MemberFile::Key(k) | MemberFile::WithRole { key: k, .. } => k,
        }
    }
    pub fn role(&self) -> &str {
        match self {
            MemberFile::Key(_) => "MEMBER",
            MemberFile::WithRole { role, .. } => role,
        }
    }
}

/// A group of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupFile {
    /// Google's 15-character style; generated from the email when absent.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub email: String,
    pub name: String,
    pub description: String,
    pub admin_created: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_editable_aliases: Option<Vec<String>>,
    pub members: Vec<MemberFile>,
}

/// A whole Workspace (the body of `POST /_emulator/workspaces`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceFile {
    /// E.g. `C03az79cb`; `my_customer` resolves to it for the Workspace's own admins.
    pub customer_id: String,
    pub primary_domain: String,
    #[serde(default)]
    pub secondary_domains: Vec<String>,
    #[serde(default)]
    pub domain_aliases: Vec<DomainAliasFile>,
    #[serde(default)]
    pub users: Vec<UserFile>,
    #[serde(default)]
    pub groups: Vec<GroupFile>,
}

/// Why a Workspace was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorkspaceError {
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
}

/// A member as stored: what it points at and its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// A user id, a group id or the customer id.
    pub id: String,
    pub kind: MemberKind,
    pub role: String,
    /// An outside address (not a user or group of this Workspace): Google lists it as a
    /// `USER` member with that email.
    pub external_email: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberKind {
    User,
    Group,
    Customer,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "USER",
            MemberKind::Group => "GROUP",
            MemberKind::Customer => "CUSTOMER",
        }
    }
}

/// A loaded Workspace. Users and groups are keyed by id (the order pages follow).
#[derive(Clone, Debug)]
pub struct Workspace {
    pub customer_id: String,
    pub primary_domain: String,
    pub secondary_domains: Vec<String>,
    pub domain_aliases: Vec<DomainAliasFile>,
    pub users: BTreeMap<String, UserFile>,
    pub groups: BTreeMap<String, GroupFile>,
    /// Direct members per group id, resolved.
    pub members: BTreeMap<String, Vec<Member>>,
    /// Every primary address and alias (lowercase) → the user's or group's id; built on load
    /// (edits reload), so lookups by email stay fast in large Workspaces.
    addresses: HashMap<String, (MemberKind, String)>,
}

/// A stable numeric id (21 digits, as Google's user ids) from a seed string.
pub fn numeric_id(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut n = u128::from_be_bytes(digest[..16].try_into().unwrap_or([0; 16]));
    let mut out = String::from("1");
    for _ in 0..20 {
        out.push(char::from(b'0' + (n % 10) as u8));
        n /= 10;
    }
    out
}

/// A stable group id in Google's style (15 characters, digits and lowercase letters).
pub fn group_id(seed: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let digest = Sha256::digest(seed.as_bytes());
    let mut out = String::from("0");
    for b in digest.iter().take(14) {
        out.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
    }
    out
}

/// An etag in Google's style: quoted, `"<customer part>/<object part>"`.
pub fn etag(customer: &str, value: &Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let a = URL_SAFE_NO_PAD.encode(&Sha256::digest(customer.as_bytes())[..20]);
    let b = URL_SAFE_NO_PAD.encode(&Sha256::digest(value.to_string().as_bytes())[..20]);
    format!("\"{a}/{b}\"")
}

fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

impl Workspace {
    /// Checks and loads a file: domains unique, every address in one of the Workspace's
    /// domains and owned once, members exist.
    pub fn load(file: WorkspaceFile) -> Result<Workspace, WorkspaceError> {
        let invalid = |m: String| Err(WorkspaceError::Invalid(m));
        if file.customer_id.is_empty() || file.customer_id == "my_customer" {
            return invalid("customerId must be a customer id such as C03az79cb".into());
        }
        let mut ws = Workspace {
            customer_id: file.customer_id,
            primary_domain: file.primary_domain.to_ascii_lowercase(),
            secondary_domains: file
                .secondary_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            domain_aliases: file.domain_aliases,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            members: BTreeMap::new(),
            addresses: HashMap::new(),
        };
        let domains: BTreeSet<String> = ws.domains().into_iter().collect();
        if domains.len() != 1 + ws.secondary_domains.len() {
            return invalid("a domain is listed twice".into());
        }
        for alias in &ws.domain_aliases {
            if !domains.contains(&alias.parent_domain_name.to_ascii_lowercase()) {
                return invalid(format!(
                    "domain alias {} has parent {}, not a domain of the Workspace",
                    alias.domain_alias_name, alias.parent_domain_name
                ));
            }
        }
        for mut user in file.users {
            if user.id.is_empty() {
                user.id = numeric_id(&user.primary_email.to_ascii_lowercase());
            }
            let owner = (MemberKind::User, user.id.clone());
            ws.own_addresses(&domains, &user.primary_email, &user.aliases, owner)?;
            if ws.users.insert(user.id.clone(), user).is_some() {
                return invalid("a user id is used twice".into());
            }
        }
        let mut members = Vec::new();
        for mut group in file.groups {
            if group.id.is_empty() {
                group.id = group_id(&group.email.to_ascii_lowercase());
            }
            let owner = (MemberKind::Group, group.id.clone());
            ws.own_addresses(&domains, &group.email, &group.aliases, owner)?;
            if ws.users.contains_key(&group.id) {
                return invalid(format!("id {} is both a user and a group", group.id));
            }
            members.push((group.id.clone(), std::mem::take(&mut group.members)));
            if ws.groups.insert(group.id.clone(), group).is_some() {
                return invalid("a group id is used twice".into());
            }
        }
        for (group, list) in members {
            for m in list {
                ws.add_member(&group, m.key(), m.role())?;
            }
        }
        Ok(ws)
    }

    /// Records the owner of an object's addresses: each in a domain of the Workspace, owned once.
    fn own_addresses(
        &mut self,
        domains: &BTreeSet<String>,
        primary: &str,
        aliases: &[String],
        owner: (MemberKind, String),
    ) -> Result<(), WorkspaceError> {
        for address in std::iter::once(primary).chain(aliases.iter().map(String::as_str)) {
            let lower = address.to_ascii_lowercase();
            if !domains.contains(domain_of(&lower)) {
                return Err(WorkspaceError::Invalid(format!(
                    "{address} is not in a domain of the Workspace"
                )));
            }
            if self.addresses.insert(lower, owner.clone()).is_some() {
                return Err(WorkspaceError::Invalid(format!(
                    "{address} belongs to two users or groups"
                )));
            }
        }
        Ok(())
    }

    /// The primary domain, then the secondary ones.
    pub fn domains(&self) -> Vec<String> {
        std::iter::once(self.primary_domain.clone())
            .chain(self.secondary_domains.iter().cloned())
            .collect()
    }

    /// Whether this Workspace answers to `customer` (`my_customer` or its id).
    pub fn is_customer(&self, customer: &str) -> bool {
        customer == "my_customer" || customer == self.customer_id
    }

    /// A user by id, primary email or alias.
    pub fn user(&self, key: &str) -> Option<&UserFile> {
        self.users
            .get(key)
            .or_else(|| match self.addresses.get(&key.to_ascii_lowercase()) {
                Some((MemberKind::User, id)) => self.users.get(id),
                _ => None,
            })
    }

    /// A group by id, email or alias.
    pub fn group(&self, key: &str) -> Option<&GroupFile> {
        self.groups
            .get(key)
            .or_else(|| match self.addresses.get(&key.to_ascii_lowercase()) {
                Some((MemberKind::Group, id)) => self.groups.get(id),
                _ => None,
            })
    }

    /// Adds a direct member (user, group, or the customer id) to a group.
    pub fn add_member(&mut self, group: &str, key: &str, role: &str) -> Result<(), WorkspaceError> {
        let group_id = self
            .group(group)
            .map(|g| g.id.clone())
            .ok_or_else(|| WorkspaceError::NotFound(format!("group {group}")))?;
        let (id, kind) = if key == self.customer_id || key.eq_ignore_ascii_case("customer") {
            (self.customer_id.clone(), MemberKind::Customer)
        } else if let Some(u) = self.user(key) {
            (u.id.clone(), MemberKind::User)
        } else if let Some(g) = self.group(key) {
            (g.id.clone(), MemberKind::Group)
        } else if key.contains('@')
            && !self
                .domains()
                .iter()
                .any(|d| d == domain_of(&key.to_ascii_lowercase()))
        {
            // An outside address.
            (numeric_id(&key.to_ascii_lowercase()), MemberKind::User)
        } else {
            return Err(WorkspaceError::Invalid(format!(
                "member {key} of group {group} is neither a user or group of the Workspace, the customer nor an outside address"
            )));
        };
        let external_email =
            (kind == MemberKind::User && !self.users.contains_key(&id)).then(|| key.to_string());
        if !matches!(role, "OWNER" | "MANAGER" | "MEMBER") {
            return Err(WorkspaceError::Invalid(format!(
                "role {role}: OWNER, MANAGER or MEMBER"
            )));
        }
        let list = self.members.entry(group_id).or_default();
        if !list.iter().any(|m| m.id == id) {
            list.push(Member {
                id,
                kind,
                role: role.to_string(),
                external_email,
            });
        }
        Ok(())
    }

    /// Removes a direct member (by id or email); whether it was one.
    pub fn remove_member(&mut self, group: &str, key: &str) -> Result<bool, WorkspaceError> {
        let group_id = self
            .group(group)
            .map(|g| g.id.clone())
            .ok_or_else(|| WorkspaceError::NotFound(format!("group {group}")))?;
        let id = self
            .user(key)
            .map(|u| u.id.clone())
            .or_else(|| self.group(key).map(|g| g.id.clone()))
            .unwrap_or_else(|| key.to_string());
        let list = self.members.entry(group_id).or_default();
        let before = list.len();
        list.retain(|m| {
            m.id != id
                && !m
                    .external_email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(key))
        });
        Ok(list.len() != before)
    }

    /// Google's non-editable aliases of an object with these addresses: for each address in
    /// the primary domain, `local@primary.test-google-a.com`; for each address, one in every
    /// domain alias of its domain.
    pub fn derived_non_editable(&self, primary: &str, aliases: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for address in std::iter::once(primary).chain(aliases.iter().map(String::as_str)) {
            let Some((local, domain)) = address.rsplit_once('@') else {
                continue;
            };
            let domain = domain.to_ascii_lowercase();
            if domain == self.primary_domain {
                out.push(format!("{local}@{domain}.test-google-a.com"));
            }
            for alias in &self.domain_aliases {
                if alias.parent_domain_name.eq_ignore_ascii_case(&domain) {
                    out.push(format!("{local}@{}", alias.domain_alias_name));
                }
            }
        }
        out
    }

    /// A user as `users.list` returns it (the `basic` projection; empty arrays omitted).
    pub fn user_json(&self, user: &UserFile) -> Value {
        let given = user.given_name.clone().unwrap_or_default();
        let family = user.family_name.clone().unwrap_or_default();
        let full = user
            .full_name
            .clone()
            .unwrap_or_else(|| format!("{given} {family}").trim().to_string());
        let non_editable = user
            .non_editable_aliases
            .clone()
            .unwrap_or_else(|| self.derived_non_editable(&user.primary_email, &user.aliases));
        let mut emails = vec![json!({"address": user.primary_email, "primary": true})];
        emails.extend(
            user.aliases
                .iter()
                .chain(&non_editable)
                .map(|a| json!({ "address": a })),
        );
        let mut v = json!({
            "kind": "admin#directory#user",
            "id": user.id,
            "primaryEmail": user.primary_email,
            "name": {"givenName": given, "familyName": family, "fullName": full},
            "isAdmin": user.is_admin,
            "isDelegatedAdmin": false,
            "lastLoginTime": "2026-01-05T09:12:44.000Z",
            "creationTime": "2021-03-01T10:00:00.000Z",
            "agreedToTerms": true,
            "suspended": user.suspended,
            "archived": user.archived,
            "changePasswordAtNextLogin": false,
            "ipWhitelisted": false,
            "emails": emails,
            "customerId": self.customer_id,
            "orgUnitPath": "/",
            "isMailboxSetup": true,
            "isEnrolledIn2Sv": false,
            "isEnforcedIn2Sv": false,
            "includeInGlobalAddressList": true,
        });
        if user.suspended {
            v["suspensionReason"] = json!("ADMIN");
        }
        if !user.aliases.is_empty() {
            v["aliases"] = json!(user.aliases);
        }
        if !non_editable.is_empty() {
            v["nonEditableAliases"] = json!(non_editable);
        }
        v["etag"] = json!(etag(&self.customer_id, &v));
        v
    }

    /// A group as `groups.list` returns it (`directMembersCount` a string).
    pub fn group_json(&self, group: &GroupFile) -> Value {
        let non_editable = group
            .non_editable_aliases
            .clone()
            .unwrap_or_else(|| self.derived_non_editable(&group.email, &group.aliases));
        let count = self.members.get(&group.id).map_or(0, Vec::len);
        let mut v = json!({
            "kind": "admin#directory#group",
            "id": group.id,
            "email": group.email,
            "name": group.name,
            "directMembersCount": count.to_string(),
            "description": group.description,
            "adminCreated": group.admin_created,
        });
        if !group.aliases.is_empty() {
            v["aliases"] = json!(group.aliases);
        }
        if !non_editable.is_empty() {
            v["nonEditableAliases"] = json!(non_editable);
        }
        v["etag"] = json!(etag(&self.customer_id, &v));
        v
    }

    /// A member as `members.list` returns it: no email for `CUSTOMER` (its id is the customer id).
    pub fn member_json(&self, member: &Member) -> Value {
        let email = match member.kind {
            MemberKind::User => self
                .users
                .get(&member.id)
                .map(|u| u.primary_email.clone())
                .or_else(|| member.external_email.clone()),
            MemberKind::Group => self.groups.get(&member.id).map(|g| g.email.clone()),
            MemberKind::Customer => None,
        };
        let status = match member.kind {
            MemberKind::User if self.users.get(&member.id).is_some_and(|u| u.suspended) => {
                "SUSPENDED"
            }
            _ => "ACTIVE",
        };
        let mut v = json!({
            "kind": "admin#directory#member",
            "id": member.id,
            "role": member.role,
            "type": member.kind.as_str(),
            "status": status,
        });
        if let Some(email) = email {
            v["email"] = json!(email);
        }
        v["etag"] = json!(etag(&self.customer_id, &v));
        v
    }

    /// Back to the file format (derived non-editable aliases stay derived).
    pub fn export(&self) -> WorkspaceFile {
        WorkspaceFile {
            customer_id: self.customer_id.clone(),
            primary_domain: self.primary_domain.clone(),
            secondary_domains: self.secondary_domains.clone(),
            domain_aliases: self.domain_aliases.clone(),
            users: self.users.values().cloned().collect(),
            groups: self
                .groups
                .values()
                .map(|g| {
                    let mut g = g.clone();
                    g.members = self
                        .members
                        .get(&g.id)
                        .into_iter()
                        .flatten()
                        .map(|m| MemberFile::WithRole {
                            key: m.external_email.clone().unwrap_or_else(|| m.id.clone()),
                            role: m.role.clone(),
                        })
                        .collect();
                    g
                })
                .collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_googles() {
        let id = numeric_id("a@example.com");
        assert_eq!(id.len(), 21);
        assert!(id.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(group_id("g@example.com").len(), 15);
        assert_ne!(numeric_id("a"), numeric_id("b"));
    }

    #[test]
    fn non_editable_aliases_follow_googles_rule() {
        let ws = Workspace::load(WorkspaceFile {
            customer_id: "C01".into(),
            primary_domain: "acme.com".into(),
            secondary_domains: vec!["acme.net".into()],
            domain_aliases: vec![DomainAliasFile {
                domain_alias_name: "in.acme.com".into(),
                parent_domain_name: "acme.com".into(),
            }],
            users: vec![],
            groups: vec![],
        })
        .unwrap();
        assert_eq!(
            ws.derived_non_editable("sales@acme.com", &["s@acme.net".into()]),
            vec!["sales@acme.com.test-google-a.com", "sales@in.acme.com"]
        );
    }
}
