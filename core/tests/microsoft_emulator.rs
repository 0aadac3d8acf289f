//! The Microsoft 365 connector against the emulator of Microsoft's identity platform and Graph:
//! full reads, paging, throttling, token expiry, revoked consent and every token error.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use roster_core::directory::{
    collect_accounts, normalize, primary_address, DirectoryMember, DirectoryObject, MemberKind,
    ObjectKind,
};
use roster_core::microsoft::{ClientSecret, MicrosoftClient, MicrosoftConfig, RetryPolicy};
use roster_core::{
    AccountKind, Directory, DirectoryAccount, DirectoryError, DomainName, DomainRules,
    ExcludePatterns,
};
use roster_m365_emulator::{
    spawn, EmulatorConfig, FaultConfig, GenerateSpec, RunningEmulator, TenantFile,
};
use serde_json::{json, Value};

const CLIENT_ID: &str = "9a8b7c6d-1111-2222-3333-444455556666";
const SECRET: &str = "emulator-test-secret~value";
const CONTOSO: &str = "6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f";

fn contoso() -> TenantFile {
    serde_json::from_str(include_str!("../../emulator/tests/fixtures/contoso.json")).unwrap()
}

async fn start(config: EmulatorConfig) -> RunningEmulator {
    spawn(config).await.unwrap()
}

async fn start_contoso() -> RunningEmulator {
    start(EmulatorConfig::new(CLIENT_ID, SECRET).with_tenant(contoso())).await
}

/// A generated tenant (consented) plus its id.
async fn start_generated(users: usize, groups: usize, seed: u64) -> (RunningEmulator, String) {
    let emu = start(
        EmulatorConfig::new(CLIENT_ID, SECRET).with_generated(GenerateSpec {
            users,
            groups,
            domains: vec!["litware.example".into(), "litware.net".into()],
            seed,
            consented: true,
            ..GenerateSpec::default()
        }),
    )
    .await;
    let id = emu.state().summaries()[0].id.clone();
    (emu, id)
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 8,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_total_wait: Duration::from_secs(10),
    }
}

fn config_for(emu: &RunningEmulator) -> MicrosoftConfig {
    MicrosoftConfig::new(CLIENT_ID, ClientSecret::new(SECRET))
        .with_login_url(emu.base_url())
        .with_graph_url(emu.base_url())
        .with_retry(fast_retry())
}

fn client_for(emu: &RunningEmulator) -> MicrosoftClient {
    MicrosoftClient::new(config_for(emu)).unwrap()
}

fn rules(domain: &str) -> DomainRules {
    DomainRules::new(DomainName::parse(domain).unwrap())
}

