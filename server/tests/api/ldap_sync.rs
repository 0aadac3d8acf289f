//! The sync engine fed from the real LDAP test servers of `./dev ldap-test-servers` (OpenLDAP
//! `slapd` and Samba's AD DC; their data and expected recipients: server/tests/ldap/README.md):
//! full syncs equal to the expected recipients, re-runs that write nothing, a server that
//! fails mid-run, the Operations Limit and Exclude Records.
//!
//! The expected recipients are written here from the README's data, not read through the
//! connector, so a connector and engine that agree on a wrong answer still fail.

#![allow(clippy::unwrap_used)]

use crate::helpers::spawn_app_configured;
use crate::sync_engine::{applied, lease, Setup};
use roster_core::ldap::{LdapDirectory, LdapPassword, LdapSettingsInput};
use roster_core::sync::PlannedCounts;
use roster_core::{
    DomainName, DomainRules, ExcludePatterns, OperationLimit, OperationsLimits, SyncSource,
};
use roster_server::sync::{self, NewRun, Outcome, RunRef};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

/// The synced mail domain of the test directory.
const DOMAIN: &str = "example.org";

// ---------------------------------------------------------------------------------------------
// The test servers' environment (printed by `./dev ldap-test-servers`).

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set. Start the LDAP test servers with `./dev ldap-test-servers` and \
             export the variables it prints (see server/tests/ldap/README.md)."
        )
    })
}

