//! From directory objects to Roster's accounts for one domain: pure functions, no I/O.
//!
//! Every mail-enabled object with an SMTP address in the domain becomes one account:
//! - its address is the primary SMTP address (`SMTP:`, upper case) when that is in the
//!   domain, otherwise its first SMTP address in the domain (`mail` serves when the object has
//!   no SMTP proxy address at all);
//! - its aliases are its other SMTP addresses in the domain: prefixes are matched ignoring case,
//!   stray spaces trimmed (`"SMTP: bob@…"`), addresses case-folded and deduplicated;
//! - addresses in other domains, in the vendors' own routing domains (Microsoft's
//!   `*.onmicrosoft.com`, Google's `*.test-google-a.com`), and non-SMTP entries (`X500:`,
//!   `X400:`, `SIP:`, `EUM:`, `SPO:`) are ignored;
//! - users are mailboxes (shared and room mailboxes too, enabled or not: a disabled account's
//!   mailbox still receives mail, so it is kept, marked disabled); mail-enabled groups
//!   are distribution lists with their members' addresses; guests, contacts, security groups
//!   without mail and objects without an address in the domain give nothing;
//! - an excluded address drops the account, an excluded alias drops only that alias.

use std::collections::BTreeSet;

use super::{
    AccountKind, DirectoryAccount, DirectoryObject, DirectoryPage, DomainRules, MemberKind,
    ObjectKind,
};
use crate::{DisplayName, EmailAddress, ExcludePatterns, MAX_DISPLAY_NAME_LENGTH};

/// An SMTP entry of `proxyAddresses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyAddress<'a> {
    /// The address as written, trimmed.
    pub address: &'a str,
    /// `SMTP:` in upper case: the primary address.
    pub primary: bool,
}