/// The emulator's control API (`/_emulator/…`).
async fn control(emu: &RunningEmulator, method: Method, path: &str, body: Option<Value>) -> Value {
    let http = reqwest::Client::new();
    let mut request = http.request(method, format!("{}{path}", emu.base_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    assert!(status.is_success(), "{path}: {status}");
    if status == StatusCode::NO_CONTENT {
        return Value::Null;
    }
    response.json().await.unwrap_or(Value::Null)
}

async fn counters(emu: &RunningEmulator) -> Value {
    control(emu, Method::GET, "/_emulator/counters", None).await
}

async fn read_all(
    client: &MicrosoftClient,
    tenant: &str,
    r: &DomainRules,
) -> Vec<DirectoryAccount> {
    let directory = client.tenant(tenant).unwrap();
    let mut pager = directory.pager();
    collect_accounts(&mut pager, r).await.unwrap()
}

fn by_address(accounts: &[DirectoryAccount]) -> BTreeMap<String, &DirectoryAccount> {
    accounts
        .iter()
        .map(|a| (a.address.as_str().to_string(), a))
        .collect()
}

fn strs(list: &[roster_core::EmailAddress]) -> Vec<&str> {
    list.iter().map(|a| a.as_str()).collect()
}

/// What Roster should store, computed from the emulator's own tenant (not through Graph).
fn expected_accounts(
    emu: &RunningEmulator,
    tenant: &str,
    r: &DomainRules,
) -> Vec<DirectoryAccount> {
    let dir = emu.state().directory();
    let t = dir.resolve(tenant).unwrap();
    let mut objects = Vec::new();
    for u in t.users.values() {
        objects.push(DirectoryObject {
            external_id: u.id.clone(),
            kind: ObjectKind::User {
                account_enabled: u.account_enabled,
                guest: u.user_type.eq_ignore_ascii_case("Guest"),
                archived: false,
            },
            display_name: u.display_name.clone(),
            mail: u.mail.clone(),
            proxy_addresses: u.proxy_addresses.clone(),
            members: vec![],
        });
    }
    for g in t.groups.values().filter(|g| g.mail_enabled) {
        let members = t
            .transitive_members(&g.id)
            .iter()
            .map(|id| {
                let (kind, mail, proxies) = if let Some(u) = t.users.get(id) {
                    (MemberKind::User, u.mail.clone(), u.proxy_addresses.clone())
                } else if let Some(c) = t.contacts.get(id) {
                    (
                        MemberKind::Contact,
                        c.mail.clone(),
                        c.proxy_addresses.clone(),
                    )
                } else {
                    let g = &t.groups[id];
                    (MemberKind::Group, g.mail.clone(), g.proxy_addresses.clone())
                };
                DirectoryMember {
                    external_id: id.clone(),
                    kind,
                    address: primary_address(mail.as_deref(), &proxies),
                }
            })
            .collect();
        objects.push(DirectoryObject {
            external_id: g.id.clone(),
            kind: ObjectKind::Group {
                mail_enabled: true,
                security_enabled: g.security_enabled,
                unified: g.group_types.iter().any(|t| t == "Unified"),
                includes_everyone: false,
            },
            display_name: Some(g.display_name.clone()),
            mail: g.mail.clone(),
            proxy_addresses: g.proxy_addresses.clone(),
            members,
        });
    }
    objects.iter().filter_map(|o| normalize(o, r)).collect()
}

fn sorted(mut accounts: Vec<DirectoryAccount>) -> Vec<DirectoryAccount> {
    accounts.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    accounts
}

#[tokio::test]
async fn contoso_is_read_as_roster_stores_it() {
    let emu = start_contoso().await;
    let client = client_for(&emu);
    let accounts = read_all(&client, CONTOSO, &rules("contoso.com")).await;
    let found = by_address(&accounts);
    assert_eq!(
        found.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "adele.vance@contoso.com",
            "finance@contoso.com",
            "golfassist@contoso.com",
            "sales@contoso.com",
            "support@contoso.com",
        ]
    );
    let adele = found["adele.vance@contoso.com"];
    assert_eq!(adele.kind, AccountKind::Mailbox);
    assert_eq!(adele.external_id, "00000000-0000-0000-0000-000000000002");
    assert_eq!(adele.display_name.as_str(), "Adele Vance");
    assert!(adele.aliases.is_empty());
    // A disabled shared mailbox with "SMTP: " (space) is kept.
    assert_eq!(found["support@contoso.com"].kind, AccountKind::Mailbox);
    // A distribution list holding a user, a contact and a nested mail-enabled security group
    // (which nests a security group): members flattened.
    let sales = found["sales@contoso.com"];
    assert_eq!(sales.kind, AccountKind::DistributionList);
    assert_eq!(
        strs(&sales.members),
        [
            "adele.vance@contoso.com",
            "bob@fabrikam.example",
            "erics@partner.example",
            "support@contoso.com",
        ]
    );
    assert_eq!(
        strs(&found["golfassist@contoso.com"].members),
        ["adele.vance@contoso.com", "admin@contoso.onmicrosoft.com"]
    );
    assert_eq!(
        found["finance@contoso.com"].kind,
        AccountKind::DistributionList
    );
    assert_eq!(
        sorted(accounts.clone()),
        sorted(expected_accounts(&emu, CONTOSO, &rules("contoso.com")))
    );

    // The second domain, and exclusions.
    let net = read_all(&client, CONTOSO, &rules("contoso.net")).await;
    let found = by_address(&net);
    assert_eq!(
        found.keys().map(String::as_str).collect::<Vec<_>>(),
        ["adele@contoso.net", "help@contoso.net", "sales@contoso.net"]
    );
    let excluding = rules("contoso.net")
        .with_exclude(ExcludePatterns::parse_lines("help@contoso.net\nsales*").unwrap());
    let net = read_all(&client, CONTOSO, &excluding).await;
    assert_eq!(
        by_address(&net).keys().collect::<Vec<_>>(),
        ["adele@contoso.net"]
    );

    // Three reads, one token; one users page, one groups page, members of the three lists.
    let c = counters(&emu).await;
    assert_eq!(c["tokensIssued"], 1, "{c}");
    assert_eq!(c["byKind"]["users"], 3, "{c}");
    assert_eq!(c["byKind"]["groups"], 3, "{c}");
    assert_eq!(c["byKind"]["transitiveMembers"], 9, "{c}");
}

#[tokio::test]
async fn a_connection_test_shows_the_first_accounts_as_stored() {
    let emu = start_contoso().await;
    let client = client_for(&emu);
    let test = client
        .test_connection(CONTOSO, &rules("contoso.com"))
        .await
        .unwrap();
    assert_eq!(test.users_read, 5);
    assert_eq!(test.groups_read, 3);
    assert_eq!(test.objects_read(), 8);
    assert_eq!(test.accounts_found, 5);
    assert!(!test.more_pages);
    let full = read_all(&client, CONTOSO, &rules("contoso.com")).await;
    assert_eq!(test.sample, full);

    // Through the trait object, for a large tenant: ten accounts, a full first page.
    let (emu, tenant) = start_generated(1200, 30, 3).await;
    let directory: Box<dyn Directory> = Box::new(client_for(&emu).tenant(&tenant).unwrap());
    let r = rules("litware.example");
    let test = directory.test_connection(&r).await.unwrap();
    assert_eq!(test.sample.len(), 10);
    assert_eq!(test.users_read, 999);
    assert!(test.more_pages);
    assert!(test.accounts_found >= 10);
    let expected = expected_accounts(&emu, &tenant, &r);
    for account in &test.sample {
        assert!(expected.contains(account), "{account:?}");
    }
}

#[tokio::test]
async fn many_pages_are_read_to_the_end_one_at_a_time() {
    let (emu, tenant) = start_generated(3000, 120, 7).await;
    let client = client_for(&emu);
    let r = rules("litware.example");
    let directory = client.tenant(&tenant).unwrap();
    let mut pager = directory.pager();
    let mut pages = 0;
    let mut largest = 0;
    let mut ids = Vec::new();
    let mut accounts = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        pages += 1;
        largest = largest.max(page.objects.len());
        ids.extend(page.objects.iter().map(|o| o.external_id.clone()));
        accounts.extend(roster_core::directory::normalize_page(&page, &r));
    }
    assert!(pager.next_page().await.unwrap().is_none());
    let summary = emu.state().summary(&tenant).unwrap();
    let mail_groups = emu
        .state()
        .directory()
        .resolve(&tenant)
        .unwrap()
        .groups
        .values()
        .filter(|g| g.mail_enabled)
        .count();
    assert_eq!(summary.users, 3000);
    // Every object exactly once: 4 users pages of at most 999, then the groups.
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    assert_eq!(ids.len(), 3000 + mail_groups);
    assert!(largest <= 999);
    let c = counters(&emu).await;
    assert_eq!(c["byKind"]["users"], 4, "{c}");
    assert_eq!(pages, 5);
    // And it is what the tenant holds.
    assert!(accounts.len() > 2000);
    let addresses: BTreeSet<&str> = accounts.iter().map(|a| a.address.as_str()).collect();
    assert_eq!(addresses.len(), accounts.len());
    assert_eq!(
        sorted(accounts),
        sorted(expected_accounts(&emu, &tenant, &r))
    );
}

