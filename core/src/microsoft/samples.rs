//! The connector's Graph parsing and the normalization run on every real sample (copies of
//! `shared/reference/graph` kept in the emulator's `tests/samples/`).
#![allow(clippy::unwrap_used)]

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::model::{GraphGroup, GraphMember, GraphPage, GraphUser};
use crate::directory::{
    normalize, AccountKind, DirectoryAccount, DirectoryObject, DomainRules, MemberKind,
};
use crate::{DomainName, EmailAddress};

const SGNL: &str = include_str!("../../../emulator/tests/samples/sgnl_azuread_fixtures.json");
const MOCKS: &str = include_str!("../../../emulator/tests/samples/graph-directory-mocks.json");

fn rules(domain: &str) -> DomainRules {
    DomainRules::new(DomainName::parse(domain).unwrap())
}

/// Which Graph collection a request path (query stripped) reads, as Roster reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Collection {
    Users,
    Groups,
    Members,
}

fn collection(path: &str) -> Option<Collection> {
    let path = path.split('?').next().unwrap_or_default();
    let path = path.trim_start_matches("https://graph.microsoft.com");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1.0", "users"] | ["v1.0", "users", "delta"] => Some(Collection::Users),
        ["v1.0", "groups"] | ["v1.0", "groups", "delta"] => Some(Collection::Groups),
        ["v1.0", "groups", _, "members" | "transitiveMembers", ..] => Some(Collection::Members),
        _ => None,
    }
}

/// Parses one page strictly (as the pager does); documentation samples that leave out `id`
/// get a placeholder one, as real Graph always sends it.
fn page<T: DeserializeOwned>(body: &Value) -> GraphPage<T> {
    let mut body = body.clone();
    if let Some(values) = body.get_mut("value").and_then(Value::as_array_mut) {
        for (i, v) in values.iter_mut().enumerate() {
            if let Some(o) = v.as_object_mut() {
                o.entry("id")
                    .or_insert_with(|| Value::String(format!("sample-{i}")));
            }
        }
    }
    serde_json::from_value(body).unwrap()
}

/// All users and groups of a sample set as directory objects, and all members.
fn objects(
    pages: &[(String, Value)],
) -> (Vec<DirectoryObject>, Vec<crate::directory::DirectoryMember>) {
    let mut objects = Vec::new();
    let mut members = Vec::new();
    for (path, body) in pages {
        match collection(path) {
            Some(Collection::Users) => objects.extend(
                page::<GraphUser>(body)
                    .value
                    .into_iter()
                    .map(GraphUser::into_object),
            ),
            Some(Collection::Groups) => objects.extend(
                page::<GraphGroup>(body)
                    .value
                    .into_iter()
                    .map(GraphGroup::into_object),
            ),
            Some(Collection::Members) => members.extend(
                page::<GraphMember>(body)
                    .value
                    .into_iter()
                    .map(GraphMember::into_member),
            ),
            None => {}
        }
    }
    (objects, members)
}

fn sgnl_pages(text: &str) -> Vec<(String, Value)> {
    let all: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
    all.into_iter().collect()
}