impl<'a> ProxyAddress<'a> {
    /// Reads one `proxyAddresses` entry; `None` unless it is an SMTP address.
    pub fn parse(entry: &'a str) -> Option<ProxyAddress<'a>> {
        let (prefix, rest) = entry.trim().split_once(':')?;
        let prefix = prefix.trim();
        if !prefix.eq_ignore_ascii_case("smtp") {
            return None;
        }
        let address = rest.trim();
        if address.is_empty() {
            return None;
        }
        Some(ProxyAddress {
            address,
            primary: prefix == "SMTP",
        })
    }
}

/// The SMTP addresses of an object that parse, each with whether it is the primary one, in
/// order. Without any SMTP proxy address, `mail` is the (primary) address.
fn smtp_addresses(mail: Option<&str>, proxy_addresses: &[String]) -> Vec<(EmailAddress, bool)> {
    let proxies: Vec<ProxyAddress<'_>> = proxy_addresses
        .iter()
        .filter_map(|entry| ProxyAddress::parse(entry))
        .collect();
    if proxies.is_empty() {
        return mail
            .and_then(|m| EmailAddress::parse(m).ok())
            .map(|a| vec![(a, true)])
            .unwrap_or_default();
    }
    proxies
        .iter()
        .filter_map(|p| EmailAddress::parse(p.address).ok().map(|a| (a, p.primary)))
        .collect()
}

/// The primary address of an object in any domain (e.g. of a group member): its `SMTP:`
/// entry, else `mail`, else its first SMTP entry.
pub fn primary_address(mail: Option<&str>, proxy_addresses: &[String]) -> Option<EmailAddress> {
    let addresses = smtp_addresses(mail, proxy_addresses);
    if let Some((a, _)) = addresses.iter().find(|(_, primary)| *primary) {
        return Some(a.clone());
    }
    mail.and_then(|m| EmailAddress::parse(m).ok())
        .or_else(|| addresses.into_iter().next().map(|(a, _)| a))
}

/// Whether a (normalized, ASCII) domain is a vendor's own routing domain: Microsoft's
/// `*.onmicrosoft.com`, or the `<domain>.test-google-a.com` Google gives every Workspace domain.
fn is_vendor_domain(domain: &str) -> bool {
    ["onmicrosoft.com", "test-google-a.com"].iter().any(|v| {
        domain == *v
            || domain
                .strip_suffix(v)
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

fn excluded(exclude: &ExcludePatterns, address: &EmailAddress) -> bool {
    if exclude.is_empty() {
        return false;
    }
    exclude.matches_any(address.as_str()) || exclude.matches_any(&address.to_unicode())
}

fn display_name(raw: Option<&str>) -> DisplayName {
    let raw = raw.unwrap_or_default().trim();
    let cut: String = raw.chars().take(MAX_DISPLAY_NAME_LENGTH).collect();
    DisplayName::parse(&cut).unwrap_or_default()
}

/// The account `object` becomes in `rules.domain`, if any.
pub fn normalize(object: &DirectoryObject, rules: &DomainRules) -> Option<DirectoryAccount> {
    let (kind, enabled, includes_everyone, archived) = match object.kind {
        ObjectKind::User { guest: true, .. } => return None,
        ObjectKind::User {
            account_enabled,
            archived,
            ..
        } => (AccountKind::Mailbox, account_enabled, false, archived),
        ObjectKind::Group {
            mail_enabled: false,
            ..
        } => return None,
        ObjectKind::Group {
            includes_everyone, ..
        } => (
            AccountKind::DistributionList,
            true,
            includes_everyone,
            false,
        ),
        ObjectKind::Contact => return None,
    };
    let domain = rules.domain.as_str();
    if is_vendor_domain(domain) {
        return None;
    }
    let in_domain: Vec<(EmailAddress, bool)> =
        smtp_addresses(object.mail.as_deref(), &object.proxy_addresses)
            .into_iter()
            .filter(|(a, _)| a.domain() == domain)
            .collect();
    let address = in_domain
        .iter()
        .find(|(_, primary)| *primary)
        .or_else(|| in_domain.first())
        .map(|(a, _)| a.clone())?;
    if excluded(&rules.exclude, &address) {
        return None;
    }
    let aliases: BTreeSet<EmailAddress> = in_domain
        .into_iter()
        .map(|(a, _)| a)
        .filter(|a| *a != address && !excluded(&rules.exclude, a))
        .collect();
    let members: BTreeSet<EmailAddress> = match kind {
        AccountKind::Mailbox => BTreeSet::new(),
        AccountKind::DistributionList => object
            .members
            .iter()
            .filter(|m| matches!(m.kind, MemberKind::User | MemberKind::Contact))
            .filter_map(|m| m.address.clone())
            .collect(),
    };
    Some(DirectoryAccount {
        external_id: object.external_id.clone(),
        address,
        aliases: aliases.into_iter().collect(),
        kind,
        display_name: display_name(object.display_name.as_deref()),
        enabled,
        includes_everyone,
        archived,
        members: members.into_iter().collect(),
    })
}

/// The accounts of a page, in page order.
pub fn normalize_page(page: &DirectoryPage, rules: &DomainRules) -> Vec<DirectoryAccount> {
    page.objects
        .iter()
        .filter_map(|o| normalize(o, rules))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::directory::DirectoryMember;
    use crate::DomainName;
    use proptest::prelude::*;

    fn rules(domain: &str) -> DomainRules {
        DomainRules::new(DomainName::parse(domain).unwrap())
    }

    fn rules_excluding(domain: &str, lines: &str) -> DomainRules {
        rules(domain).with_exclude(ExcludePatterns::parse_lines(lines).unwrap())
    }

    fn user(mail: Option<&str>, proxies: &[&str]) -> DirectoryObject {
        DirectoryObject {
            external_id: "u1".into(),
            kind: ObjectKind::User {
                account_enabled: true,
                guest: false,
                archived: false,
            },
            display_name: Some("Adele Vance".into()),
            mail: mail.map(String::from),
            proxy_addresses: proxies.iter().map(|s| s.to_string()).collect(),
            members: vec![],
        }
    }

    fn group(
        mail_enabled: bool,
        proxies: &[&str],
        members: Vec<DirectoryMember>,
    ) -> DirectoryObject {
        DirectoryObject {
            external_id: "g1".into(),
            kind: ObjectKind::Group {
                mail_enabled,
                security_enabled: !mail_enabled,
                unified: false,
                includes_everyone: false,
            },
            display_name: Some("Sales".into()),
            mail: None,
            proxy_addresses: proxies.iter().map(|s| s.to_string()).collect(),
            members,
        }
    }

    fn member(kind: MemberKind, address: Option<&str>) -> DirectoryMember {
        DirectoryMember {
            external_id: "m".into(),
            kind,
            address: address.map(|a| EmailAddress::parse(a).unwrap()),
        }
    }

    fn addr(a: &str) -> EmailAddress {
        EmailAddress::parse(a).unwrap()
    }

    fn strs(list: &[EmailAddress]) -> Vec<&str> {
        list.iter().map(EmailAddress::as_str).collect()
    }

    #[test]
    fn proxy_address_prefixes() {
        let p = ProxyAddress::parse;
        assert_eq!(
            p("SMTP:Bob@x.com"),
            Some(ProxyAddress {
                address: "Bob@x.com",
                primary: true
            })
        );
        assert_eq!(p("smtp:bob@x.com").map(|a| a.primary), Some(false));
        assert_eq!(p("Smtp:bob@x.com").map(|a| a.primary), Some(false));
        assert_eq!(p("SMTP: bob@x.com").map(|a| a.address), Some("bob@x.com"));
        assert_eq!(p(" smtp:bob@x.com ").map(|a| a.address), Some("bob@x.com"));
        assert_eq!(p(" SMTP :bob@x.com").map(|a| a.primary), Some(true));
        for other in [
            "X500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=abc",
            "X400:c=US;a= ;p=Contoso;o=Exchange;s=Vance;g=Adele;",
            "SIP:adele@contoso.com",
            "sip:adele@contoso.com",
            "EUM:1234;phone-context=contoso.com",
            "SPO:SPO_896cf652@SPO_6f2c1a3e",
            "adele@contoso.com",
            "SMTP:",
            "SMTP:   ",
        ] {
            assert_eq!(p(other), None, "{other}");
        }
    }

    #[test]
    fn primary_in_domain_is_the_address() {
        let u = user(
            Some("Adele.Vance@contoso.com"),
            &[
                "smtp:adele@contoso.net",
                "SMTP:Adele.Vance@contoso.com",
                "Smtp:adelev@contoso.onmicrosoft.com",
                "smtp:AV@Contoso.com",
                "X500:/o=ExchangeLabs/cn=abc",
                "SIP:adele.vance@contoso.com",
            ],
        );
        let a = normalize(&u, &rules("contoso.com")).unwrap();
        assert_eq!(a.address.as_str(), "adele.vance@contoso.com");
        assert_eq!(strs(&a.aliases), ["av@contoso.com"]);
        assert_eq!(a.kind, AccountKind::Mailbox);
        assert_eq!(a.display_name.as_str(), "Adele Vance");
        assert_eq!(a.external_id, "u1");
        assert!(a.members.is_empty());

        // In the other domain the first SMTP address there is the address.
        let a = normalize(&u, &rules("contoso.net")).unwrap();
        assert_eq!(a.address.as_str(), "adele@contoso.net");
        assert!(a.aliases.is_empty());
        // Never the onmicrosoft.com address, nor domains the object has nothing in.
        assert_eq!(normalize(&u, &rules("contoso.onmicrosoft.com")), None);
        // Nor Google's test-google-a.com routing addresses.
        let g = user(
            Some("ann@contoso.com"),
            &[
                "SMTP:ann@contoso.com",
                "smtp:ann@contoso.com.test-google-a.com",
            ],
        );
        assert_eq!(normalize(&g, &rules("contoso.com.test-google-a.com")), None);
        assert_eq!(
            strs(&normalize(&g, &rules("contoso.com")).unwrap().aliases),
            Vec::<&str>::new()
        );
        assert!(is_vendor_domain("test-google-a.com") && !is_vendor_domain("mytest-google-a.com"));
        assert_eq!(normalize(&u, &rules("fabrikam.com")), None);
        // A subdomain is another domain.
        assert_eq!(normalize(&u, &rules("sub.contoso.com")), None);
    }

    #[test]
    fn first_in_domain_when_primary_elsewhere() {
        let u = user(
            Some("adele@contoso.net"),
            &[
                "SMTP:adele@contoso.net",
                "smtp:b@contoso.com",
                "smtp:a@contoso.com",
            ],
        );
        let a = normalize(&u, &rules("contoso.com")).unwrap();
        assert_eq!(a.address.as_str(), "b@contoso.com");
        assert_eq!(strs(&a.aliases), ["a@contoso.com"]);
    }

    #[test]
    fn mail_serves_without_proxy_addresses() {
        let u = user(Some("DiegoS@Contoso.com"), &[]);
        let a = normalize(&u, &rules("contoso.com")).unwrap();
        assert_eq!(a.address.as_str(), "diegos@contoso.com");
        assert!(a.aliases.is_empty());
        // Only non-SMTP entries: mail still serves.
        let u = user(Some("diegos@contoso.com"), &["SIP:diegos@contoso.com"]);
        assert!(normalize(&u, &rules("contoso.com")).is_some());
        // No mailbox at all.
        assert_eq!(normalize(&user(None, &[]), &rules("contoso.com")), None);
    }

    #[test]
    fn case_spaces_and_duplicates() {
        let u = user(
            Some("support@contoso.com"),
            &[
                "SMTP: Support@Contoso.com",
                " smtp:help@CONTOSO.com",
                "smtp:HELP@contoso.com ",
                "smtp:support@contoso.com",
                "smtp:not an address@contoso.com",
            ],
        );
        let a = normalize(&u, &rules("contoso.com")).unwrap();
        assert_eq!(a.address.as_str(), "support@contoso.com");
        assert_eq!(strs(&a.aliases), ["help@contoso.com"]);
    }

    #[test]
    fn idn_domains_match_in_punycode() {
        let u = user(
            None,
            &[
                "SMTP:info@Bücher.example",
                "smtp:verkauf@xn--bcher-kva.example",
            ],
        );
        let a = normalize(&u, &rules("bücher.example")).unwrap();
        assert_eq!(a.address.as_str(), "info@xn--bcher-kva.example");
        assert_eq!(strs(&a.aliases), ["verkauf@xn--bcher-kva.example"]);
        let r = rules_excluding("bücher.example", "verkauf@bücher.example");
        assert!(normalize(&u, &r).unwrap().aliases.is_empty());
    }

    #[test]
    fn disabled_shared_and_room_mailboxes_are_kept() {
        let mut u = user(Some("room1@contoso.com"), &["SMTP:room1@contoso.com"]);
        u.kind = ObjectKind::User {
            account_enabled: false,
            guest: false,
            archived: false,
        };
        let a = normalize(&u, &rules("contoso.com")).unwrap();
        assert_eq!(a.kind, AccountKind::Mailbox);
        assert!(
            !a.enabled,
            "the account keeps the directory's disabled flag"
        );
        assert_eq!(a.address.as_str(), "room1@contoso.com");
    }

    #[test]
    fn enabled_users_and_lists_are_enabled() {
        let u = user(Some("adele@contoso.com"), &["SMTP:adele@contoso.com"]);
        assert!(normalize(&u, &rules("contoso.com")).unwrap().enabled);
        let g = group(true, &["SMTP:sales@contoso.com"], vec![]);
        assert!(normalize(&g, &rules("contoso.com")).unwrap().enabled);
    }

    #[test]
    fn only_the_flag_differs_between_an_enabled_and_a_disabled_user() {
        let on = user(None, &["SMTP:bob@contoso.com", "smtp:robert@contoso.com"]);
        let mut off = on.clone();
        off.kind = ObjectKind::User {
            account_enabled: false,
            guest: false,
            archived: false,
        };
        let (on, off) = (
            normalize(&on, &rules("contoso.com")).unwrap(),
            normalize(&off, &rules("contoso.com")).unwrap(),
        );
        assert!(on.enabled && !off.enabled);
        assert_eq!(
            DirectoryAccount {
                enabled: true,
                ..off
            },
            on
        );
    }

    #[test]
    fn an_archived_user_stays_an_enabled_mailbox_marked_archived() {
        let mut u = user(Some("adele@contoso.com"), &["SMTP:adele@contoso.com"]);
        let plain = normalize(&u, &rules("contoso.com")).unwrap();
        assert!(!plain.archived && plain.enabled);
        u.kind = ObjectKind::User {
            account_enabled: true,
            guest: false,
            archived: true,
        };
        let archived = normalize(&u, &rules("contoso.com")).unwrap();
        assert!(archived.archived && archived.enabled);
        assert_eq!(archived.kind, AccountKind::Mailbox);
        assert_eq!(
            DirectoryAccount {
                archived: false,
                ..archived
            },
            plain
        );
        // Lists are never archived.
        let g = group(true, &["SMTP:all@contoso.com"], vec![]);
        assert!(!normalize(&g, &rules("contoso.com")).unwrap().archived);
    }

    #[test]
    fn a_list_keeps_everyone_in_the_organization_as_a_flag_beside_its_members() {
        let mut g = group(true, &["SMTP:all@contoso.com"], vec![]);
        let plain = normalize(&g, &rules("contoso.com")).unwrap();
        assert!(!plain.includes_everyone);
        g.kind = ObjectKind::Group {
            mail_enabled: true,
            security_enabled: false,
            unified: false,
            includes_everyone: true,
        };
        let all = normalize(&g, &rules("contoso.com")).unwrap();
        assert!(all.includes_everyone);
        assert!(all.members.is_empty(), "no member rows for everyone");
        assert_eq!(
            DirectoryAccount {
                includes_everyone: false,
                ..all
            },
            plain
        );
        // Users never include anyone.
        let u = user(Some("adele@contoso.com"), &["SMTP:adele@contoso.com"]);
        assert!(
            !normalize(&u, &rules("contoso.com"))
                .unwrap()
                .includes_everyone
        );
    }

    #[test]
    fn guests_contacts_and_security_groups_give_nothing() {
        let mut guest = user(Some("bob@contoso.com"), &["SMTP:bob@contoso.com"]);
        guest.kind = ObjectKind::User {
            account_enabled: true,
            guest: true,
            archived: false,
        };
        assert_eq!(normalize(&guest, &rules("contoso.com")), None);
        let mut contact = user(Some("eric@contoso.com"), &["SMTP:eric@contoso.com"]);
        contact.kind = ObjectKind::Contact;
        assert_eq!(normalize(&contact, &rules("contoso.com")), None);
        let sg = group(false, &["SMTP:staff@contoso.com"], vec![]);
        assert_eq!(normalize(&sg, &rules("contoso.com")), None);
    }

    #[test]
    fn groups_become_lists_with_member_addresses() {
        let g = group(
            true,
            &[
                "SMTP:sales@contoso.com",
                "smtp:sales@contoso.net",
                "SPO:SPO_1@SPO_2",
            ],
            vec![
                member(MemberKind::User, Some("b@contoso.com")),
                member(MemberKind::Contact, Some("eric@partner.example")),
                member(MemberKind::User, Some("a@contoso.com")),
                member(MemberKind::User, Some("a@contoso.com")),
                member(MemberKind::User, None),
                member(MemberKind::Group, Some("finance@contoso.com")),
                member(MemberKind::Other, Some("device@contoso.com")),
            ],
        );
        let a = normalize(&g, &rules("contoso.com")).unwrap();
        assert_eq!(a.kind, AccountKind::DistributionList);
        assert_eq!(a.address.as_str(), "sales@contoso.com");
        assert!(a.aliases.is_empty());
        assert_eq!(
            strs(&a.members),
            ["a@contoso.com", "b@contoso.com", "eric@partner.example"]
        );
        let mut unified = g.clone();
        unified.kind = ObjectKind::Group {
            mail_enabled: true,
            security_enabled: true,
            unified: true,
            includes_everyone: false,
        };
        assert_eq!(
            normalize(&unified, &rules("contoso.com")).map(|a| a.kind),
            Some(AccountKind::DistributionList)
        );
    }

    #[test]
    fn exclusions() {
        let u = user(
            None,
            &[
                "SMTP:test1@contoso.com",
                "smtp:alias@contoso.com",
                "smtp:test2@contoso.com",
            ],
        );
        // An excluded address drops the account, even if an alias would be left.
        assert_eq!(
            normalize(&u, &rules_excluding("contoso.com", "TEST1@contoso.com")),
            None
        );
        // An excluded alias drops only that alias.
        let u = user(
            None,
            &[
                "SMTP:bob@contoso.com",
                "smtp:test1@contoso.com",
                "smtp:alias@contoso.com",
            ],
        );
        let a = normalize(&u, &rules_excluding("contoso.com", "test*@contoso.com")).unwrap();
        assert_eq!(a.address.as_str(), "bob@contoso.com");
        assert_eq!(strs(&a.aliases), ["alias@contoso.com"]);
    }

    #[test]
    fn display_names_are_trimmed_and_cut() {
        let mut u = user(None, &["SMTP:a@contoso.com"]);
        u.display_name = Some(format!("  {}  ", "x".repeat(300)));
        let a = normalize(&u, &rules("contoso.com")).unwrap();
        assert_eq!(a.display_name.as_str().chars().count(), 256);
        u.display_name = None;
        assert!(normalize(&u, &rules("contoso.com"))
            .unwrap()
            .display_name
            .is_empty());
    }

    #[test]
    fn primary_address_of_members() {
        let p = |mail: Option<&str>, proxies: &[&str]| {
            let proxies: Vec<String> = proxies.iter().map(|s| s.to_string()).collect();
            primary_address(mail, &proxies).map(String::from)
        };
        assert_eq!(
            p(Some("x@a.com"), &["smtp:y@a.com", "SMTP: Z@b.com"]).as_deref(),
            Some("z@b.com")
        );
        assert_eq!(
            p(Some("X@a.com"), &["smtp:y@a.com"]).as_deref(),
            Some("x@a.com")
        );
        assert_eq!(p(None, &["smtp:y@a.com"]).as_deref(), Some("y@a.com"));
        assert_eq!(
            p(Some("erics@partner.example"), &[]).as_deref(),
            Some("erics@partner.example")
        );
        assert_eq!(p(None, &["X500:/o=x"]), None);
    }

    #[test]
    fn pages_keep_order() {
        let page = DirectoryPage {
            objects: vec![
                user(None, &["SMTP:b@contoso.com"]),
                user(None, &[]),
                user(None, &["SMTP:a@contoso.com"]),
            ],
        };
        let accounts = normalize_page(&page, &rules("contoso.com"));
        let addresses: Vec<&str> = accounts.iter().map(|a| a.address.as_str()).collect();
        assert_eq!(addresses, ["b@contoso.com", "a@contoso.com"]);
    }

    const DOMAIN: &str = "contoso.com";

    /// A proxy entry: an SMTP address in one of a few domains, with its prefix written any
    /// way Microsoft writes it, or a non-SMTP entry.
    fn entry() -> impl Strategy<Value = String> {
        let smtp = (
            prop::sample::select(vec!["SMTP:", "smtp:", "Smtp:", "SMTP: ", " smtp:", "sMtP:"]),
            "[a-z][a-z0-9]{0,6}",
            prop::sample::select(vec![
                "contoso.com",
                "Contoso.COM",
                "contoso.net",
                "contoso.onmicrosoft.com",
                "sub.contoso.com",
            ]),
        )
            .prop_map(|(prefix, local, domain)| format!("{prefix}{local}@{domain}"));
        let other = prop::sample::select(vec![
            "X500:/o=ExchangeLabs/cn=Recipients/cn=x".to_string(),
            "SIP:x@contoso.com".to_string(),
            "SPO:SPO_1@SPO_2".to_string(),
            "EUM:1234;phone-context=contoso.com".to_string(),
            "X400:c=US;a= ;p=Contoso;".to_string(),
        ]);
        prop_oneof![4 => smtp, 1 => other]
    }

    fn in_domain_smtp(proxies: &[String]) -> BTreeSet<String> {
        proxies
            .iter()
            .filter_map(|e| ProxyAddress::parse(e))
            .filter_map(|p| EmailAddress::parse(p.address).ok())
            .filter(|a| a.domain() == DOMAIN)
            .map(String::from)
            .collect()
    }

    proptest! {
        #[test]
        fn accounts_hold_exactly_the_in_domain_addresses(
            proxies in prop::collection::vec(entry(), 0..8),
            mail in prop::option::of("[a-z]{1,5}@contoso\\.(com|net)"),
        ) {
            let refs: Vec<&str> = proxies.iter().map(String::as_str).collect();
            let u = user(mail.as_deref(), &refs);
            let account = normalize(&u, &rules(DOMAIN));
            let mut expected = in_domain_smtp(&proxies);
            let any_smtp = proxies.iter().any(|e| ProxyAddress::parse(e).is_some());
            if !any_smtp {
                if let Some(m) = mail.as_deref().filter(|m| m.ends_with("@contoso.com")) {
                    expected.insert(m.to_string());
                }
            }
            match account {
                None => prop_assert!(expected.is_empty()),
                Some(a) => {
                    let mut got: BTreeSet<String> =
                        a.aliases.iter().map(|x| x.as_str().to_string()).collect();
                    prop_assert!(!got.contains(a.address.as_str()));
                    prop_assert_eq!(got.len(), a.aliases.len());
                    got.insert(a.address.as_str().to_string());
                    prop_assert_eq!(got, expected);
                    let mut sorted = a.aliases.clone();
                    sorted.sort();
                    prop_assert_eq!(sorted, a.aliases.clone());
                    // The primary address wins when it is in the domain.
                    if let Some(primary) = proxies
                        .iter()
                        .filter_map(|e| ProxyAddress::parse(e))
                        .find(|p| p.primary)
                        .and_then(|p| EmailAddress::parse(p.address).ok())
                        .filter(|p| p.domain() == DOMAIN)
                    {
                        prop_assert_eq!(a.address, primary);
                    }
                }
            }
        }

        #[test]
        fn secondary_order_does_not_matter_when_the_primary_is_in_the_domain(
            local in "[a-z]{1,6}",
            mut secondaries in prop::collection::vec(entry(), 0..6),
            seed in any::<u64>(),
        ) {
            let primary = format!("SMTP:{local}@contoso.com");
            let mut proxies = vec![primary.clone()];
            proxies.extend(secondaries.iter().filter(|e| !e.trim().starts_with("SMTP")).cloned());
            let refs: Vec<&str> = proxies.iter().map(String::as_str).collect();
            let first = normalize(&user(None, &refs), &rules(DOMAIN));
            // Rotate and reverse the secondaries, keep the primary somewhere in the middle.
            secondaries.retain(|e| !e.trim().starts_with("SMTP"));
            secondaries.reverse();
            let n = secondaries.len();
            if n > 0 {
                secondaries.rotate_left((seed as usize) % n);
            }
            let at = if n == 0 { 0 } else { (seed as usize) % (n + 1) };
            secondaries.insert(at, primary);
            let refs: Vec<&str> = secondaries.iter().map(String::as_str).collect();
            let second = normalize(&user(None, &refs), &rules(DOMAIN));
            prop_assert_eq!(first, second);
        }

        #[test]
        fn writing_prefixes_and_addresses_differently_changes_nothing(
            locals in prop::collection::vec("[a-z]{1,6}", 1..5),
            upper in any::<bool>(),
        ) {
            let plain: Vec<String> = locals
                .iter()
                .enumerate()
                .map(|(i, l)| format!("{}:{l}@contoso.com", if i == 0 { "SMTP" } else { "smtp" }))
                .collect();
            let messy: Vec<String> = locals
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let prefix = if i == 0 { "SMTP: " } else { " Smtp: " };
                    let address = format!("{l}@contoso.com");
                    let address = if upper { address.to_uppercase() } else { address };
                    format!("{prefix}{address} ")
                })
                .collect();
            let a: Vec<&str> = plain.iter().map(String::as_str).collect();
            let b: Vec<&str> = messy.iter().map(String::as_str).collect();
            prop_assert_eq!(
                normalize(&user(None, &a), &rules(DOMAIN)),
                normalize(&user(None, &b), &rules(DOMAIN))
            );
        }

        #[test]
        fn exclusions_never_leak(
            proxies in prop::collection::vec(entry(), 0..8),
            pattern in prop::sample::select(vec!["a*@contoso.com", "*@contoso.com", "?@*", "[a-m]*", "b*"]),
        ) {
            let refs: Vec<&str> = proxies.iter().map(String::as_str).collect();
            let u = user(None, &refs);
            let r = rules_excluding(DOMAIN, pattern);
            if let Some(a) = normalize(&u, &r) {
                prop_assert!(!r.exclude.matches_any(a.address.as_str()));
                for alias in &a.aliases {
                    prop_assert!(!r.exclude.matches_any(alias.as_str()));
                }
                // Without the patterns, the same address and a superset of aliases.
                let free = normalize(&u, &rules(DOMAIN)).unwrap();
                prop_assert_eq!(&free.address, &a.address);
                prop_assert!(a.aliases.iter().all(|x| free.aliases.contains(x)));
            }
        }

        #[test]
        fn guests_never_become_accounts(proxies in prop::collection::vec(entry(), 0..8)) {
            let refs: Vec<&str> = proxies.iter().map(String::as_str).collect();
            let mut u = user(Some("x@contoso.com"), &refs);
            u.kind = ObjectKind::User { account_enabled: true, guest: true, archived: false };
            prop_assert_eq!(normalize(&u, &rules(DOMAIN)), None);
        }
    }

    #[test]
    fn account_addresses_are_normalized_values() {
        let u = user(None, &["SMTP:Ä@contoso.com", "smtp:ok@contoso.com"]);
        // An unparsable address is skipped, not fatal.
        let a = normalize(&u, &rules("contoso.com")).unwrap();
        assert_eq!(a.address, addr("ok@contoso.com"));
    }
}