#[tokio::test]
async fn a_throttling_storm_ends_with_the_same_result_as_a_calm_run() {
    let (emu, tenant) = start_generated(1500, 60, 11).await;
    let client = client_for(&emu);
    let r = rules("litware.example");
    let calm = read_all(&client, &tenant, &r).await;
    assert!(!calm.is_empty());

    for faults in [
        json!({"throttleEvery": 2, "retryAfter": "0.05"}),
        json!({"throttleEvery": 3, "retryAfter": "0.02", "unavailableEvery": 5, "unavailableRetryAfter": ""}),
        json!({"throttleProbability": 0.4, "retryAfter": "0.01", "seed": 5, "pathKinds": ["transitiveMembers"]}),
    ] {
        control(&emu, Method::DELETE, "/_emulator/counters", None).await;
        control(&emu, Method::PUT, "/_emulator/faults", Some(faults.clone())).await;
        let stormy = read_all(&client, &tenant, &r).await;
        assert_eq!(stormy, calm, "{faults}");
        let c = counters(&emu).await;
        assert!(c["throttled"].as_u64().unwrap() > 0, "{faults}: {c}");
        control(&emu, Method::DELETE, "/_emulator/faults", None).await;
    }
}

#[tokio::test]
async fn throttling_beyond_the_retry_budget_fails_as_throttled() {
    let emu = start_contoso().await;
    control(
        &emu,
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"throttleEvery": 1, "retryAfter": "0.01"})),
    )
    .await;
    let client = MicrosoftClient::new(config_for(&emu).with_retry(RetryPolicy {
        max_retries: 3,
        ..fast_retry()
    }))
    .unwrap();
    let mut pager = client.tenant(CONTOSO).unwrap().pager();
    let e = pager.next_page().await.unwrap_err();
    assert!(matches!(e, DirectoryError::Throttled(_)), "{e:?}");
    assert_eq!(e.microsoft_code(), Some("TooManyRequests"));
    assert!(e.is_transient());
    assert_eq!(counters(&emu).await["throttled"], 4);

    // A Retry-After longer than the whole budget fails at once, without waiting.
    control(
        &emu,
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"throttleEvery": 1, "retryAfter": "3600"})),
    )
    .await;
    let started = std::time::Instant::now();
    let e = pager.next_page().await.unwrap_err();
    assert!(matches!(e, DirectoryError::Throttled(_)), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // The pager stays on the failed page: once Graph is calm it goes on.
    control(&emu, Method::DELETE, "/_emulator/faults", None).await;
    let page = pager.next_page().await.unwrap().unwrap();
    assert_eq!(page.objects.len(), 5);
}

