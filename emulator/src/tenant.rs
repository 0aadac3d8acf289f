//! One tenant's directory in memory, and loading it from a tenant file.
//!
//! Objects live in `BTreeMap`s keyed by id so that paging is a range scan after the last id
//! served: no copy of the collection per request, and pages stay correct while objects are
//! added or removed between two pages. Loading enforces what Entra ID itself enforces (unique
//! ids, unique mail addresses, UPNs in verified domains, members that exist) so tests cannot
//! build a state the real service would never return.

use crate::changes::ChangeLog;
use crate::model::{
    mail_addresses, Contact, DomainSpec, Group, ObjectKind, TenantFile, User, VerifiedDomain,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Why a tenant file or an edit was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DirectoryError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

/// A tenant: its identity, verified domains and directory objects.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub display_name: String,
    pub domains: Vec<VerifiedDomain>,
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
    pub contacts: BTreeMap<String, Contact>,
    /// Lower-cased mail address → id of the object that owns it.
    pub(crate) addresses: HashMap<String, String>,
    pub changes: ChangeLog,
}

impl Tenant {
    /// Builds a tenant from its file, checking it the way Entra ID would.
    pub fn from_file(file: TenantFile) -> Result<Tenant, DirectoryError> {
        let id = parse_guid(&file.id)?;
        let domains = normalize_domains(&file.display_name, &id, &file.verified_domains)?;
        let mut tenant = Tenant {
            id,
            display_name: file.display_name,
            domains,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            contacts: BTreeMap::new(),
            addresses: HashMap::new(),
            changes: ChangeLog::new(rand::random()),
        };
        let mut upns = BTreeSet::new();
        for user in file.users {
            tenant.check_new_id(&user.id)?;
            tenant.check_upn(&user.user_principal_name)?;
            if !upns.insert(user.user_principal_name.to_ascii_lowercase()) {
                return Err(DirectoryError::Conflict(format!(
                    "userPrincipalName '{}' is used twice",
                    user.user_principal_name
                )));
            }
            let addrs = mail_addresses(user.mail.as_deref(), &user.proxy_addresses);
            tenant.claim_addresses(&user.id, &addrs)?;
            tenant.users.insert(user.id.clone(), user);
        }
        for contact in file.contacts {
            tenant.check_new_id(&contact.id)?;
            let addrs = mail_addresses(contact.mail.as_deref(), &contact.proxy_addresses);
            tenant.claim_addresses(&contact.id, &addrs)?;
            tenant.contacts.insert(contact.id.clone(), contact);
        }
        let mut group_ids = BTreeSet::new();
        for group in &file.groups {
            tenant.check_new_id(&group.id)?;
            if !group_ids.insert(group.id.as_str()) {
                return Err(DirectoryError::Conflict(format!(
                    "the id '{}' is used twice",
                    group.id
                )));
            }
            let addrs = mail_addresses(group.mail.as_deref(), &group.proxy_addresses);
            tenant.claim_addresses(&group.id, &addrs)?;
        }
        // Groups go in first and are checked after, since they may name each other.
        for group in file.groups {
            tenant.groups.insert(group.id.clone(), group);
        }
        for group in tenant.groups.values() {
            tenant.check_members(group)?;
        }
        Ok(tenant)
    }

    /// The tenant as a tenant file (the control API's export).
    pub fn to_file(&self, consented: bool) -> TenantFile {
        TenantFile {
            id: self.id.clone(),
            display_name: self.display_name.clone(),
            verified_domains: self.domains.iter().cloned().map(DomainSpec::Full).collect(),
            users: self.users.values().cloned().collect(),
            groups: self.groups.values().cloned().collect(),
            contacts: self.contacts.values().cloned().collect(),
            consented: Some(consented),
        }
    }

    pub fn kind_of(&self, id: &str) -> Option<ObjectKind> {
        if self.users.contains_key(id) {
            Some(ObjectKind::User)
        } else if self.groups.contains_key(id) {
            Some(ObjectKind::Group)
        } else if self.contacts.contains_key(id) {
            Some(ObjectKind::Contact)
        } else {
            None
        }
    }