/// The test CA as PEM (the variable holds a file path, or the PEM itself).
fn ca_pem(var: &str) -> String {
    let value = env(var);
    if value.contains("-----BEGIN CERTIFICATE-----") {
        return value;
    }
    std::fs::read_to_string(&value).unwrap_or_else(|e| panic!("{var}={value}: {e}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Slapd,
    Samba,
}

/// slapd with the test schema's AD attributes; the search string asks for `mail=*`, so bob
/// (mail, no proxyAddresses) is a recipient.
fn slapd_input(security: &str) -> LdapSettingsInput {
    let port = match security {
        "ldaps" => env("ROSTER_TEST_SLAPD_LDAPS_PORT"),
        _ => env("ROSTER_TEST_SLAPD_PORT"),
    };
    LdapSettingsInput {
        servers: "localhost".into(),
        security: security.into(),
        port,
        verify_certificate: true,
        ca_pem: ca_pem("ROSTER_TEST_LDAP_CA"),
        bind_user: env("ROSTER_TEST_SLAPD_BIND_DN"),
        base_dns: env("ROSTER_TEST_SLAPD_BASE_DN"),
        filter: "(&(mail=*)(|(objectClass=inetOrgPerson)(objectClass=groupOfNames)))".into(),
        email_attribute: "mail".into(),
        alias_attributes: "proxyAddresses".into(),
        list_attribute: "objectClass".into(),
        list_value: "groupOfNames".into(),
    }
}

/// Samba's AD DC with the Active Directory preset's attributes and the README's filter
/// (`proxyAddresses=smtp:*`: bob, without proxyAddresses, is only a member of sales).
fn samba_input(security: &str) -> LdapSettingsInput {
    let port = match security {
        "ldaps" => env("ROSTER_TEST_SAMBA_LDAPS_PORT"),
        _ => env("ROSTER_TEST_SAMBA_PORT"),
    };
    LdapSettingsInput {
        servers: "127.0.0.1".into(),
        security: security.into(),
        port,
        verify_certificate: true,
        ca_pem: ca_pem("ROSTER_TEST_SAMBA_CA"),
        bind_user: env("ROSTER_TEST_SAMBA_USER"),
        base_dns: env("ROSTER_TEST_SAMBA_BASE_DN"),
        filter: env("ROSTER_TEST_SAMBA_FILTER"),
        email_attribute: "mail".into(),
        alias_attributes: "proxyAddresses".into(),
        list_attribute: "objectClass".into(),
        list_value: "group".into(),
    }
}

fn directory(server: Server, input: LdapSettingsInput) -> LdapDirectory {
    let password = match server {
        Server::Slapd => env("ROSTER_TEST_SLAPD_PASSWORD"),
        Server::Samba => env("ROSTER_TEST_SAMBA_PASSWORD"),
    };
    let settings = input
        .parse()
        .unwrap_or_else(|e| panic!("test settings do not parse: {e:?}"));
    LdapDirectory::new(settings, LdapPassword::new(password).unwrap())
        .with_connect_timeout(Duration::from_secs(5))
        .with_operation_timeout(Duration::from_secs(30))
}

// ---------------------------------------------------------------------------------------------
// The expected recipients of example.org, from the README's data.

/// A mailbox of example.org.
struct Recipient {
    address: String,
    aliases: Vec<&'static str>,
    display_name: String,
    enabled: bool,
}

fn person(address: &str, aliases: Vec<&'static str>, name: &str, enabled: bool) -> Recipient {
    Recipient {
        address: address.to_owned(),
        aliases,
        display_name: name.to_owned(),
        enabled,
    }
}

fn big(i: usize) -> String {
    format!("big{i:04}")
}

/// The mailboxes of example.org: ann (one alias in the domain; her example.net address, X500
/// and SIP values dropped), bob on slapd only, carol disabled, dave by his example.org alias
/// (his primary is in example.net), big0001–big3000. Not erin (no address), not the contact.
fn mailboxes(server: Server) -> Vec<Recipient> {
    let mut people = vec![person(
        "ann@example.org",
        vec!["a.smith@example.org"],
        "Ann Smith",
        true,
    )];
    if server == Server::Slapd {
        people.push(person("bob@example.org", vec![], "Bob Jones", true));
    }
    people.push(person("carol@example.org", vec![], "Carol White", false));
    people.push(person("dave@example.org", vec![], "Dave Brown", true));
    for i in 1..=3000 {
        people.push(Recipient {
            address: format!("{}@example.org", big(i)),
            aliases: vec![],
            display_name: format!("Big Member {i:04}"),
            enabled: true,
        });
    }
    people
}

/// The lists and their direct members (keys of people, the contact or lists). The security
/// group without mail is in the directory but never a recipient.
fn lists() -> Vec<(&'static str, Vec<String>)> {
    let keys = |k: &[&str]| k.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    vec![
        ("sales", keys(&["ann", "bob", "ext"])),
        ("all-staff", keys(&["sales", "carol"])),
        ("cycle-a", keys(&["cycle-b", "ann"])),
        ("cycle-b", keys(&["cycle-a", "dave"])),
        ("big", (1..=3000).map(big).collect()),
    ]
}

/// The address a member is listed under: its primary address in any domain.
fn member_address(key: &str) -> String {
    match key {
        "dave" => "dave@example.net".to_owned(),
        "ext" => "ext@partner.example".to_owned(),
        other => format!("{other}@example.org"),
    }
}

/// The people and contacts a list reaches through nested lists, each once, cycles included.
fn expanded(list: &str, lists: &BTreeMap<&str, Vec<String>>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![list.to_owned()];
    let mut out = BTreeSet::new();
    while let Some(key) = stack.pop() {
        for member in &lists[key.as_str()] {
            if !seen.insert(member.clone()) {
                continue;
            }
            if lists.contains_key(member.as_str()) {
                stack.push(member.clone());
            } else {
                out.insert(member_address(member));
            }
        }
    }
    out
}

/// Every recipient row of example.org as [`Setup::stored`] shows it, without the accounts
/// whose address `rules` exclude.
fn expected(server: Server, rules: &DomainRules) -> BTreeSet<String> {
    let mut rows = BTreeSet::new();
    let excluded = |address: &str| rules.exclude.matches_any(address);
    for p in mailboxes(server) {
        if excluded(&p.address) {
            continue;
        }
        rows.insert(format!(
            "account {} mailbox {}{}",
            p.address,
            p.display_name,
            if p.enabled { "" } else { " (disabled)" }
        ));
        rows.insert(format!("address {} true", p.address));
        for alias in p.aliases {
            rows.insert(format!("address {alias} false"));
        }
    }
    let lists: BTreeMap<&str, Vec<String>> = lists().into_iter().collect();
    for list in lists.keys() {
        let address = format!("{list}@example.org");
        if excluded(&address) {
            continue;
        }
        // A list without displayName shows its cn.
        rows.insert(format!("account {address} distribution_list {list}"));
        rows.insert(format!("address {address} true"));
        for member in expanded(list, &lists) {
            rows.insert(format!("member {address} {member}"));
        }
    }
    rows
}

/// What a first sync into an empty domain plans for `rows` (from [`expected`]).
fn counts_of(rows: &BTreeSet<String>) -> PlannedCounts {
    let count = |f: &dyn Fn(&str) -> bool| rows.iter().filter(|r| f(r)).count() as u64;
    let lists: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r.strip_prefix("member ")?.split(' ').next())
        .collect();
    PlannedCounts {
        accounts_added: count(&|r| r.starts_with("account ")),
        aliases_added: count(&|r| r.starts_with("address ") && r.ends_with(" false")),
        lists_changed: lists.len() as u64,
        members_added: count(&|r| r.starts_with("member ")),
        ..PlannedCounts::default()
    }
}

fn rules() -> DomainRules {
    DomainRules::new(DomainName::parse(DOMAIN).unwrap())
}

// ---------------------------------------------------------------------------------------------
// The engine, driven like the worker would for an LDAP domain.

async fn setup(pool: PgPool) -> Setup {
    // No worker: these tests run the engine themselves.
    let app = spawn_app_configured(pool, false, None, false).await;
    let admin = app.admin("Example").await;
    let domain = admin.create_domain(DOMAIN, "on_premise").await;
    Setup { app, admin, domain }
}

/// Queues an LDAP run of the domain and runs it to its end; also how long that took.
async fn sync_ldap(
    s: &Setup,
    dir: &LdapDirectory,
    rules: &DomainRules,
    limits: &OperationsLimits,
) -> (Uuid, Outcome, Duration) {
    let started = Instant::now();
    let org = s.admin.organization_id;
    let run_id = sync::enqueue(
        &s.app.pool,
        &NewRun {
            organization_id: org,
            domain_id: s.domain,
            source: SyncSource::Ldap,
            test: false,
            requested_by: Some(&s.admin.email),
            applies_run_id: None,
        },
    )
    .await
    .unwrap();
    let run = RunRef {
        organization_id: org,
        run_id,
    };
    let outcome = sync::run(&s.app.pool, dir, rules, limits, run, &lease())
        .await
        .unwrap()
        .expect("the run was queued");
    (run_id, outcome, started.elapsed())
}

async fn sync_default(s: &Setup, dir: &LdapDirectory) -> (Uuid, Outcome, Duration) {
    sync_ldap(s, dir, &rules(), &OperationsLimits::default()).await
}

async fn count(s: &Setup, sql: &'static str, id: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&s.app.pool)
        .await
        .unwrap()
}

/// The synced accounts are LDAP's, each identified by its directory's UUID (`entryUUID`,
/// AD's `objectGUID`), and no other domain got any.
async fn check_identity(s: &Setup) {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select address, source, external_id from accounts where domain_id = $1 order by address",
    )
    .bind(s.domain)
    .fetch_all(&s.app.pool)
    .await
    .unwrap();
    for (address, source, external_id) in &rows {
        assert_eq!(source, "ldap", "{address}");
        let id = external_id.as_deref().unwrap_or_default();
        assert!(Uuid::parse_str(id).is_ok(), "{address}: {id:?}");
        assert_eq!(id, id.to_lowercase(), "{address}");
    }
    let ids: BTreeSet<&Option<String>> = rows.iter().map(|(_, _, id)| id).collect();
    assert_eq!(ids.len(), rows.len(), "one directory object per account");
    assert_eq!(
        count(
            s,
            "select count(*) from accounts where domain_id <> $1",
            s.domain
        )
        .await,
        0
    );
}