#[tokio::test]
async fn service_unavailable_is_retried_with_backoff() {
    let emu = start_contoso().await;
    let client = client_for(&emu);
    let calm = read_all(&client, CONTOSO, &rules("contoso.com")).await;
    control(
        &emu,
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"unavailableEvery": 2, "unavailableRetryAfter": ""})),
    )
    .await;
    assert_eq!(
        read_all(&client, CONTOSO, &rules("contoso.com")).await,
        calm
    );
    assert!(counters(&emu).await["unavailable"].as_u64().unwrap() >= 3);
    // Always unavailable: the budget runs out.
    control(
        &emu,
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"unavailableEvery": 1, "unavailableRetryAfter": "0.01"})),
    )
    .await;
    let e = client
        .test_connection(CONTOSO, &rules("contoso.com"))
        .await
        .unwrap_err();
    assert!(matches!(e, DirectoryError::ServiceUnavailable(_)), "{e:?}");
    assert_eq!(e.microsoft_code(), Some("serviceNotAvailable"));
}

#[tokio::test]
async fn an_expired_token_mid_run_is_refreshed_once_and_the_run_goes_on() {
    let (emu, tenant) = start_generated(2500, 40, 5).await;
    let client = client_for(&emu);
    let r = rules("litware.example");
    let calm = read_all(&client, &tenant, &r).await;
    control(&emu, Method::DELETE, "/_emulator/counters", None).await;

    let mut pager = client.tenant(&tenant).unwrap().pager();
    let mut accounts = Vec::new();
    let mut page_number = 0;
    while let Some(page) = pager.next_page().await.unwrap() {
        page_number += 1;
        accounts.extend(roster_core::directory::normalize_page(&page, &r));
        if page_number == 1 {
            let expired = control(&emu, Method::POST, "/_emulator/tokens/expire", None).await;
            assert_eq!(expired["expired"], 1);
        }
    }
    assert_eq!(accounts, calm);
    let c = counters(&emu).await;
    assert_eq!(c["unauthorized"], 1, "{c}");
    assert_eq!(c["tokensIssued"], 1, "{c}");
}

#[tokio::test]
async fn a_token_refused_even_when_fresh_fails_after_one_refresh() {
    let mut config = EmulatorConfig::new(CLIENT_ID, SECRET).with_tenant(contoso());
    config.token_ttl = Duration::ZERO;
    let emu = start(config).await;
    let e = client_for(&emu)
        .test_connection(CONTOSO, &rules("contoso.com"))
        .await
        .unwrap_err();
    assert!(matches!(e, DirectoryError::TokenRejected(_)), "{e:?}");
    assert_eq!(e.microsoft_code(), Some("InvalidAuthenticationToken"));
    let c = counters(&emu).await;
    assert_eq!(c["unauthorized"], 2, "{c}");
    assert_eq!(c["tokensIssued"], 2, "{c}");
}

