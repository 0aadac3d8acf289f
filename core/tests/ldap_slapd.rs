//! The LDAP connector against the real OpenLDAP slapd of `./dev ldap-test-servers`: full
//! rounds, Test Connection and each failure it names, StartTLS/LDAPS, failover.
#![allow(clippy::unwrap_used)]

mod ldap_common;

use std::time::Duration;

use ldap_common::*;
use roster_core::directory::{AdBindReason, Collection, MirrorKind};
use roster_core::ldap::LdapSettingsInput;
use roster_core::{AccountKind, Directory, DirectoryError};

const DOMAIN: &str = "example.org";

/// The recipients of example.org (server/tests/ldap/README.md): 4 people, 3000 big members
/// and 5 lists, nested and cyclic lists flattened, the contact a member of sales.
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
        line("bob@example.org"),
        "bob@example.org Mailbox aliases=[] members=[]"
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
    assert!(big.members.iter().all(|m| m.as_str().starts_with("big")));
    for i in 1..=3000 {
        let address = format!("big{i:04}@example.org");
        assert_eq!(accounts[&address].kind, AccountKind::Mailbox, "{address}");
    }
    // Exactly these: no erin (no address), no security group, no contact, no readers.
    assert_eq!(
        accounts.len(),
        4 + 3000 + 5,
        "{:?}",
        accounts.keys().take(12).collect::<Vec<_>>()
    );
    // The disabled user is kept, marked disabled; the contact is a contact.
    assert!(!mirror.by_address("carol@example.org").account_enabled);
    assert!(mirror.by_address("ann@example.org").account_enabled);
    assert_eq!(
        mirror.by_address("ext@partner.example").kind,
        MirrorKind::Contact
    );
    // Users stream in pages before the lists.
    let first_group = mirror
        .pages
        .iter()
        .position(|(c, _)| *c == Collection::Groups);
    let last_user = mirror
        .pages
        .iter()
        .rposition(|(c, _)| *c == Collection::Users);
    assert!(last_user < first_group, "{:?}", mirror.pages);
    assert!(
        mirror.pages.iter().all(|(_, n)| *n <= 500),
        "{:?}",
        mirror.pages
    );
}

#[tokio::test]
async fn a_full_round_over_ldaps_gives_exactly_the_expected_recipients() {
    let dir = directory(slapd_input("ldaps"), &slapd_password());
    let (mirror, took) = Mirror::read(&dir).await.unwrap();
    eprintln!(
        "slapd full round (LDAPS): {took:?}, pages {:?}",
        mirror.pages.len()
    );
    check_expected(&mirror);
    // Ids are entryUUIDs.
    let ann = mirror.by_address("ann@example.org");
    assert!(
        uuid::Uuid::parse_str(&ann.external_id).is_ok(),
        "{}",
        ann.external_id
    );
}

#[tokio::test]
async fn small_pages_and_starttls_read_the_same() {
    let dir = directory(slapd_input("starttls"), &slapd_password()).with_page_size(7);
    let (mirror, _) = Mirror::read(&dir).await.unwrap();
    check_expected(&mirror);
    assert!(mirror.pages.iter().all(|(_, n)| *n <= 50));
}

#[tokio::test]
async fn the_openldap_preset_takes_plain_alias_attributes() {
    let input = LdapSettingsInput {
        alias_attributes: "mailLocalAddress".into(),
        ..slapd_input("ldaps")
    };
    let (mirror, _) = Mirror::read(&directory(input, &slapd_password()))
        .await
        .unwrap();
    let accounts = mirror.accounts(DOMAIN);
    assert_eq!(
        summary(&accounts["ann@example.org"]),
        r#"ann@example.org Mailbox aliases=["a.smith@example.org"] members=[]"#
    );
    // dave's mail is in example.net; his local address makes him a recipient here.
    assert!(accounts.contains_key("dave@example.org"));
    let net = mirror.accounts("example.net");
    assert_eq!(
        summary(&net["ann@example.net"]),
        "ann@example.net Mailbox aliases=[] members=[]"
    );
}

