//! The Directory API's JSON (only what Roster asks for with `fields=`), and its translation into
//! the mirror's source-neutral objects.
//!
//! Google omits empty arrays (`aliases`, `nonEditableAliases`, `users` of an empty page) and
//! the `nextPageToken` of the last page, so every list here defaults to empty.
//!
//! Addresses become Exchange-style proxy addresses — the primary email `SMTP:`, every alias and
//! non-editable alias `smtp:` — so the shared [`crate::directory::normalize`] keeps only those in
//! the synced domain: the `*.test-google-a.com` addresses Google adds and the other domains of
//! the Workspace fall away, and an address a domain alias gives (`bob@in.example.com`) counts
//! when that alias is the synced domain.

use serde::Deserialize;

use crate::directory::{MirrorKind, ObjectChange, ObjectPatch};

/// `users.list`: `{"kind","etag","users":[…],"nextPageToken"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsersPage {
    #[serde(default)]
    pub users: Vec<GoogleUser>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoogleUser {
    pub id: String,
    #[serde(default)]
    pub primary_email: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub non_editable_aliases: Vec<String>,
    #[serde(default)]
    pub suspended: bool,
    /// Archived users stay recipients like any other (Google still accepts their mail); the
    /// mirror has no mark for them yet (issue 12: "kept and marked").
    #[serde(default)]
    #[allow(dead_code)]
    pub archived: bool,
    #[serde(default)]
    pub name: Option<UserName>,
}

/// `users.list` with `fields=users(customerId)`: the Workspace's customer id, which every user
/// carries.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct CustomerIdsPage {
    #[serde(default)]
    pub users: Vec<CustomerIdOnly>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerIdOnly {
    #[serde(default)]
    pub customer_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserName {
    #[serde(default)]
    pub full_name: Option<String>,
}

/// `groups.list`: `{"kind","etag","groups":[…],"nextPageToken"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupsPage {
    #[serde(default)]
    pub groups: Vec<GoogleGroup>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoogleGroup {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub non_editable_aliases: Vec<String>,
}

/// `members.list`: `{"kind","etag","members":[…],"nextPageToken"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MembersPage {
    #[serde(default)]
    pub members: Vec<GoogleMember>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoogleMember {
    /// A user's or group's id; for `CUSTOMER`, the customer id.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// `USER`, `GROUP`, `CUSTOMER` (everyone in the Workspace), `EXTERNAL`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// What a member of a group is, for the round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemberRef {
    /// A user or group of the Workspace, by id.
    Object(String),
    /// A `CUSTOMER` member: everyone in the Workspace.
    Everyone,
    /// No id to go by (never seen from Google, but not trusted away).
    Unknown,
}

impl GoogleMember {
    pub(crate) fn reference(&self) -> MemberRef {
        if self
            .kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("CUSTOMER"))
        {
            return MemberRef::Everyone;
        }
        match self.id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => MemberRef::Object(id.to_owned()),
            _ => MemberRef::Unknown,
        }
    }
}

/// `customer/my_customer/domains`: `{"domains":[{"domainName","isPrimary","verified",
/// "domainAliases":[…]}]}` (no paging).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DomainsList {
    #[serde(default)]
    pub domains: Vec<GoogleDomain>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoogleDomain {
    pub domain_name: String,
    #[serde(default)]
    pub is_primary: bool,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub domain_aliases: Vec<GoogleDomainAlias>,
}

/// `customer/my_customer/domainaliases`: `{"domainAliases":[{"domainAliasName",
/// "parentDomainName","verified"}]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DomainAliasesList {
    #[serde(default)]
    pub domain_aliases: Vec<GoogleDomainAlias>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoogleDomainAlias {
    pub domain_alias_name: String,
    #[serde(default)]
    pub verified: bool,
}

/// The addresses of an object as proxy addresses: the primary `SMTP:`, the others `smtp:`,
/// each once (compared ignoring case), blanks dropped.
pub(crate) fn proxy_addresses(primary: Option<&str>, others: &[&[String]]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let primary = primary.map(str::trim).filter(|p| !p.is_empty());
    if let Some(p) = primary {
        seen.insert(p.to_ascii_lowercase());
        out.push(format!("SMTP:{p}"));
    }
    for address in others.iter().flat_map(|list| list.iter()) {
        let address = address.trim();
        if !address.is_empty() && seen.insert(address.to_ascii_lowercase()) {
            out.push(format!("smtp:{address}"));
        }
    }
    out
}