#[tokio::test]
async fn revoked_consent_is_a_permission_error_then_not_consented() {
    let (emu, tenant) = start_generated(1200, 10, 9).await;
    let client = client_for(&emu);
    let mut pager = client.tenant(&tenant).unwrap().pager();
    assert!(pager.next_page().await.unwrap().is_some());
    control(
        &emu,
        Method::DELETE,
        &format!("/_emulator/tenants/{tenant}/consent"),
        None,
    )
    .await;
    let e = pager.next_page().await.unwrap_err();
    assert!(matches!(e, DirectoryError::PermissionDenied(_)), "{e:?}");
    assert_eq!(e.microsoft_code(), Some("Authorization_RequestDenied"));
    let detail = e.microsoft().unwrap();
    assert_eq!(detail.status, Some(403));
    assert!(detail.request_id.is_some());
    assert!(e.needs_admin());
    assert!(e.to_string().contains("permission"));

    // A new connector (no cached token) is told the app is not consented.
    let e = client_for(&emu)
        .test_connection(&tenant, &rules("litware.example"))
        .await
        .unwrap_err();
    assert!(matches!(e, DirectoryError::AppNotConsented(_)), "{e:?}");
    assert_eq!(e.microsoft_code(), Some("AADSTS700016"));
}

#[tokio::test]
async fn a_missing_permission_is_a_permission_error() {
    let emu = start_contoso().await;
    control(
        &emu,
        Method::PUT,
        &format!("/_emulator/tenants/{CONTOSO}/consent"),
        Some(json!({"roles": ["User.Read.All"]})),
    )
    .await;
    let e = client_for(&emu)
        .test_connection(CONTOSO, &rules("contoso.com"))
        .await
        .unwrap_err();
    assert!(matches!(e, DirectoryError::PermissionDenied(_)), "{e:?}");
    assert_eq!(counters(&emu).await["byKind"]["users"], 1);
}

#[tokio::test]
async fn each_token_error_has_its_own_variant() {
    let emu = start(
        EmulatorConfig::new(CLIENT_ID, SECRET)
            .with_tenant(contoso())
            .with_generated(GenerateSpec {
                users: 5,
                groups: 1,
                domains: vec!["wingtip.example".into()],
                seed: 2,
                consented: false,
                ..GenerateSpec::default()
            }),
    )
    .await;
    let r = rules("contoso.com");
    let test = |config: MicrosoftConfig, tenant: &'static str| async move {
        MicrosoftClient::new(config)
            .unwrap()
            .test_connection(tenant, &rules("contoso.com"))
            .await
            .unwrap_err()
    };

    let mut wrong = config_for(&emu);
    wrong.client_secret = ClientSecret::new("not-the-secret");
    let e = test(wrong, CONTOSO).await;
    assert!(matches!(e, DirectoryError::InvalidClientSecret(_)), "{e:?}");
    assert_eq!(e.microsoft_code(), Some("AADSTS7000215"));
    assert_eq!(
        e.microsoft().unwrap().error.as_deref(),
        Some("invalid_client")
    );

    let e = test(config_for(&emu), "00000000-1111-2222-3333-444444444444").await;
    assert!(matches!(e, DirectoryError::TenantNotFound(_)), "{e:?}");
    assert_eq!(e.microsoft_code(), Some("AADSTS90002"));

    // A tenant that never consented; the tenant named by a verified domain works the same.
    let e = test(config_for(&emu), "wingtip.example").await;
    assert!(matches!(e, DirectoryError::AppNotConsented(_)), "{e:?}");
    assert_eq!(e.microsoft_code(), Some("AADSTS700016"));

    let mut unknown_app = config_for(&emu);
    unknown_app.client_id = "11111111-0000-0000-0000-000000000000".into();
    let e = test(unknown_app, CONTOSO).await;
    assert!(matches!(e, DirectoryError::AppNotConsented(_)), "{e:?}");

    let e = test(
        config_for(&emu).with_scope("https://example.com/.default"),
        CONTOSO,
    )
    .await;
    assert!(matches!(e, DirectoryError::InvalidScope(_)), "{e:?}");
    let e = test(config_for(&emu).with_scope("User.Read.All"), CONTOSO).await;
    assert!(matches!(e, DirectoryError::InvalidScope(_)), "{e:?}");

    for tenant in ["common", "organizations", "not a tenant"] {
        let e = client_for(&emu)
            .test_connection(tenant, &r)
            .await
            .unwrap_err();
        assert!(matches!(e, DirectoryError::InvalidTenantId { .. }), "{e:?}");
    }
    // None of these reached Graph, and only valid requests got tokens.
    let c = counters(&emu).await;
    assert_eq!(c["graph"], 0, "{c}");
    assert_eq!(c["tokensIssued"], 0, "{c}");
    assert_eq!(c["byKind"]["token"], 6, "{c}");

    // The right settings work, by GUID or domain.
    client_for(&emu)
        .test_connection("contoso.com", &r)
        .await
        .unwrap();
}