/// Whole sets compared; a difference shows only what differs.
fn assert_same(server: Server, stored: &BTreeSet<String>, want: &BTreeSet<String>) {
    if stored != want {
        let missing: Vec<_> = want.difference(stored).take(20).collect();
        let extra: Vec<_> = stored.difference(want).take(20).collect();
        panic!("{server:?}: missing {missing:#?}\nunexpected {extra:#?}");
    }
}

/// A full sync of `server` into the empty domain gives exactly the expected recipients with
/// the expected counts and summary; a second sync changes nothing and writes no row.
async fn full_sync_then_rerun(pool: PgPool, server: Server, dir: LdapDirectory, summary: &str) {
    let s = setup(pool).await;
    let want = expected(server, &rules());
    let (run_id, outcome, took) = sync_default(&s, &dir).await;
    eprintln!("{server:?}: full sync of the 3,000-user directory took {took:?}");
    let counts = applied(&outcome);
    assert_eq!(counts, counts_of(&want));
    assert_eq!(
        s.run_row(run_id).await,
        ("applied".to_owned(), Some(summary.to_owned()))
    );
    assert_same(server, &s.stored().await, &want);
    check_identity(&s).await;
    let read = count(
        &s,
        "select accounts_read from sync_runs where id = $1",
        run_id,
    )
    .await;
    assert_eq!(read as u64, counts.accounts_added);

    let before = s.snapshot().await;
    let (again, outcome, took) = sync_default(&s, &dir).await;
    eprintln!("{server:?}: second sync took {took:?}");
    assert_eq!(applied(&outcome), PlannedCounts::default());
    assert_eq!(
        s.snapshot().await,
        before,
        "a re-run rewrote recipient rows"
    );
    assert_eq!(
        s.run_row(again).await,
        ("applied".to_owned(), Some("No changes".to_owned()))
    );
    assert_eq!(
        count(
            &s,
            "select count(*) from sync_run_changes where run_id = $1",
            again
        )
        .await,
        0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn ldap_slapd_full_sync_stores_the_expected_recipients_and_a_rerun_changes_nothing(
    pool: PgPool,
) {
    let dir = directory(Server::Slapd, slapd_input("ldaps"));
    full_sync_then_rerun(
        pool,
        Server::Slapd,
        dir,
        "+3,009 accounts, +1 alias, 5 lists changed",
    )
    .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn ldap_samba_full_sync_stores_the_expected_recipients_and_a_rerun_changes_nothing(
    pool: PgPool,
) {
    let dir = directory(Server::Samba, samba_input("ldaps"));
    full_sync_then_rerun(
        pool,
        Server::Samba,
        dir,
        "+3,008 accounts, +1 alias, 5 lists changed",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// A server that fails mid-run.

/// A TCP proxy on `listen` to `upstream` that cuts every connection once it has sent
/// `cut_after` bytes from the server to the client. Runs until the test ends.
fn cutting_proxy(listen: TcpListener, upstream: std::net::SocketAddr, cut_after: usize) {
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listen.accept().await {
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.split();
                let (mut server_read, mut server_write) = server.split();
                let up = tokio::io::copy(&mut client_read, &mut server_write);
                let down = async {
                    let mut sent = 0usize;
                    let mut buffer = vec![0u8; 4096];
                    loop {
                        let n = server_read.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        let n = n.min(cut_after - sent);
                        if client_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                        sent += n;
                        if sent >= cut_after {
                            break;
                        }
                    }
                };
                // Whichever side ends first ends the connection, both ways.
                tokio::select! {
                    _ = up => {}
                    _ = down => {}
                }
            });
        }
    });
}

/// A listener on a loopback address other than the servers' (127.0.0.3 and up) at `port`.
async fn listener_beside(port: u16) -> (TcpListener, String) {
    for last in 3..=40u8 {
        let host = format!("127.0.0.{last}");
        if let Ok(listener) = TcpListener::bind((host.as_str(), port)).await {
            return (listener, host);
        }
    }
    panic!("no free loopback address 127.0.0.3–40 for port {port}");
}

#[sqlx::test(migrations = "../migrations")]
async fn ldap_a_server_failing_mid_run_fails_the_run_and_applies_nothing_unless_the_next_completes_it(
    pool: PgPool,
) {
    let s = setup(pool).await;
    let direct = LdapSettingsInput {
        servers: "127.0.0.1".into(),
        ..slapd_input("none")
    };
    let (first, outcome, _) = sync_default(&s, &directory(Server::Slapd, direct.clone())).await;
    applied(&outcome);
    let objects_of = |run_id| {
        count(
            &s,
            "select objects_read from sync_runs where id = $1",
            run_id,
        )
    };
    let one_round = objects_of(first).await;
    let synced = s.snapshot().await;
    assert_same(
        Server::Slapd,
        &synced.iter().map(|(r, _)| r.clone()).collect(),
        &expected(Server::Slapd, &rules()),
    );

    let port: u16 = env("ROSTER_TEST_SLAPD_PORT").parse().unwrap();
    let (listener, proxy) = listener_beside(port).await;
    // Past the bind and the first pages of users (~250 bytes an entry), before the end.
    cutting_proxy(listener, ([127, 0, 0, 1], port).into(), 300_000);

    let alone = LdapSettingsInput {
        servers: proxy.clone(),
        ..direct.clone()
    };
    let (run_id, outcome, _) = sync_default(&s, &directory(Server::Slapd, alone)).await;
    let Outcome::Failed {
        message, transient, ..
    } = &outcome
    else {
        panic!("expected a failed run, got {outcome:?}")
    };
    assert!(
        message.contains("was lost during the read") && message.contains(&proxy),
        "{message}"
    );
    assert!(message.contains("Nothing was changed"), "{message}");
    assert!(*transient, "a lost connection is worth retrying");
    assert_eq!(
        s.run_row(run_id).await,
        ("failed".to_owned(), Some(format!("Failed: {message}")))
    );
    let objects_read = objects_of(run_id).await;
    assert!(
        (500..one_round).contains(&objects_read),
        "the cut came after pages were read: {objects_read}"
    );
    assert_eq!(
        s.snapshot().await,
        synced,
        "a failed read changed recipients"
    );
    assert_eq!(
        count(
            &s,
            "select count(*) from sync_run_changes where run_id = $1",
            run_id
        )
        .await,
        0,
        "a failed read plans nothing"
    );
    assert_eq!(
        count(
            &s,
            "select count(*) from sync_staging where run_id = $1",
            run_id
        )
        .await,
        0
    );

    // The proxy first, the real server next: the round starts over there and completes.
    let then_slapd = LdapSettingsInput {
        servers: format!("{proxy}, 127.0.0.1"),
        ..direct
    };
    let (run_id, outcome, _) = sync_default(&s, &directory(Server::Slapd, then_slapd)).await;
    assert_eq!(applied(&outcome), PlannedCounts::default());
    assert_eq!(
        s.run_row(run_id).await,
        ("applied".to_owned(), Some("No changes".to_owned()))
    );
    // The proxy's pages came first, then the whole round again from the second server.
    let objects_read = objects_of(run_id).await;
    assert!(
        objects_read >= one_round + 500,
        "{objects_read} objects read, {one_round} in one round"
    );
    assert_eq!(s.snapshot().await, synced);
}

// ---------------------------------------------------------------------------------------------
// The domain's rules.

#[sqlx::test(migrations = "../migrations")]
async fn ldap_the_operations_limit_stops_the_first_sync_and_changes_nothing(pool: PgPool) {
    let s = setup(pool).await;
    let dir = directory(Server::Slapd, slapd_input("ldaps"));
    let limits = OperationsLimits {
        account_add: OperationLimit::new(Some(10)).unwrap(),
        ..OperationsLimits::default()
    };
    let (run_id, outcome, _) = sync_ldap(&s, &dir, &rules(), &limits).await;
    let Outcome::LimitExceeded(counts, _) = outcome else {
        panic!("expected the limit to stop the run, got {outcome:?}")
    };
    assert_eq!(counts, counts_of(&expected(Server::Slapd, &rules())));
    assert_eq!(
        s.run_row(run_id).await,
        (
            "limit_exceeded".to_owned(),
            Some("Limit exceeded: Email Accounts – Add Limit: 3,009 planned, limit 10".to_owned())
        )
    );
    assert!(s.stored().await.is_empty(), "nothing applied");
    assert_eq!(
        count(
            &s,
            "select count(*) from accounts where domain_id = $1",
            s.domain
        )
        .await,
        0
    );
    // The plan is kept for inspection ("Apply these changes").
    assert_eq!(
        count(
            &s,
            "select count(*) from sync_run_changes where run_id = $1 and kind = 'account_add'",
            run_id
        )
        .await,
        3009
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn ldap_exclude_records_keep_matching_addresses_out(pool: PgPool) {
    let s = setup(pool).await;
    let dir = directory(Server::Slapd, slapd_input("ldaps"));
    let rules = rules().with_exclude(ExcludePatterns::parse_lines("big0*@example.org").unwrap());
    let want = expected(Server::Slapd, &rules);
    let (_, outcome, _) = sync_ldap(&s, &dir, &rules, &OperationsLimits::default()).await;
    let counts = applied(&outcome);
    // big0001–big0999 are no accounts; big1000–big3000 are.
    assert_eq!(counts.accounts_added, 3009 - 999, "{counts:?}");
    assert_eq!(counts, counts_of(&want));
    let stored = s.stored().await;
    assert!(!stored.contains("address big0999@example.org true"));
    assert!(stored.contains("address big1000@example.org true"));
    // As for Office 365, an excluded address is no account, yet stays a member of its lists.
    assert!(stored.contains("member big@example.org big0001@example.org"));
    assert_same(Server::Slapd, &stored, &want);
}
