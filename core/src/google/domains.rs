//! Which domains a Workspace owns (`customer/my_customer/domains` and `…/domainaliases`), to
//! refuse a grant — or a run — for a domain the granting Workspace does not own; and the
//! Workspace's customer id (the directory's identity).

use super::api::Inner;
use super::config::RefreshToken;
use super::model::{CustomerIdsPage, DomainAliasesList, DomainsList};
use crate::directory::{DirectoryError, VerifiedDomains};
use crate::DomainName;

/// A Workspace's domains and domain aliases, names lower-case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceDomains {
    /// `(domain, verified)`, the primary domain first.
    pub domains: Vec<(String, bool)>,
    /// `(alias, verified)`.
    pub aliases: Vec<(String, bool)>,
}

impl WorkspaceDomains {
    /// Whether the Workspace owns `domain`: one of its verified domains, or a verified domain
    /// alias (whose addresses every user and group has as non-editable aliases).
    pub fn owns(&self, domain: &DomainName) -> bool {
        let name = domain.as_str();
        self.domains
            .iter()
            .chain(&self.aliases)
            .any(|(d, verified)| *verified && d == name)
    }

    /// [`WorkspaceDomains::owns`], as the error a run or a grant fails with.
    pub fn check_owns(&self, domain: &DomainName) -> Result<(), DirectoryError> {
        if self.owns(domain) {
            return Ok(());
        }
        Err(DirectoryError::GoogleDomainNotOwned {
            domain: domain.to_unicode(),
        })
    }

    /// The domains this Workspace proves are its own (verified domains and verified domain
    /// aliases), named after its primary domain.
    pub fn verified(&self, customer_id: &str) -> VerifiedDomains {
        let owned = |list: &[(String, bool)]| {
            list.iter()
                .filter(|(_, verified)| *verified)
                .map(|(d, _)| d.clone())
                .collect::<Vec<_>>()
        };
        let mut domains = owned(&self.domains);
        domains.extend(owned(&self.aliases));
        VerifiedDomains {
            directory_name: match self.domains.first() {
                Some((primary, _)) => format!("Google Workspace {primary}"),
                None => format!("Google Workspace {customer_id}"),
            },
            domains,
        }
    }

    pub(crate) fn from_lists(domains: DomainsList, aliases: DomainAliasesList) -> WorkspaceDomains {
        let clean = |d: &str| d.trim().trim_end_matches('.').to_ascii_lowercase();
        let mut out = WorkspaceDomains::default();
        let mut listed = domains.domains;
        listed.sort_by_key(|d| !d.is_primary);
        for domain in listed {
            out.domains
                .push((clean(&domain.domain_name), domain.verified));
            for alias in domain.domain_aliases {
                out.aliases
                    .push((clean(&alias.domain_alias_name), alias.verified));
            }
        }
        for alias in aliases.domain_aliases {
            let entry = (clean(&alias.domain_alias_name), alias.verified);
            if !out.aliases.contains(&entry) {
                out.aliases.push(entry);
            }
        }
        out
    }
}

pub(crate) async fn workspace_domains(
    inner: &Inner,
    refresh: &RefreshToken,
) -> Result<WorkspaceDomains, DirectoryError> {
    let domains: DomainsList = inner.get_json(refresh, &inner.domains_url()).await?;
    let aliases: DomainAliasesList = inner.get_json(refresh, &inner.domain_aliases_url()).await?;
    Ok(WorkspaceDomains::from_lists(domains, aliases))
}

/// The Workspace's customer id, from the first user (every user carries it).
pub(crate) async fn customer_id(
    inner: &Inner,
    refresh: &RefreshToken,
) -> Result<String, DirectoryError> {
    let page: CustomerIdsPage = inner
        .get_json(refresh, &inner.users_url(None, 1, "users(customerId)"))
        .await?;
    page.users
        .into_iter()
        .find_map(|u| u.customer_id.filter(|c| !c.trim().is_empty()))
        .ok_or_else(|| DirectoryError::GoogleInvalidResponse {
            reason: "the Workspace's users carry no customer id.".into(),
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn domain(name: &str) -> DomainName {
        DomainName::parse(name).unwrap()
    }

    #[test]
    fn a_workspace_owns_its_verified_domains_and_aliases() {
        let domains: DomainsList = serde_json::from_str(
            r#"{"domains":[
              {"domainName":"other.example","isPrimary":false,"verified":true},
              {"domainName":"Example.com","isPrimary":true,"verified":true,
               "domainAliases":[{"domainAliasName":"in.example.com","parentDomainName":"example.com","verified":true}]},
              {"domainName":"pending.example","isPrimary":false,"verified":false}]}"#,
        )
        .unwrap();
        let aliases: DomainAliasesList = serde_json::from_str(
            r#"{"domainAliases":[{"domainAliasName":"in.example.com","parentDomainName":"example.com","verified":true},
              {"domainAliasName":"alias.example","parentDomainName":"example.com","verified":true},
              {"domainAliasName":"unverified.example","parentDomainName":"example.com","verified":false}]}"#,
        )
        .unwrap();
        let w = WorkspaceDomains::from_lists(domains, aliases);
        assert_eq!(w.domains[0].0, "example.com");
        assert_eq!(w.aliases.len(), 3);
        for owned in [
            "example.com",
            "other.example",
            "in.example.com",
            "alias.example",
        ] {
            assert!(w.owns(&domain(owned)), "{owned}");
        }
        for not in [
            "pending.example",
            "unverified.example",
            "example.org",
            "sub.example.com",
        ] {
            assert!(!w.owns(&domain(not)), "{not}");
        }
        let v = w.verified("C03az79cb");
        assert_eq!(v.directory_name, "Google Workspace example.com");
        assert_eq!(
            v.domains,
            [
                "example.com",
                "other.example",
                "in.example.com",
                "alias.example"
            ]
        );
        for d in ["example.com", "in.example.com"] {
            assert!(v.lists(&domain(d)));
        }
        assert!(!v.lists(&domain("pending.example")));
        let e = w.check_owns(&domain("example.org")).unwrap_err();
        assert!(matches!(e, DirectoryError::GoogleDomainNotOwned { .. }));
        assert!(e.to_string().contains("example.org"));
        assert!(e.needs_admin());
    }
}