#[tokio::test]
async fn microsoft_unreachable_or_too_slow() {
    // A port nobody listens on.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = MicrosoftConfig::new(CLIENT_ID, ClientSecret::new(SECRET))
        .with_login_url(&closed)
        .with_graph_url(&closed);
    let e = MicrosoftClient::new(config)
        .unwrap()
        .test_connection(CONTOSO, &rules("contoso.com"))
        .await
        .unwrap_err();
    assert!(matches!(e, DirectoryError::Unreachable { .. }), "{e:?}");
    assert!(e.is_transient());
    assert!(e.to_string().contains("127.0.0.1"));

    let emu = start_contoso().await;
    control(
        &emu,
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"latencyMs": 400})),
    )
    .await;
    let config = config_for(&emu).with_request_timeout(Duration::from_millis(100));
    let e = MicrosoftClient::new(config)
        .unwrap()
        .test_connection(CONTOSO, &rules("contoso.com"))
        .await
        .unwrap_err();
    assert!(matches!(e, DirectoryError::TimedOut { .. }), "{e:?}");
}

#[tokio::test]
async fn tokens_are_shared_by_concurrent_reads_of_a_tenant() {
    let emu = start_contoso().await;
    let client = client_for(&emu);
    let r = rules("contoso.com");
    let (a, b, c) = tokio::join!(
        client.test_connection(CONTOSO, &r),
        client.test_connection(CONTOSO, &r),
        read_all(&client, CONTOSO, &r),
    );
    assert_eq!(a.unwrap(), b.unwrap());
    assert_eq!(c.len(), 5);
    assert_eq!(counters(&emu).await["tokensIssued"], 1);
}

#[tokio::test]
async fn the_organization_gives_the_tenant_name_and_verified_domains() {
    let emu = start_contoso().await;
    let client = client_for(&emu);
    let org = client
        .tenant(CONTOSO)
        .unwrap()
        .organization()
        .await
        .unwrap();
    assert_eq!(org.tenant_id.as_str(), CONTOSO);
    assert!(org.tenant_id.is_guid());
    assert_eq!(org.display_name, "Contoso");
    assert_eq!(
        org.verified_domains,
        ["contoso.com", "contoso.net", "contoso.onmicrosoft.com"]
    );
    assert!(org.has_verified_domain(&DomainName::parse("Contoso.NET").unwrap()));
    assert!(!org.has_verified_domain(&DomainName::parse("fabrikam.example").unwrap()));

    // Without consent there is no token, so no organization either.
    control(
        &emu,
        Method::DELETE,
        &format!("/_emulator/tenants/{CONTOSO}/consent"),
        None,
    )
    .await;
    let fresh = client_for(&emu);
    let error = fresh
        .tenant(CONTOSO)
        .unwrap()
        .organization()
        .await
        .unwrap_err();
    assert!(
        matches!(error, DirectoryError::AppNotConsented(_)),
        "{error:?}"
    );
}

