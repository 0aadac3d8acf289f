//! The LDAP connector against the real Samba AD DC of `./dev ldap-test-servers`: Active
//! Directory's schema (binary objectGUID, userAccountControl, proxyAddresses), range
//! retrieval of a 3,000-member group, and AD's bind sub-codes.
#![allow(clippy::unwrap_used)]

mod ldap_common;

use ldap_common::*;
use roster_core::directory::{AdBindReason, MirrorKind};
use roster_core::ldap::LdapSettingsInput;
use roster_core::{AccountKind, Directory, DirectoryError};

const DOMAIN: &str = "example.org";

/// The recipients of example.org on Samba (server/tests/ldap/README.md): the filter asks for
/// `proxyAddresses=smtp:*`, so bob (no proxyAddresses) is no account there, only a member of
/// sales, looked up like the partner contact.
fn check_expected(mirror: &Mirror) {
    let accounts = mirror.accounts(DOMAIN);
    let line = |address: &str| {
        summary(
            accounts
                .get(address)
                .unwrap_or_else(|| panic!("{address} missing")),
        )
    };
    assert_eq!(
        line("ann@example.org"),
        r#"ann@example.org Mailbox aliases=["a.smith@example.org"] members=[]"#
    );
    assert_eq!(
        line("carol@example.org"),
        "carol@example.org Mailbox aliases=[] members=[]"
    );
    assert_eq!(
        line("dave@example.org"),
        "dave@example.org Mailbox aliases=[] members=[]"
    );
    assert_eq!(
        line("sales@example.org"),
        r#"sales@example.org DistributionList aliases=[] members=["ann@example.org", "bob@example.org", "ext@partner.example"]"#
    );
    assert_eq!(
        line("all-staff@example.org"),
        r#"all-staff@example.org DistributionList aliases=[] members=["ann@example.org", "bob@example.org", "carol@example.org", "ext@partner.example"]"#
    );
    for cycle in ["cycle-a@example.org", "cycle-b@example.org"] {
        assert_eq!(
            line(cycle),
            format!(
                r#"{cycle} DistributionList aliases=[] members=["ann@example.org", "dave@example.net"]"#
            )
        );
    }
    let big = &accounts["big@example.org"];
    assert_eq!(big.kind, AccountKind::DistributionList);
    assert_eq!(big.members.len(), 3000);
    for i in 1..=3000 {
        let address = format!("big{i:04}@example.org");
        assert_eq!(accounts[&address].kind, AccountKind::Mailbox, "{address}");
    }
    assert_eq!(
        accounts.len(),
        3 + 3000 + 5,
        "{:?}",
        accounts.keys().take(12).collect::<Vec<_>>()
    );
    assert!(!mirror.by_address("carol@example.org").account_enabled);
    assert!(mirror.by_address("ann@example.org").account_enabled);
    assert_eq!(
        mirror.by_address("ext@partner.example").kind,
        MirrorKind::Contact
    );
    assert_eq!(
        mirror.by_address("bob@example.org").kind,
        MirrorKind::Contact
    );
    // objectGUIDs in AD's text form.
    let ann = mirror.by_address("ann@example.org");
    assert_eq!(ann.external_id.len(), 36);
    assert!(uuid::Uuid::parse_str(&ann.external_id).is_ok());
    assert_eq!(ann.external_id, ann.external_id.to_lowercase());
}

#[tokio::test]
async fn a_full_round_over_ldaps_gives_exactly_the_expected_recipients() {
    let dir = directory(samba_input("ldaps"), &samba_password());
    let (mirror, took) = Mirror::read(&dir).await.unwrap();
    eprintln!(
        "Samba full round (LDAPS): {took:?}, pages {}",
        mirror.pages.len()
    );
    check_expected(&mirror);
}

#[tokio::test]
async fn ranges_smaller_than_the_big_list_are_read_to_the_end() {
    // 700 values in the search's answer (`member;range=0-699`): the other 2,300 only come by
    // range retrieval (`member;range=700-*`), as AD sends lists over its MaxValRange.
    let dir = directory(samba_input("none"), &samba_password()).with_member_range(700);
    let (mirror, _) = Mirror::read(&dir).await.unwrap();
    check_expected(&mirror);
}

#[tokio::test]
async fn test_connection_over_starttls_shows_accounts() {
    let dir = directory(samba_input("starttls"), &samba_password());
    let test = dir.test_connection(&rules(DOMAIN)).await.unwrap();
    assert!(test.more_pages);
    assert_eq!(test.objects_read(), 500);
    assert_eq!(test.sample.len(), 10);
    assert!(test.sample.iter().all(|a| a.address.domain() == DOMAIN));
    // The AD preset's built-in Exchange search string is a filter AD takes (Samba has no
    // Exchange schema, so it finds nothing here).
    let preset = LdapSettingsInput {
        filter: String::new(),
        ..samba_input("ldaps")
    };
    let test = directory(preset, &samba_password())
        .test_connection(&rules(DOMAIN))
        .await;
    assert!(test.is_ok(), "{test:?}");
}

#[tokio::test]
async fn bind_rejections_carry_ads_reason() {
    let e = directory(samba_input("ldaps"), "not-the-password")
        .test_connection(&rules(DOMAIN))
        .await
        .unwrap_err();
    let DirectoryError::LdapBindRejected { reason, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*reason, Some(AdBindReason::WrongPassword), "{:?}", e.ldap());
    assert_eq!(e.ldap().unwrap().ad_code.as_deref(), Some("52e"));
    assert!(e.to_string().contains("password is wrong"), "{e}");

    let disabled = LdapSettingsInput {
        bind_user: env("ROSTER_TEST_SAMBA_DISABLED_USER"),
        ..samba_input("ldaps")
    };
    let e = directory(disabled, &samba_password())
        .test_connection(&rules(DOMAIN))
        .await
        .unwrap_err();
    let DirectoryError::LdapBindRejected { reason, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        *reason,
        Some(AdBindReason::AccountDisabled),
        "{:?}",
        e.ldap()
    );
    assert!(e.to_string().contains("disabled"), "{e}");
    assert!(!e.is_transient());

    let base = env("ROSTER_TEST_SAMBA_BASE_DN");
    let missing = LdapSettingsInput {
        base_dns: format!("OU=Nowhere,{base}"),
        ..samba_input("ldaps")
    };
    let e = directory(missing, &samba_password())
        .test_connection(&rules(DOMAIN))
        .await
        .unwrap_err();
    assert!(
        matches!(e, DirectoryError::LdapBaseDnNotFound { .. }),
        "{e:?}"
    );
}
