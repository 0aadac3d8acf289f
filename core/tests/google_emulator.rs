//! The Google Workspace connector against the Google emulator: the grant (code exchange, ID
//! token checks), refresh and revoke, full rounds (expected accounts, paging, a throttling
//! storm), and every error Test Connection names.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use roster_core::directory::{
    normalize, ChangePager, DirectoryMember, DomainRules, IdTokenProblem, MirrorKind, MirrorObject,
    ObjectChange,
};
use roster_core::google::{
    GoogleClient, GoogleClientSecret, GoogleConfig, GoogleRetry, GrantError, ProvenGrant,
};
use roster_core::{AccountKind, Directory, DirectoryError, DomainName};
use roster_m365_emulator::google::model::MemberFile;
use roster_m365_emulator::google::{
    spawn, GenerateSpec, GoogleConfig as EmulatorConfig, GoogleFaults, RunningGoogle, ThrottleKind,
    WorkspaceFile,
};

const CLIENT_ID: &str = "123456789012-roster.apps.googleusercontent.com";
const SECRET: &str = "GOCSPX-roster-test-secret";
const REDIRECT: &str = "https://roster.test/oauth/google/callback";
const ACME: &str = "C03az79cb";

fn acme() -> WorkspaceFile {
    serde_json::from_str(include_str!(
        "../../emulator/tests/fixtures/acme-workspace.json"
    ))
    .unwrap()
}

async fn emulator(workspace: WorkspaceFile) -> RunningGoogle {
    let mut config = EmulatorConfig::new(CLIENT_ID, SECRET).with_workspace(workspace);
    config.redirect_uris = vec![REDIRECT.into()];
    spawn(config).await.unwrap()
}

fn fast_retry() -> GoogleRetry {
    GoogleRetry {
        max_retries: 30,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(8),
        max_total_wait: Duration::from_secs(10),
    }
}