    /// The `*.onmicrosoft.com` domain every tenant has.
    pub fn initial_domain(&self) -> &str {
        self.domains
            .iter()
            .find(|d| d.is_initial)
            .or(self.domains.first())
            .map(|d| d.name.as_str())
            .unwrap_or("")
    }

    pub fn default_domain(&self) -> &str {
        self.domains
            .iter()
            .find(|d| d.is_default)
            .map(|d| d.name.as_str())
            .unwrap_or_else(|| self.initial_domain())
    }

    pub fn has_domain(&self, name: &str) -> bool {
        self.domains
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(name))
    }

    /// Who may grant admin consent: users flagged `isAdmin`.
    pub fn admins(&self) -> impl Iterator<Item = &User> {
        self.users.values().filter(|u| u.is_admin)
    }

    /// Every object reachable through the group's membership, nested groups included,
    /// each once; the group itself is left out even when a cycle leads back to it.
    pub fn transitive_members(&self, group_id: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![group_id.to_string()];
        while let Some(gid) = stack.pop() {
            let Some(group) = self.groups.get(&gid) else {
                continue;
            };
            for member in &group.members {
                if member != group_id
                    && seen.insert(member.clone())
                    && self.groups.contains_key(member)
                {
                    stack.push(member.clone());
                }
            }
        }
        seen
    }

    pub(crate) fn check_new_id(&self, id: &str) -> Result<(), DirectoryError> {
        if id.trim().is_empty() {
            return Err(DirectoryError::Invalid("an object has an empty id".into()));
        }
        match self.kind_of(id) {
            Some(_) => Err(DirectoryError::Conflict(format!(
                "the id '{id}' is used twice"
            ))),
            None => Ok(()),
        }
    }

    pub(crate) fn check_upn(&self, upn: &str) -> Result<(), DirectoryError> {
        let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        if self.has_domain(domain) {
            Ok(())
        } else {
            Err(DirectoryError::Invalid(format!(
                "userPrincipalName '{upn}' is not in a verified domain of tenant {}",
                self.id
            )))
        }
    }

    pub(crate) fn check_members(&self, group: &Group) -> Result<(), DirectoryError> {
        for member in &group.members {
            if member == &group.id {
                return Err(DirectoryError::Invalid(format!(
                    "group {} cannot be a member of itself",
                    group.id
                )));
            }
            if self.kind_of(member).is_none() {
                return Err(DirectoryError::Invalid(format!(
                    "group {} has a member {member} that is not in the tenant",
                    group.id
                )));
            }
        }
        Ok(())
    }

    /// Fails when another object already answers to one of these addresses.
    pub(crate) fn check_addresses(
        &self,
        owner: &str,
        addrs: &BTreeSet<String>,
    ) -> Result<(), DirectoryError> {
        for addr in addrs {
            if let Some(other) = self.addresses.get(addr) {
                if other != owner {
                    return Err(DirectoryError::Conflict(format!(
                        "the address {addr} already belongs to object {other}"
                    )));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn claim_addresses(
        &mut self,
        owner: &str,
        addrs: &BTreeSet<String>,
    ) -> Result<(), DirectoryError> {
        self.check_addresses(owner, addrs)?;
        for addr in addrs {
            self.addresses.insert(addr.clone(), owner.to_string());
        }
        Ok(())
    }

    pub(crate) fn release_addresses(&mut self, owner: &str, addrs: &BTreeSet<String>) {
        for addr in addrs {
            if self.addresses.get(addr).map(String::as_str) == Some(owner) {
                self.addresses.remove(addr);
            }
        }
    }
}

/// A tenant id must be a GUID; it is kept in lower case.
pub fn parse_guid(raw: &str) -> Result<String, DirectoryError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| DirectoryError::Invalid(format!("'{raw}' is not a GUID")))
}

/// Lower-cases names, makes sure exactly one domain is default and one is initial (adding
/// `<name>.onmicrosoft.com` when the file has none, as every real tenant has one).
fn normalize_domains(
    display_name: &str,
    id: &str,
    specs: &[DomainSpec],
) -> Result<Vec<VerifiedDomain>, DirectoryError> {
    let mut domains: Vec<VerifiedDomain> = specs
        .iter()
        .map(|s| match s {
            DomainSpec::Name(n) => VerifiedDomain {
                name: n.trim().to_ascii_lowercase(),
                is_default: false,
                is_initial: false,
            },
            DomainSpec::Full(d) => VerifiedDomain {
                name: d.name.trim().to_ascii_lowercase(),
                ..d.clone()
            },
        })
        .collect();
    if domains
        .iter()
        .any(|d| d.name.is_empty() || !d.name.contains('.'))
    {
        return Err(DirectoryError::Invalid(
            "a verified domain is not a domain name".into(),
        ));
    }
    let names: BTreeSet<_> = domains.iter().map(|d| d.name.clone()).collect();
    if names.len() != domains.len() {
        return Err(DirectoryError::Invalid(
            "a verified domain is listed twice".into(),
        ));
    }
    if !domains.iter().any(|d| d.is_initial) {
        if let Some(d) = domains
            .iter_mut()
            .find(|d| d.name.ends_with(".onmicrosoft.com"))
        {
            d.is_initial = true;
        } else {
            let slug: String = display_name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            let slug = if slug.is_empty() {
                format!("tenant{}", &id[..8])
            } else {
                slug
            };
            domains.push(VerifiedDomain {
                name: format!("{slug}.onmicrosoft.com"),
                is_default: false,
                is_initial: true,
            });
        }
    }
    if !domains.iter().any(|d| d.is_default) {
        let pick = domains.iter().position(|d| !d.is_initial).unwrap_or(0);
        domains[pick].is_default = true;
    }
    Ok(domains)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn file(v: serde_json::Value) -> TenantFile {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn adds_an_initial_domain_and_picks_a_default() {
        let t = Tenant::from_file(file(json!({
            "id": "11111111-2222-3333-4444-555555555555",
            "displayName": "Contoso Ltd",
            "verifiedDomains": ["Contoso.com"]
        })))
        .unwrap();
        assert_eq!(t.default_domain(), "contoso.com");
        assert_eq!(t.initial_domain(), "contosoltd.onmicrosoft.com");
    }

    #[test]
    fn refuses_duplicate_addresses_and_unknown_members() {
        let dup = Tenant::from_file(file(json!({
            "id": "11111111-2222-3333-4444-555555555555",
            "displayName": "C",
            "verifiedDomains": ["c.com"],
            "users": [
                {"id": "u1", "userPrincipalName": "a@c.com", "mail": "a@c.com"},
                {"id": "u2", "userPrincipalName": "b@c.com", "proxyAddresses": ["SMTP:b@c.com", "smtp: A@C.com"]}
            ]
        })));
        assert!(matches!(dup, Err(DirectoryError::Conflict(_))));
        let missing = Tenant::from_file(file(json!({
            "id": "11111111-2222-3333-4444-555555555555",
            "displayName": "C",
            "verifiedDomains": ["c.com"],
            "groups": [{"id": "g1", "displayName": "G", "members": ["nobody"]}]
        })));
        assert!(matches!(missing, Err(DirectoryError::Invalid(_))));
    }

    #[test]
    fn transitive_members_survive_cycles() {
        let t = Tenant::from_file(file(json!({
            "id": "11111111-2222-3333-4444-555555555555",
            "displayName": "C",
            "verifiedDomains": ["c.com"],
            "users": [{"id": "u1", "userPrincipalName": "a@c.com"}],
            "groups": [
                {"id": "g1", "displayName": "G1", "members": ["g2"]},
                {"id": "g2", "displayName": "G2", "members": ["g1", "u1"]}
            ]
        })))
        .unwrap();
        let all: Vec<_> = t.transitive_members("g1").into_iter().collect();
        assert_eq!(all, vec!["g2", "u1"]);
    }
}