fn non_blank(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

impl GoogleUser {
    /// The user as a mirror change. A suspended user is kept, marked disabled (Google bounces
    /// its mail; “Skip suspended users” on the sync page leaves them out of the round); an
    /// archived one is kept enabled (Google still accepts its mail) and marked archived —
    /// always sent, so a user Google no longer archives loses the mark.
    pub(crate) fn into_change(self) -> ObjectChange {
        let proxies = proxy_addresses(
            self.primary_email.as_deref(),
            &[&self.aliases, &self.non_editable_aliases],
        );
        ObjectChange::Present {
            external_id: self.id,
            kind: MirrorKind::User,
            patch: ObjectPatch {
                display_name: Some(non_blank(
                    self.name.as_ref().and_then(|n| n.full_name.as_deref()),
                )),
                mail: Some(non_blank(self.primary_email.as_deref())),
                proxy_addresses: Some(proxies),
                account_enabled: Some(!self.suspended),
                guest: Some(false),
                mail_enabled: Some(true),
                security_enabled: Some(false),
                unified: Some(false),
                includes_everyone: None,
                archived: Some(self.archived),
            },
            members_added: Vec::new(),
            members_removed: Vec::new(),
        }
    }
}

impl GoogleGroup {
    /// The group as a mirror change with its direct members' ids: every Google group has an
    /// address, so every group is a distribution list. `everyone`: it has a `CUSTOMER` member
    /// (everyone in the Workspace), sent as [`ObjectPatch::includes_everyone`] — always sent,
    /// so a member removed in the Workspace clears it.
    pub(crate) fn into_change(self, members: Vec<String>, everyone: bool) -> ObjectChange {
        let proxies = proxy_addresses(
            self.email.as_deref(),
            &[&self.aliases, &self.non_editable_aliases],
        );
        ObjectChange::Present {
            external_id: self.id,
            kind: MirrorKind::Group,
            patch: ObjectPatch {
                display_name: Some(non_blank(self.name.as_deref())),
                mail: Some(non_blank(self.email.as_deref())),
                proxy_addresses: Some(proxies),
                account_enabled: Some(true),
                guest: Some(false),
                mail_enabled: Some(true),
                security_enabled: Some(false),
                unified: Some(false),
                includes_everyone: Some(everyone),
                archived: None,
            },
            members_added: members,
            members_removed: Vec::new(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::directory::{normalize, AccountKind, DomainRules, MirrorObject};
    use crate::DomainName;

    /// A real body from `emulator/tests/samples/google/` (one copy of the real samples, shared with the emulator's tests).
    pub(crate) fn sample(name: &str) -> String {
        let path = format!(
            "{}/../emulator/tests/samples/google/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn rules(domain: &str) -> DomainRules {
        DomainRules::new(DomainName::parse(domain).unwrap())
    }

    /// The account a change becomes in a domain, through the mirror as the engine does.
    fn account(change: &ObjectChange, domain: &str) -> Option<crate::DirectoryAccount> {
        let ObjectChange::Present {
            external_id,
            kind,
            patch,
            ..
        } = change
        else {
            panic!("not present")
        };
        let mut mirror = MirrorObject::new(external_id.clone(), *kind);
        mirror.apply(patch);
        normalize(&mirror.to_object(Vec::new()), &rules(domain))
    }

    #[test]
    fn the_real_users_page_parses() {
        let page: UsersPage = serde_json::from_str(&sample("psoxy-original-users.json")).unwrap();
        assert_eq!(page.users.len(), 2);
        assert_eq!(page.next_page_token, None);
        let alice = &page.users[0];
        assert_eq!(alice.id, "1234234331471490332349959");
        assert_eq!(alice.primary_email.as_deref(), Some("alice@worklytics.co"));
        assert_eq!(alice.aliases.len(), 4);
        assert_eq!(alice.non_editable_aliases.len(), 10);
        assert_eq!(
            alice.name.as_ref().and_then(|n| n.full_name.as_deref()),
            Some("alice example")
        );
        assert!(!alice.suspended && !alice.archived);
        let ids: CustomerIdsPage =
            serde_json::from_str(&sample("psoxy-original-users.json")).unwrap();
        assert_eq!(ids.users[0].customer_id.as_deref(), Some("Y03v4af07"));
        let ids: CustomerIdsPage =
            serde_json::from_str(r#"{"users":[{"customerId":"C03az79cb"}]}"#).unwrap();
        assert_eq!(ids.users[0].customer_id.as_deref(), Some("C03az79cb"));
        // bob has no `aliases` key at all.
        let bob = &page.users[1];
        assert!(bob.aliases.is_empty());
        assert_eq!(bob.non_editable_aliases.len(), 2);
    }

    #[test]
    fn aliases_in_the_domain_are_kept_test_google_a_and_other_domains_dropped() {
        let page: UsersPage = serde_json::from_str(&sample("psoxy-original-users.json")).unwrap();
        let mut users = page.users.into_iter().map(GoogleUser::into_change);
        let alice = users.next().unwrap();
        let a = account(&alice, "worklytics.co").unwrap();
        assert_eq!(a.address.as_str(), "alice@worklytics.co");
        let aliases: Vec<&str> = a.aliases.iter().map(|x| x.as_str()).collect();
        assert_eq!(
            aliases,
            [
                "a@worklytics.co",
                "aexample@worklytics.co",
                "alice.example@worklytics.co",
                "alise@worklytics.co"
            ]
        );
        assert_eq!(a.kind, AccountKind::Mailbox);
        assert_eq!(a.display_name.as_str(), "alice example");
        assert!(a.enabled);
        // The domain alias `in.worklytics.co`: its addresses, the first one as the address.
        let a = account(&alice, "in.worklytics.co").unwrap();
        assert_eq!(a.address.as_str(), "aexample@in.worklytics.co");
        assert_eq!(a.aliases.len(), 4);
        // Google's own test domain never gives an account.
        assert_eq!(account(&alice, "worklytics.co.test-google-a.com"), None);
        assert_eq!(account(&alice, "example.com"), None);
        let bob = users.next().unwrap();
        let b = account(&bob, "worklytics.co").unwrap();
        assert_eq!(b.address.as_str(), "bob@worklytics.co");
        assert!(b.aliases.is_empty());
    }

    #[test]
    fn proxy_addresses_mark_the_primary_and_keep_each_address_once() {
        let aliases = vec!["Ann@x.com".to_string(), " ".to_string(), "a@x.com".into()];
        let other = vec![
            "ann@X.com".to_string(),
            "ann@x.com.test-google-a.com".into(),
        ];
        assert_eq!(
            proxy_addresses(Some("ann@x.com"), &[&aliases, &other]),
            [
                "SMTP:ann@x.com",
                "smtp:a@x.com",
                "smtp:ann@x.com.test-google-a.com"
            ]
        );
        assert_eq!(
            proxy_addresses(None, &[&aliases]),
            ["smtp:Ann@x.com", "smtp:a@x.com"]
        );
    }

    #[test]
    fn suspended_users_are_kept_disabled_archived_ones_enabled() {
        let user = |suspended, archived| GoogleUser {
            id: "1".into(),
            primary_email: Some("ann@example.com".into()),
            suspended,
            archived,
            ..GoogleUser::default()
        };
        let a = account(&user(true, false).into_change(), "example.com").unwrap();
        assert!(!a.enabled);
        assert!(!a.archived);
        let plain = account(&user(false, false).into_change(), "example.com").unwrap();
        assert!(plain.enabled && !plain.archived);
        let change = user(false, true).into_change();
        let ObjectChange::Present { patch, .. } = &change else {
            panic!()
        };
        assert_eq!(patch.archived, Some(true));
        let a = account(&change, "example.com").unwrap();
        assert!(a.enabled, "archived users still receive mail");
        assert!(a.archived);
        assert_eq!(
            crate::DirectoryAccount {
                archived: false,
                ..a.clone()
            },
            plain
        );
        // Not archived is said too, so a user Google no longer archives loses the mark.
        let ObjectChange::Present { patch, .. } = user(false, false).into_change() else {
            panic!()
        };
        assert_eq!(patch.archived, Some(false));
        // No name: the display name is empty, not "None".
        assert_eq!(a.display_name.as_str(), "");
    }

    #[test]
    fn the_real_groups_parse_into_lists_with_members() {
        for name in ["psoxy-original-groups.json", "forseti-groups-list.json"] {
            let page: GroupsPage = serde_json::from_str(&sample(name)).unwrap();
            assert!(!page.groups.is_empty(), "{name}");
            assert_eq!(page.next_page_token, None);
            for g in &page.groups {
                assert!(!g.id.is_empty() && g.email.is_some(), "{name}");
            }
        }
        let page: GroupsPage = serde_json::from_str(&sample("psoxy-original-groups.json")).unwrap();
        let admins = page.groups[0].clone();
        assert_eq!(admins.id, "048pi1tg2keue1m");
        let change = admins
            .clone()
            .into_change(vec!["u1".into(), "g2".into()], false);
        let ObjectChange::Present { members_added, .. } = &change else {
            panic!()
        };
        assert_eq!(members_added, &["u1", "g2"]);
        let a = account(&change, "aceme.com").unwrap();
        assert_eq!(a.address.as_str(), "admins@aceme.com");
        assert!(a.aliases.is_empty());
        assert_eq!(a.kind, AccountKind::DistributionList);
        assert_eq!(a.display_name.as_str(), "Admins");
        assert!(!a.includes_everyone);
        let a = account(&change, "in.aceme.com").unwrap();
        assert_eq!(a.address.as_str(), "admins@in.aceme.com");
        // With a CUSTOMER member: the same list, everyone in the organization included.
        let everyone = admins.into_change(vec!["u1".into()], true);
        let ObjectChange::Present { patch, .. } = &everyone else {
            panic!()
        };
        assert_eq!(patch.includes_everyone, Some(true));
        let a = account(&everyone, "aceme.com").unwrap();
        assert!(a.includes_everyone);
        assert_eq!(a.kind, AccountKind::DistributionList);

        let one: GoogleGroup = serde_json::from_str(&sample("psoxy-original-group.json")).unwrap();
        assert_eq!(one.email.as_deref(), Some("sales@acme.com"));
        assert_eq!(one.non_editable_aliases.len(), 2);
    }

    #[test]
    fn the_real_members_parse() {
        let page: MembersPage =
            serde_json::from_str(&sample("psoxy-original-group-members.json")).unwrap();
        assert_eq!(page.members.len(), 5);
        assert_eq!(
            page.members[0].reference(),
            MemberRef::Object("11792741172342342390794".into())
        );
        assert_eq!(page.members[0].email.as_deref(), Some("alex@acme.com"));
        let everyone: GoogleMember =
            serde_json::from_str(r#"{"kind":"admin#directory#member","id":"C03ly86ew","role":"MEMBER","type":"CUSTOMER","status":"ACTIVE"}"#).unwrap();
        assert_eq!(everyone.reference(), MemberRef::Everyone);
        let no_id: GoogleMember = serde_json::from_str(r#"{"type":"USER"}"#).unwrap();
        assert_eq!(no_id.reference(), MemberRef::Unknown);
        // An empty page: `members` omitted.
        let empty: MembersPage =
            serde_json::from_str(r#"{"kind":"admin#directory#members","etag":"\"x\""}"#).unwrap();
        assert!(empty.members.is_empty());
    }

    #[test]
    fn domains_and_aliases_parse() {
        let domains: DomainsList = serde_json::from_str(
            r#"{"kind":"admin#directory#domains","etag":"\"e\"","domains":[
              {"kind":"admin#directory#domain","etag":"\"e\"","domainName":"example.com","isPrimary":true,"verified":true,"creationTime":"1622665520252",
               "domainAliases":[{"kind":"admin#directory#domainAlias","domainAliasName":"in.example.com","parentDomainName":"example.com","verified":true,"creationTime":"1622665520252"}]},
              {"domainName":"other.example","isPrimary":false,"verified":false,"creationTime":"1"}]}"#,
        )
        .unwrap();
        assert_eq!(domains.domains.len(), 2);
        assert!(domains.domains[0].is_primary && domains.domains[0].verified);
        assert_eq!(
            domains.domains[0].domain_aliases[0].domain_alias_name,
            "in.example.com"
        );
        assert!(domains.domains[1].domain_aliases.is_empty());
        let aliases: DomainAliasesList =
            serde_json::from_str(r#"{"kind":"admin#directory#domainAliases"}"#).unwrap();
        assert!(aliases.domain_aliases.is_empty());
    }
}