fn client_for(base: &str) -> GoogleClient {
    GoogleClient::new(
        GoogleConfig::new(CLIENT_ID, GoogleClientSecret::new(SECRET), REDIRECT)
            .with_accounts_url(base)
            .with_oauth2_url(base)
            .with_admin_url(base)
            .with_retry(fast_retry())
            .with_request_timeout(Duration::from_secs(10)),
    )
    .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends the admin through the consent page as `account` and returns the code, with the
/// state that came back.
async fn consent(url: &str, emu: &RunningGoogle, account: &str) -> (String, String) {
    let page = http().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let marker = "name=\"request\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    let request = page[start..].split('"').next().unwrap().to_string();
    let answer = http()
        .post(format!("{}/_emulator/oauth/consent", emu.base_url()))
        .form(&[
            ("request", request.as_str()),
            ("decision", "allow"),
            ("account", account),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let q: HashMap<String, String> = reqwest::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    (q["code"].clone(), q["state"].clone())
}

/// A grant by `account`, proven.
async fn grant(emu: &RunningGoogle, client: &GoogleClient, account: &str) -> ProvenGrant {
    let start = client.grant_start("org.state-1").unwrap();
    let (code, state) = consent(&start.url, emu, account).await;
    assert_eq!(state, "org.state-1");
    client
        .prove_grant(&code, &start.pkce_verifier, &start.nonce, None)
        .await
        .unwrap()
}

fn rules(domain: &str) -> DomainRules {
    DomainRules::new(DomainName::parse(domain).unwrap())
}

/// A mirror as the engine keeps it: objects and direct members, changes applied in order.
#[derive(Default)]
struct Mirror {
    objects: BTreeMap<String, MirrorObject>,
    members: HashMap<String, Vec<String>>,
}

impl Mirror {
    async fn read(pager: &mut dyn ChangePager) -> Result<Mirror, DirectoryError> {
        let mut mirror = Mirror::default();
        while let Some(page) = pager.next_page().await? {
            for change in page.changes {
                let ObjectChange::Present {
                    external_id,
                    kind,
                    patch,
                    members_added,
                    ..
                } = change
                else {
                    panic!("a full round removes nothing");
                };
                mirror
                    .objects
                    .entry(external_id.clone())
                    .or_insert_with(|| MirrorObject::new(external_id.clone(), kind))
                    .apply(&patch);
                mirror
                    .members
                    .entry(external_id)
                    .or_default()
                    .extend(members_added);
            }
        }
        assert!(pager.resume_state().is_none());
        Ok(mirror)
    }

    /// A group's members with nested groups flattened, stopping at cycles.
    fn flattened(&self, group: &str) -> Vec<DirectoryMember> {
        let mut seen = HashSet::from([group.to_string()]);
        let mut stack = vec![group.to_string()];
        let mut out = Vec::new();
        while let Some(g) = stack.pop() {
            for id in self.members.get(&g).into_iter().flatten() {
                let Some(o) = self.objects.get(id) else {
                    continue;
                };
                if o.kind == MirrorKind::Group {
                    if seen.insert(id.clone()) {
                        stack.push(id.clone());
                    }
                } else {
                    out.push(DirectoryMember {
                        external_id: id.clone(),
                        kind: o.kind.member_kind(),
                        address: o.primary_address(),
                    });
                }
            }
        }
        out
    }

    /// address → (aliases, enabled, list?, members) of the accounts in `domain`.
    fn accounts(&self, domain: &str) -> BTreeMap<String, (Vec<String>, bool, bool, Vec<String>)> {
        self.objects
            .values()
            .filter(|o| o.may_be_account())
            .filter_map(|o| {
                let members = if o.kind == MirrorKind::Group {
                    self.flattened(&o.external_id)
                } else {
                    Vec::new()
                };
                normalize(&o.to_object(members), &rules(domain))
            })
            .map(|a| {
                let s = |l: &[roster_core::EmailAddress]| {
                    l.iter().map(|x| x.as_str().to_string()).collect::<Vec<_>>()
                };
                (
                    a.address.as_str().to_string(),
                    (
                        s(&a.aliases),
                        a.enabled,
                        a.kind == AccountKind::DistributionList,
                        s(&a.members),
                    ),
                )
            })
            .collect()
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn the_grant_is_proven_and_reads_the_workspace() {
    let emu = emulator(acme()).await;
    let client = client_for(emu.base_url());
    let g = grant(&emu, &client, "admin@acme.com").await;
    assert_eq!(g.email, "admin@acme.com");
    assert_eq!(g.hosted_domain, "acme.com");
    assert!(!g.subject.is_empty());
    assert_eq!(client.customer_id(&g.refresh_token).await.unwrap(), ACME);
    let domains = client.workspace_domains(&g.refresh_token).await.unwrap();
    for owned in ["acme.com", "acme.net", "in.acme.com"] {
        assert!(domains.owns(&DomainName::parse(owned).unwrap()), "{owned}");
    }
    assert!(!domains.owns(&DomainName::parse("example.org").unwrap()));
}

#[tokio::test]
async fn a_wrong_nonce_or_workspace_is_refused_and_a_code_is_single_use() {
    let emu = emulator(acme()).await;
    let client = client_for(emu.base_url());
    let start = client.grant_start("s").unwrap();
    let (code, _) = consent(&start.url, &emu, "admin@acme.com").await;
    let e = client
        .prove_grant(&code, &start.pkce_verifier, "another-nonce", None)
        .await
        .unwrap_err();
    assert_eq!(e, GrantError::IdToken(IdTokenProblem::WrongNonce));
    // The code was redeemed: a replay is refused by Google.
    let e = client
        .prove_grant(&code, &start.pkce_verifier, &start.nonce, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, GrantError::Redeem(DirectoryError::GoogleGrantRevoked(_))),
        "{e:?}"
    );

    let start = client.grant_start("s").unwrap();
    let (code, _) = consent(&start.url, &emu, "admin@acme.com").await;
    let e = client
        .prove_grant(
            &code,
            &start.pkce_verifier,
            &start.nonce,
            Some("other.example"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e,
        GrantError::IdToken(IdTokenProblem::OtherHostedDomain {
            got: "acme.com".into()
        })
    );

    // The wrong PKCE verifier: Google refuses the code.
    let start = client.grant_start("s").unwrap();
    let (code, _) = consent(&start.url, &emu, "admin@acme.com").await;
    let e = client
        .prove_grant(
            &code,
            "a-verifier-of-another-request-0123456789abcdef",
            &start.nonce,
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, GrantError::Redeem(_)), "{e:?}");
}

#[tokio::test]
async fn another_client_id_is_refused() {
    let emu = emulator(acme()).await;
    let client = client_for(emu.base_url());
    let start = client.grant_start("s").unwrap();
    let (code, _) = consent(&start.url, &emu, "admin@acme.com").await;
    // Same endpoints, another OAuth client: Google refuses it (and its ID tokens would carry
    // another audience).
    let other = GoogleClient::new(
        GoogleConfig::new(
            "999-other.apps.googleusercontent.com",
            GoogleClientSecret::new(SECRET),
            REDIRECT,
        )
        .with_accounts_url(emu.base_url())
        .with_oauth2_url(emu.base_url())
        .with_admin_url(emu.base_url()),
    )
    .unwrap();
    let e = other
        .prove_grant(&code, &start.pkce_verifier, &start.nonce, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            GrantError::Redeem(DirectoryError::GoogleClientRejected(_))
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_full_round_gives_the_expected_accounts() {
    let emu = emulator(acme()).await;
    let client = client_for(emu.base_url());
    let g = grant(&emu, &client, "admin@acme.com").await;
    let directory = client.directory(ACME, g.refresh_token);
    assert_eq!(directory.identity(), ACME);
    let mirror = Mirror::read(directory.changes(None).as_mut())
        .await
        .unwrap();
    let accounts = mirror.accounts("acme.com");
    // The emulator adds no domain-alias (`@in.acme.com`) addresses to nonEditableAliases as
    // Google does; their mapping is tested on the real samples (`google::model`).
    let expected: BTreeMap<String, (Vec<String>, bool, bool, Vec<String>)> = [
        ("admin@acme.com", (vec![], true, false, vec![])),
        ("helpdesk@acme.com", (vec![], true, false, vec![])),
        // a@acme.net is in the other domain.
        (
            "alice@acme.com",
            (vec!["alice.example@acme.com"], true, false, vec![]),
        ),
        // Suspended: kept, disabled. Archived: kept.
        ("carol@acme.com", (vec![], false, false, vec![])),
        ("dave@acme.com", (vec![], true, false, vec![])),
        // Its test-google-a.com address is dropped.
        ("erin@acme.com", (vec![], true, false, vec![])),
        // Nested and cyclic: Sales holds Child, which holds Sales. Child's member from outside
        // the Workspace comes as a contact, and counts in both.
        (
            "sales@acme.com",
            (
                vec!["sales-team@acme.com"],
                true,
                true,
                vec![
                    "alice@acme.com",
                    "bob@acme.net",
                    "carol@acme.com",
                    "partner@outside.example",
                ],
            ),
        ),
        (
            "child@acme.com",
            (
                vec![],
                true,
                true,
                vec![
                    "alice@acme.com",
                    "bob@acme.net",
                    "carol@acme.com",
                    "partner@outside.example",
                ],
            ),
        ),
        // Its CUSTOMER member is no member row: the list includes everyone (below).
        ("everyone@acme.com", (vec![], true, true, vec![])),
    ]
    .into_iter()
    .map(|(a, (aliases, enabled, list, members))| {
        (
            a.to_string(),
            (strings(&aliases), enabled, list, strings(&members)),
        )
    })
    .collect();
    assert_eq!(accounts, expected);
    // The group with the CUSTOMER member, and only it, includes everyone in the organization.
    let everyone: Vec<&str> = mirror
        .objects
        .values()
        .filter(|o| o.includes_everyone)
        .filter_map(|o| o.mail.as_deref())
        .collect();
    assert_eq!(everyone, ["everyone@acme.com"]);
    // The other domain of the Workspace: its own addresses only.
    let net: BTreeSet<String> = mirror.accounts("acme.net").into_keys().collect();
    assert_eq!(
        net,
        ["a@acme.net", "bob@acme.net", "empty@acme.net"]
            .map(String::from)
            .into()
    );
}

#[tokio::test]
async fn rounds_follow_every_page() {
    let spec = GenerateSpec {
        users: 1_203,
        groups: 430,
        domains: vec!["example.com".into()],
        domain_aliases: vec![],
        customer_id: "C0paging".into(),
        seed: 7,
    };
    let file = roster_m365_emulator::google::generate::generate(&spec);
    let user_count = file.users.len();
    let group_count = file.groups.len();
    let emu = emulator(file).await;
    let client = client_for(emu.base_url());
    let g = grant(&emu, &client, "admin@example.com").await;
    let directory = client.directory("C0paging", g.refresh_token);
    let mut pager = directory.changes(None);
    let mut user_pages = 0;
    let mut users = 0;
    let mut groups = 0;
    while let Some(page) = pager.next_page().await.unwrap() {
        match page.collection {
            roster_core::directory::Collection::Users => {
                user_pages += 1;
                users += page.changes.len();
            }
            roster_core::directory::Collection::Groups => groups += page.changes.len(),
            roster_core::directory::Collection::Contacts => {}
        }
    }
    assert_eq!(users, user_count);
    assert_eq!(user_pages, 3, "500 users a page");
    assert_eq!(groups, group_count);
}

#[tokio::test]
async fn a_throttling_storm_ends_with_the_same_state() {
    let emu = emulator(acme()).await;
    let client = client_for(emu.base_url());
    let g = grant(&emu, &client, "admin@acme.com").await;
    let directory = client.directory(ACME, g.refresh_token);
    let calm = Mirror::read(directory.changes(None).as_mut())
        .await
        .unwrap()
        .accounts("acme.com");
    for (i, kind) in [
        ThrottleKind::UserRateLimitExceeded,
        ThrottleKind::QuotaExceeded,
        ThrottleKind::RateLimitExceeded,
        ThrottleKind::BackendError,
    ]
    .into_iter()
    .enumerate()
    {
        emu.state().set_faults(GoogleFaults {
            throttle: Some(kind),
            throttle_probability: 0.4,
            seed: i as u64 + 1,
            ..GoogleFaults::default()
        });
        let stormy = Mirror::read(directory.changes(None).as_mut())
            .await
            .unwrap()
            .accounts("acme.com");
        assert_eq!(stormy, calm, "{kind:?}");
    }
    assert!(emu.state().counters().throttled > 0);
}

#[tokio::test]
async fn test_connection_shows_the_first_accounts() {
    let emu = emulator(acme()).await;
    let client = client_for(emu.base_url());
    let g = grant(&emu, &client, "admin@acme.com").await;
    let directory = client.directory(ACME, g.refresh_token);
    let test = directory.test_connection(&rules("acme.com")).await.unwrap();
    assert_eq!(test.users_read, 7);
    assert_eq!(test.groups_read, 4);
    assert_eq!(test.accounts_found, 9);
    assert!(!test.more_pages);
    let addresses: Vec<&str> = test.sample.iter().map(|a| a.address.as_str()).collect();
    assert_eq!(addresses.len(), 9);
    assert_eq!(addresses[0], "admin@acme.com");
    let sales = test
        .sample
        .iter()
        .find(|a| a.address.as_str() == "sales@acme.com")
        .unwrap();
    let members: Vec<&str> = sales.members.iter().map(|m| m.as_str()).collect();
    assert_eq!(members, ["alice@acme.com", "bob@acme.net"]);
}

#[tokio::test]
async fn test_connection_names_what_failed() {
    let emu = emulator(acme()).await;
    let client = client_for(emu.base_url());
    let g = grant(&emu, &client, "admin@acme.com").await;
    let directory = client.directory(ACME, g.refresh_token.clone());
    let acme_com = rules("acme.com");

    let e = directory
        .test_connection(&rules("example.org"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, DirectoryError::GoogleDomainNotOwned { .. }),
        "{e:?}"
    );

    emu.state().set_faults(GoogleFaults {
        api_not_enabled: true,
        ..GoogleFaults::default()
    });
    let e = directory.test_connection(&acme_com).await.unwrap_err();
    assert!(matches!(e, DirectoryError::GoogleApiNotEnabled(_)), "{e:?}");
    assert_eq!(
        e.google().unwrap().reason.as_deref(),
        Some("accessNotConfigured")
    );

    emu.state().set_faults(GoogleFaults {
        grantor_not_admin: true,
        ..GoogleFaults::default()
    });
    let e = directory.test_connection(&acme_com).await.unwrap_err();
    assert!(matches!(e, DirectoryError::GoogleNotAuthorized(_)), "{e:?}");
    assert!(e
        .to_string()
        .contains("Grant permission again as a super admin"));

    // Throttled for longer than the budget.
    emu.state().set_faults(GoogleFaults {
        throttle: Some(ThrottleKind::RateLimitExceeded),
        throttle_count: 1_000,
        ..GoogleFaults::default()
    });
    let e = directory.test_connection(&acme_com).await.unwrap_err();
    assert!(matches!(e, DirectoryError::GoogleThrottled(_)), "{e:?}");
    assert!(e.is_transient());

    emu.state().set_faults(GoogleFaults::default());
    assert!(directory.test_connection(&acme_com).await.is_ok());
    assert!(emu.state().revoke_all_grants() > 0);
    emu.state().expire_tokens();
    let e = directory.test_connection(&acme_com).await.unwrap_err();
    assert!(matches!(e, DirectoryError::GoogleGrantRevoked(_)), "{e:?}");
    assert_eq!(e.google().unwrap().error.as_deref(), Some("invalid_grant"));

    // Nobody listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let nowhere = client_for(&url).directory(ACME, g.refresh_token);
    let e = nowhere.test_connection(&acme_com).await.unwrap_err();
    assert!(
        matches!(e, DirectoryError::GoogleUnreachable { .. }),
        "{e:?}"
    );
    assert!(e.is_transient());
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_a_revoked_grant_ends() {
    let emu = emulator(acme()).await;
    let client = client_for(emu.base_url());
    let g = grant(&emu, &client, "admin@acme.com").await;
    let directory = client.directory(ACME, g.refresh_token.clone());
    let rules = rules("acme.com");
    directory.test_connection(&rules).await.unwrap();
    let issued = emu.state().counters().tokens_issued;
    // The cached access token is still good: no new one.
    directory.test_connection(&rules).await.unwrap();
    assert_eq!(emu.state().counters().tokens_issued, issued);
    // Google forgets it: one refresh, and the read goes on.
    assert!(emu.state().expire_tokens() > 0);
    directory.test_connection(&rules).await.unwrap();
    assert_eq!(emu.state().counters().tokens_issued, issued + 1);

    client.revoke(&g.refresh_token).await.unwrap();
    let e = directory.test_connection(&rules).await.unwrap_err();
    assert!(matches!(e, DirectoryError::GoogleGrantRevoked(_)), "{e:?}");
    // Revoking again is no error.
    client.revoke(&g.refresh_token).await.unwrap();
}

/// One counter of the emulator by kind (`users`, `groups`, `members`, `batch`).
fn kind(c: &roster_m365_emulator::google::state::GoogleCounters, k: &str) -> u64 {
    c.by_kind.get(k).copied().unwrap_or_default()
}

/// A generated Workspace of 600 users and 230 groups (two `groups.list` pages), one group of
/// 450 members (three pages of members).
fn many_groups(customer: &str) -> WorkspaceFile {
    let spec = GenerateSpec {
        users: 600,
        groups: 230,
        domains: vec!["example.com".into()],
        domain_aliases: vec![],
        customer_id: customer.into(),
        seed: 11,
    };
    let mut file = roster_m365_emulator::google::generate::generate(&spec);
    let big: Vec<MemberFile> = file
        .users
        .iter()
        .skip(1)
        .take(450)
        .map(|u| MemberFile::Key(u.primary_email.clone()))
        .collect();
    file.groups[5].members = big;
    file
}

/// Directory requests a round sent over the wire between two counter readings: users and
/// groups pages, batches, and the member reads sent alone (every member read but those that
/// were parts of a batch, `parts`).
fn wire_requests(
    before: &roster_m365_emulator::google::state::GoogleCounters,
    after: &roster_m365_emulator::google::state::GoogleCounters,
    parts: u64,
) -> u64 {
    let d = |k: &str| kind(after, k) - kind(before, k);
    d("users") + d("groups") + d("batch") + d("members") - parts
}

#[tokio::test]
async fn member_reads_go_in_batches_and_give_the_same_accounts() {
    let file = many_groups("C0batch");
    let groups = file.groups.len() as u64;
    let emu = emulator(file).await;
    let batched_client = GoogleClient::new(
        client_for(emu.base_url())
            .config()
            .clone()
            .with_requests_per_minute(600_000),
    )
    .unwrap();
    let plain_client =
        GoogleClient::new(batched_client.config().clone().with_member_batch(0)).unwrap();
    assert_eq!(batched_client.config().member_batch, 50);
    let g = grant(&emu, &batched_client, "admin@example.com").await;

    let c0 = emu.state().counters();
    let plain = Mirror::read(
        plain_client
            .directory("C0batch", g.refresh_token.clone())
            .changes(None)
            .as_mut(),
    )
    .await
    .unwrap();
    let c1 = emu.state().counters();
    let batched = Mirror::read(
        batched_client
            .directory("C0batch", g.refresh_token.clone())
            .changes(None)
            .as_mut(),
    )
    .await
    .unwrap();
    let c2 = emu.state().counters();

    // Exactly the same accounts, members and everyone-lists.
    assert_eq!(
        batched.accounts("example.com"),
        plain.accounts("example.com")
    );
    assert_eq!(batched.members, plain.members);
    let everyone = |m: &Mirror| -> Vec<String> {
        m.objects
            .values()
            .filter(|o| o.includes_everyone)
            .map(|o| o.external_id.clone())
            .collect()
    };
    assert_eq!(everyone(&batched), everyone(&plain));
    assert_eq!(everyone(&batched).len(), 1);
    let big = batched
        .objects
        .values()
        .find(|o| o.mail.as_deref() == Some("group5@example.com"))
        .unwrap();
    assert_eq!(batched.members[&big.external_id].len(), 450);

    // The same member reads (each group's first page, and the big group's two more pages)…
    let member_reads = kind(&c1, "members") - kind(&c0, "members");
    assert_eq!(member_reads, groups + 2);
    assert_eq!(kind(&c2, "members") - kind(&c1, "members"), member_reads);
    // …through 5 batches (200 groups in 4 of 50, then 30 in one) and 2 GETs.
    assert_eq!(kind(&c1, "batch") - kind(&c0, "batch"), 0);
    assert_eq!(kind(&c2, "batch") - kind(&c1, "batch"), 5);
    let before = wire_requests(&c0, &c1, 0);
    let after = wire_requests(&c1, &c2, groups);
    // 2 users pages, 2 groups pages, then 232 member GETs before; 5 batches and 2 GETs after.
    assert_eq!(before, 2 + 2 + 232);
    assert_eq!(after, 2 + 2 + 5 + 2);
    assert!(after * 10 < groups, "{after} requests for {groups} groups");
    // The emulator counts each part as a request, as Google's quota does.
    assert_eq!(
        c2.directory - c1.directory,
        c1.directory - c0.directory,
        "parts are counted like requests sent alone"
    );
}

#[tokio::test]
async fn throttling_inside_batches_ends_with_the_same_state() {
    let emu = emulator(many_groups("C0storm")).await;
    // Each part waits for its share of the pacing: a faster pace keeps the test short.
    let client = GoogleClient::new(
        client_for(emu.base_url())
            .config()
            .clone()
            .with_requests_per_minute(600_000),
    )
    .unwrap();
    let g = grant(&emu, &client, "admin@example.com").await;
    let directory = client.directory("C0storm", g.refresh_token);
    let calm = Mirror::read(directory.changes(None).as_mut())
        .await
        .unwrap();
    let calm_batches = kind(&emu.state().counters(), "batch");
    for (i, kind_) in [
        ThrottleKind::UserRateLimitExceeded,
        ThrottleKind::QuotaExceeded,
        ThrottleKind::RateLimitExceeded,
        ThrottleKind::BackendError,
    ]
    .into_iter()
    .enumerate()
    {
        emu.state().set_faults(GoogleFaults {
            throttle: Some(kind_),
            throttle_probability: 0.3,
            seed: i as u64 + 11,
            ..GoogleFaults::default()
        });
        let before = emu.state().counters();
        let stormy = Mirror::read(directory.changes(None).as_mut())
            .await
            .unwrap();
        let after = emu.state().counters();
        assert_eq!(
            stormy.accounts("example.com"),
            calm.accounts("example.com"),
            "{kind_:?}"
        );
        assert_eq!(stormy.members, calm.members, "{kind_:?}");
        assert!(after.throttled > before.throttled, "{kind_:?}");
        // Throttled parts went again in later batches.
        assert!(
            kind(&after, "batch") - kind(&before, "batch") > calm_batches,
            "{kind_:?}"
        );
    }
    // A heavy storm: most parts of each batch go again, several times.
    emu.state().set_faults(GoogleFaults {
        throttle: Some(ThrottleKind::RateLimitExceeded),
        throttle_probability: 0.6,
        seed: 99,
        ..GoogleFaults::default()
    });
    let stormy = Mirror::read(directory.changes(None).as_mut())
        .await
        .unwrap();
    assert_eq!(stormy.accounts("example.com"), calm.accounts("example.com"));
}

#[tokio::test]
async fn a_refused_token_inside_a_batch_is_refreshed_and_a_deleted_group_left_out() {
    let emu = emulator(acme()).await;
    let client = client_for(emu.base_url());
    let g = grant(&emu, &client, "admin@acme.com").await;
    let directory = client.directory(ACME, g.refresh_token);
    let mut pager = directory.changes(None);
    // The users page; the next page reads the groups page and then their members in a batch.
    let first = pager.next_page().await.unwrap().unwrap();
    assert_eq!(first.collection, roster_core::directory::Collection::Users);
    // Each Directory request (and each part) now takes a second: the groups page is answered
    // after 1 s, the batch's first part after 2 s. In between, Google forgets every access
    // token and the group Child is deleted.
    emu.state().set_faults(GoogleFaults {
        latency_ms: 1_000,
        ..GoogleFaults::default()
    });
    let before = emu.state().counters();
    let base = emu.base_url().to_string();
    let state = emu.state().clone();
    let meanwhile = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(state.expire_tokens() > 0);
        let gone = http()
            .delete(format!(
                "{base}/_emulator/workspaces/{ACME}/groups/child@acme.com"
            ))
            .send()
            .await
            .unwrap();
        assert!(gone.status().is_success(), "{}", gone.status());
    });
    let mut lists = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        if page.collection == roster_core::directory::Collection::Groups {
            for change in page.changes {
                if let ObjectChange::Present { patch, .. } = change {
                    lists.push(patch.mail.flatten().unwrap_or_default());
                }
            }
        }
    }
    meanwhile.await.unwrap();
    let after = emu.state().counters();
    lists.sort();
    // Child is gone (404 in the batch): left out, the round goes on.
    assert_eq!(
        lists,
        ["empty@acme.net", "everyone@acme.com", "sales@acme.com"]
    );
    // The batch's parts were refused once (401), one new token, the batch sent again.
    assert_eq!(kind(&after, "batch") - kind(&before, "batch"), 2);
    assert_eq!(after.unauthorized - before.unauthorized, 4);
    assert_eq!(after.tokens_issued - before.tokens_issued, 1);
}

#[tokio::test]
async fn parts_throttled_beyond_the_budget_fail_the_round() {
    let emu = emulator(acme()).await;
    let client = GoogleClient::new(client_for(emu.base_url()).config().clone().with_retry(
        GoogleRetry {
            max_retries: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            max_total_wait: Duration::from_secs(5),
        },
    ))
    .unwrap();
    let g = grant(&emu, &client, "admin@acme.com").await;
    let directory = client.directory(ACME, g.refresh_token);
    let mut pager = directory.changes(None);
    pager.next_page().await.unwrap().unwrap();
    // As above: the groups page is answered after 1 s, then every part is throttled.
    emu.state().set_faults(GoogleFaults {
        latency_ms: 1_000,
        ..GoogleFaults::default()
    });
    let before = emu.state().counters();
    let state = emu.state().clone();
    let meanwhile = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        state.set_faults(GoogleFaults {
            throttle: Some(ThrottleKind::BackendError),
            throttle_probability: 1.0,
            latency_ms: 1,
            ..GoogleFaults::default()
        });
    });
    let e = pager.next_page().await.unwrap_err();
    meanwhile.await.unwrap();
    assert!(matches!(e, DirectoryError::GoogleUnavailable(_)), "{e:?}");
    let after = emu.state().counters();
    // The first batch and two more: the budget's retries, then the round fails.
    assert_eq!(kind(&after, "batch") - kind(&before, "batch"), 3);
    assert_eq!(after.throttled - before.throttled, 3 * 4);
    // The round is over.
    assert!(pager.next_page().await.unwrap().is_none());
}