#[tokio::test]
async fn test_connection_over_starttls_and_ldaps_shows_accounts() {
    for security in ["starttls", "ldaps"] {
        let dir = directory(slapd_input(security), &slapd_password());
        let test = dir.test_connection(&rules(DOMAIN)).await.unwrap();
        assert!(
            test.more_pages,
            "{security}: the directory holds more than a page"
        );
        assert_eq!(test.users_read + test.groups_read, 500, "{security}");
        assert_eq!(test.sample.len(), 10);
        assert!(test.accounts_found >= 10);
        assert!(test.sample.iter().all(|a| a.address.domain() == DOMAIN));
        assert!(test.sample.iter().all(|a| a.members.is_empty()));
    }
}

async fn failure(input: LdapSettingsInput, password: &str) -> DirectoryError {
    let dir = directory(input, password);
    let error = dir
        .test_connection(&rules(DOMAIN))
        .await
        .expect_err("the connection test should fail");
    let shown = error.to_string();
    assert!(shown.ends_with('.'), "{shown}");
    assert!(error.ldap().is_some() || matches!(error, DirectoryError::LdapBadCaCertificate { .. }));
    error
}

#[tokio::test]
async fn test_connection_names_every_failure() {
    let password = slapd_password();
    let e = failure(
        LdapSettingsInput {
            servers: "roster-nowhere.invalid".into(),
            ..slapd_input("ldaps")
        },
        &password,
    )
    .await;
    assert!(
        matches!(e, DirectoryError::LdapHostNotFound { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("roster-nowhere.invalid"));

    let port = env_port("ROSTER_TEST_SLAPD_PORT");
    let closed = closed_beside(port).await;
    let e = failure(
        LdapSettingsInput {
            servers: closed.clone(),
            ..slapd_input("none")
        },
        &password,
    )
    .await;
    assert!(
        matches!(e, DirectoryError::LdapConnectFailed { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains(&format!("{closed}:{port}")));
    assert!(e.is_transient());

    let e = failure(
        LdapSettingsInput {
            ca_pem: String::new(),
            ..slapd_input("ldaps")
        },
        &password,
    )
    .await;
    assert!(
        matches!(e, DirectoryError::LdapTlsUntrusted { .. }),
        "{e:?}"
    );

    let e = failure(
        LdapSettingsInput {
            servers: "127.0.0.2".into(),
            ..slapd_input("ldaps")
        },
        &password,
    )
    .await;
    assert!(
        matches!(e, DirectoryError::LdapTlsNameMismatch { .. }),
        "{e:?}"
    );

    let e = failure(slapd_input("ldaps"), "not-the-password").await;
    assert!(
        matches!(e, DirectoryError::LdapBindRejected { reason: None, .. }),
        "{e:?}"
    );
    assert_eq!(e.ldap().unwrap().result_code, Some(49));

    let base = env("ROSTER_TEST_SLAPD_BASE_DN");
    let missing = format!("ou=Nowhere,{base}");
    let e = failure(
        LdapSettingsInput {
            base_dns: format!("{base}\n{missing}"),
            ..slapd_input("ldaps")
        },
        &password,
    )
    .await;
    assert!(
        matches!(e, DirectoryError::LdapBaseDnNotFound { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains(&missing));

    let e = failure(
        LdapSettingsInput {
            bind_user: env("ROSTER_TEST_SLAPD_LIMITED_DN"),
            ..slapd_input("ldaps")
        },
        &password,
    )
    .await;
    assert!(matches!(e, DirectoryError::LdapSizeLimit { .. }), "{e:?}");

    let e = failure(
        LdapSettingsInput {
            filter: "(mail)".into(),
            ..slapd_input("ldaps")
        },
        &password,
    )
    .await;
    assert!(
        matches!(e, DirectoryError::LdapFilterSyntax { .. }),
        "{e:?}"
    );

    // The built-in Exchange search string (written with spaces) is a filter the server takes.
    let dir = directory(
        LdapSettingsInput {
            filter: String::new(),
            ..slapd_input("ldaps")
        },
        &password,
    );
    let test = dir.test_connection(&rules(DOMAIN)).await;
    assert!(test.is_ok(), "{test:?}");

    // Plain LDAP works too (this slapd allows it).
    let dir = directory(slapd_input("none"), &password);
    assert!(dir.test_connection(&rules(DOMAIN)).await.is_ok());
    // No AD sub-codes from slapd.
    assert!(!matches!(
        e,
        DirectoryError::LdapBindRejected {
            reason: Some(AdBindReason::WrongPassword),
            ..
        }
    ));
}

#[tokio::test]
async fn the_first_server_that_answers_serves() {
    let port = env_port("ROSTER_TEST_SLAPD_PORT");
    let closed = closed_beside(port).await;
    let input = LdapSettingsInput {
        servers: format!("{closed}, 127.0.0.1"),
        ..slapd_input("none")
    };
    let dir = directory(input.clone(), &slapd_password());
    let test = dir.test_connection(&rules(DOMAIN)).await.unwrap();
    assert_eq!(test.sample.len(), 10);
    let (mirror, _) = Mirror::read(&dir).await.unwrap();
    check_expected(&mirror);
    // Both unusable: the error names the servers tried.
    let closed_too = closed_beside(port).await;
    let input = LdapSettingsInput {
        servers: format!("{closed}, {closed_too}"),
        ..input
    };
    let e = directory(input, &slapd_password())
        .test_connection(&rules(DOMAIN))
        .await
        .unwrap_err();
    assert!(
        matches!(e, DirectoryError::LdapConnectFailed { .. }),
        "{e:?}"
    );
    assert_eq!(e.ldap().unwrap().tried.len(), 2, "{:?}", e.ldap());
    // The error shown is the one of the server that got furthest: the rejected sign-in on
    // the second, not the refused connection of the first.
    let e = directory(
        LdapSettingsInput {
            servers: format!("{closed}, 127.0.0.1"),
            ..slapd_input("none")
        },
        "not-the-password",
    )
    .test_connection(&rules(DOMAIN))
    .await
    .unwrap_err();
    assert!(
        matches!(e, DirectoryError::LdapBindRejected { .. }),
        "{e:?}"
    );
    assert_eq!(e.ldap().unwrap().tried.len(), 2, "{:?}", e.ldap());
}

#[tokio::test]
async fn a_server_failing_mid_run_hands_the_round_to_the_next() {
    let port = env_port("ROSTER_TEST_SLAPD_PORT");
    let (listener, proxy) = listener_beside(port).await;
    let upstream = ([127, 0, 0, 1], port).into();
    // Past the bind and the first pages of users (~250 bytes an entry), before the end.
    cutting_proxy(listener, upstream, 300_000).await;

    let alone = LdapSettingsInput {
        servers: proxy.clone(),
        ..slapd_input("none")
    };
    let e = Mirror::read(&directory(alone.clone(), &slapd_password()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, DirectoryError::LdapConnectionLost { .. }),
        "{e:?}"
    );
    assert!(e.is_transient());
    assert!(e.to_string().contains(&proxy));

    // The next server can't be reached either: still the mid-run failure.
    let closed = closed_beside(port).await;
    let then_closed = LdapSettingsInput {
        servers: format!("{proxy}, {closed}"),
        ..alone.clone()
    };
    let e = Mirror::read(&directory(then_closed, &slapd_password()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, DirectoryError::LdapConnectionLost { .. }),
        "{e:?}"
    );

    let with_next = LdapSettingsInput {
        servers: format!("{proxy}, 127.0.0.1"),
        ..alone
    };
    let (mirror, _) = Mirror::read(&directory(with_next, &slapd_password()))
        .await
        .unwrap();
    check_expected(&mirror);
    // The first server's pages came, then the whole round again from the second.
    let users = |m: &Mirror| -> usize {
        m.pages
            .iter()
            .filter(|(c, _)| *c == Collection::Users)
            .map(|(_, n)| n)
            .sum()
    };
    let (direct, _) = Mirror::read(&directory(slapd_input("none"), &slapd_password()))
        .await
        .unwrap();
    assert!(
        users(&mirror) >= users(&direct) + 500,
        "pages of the failed server came first: {} after the cut, {} in one round",
        users(&mirror),
        users(&direct)
    );
}

#[tokio::test]
async fn a_server_that_stops_answering_times_out() {
    // A listener that accepts and never answers: the bind times out.
    let port = env_port("ROSTER_TEST_SLAPD_PORT");
    let (listener, silent) = listener_beside(port).await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let input = LdapSettingsInput {
        servers: silent,
        ..slapd_input("none")
    };
    let dir =
        directory(input, &slapd_password()).with_operation_timeout(Duration::from_millis(500));
    let e = dir.test_connection(&rules(DOMAIN)).await.unwrap_err();
    assert!(matches!(e, DirectoryError::LdapTimedOut { .. }), "{e:?}");
    assert!(e.is_transient());
}