fn mock_pages() -> Vec<(String, Value)> {
    let all: Value = serde_json::from_str(MOCKS).unwrap();
    all["mocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["response"]["body"].get("value").is_some())
        .map(|m| {
            (
                m["request"]["url"].as_str().unwrap().to_string(),
                m["response"]["body"].clone(),
            )
        })
        .collect()
}

fn accounts(objects: &[DirectoryObject], domain: &str) -> Vec<DirectoryAccount> {
    let r = rules(domain);
    objects.iter().filter_map(|o| normalize(o, &r)).collect()
}

/// Invariants every account meets, whatever the sample.
fn check(account: &DirectoryAccount, domain: &str) {
    let d = DomainName::parse(domain).unwrap();
    assert_eq!(account.address.domain(), d.as_str(), "{account:?}");
    for alias in &account.aliases {
        assert_eq!(alias.domain(), d.as_str());
        assert_ne!(alias, &account.address);
    }
    assert!(account.aliases.windows(2).all(|w| w[0] < w[1]));
    assert!(!account.address.domain().ends_with("onmicrosoft.com"));
}

#[test]
fn the_demo_tenant_has_only_onmicrosoft_addresses_so_no_accounts() {
    let (objects, members) = objects(&sgnl_pages(SGNL));
    assert!(objects.len() >= 10, "{}", objects.len());
    assert!(accounts(&objects, "M365x214355.onmicrosoft.com").is_empty());
    // Members pages parse; without `@odata.type` (the fixture selected only id) they are "other".
    assert!(members.len() >= 10);
    assert!(members.iter().all(|m| m.kind == MemberKind::Other));
}

#[test]
fn the_demo_tenant_with_a_custom_domain() {
    // The same real objects, as if the tenant's addresses were in a verified domain.
    let text = SGNL.replace("M365x214355.onmicrosoft.com", "m365x214355.example");
    let (objects, _) = objects(&sgnl_pages(&text));
    let found = accounts(&objects, "m365x214355.example");
    for a in &found {
        check(a, "m365x214355.example");
    }
    let find = |address: &str| {
        found
            .iter()
            .find(|a| a.address.as_str() == address)
            .unwrap_or_else(|| panic!("{address} missing from {found:#?}"))
    };
    // A Microsoft 365 group with an `SPO:` entry: one list, the SPO entry ignored.
    let hr = find("hrtaskforce@m365x214355.example");
    assert_eq!(hr.kind, AccountKind::DistributionList);
    assert_eq!(hr.external_id, "02bd9fd6-8f93-4758-87c3-1fb73740a315");
    assert_eq!(hr.display_name.as_str(), "HR Taskforce");
    assert!(hr.aliases.is_empty());
    // Users selected without `proxyAddresses`: `mail` serves; room "Conf Room Adams" included.
    let adams = find("adams@m365x214355.example");
    assert_eq!(adams.kind, AccountKind::Mailbox);
    assert_eq!(adams.display_name.as_str(), "Conf Room Adams");
    find("adelev@m365x214355.example");
    // Every page object with an address in the domain gives exactly one account.
    let with_address = objects
        .iter()
        .filter(|o| {
            o.mail
                .as_deref()
                .is_some_and(|m| m.ends_with("@m365x214355.example"))
                && !matches!(
                    o.kind,
                    crate::directory::ObjectKind::Group {
                        mail_enabled: false,
                        ..
                    }
                )
        })
        .count();
    assert_eq!(found.len(), with_address);
}

#[test]
fn documentation_samples() {
    let (objects, members) = objects(&mock_pages());
    let contoso = accounts(&objects, "contoso.com");
    for a in &contoso {
        check(a, "contoso.com");
    }
    let addresses: Vec<&str> = contoso.iter().map(|a| a.address.as_str()).collect();
    for expected in [
        "golfassist@contoso.com",
        "golftalk@contoso.com",
        "oscarward@contoso.com",
        "gradya@contoso.com",
        "adelev@contoso.com",
    ] {
        assert!(
            addresses.contains(&expected),
            "{expected} not in {addresses:?}"
        );
    }
    // `smtp:` and `SMTP:` of the same address: one address, no alias.
    let golf = contoso
        .iter()
        .find(|a| a.address.as_str() == "golftalk@contoso.com")
        .unwrap();
    assert_eq!(golf.kind, AccountKind::DistributionList);
    assert!(golf.aliases.is_empty());
    // The guest (`#EXT#` UPN, external address) gives nothing anywhere.
    assert!(accounts(&objects, "fabrikam.com").is_empty());
    // Addresses in the subdomain service.contoso.com are not contoso.com's.
    assert!(!addresses.iter().any(|a| a.ends_with("service.contoso.com")));
    // Another customer domain of the samples.
    let adatum = accounts(&objects, "adatum.com");
    assert_eq!(
        adatum
            .iter()
            .map(|a| a.address.as_str())
            .collect::<Vec<_>>(),
        ["adelev@adatum.com"]
    );
    // Typed members carry their address.
    assert!(members.iter().any(|m| m.kind == MemberKind::User
        && m.address == Some(EmailAddress::parse("group1@contoso.com").unwrap())));
}

#[test]
fn sample_collections_are_recognized() {
    assert_eq!(
        collection("/v1.0/users?$select=id&$top=2"),
        Some(Collection::Users)
    );
    assert_eq!(
        collection("https://graph.microsoft.com/v1.0/groups/*/transitiveMembers"),
        Some(Collection::Members)
    );
    assert_eq!(collection("/v1.0/devices?$select=id"), None);
    assert_eq!(
        collection("https://graph.microsoft.com/v1.0/contacts"),
        None
    );
}