/// A tenant whose first accounts in `lists.example` are twelve distribution lists (the users'
/// addresses are in another domain), so a connection test's sample holds ten lists.
fn twelve_lists() -> (TenantFile, &'static str) {
    const TENANT: &str = "7b3c2d4e-0000-4000-8000-00000000a11c";
    let users: Vec<Value> = (1..=3)
        .map(|i| {
            json!({
                "id": format!("00000000-0000-0000-0000-00000000000{i}"),
                "userPrincipalName": format!("user{i}@people.example"),
                "displayName": format!("User {i}"),
                "mail": format!("user{i}@people.example"),
                "proxyAddresses": [format!("SMTP:user{i}@people.example")],
            })
        })
        .collect();
    let groups: Vec<Value> = (1..=12)
        .map(|i| {
            json!({
                "id": format!("20000000-0000-0000-0000-{i:012}"),
                "displayName": format!("List {i}"),
                "mail": format!("list{i:02}@lists.example"),
                "proxyAddresses": [format!("SMTP:list{i:02}@lists.example")],
                "groupTypes": [],
                "mailEnabled": true,
                "securityEnabled": false,
                "members": [
                    "00000000-0000-0000-0000-000000000001",
                    format!("00000000-0000-0000-0000-00000000000{}", 2 + i % 2),
                ],
            })
        })
        .collect();
    let file = json!({
        "id": TENANT,
        "displayName": "Lists",
        "verifiedDomains": ["lists.example", "people.example"],
        "consented": true,
        "users": users,
        "groups": groups,
    });
    (serde_json::from_value(file).unwrap(), TENANT)
}

#[tokio::test]
async fn a_connection_test_reads_the_members_of_its_ten_lists_in_one_batch() {
    let (file, tenant) = twelve_lists();
    let emu = start(EmulatorConfig::new(CLIENT_ID, SECRET).with_tenant(file)).await;
    let client = client_for(&emu);
    let r = rules("lists.example");
    let test = client.test_connection(tenant, &r).await.unwrap();
    assert_eq!(test.sample.len(), 10);
    assert_eq!(test.accounts_found, 12);
    assert!(test
        .sample
        .iter()
        .all(|a| a.kind == AccountKind::DistributionList && a.members.len() == 2));
    let c = emu.state().counter_snapshot();
    assert_eq!(c.by_kind["users"], 1, "{c:?}");
    assert_eq!(c.by_kind["groups"], 1, "{c:?}");
    assert_eq!(c.by_kind["batch"], 1, "{c:?}");
    // The batch's requests are Graph requests too (Graph throttles them one by one).
    assert_eq!(c.by_kind["transitiveMembers"], 10, "{c:?}");
    assert_eq!(c.graph, 13, "{c:?}");
    // The sample is exactly the first accounts of a full read, members included.
    let full = read_all(&client, tenant, &r).await;
    assert_eq!(test.sample, full[..10]);
}

#[tokio::test]
async fn a_throttled_list_in_the_batch_is_asked_again_and_the_test_succeeds() {
    let (file, tenant) = twelve_lists();
    let emu = start(EmulatorConfig::new(CLIENT_ID, SECRET).with_tenant(file)).await;
    let client = client_for(&emu);
    let r = rules("lists.example");
    let calm = client.test_connection(tenant, &r).await.unwrap();
    emu.state().reset_counters();
    // Every third member read is throttled: 3 of the first batch's 10, then 1 of the 3 asked
    // again, then the last one answers.
    emu.state().set_faults(FaultConfig {
        throttle_every: 3,
        retry_after: "0.05".into(),
        path_kinds: vec!["transitiveMembers".into()],
        ..FaultConfig::default()
    });
    let test = client.test_connection(tenant, &r).await.unwrap();
    assert_eq!(test, calm);
    let c = emu.state().counter_snapshot();
    assert_eq!(c.throttled, 4, "{c:?}");
    assert_eq!(c.by_kind["batch"], 3, "{c:?}");
    assert_eq!(c.by_kind["transitiveMembers"], 14, "{c:?}");

    // Throttled beyond the retry budget: the same error as a single read's.
    emu.state().set_faults(FaultConfig {
        throttle_every: 1,
        retry_after: "0.01".into(),
        path_kinds: vec!["transitiveMembers".into()],
        ..FaultConfig::default()
    });
    emu.state().reset_counters();
    let strict = MicrosoftClient::new(config_for(&emu).with_retry(RetryPolicy {
        max_retries: 2,
        ..fast_retry()
    }))
    .unwrap();
    let e = strict.test_connection(tenant, &r).await.unwrap_err();
    assert!(matches!(e, DirectoryError::Throttled(_)), "{e:?}");
    assert_eq!(e.microsoft_code(), Some("TooManyRequests"));
    assert_eq!(emu.state().counter_snapshot().by_kind["batch"], 3);
}
