//! The Google Workspace connection against the Google emulator: the grant (its `state`
//! checks, the answers Google can give, the ID token that proves who granted it, the check that
//! the Workspace owns the domain), Test Connection, a Manual Sync through the worker, "Skip
//! suspended users" and Disconnect (which revokes the grant at Google).

#![allow(clippy::unwrap_used)]

use crate::helpers::{spawn_app_with_google, Admin, TestApp, GOOGLE_CLIENT_ID, GOOGLE_SECRET};
use app::error::AppError;
use app::model::{
    AccountsPage, ConnectionTestResult, DomainOwnership, GooglePanel, OwnershipProof, RunDetail,
};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use roster_core::{AccountSource, RunState};
use roster_m365_emulator::google::{self, GenerateSpec, WorkspaceFile};
use sqlx::PgPool;
use std::time::Duration;
use url::Url;
use uuid::Uuid;

const ACME: &str = "C03az79cb";
const ACME_ADMIN: &str = "admin@acme.com";

/// An emulator with the Acme fixture and a second, generated Workspace (`globex.example`).
async fn emulator() -> google::RunningGoogle {
    let acme: WorkspaceFile = serde_json::from_str(include_str!(
        "../../../emulator/tests/fixtures/acme-workspace.json"
    ))
    .unwrap();
    let config = google::GoogleConfig::new(GOOGLE_CLIENT_ID, GOOGLE_SECRET)
        .with_workspace(acme)
        .with_generated(GenerateSpec {
            users: 5,
            groups: 1,
            domains: vec!["globex.example".into()],
            domain_aliases: Vec::new(),
            ..Default::default()
        });
    google::spawn(config).await.unwrap()
}

struct Setup {
    emu: google::RunningGoogle,
    app: TestApp,
    admin: Admin,
    domain: String,
}

async fn setup(pool: PgPool) -> Setup {
    let emu = emulator().await;
    let app = spawn_app_with_google(pool, emu.base_url()).await;
    let admin = app.admin("Acme").await;
    let domain = admin
        .create_domain("acme.com", "google_workspace")
        .await
        .to_string();
    Setup {
        emu,
        app,
        admin,
        domain,
    }
}

async fn connections(app: &TestApp) -> i64 {
    sqlx::query_scalar!(r#"select count(*) as "n!" from google_connections"#)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

async fn location(res: reqwest::Response) -> String {
    let status = res.status();
    assert!(
        status.is_redirection(),
        "expected a redirect, got {status}: {}",
        res.text().await.unwrap()
    );
    res.headers()[LOCATION].to_str().unwrap().to_owned()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Setup {
    /// "Grant permission": the URL of Google's consent screen.
    async fn grant(&self, admin: &Admin) -> Url {
        let res = admin
            .raw("grant_google", &[("domain_id", &self.domain)])
            .await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{}",
            res.text().await.unwrap()
        );
        Url::parse(res.headers()[LOCATION].to_str().unwrap()).unwrap()
    }

    /// Google's consent screen answered by `account` (`allow` or `cancel`): where Google
    /// sends the browser back to.
    async fn consent(&self, authorize: &Url, account: &str, decision: &str) -> Url {
        let page = no_redirects()
            .get(authorize.as_str())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let request = page
            .split("name=\"request\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no consent request in {page}"))
            .to_owned();
        let res = no_redirects()
            .post(format!("{}/_emulator/oauth/consent", self.emu.base_url()))
            .form(&[
                ("request", request.as_str()),
                ("decision", decision),
                ("account", account),
            ])
            .send()
            .await
            .unwrap();
        Url::parse(&location(res).await).unwrap()
    }

    /// Roster's answer to the URL Google redirected `admin`'s browser to.
    async fn back(&self, admin: &Admin, url: &Url) -> reqwest::Response {
        admin
            .get(&format!("{}?{}", url.path(), url.query().unwrap_or("")))
            .await
    }

    /// The whole grant by `account`; the outcome Roster redirects to.
    async fn granted_by(&self, account: &str) -> String {
        let authorize = self.grant(&self.admin).await;
        let back = self.consent(&authorize, account, "allow").await;
        location(self.back(&self.admin, &back).await).await
    }

    async fn panel(&self) -> GooglePanel {
        self.admin
            .ok("get_google_connection", &[("domain_id", &self.domain)])
            .await
    }

    async fn manual_sync(&self) -> RunDetail {
        let run: Uuid = self
            .admin
            .ok(
                "start_sync",
                &[("domain_id", &self.domain), ("mode", "manual")],
            )
            .await;
        for _ in 0..600 {
            let detail: RunDetail = self
                .admin
                .ok(
                    "get_sync_run",
                    &[("domain_id", &self.domain), ("run_id", &run.to_string())],
                )
                .await;
            if !detail.run.is_active() {
                return detail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("run {run} did not finish in a minute");
    }

    async fn accounts(&self) -> AccountsPage {
        self.admin
            .ok("list_accounts", &[("domain_id", &self.domain)])
            .await
    }

    /// The emulator's grants: (email, revoked).
    fn grants(&self) -> Vec<(String, bool)> {
        self.emu
            .state()
            .lock()
            .grants
            .values()
            .map(|g| (g.email.clone(), g.revoked))
            .collect()
    }
}

async fn refused(res: reqwest::Response, says: &str) {
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(body.contains(says), "{says:?} not in {body}");
    assert!(body.contains("Nothing was changed"));
    assert!(body.contains("Google Workspace Sync page"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_super_admins_grant_connects_the_domain_which_then_syncs(pool: PgPool) {
    let s = setup(pool).await;
    let panel = s.panel().await;
    assert!(panel.configured);
    assert_eq!(panel.connection, None);

    let authorize = s.grant(&s.admin).await;
    assert_eq!(
        authorize.path(),
        "/o/oauth2/v2/auth",
        "Google's consent screen"
    );
    assert_eq!(param(&authorize, "access_type"), "offline");
    assert_eq!(param(&authorize, "prompt"), "consent");
    assert_eq!(param(&authorize, "code_challenge_method"), "S256");
    let scope = param(&authorize, "scope");
    for wanted in [
        "admin.directory.user.readonly",
        "admin.directory.group.readonly",
        "admin.directory.group.member.readonly",
        "admin.directory.domain.readonly",
        "openid",
        "email",
    ] {
        assert!(scope.contains(wanted), "{wanted} not in {scope}");
    }
    assert!(param(&authorize, "redirect_uri").ends_with("/oauth/google/callback"));
    assert!(!param(&authorize, "nonce").is_empty());

    let back = s.consent(&authorize, ACME_ADMIN, "allow").await;
    let done = location(s.back(&s.admin, &back).await).await;
    assert_eq!(
        done,
        format!("/domains/{}/sync/google?grant=granted", s.domain)
    );

    let connection = s.panel().await.connection.expect("connected");
    assert_eq!(connection.customer_id, ACME);
    assert_eq!(connection.hosted_domain, "acme.com");
    assert_eq!(connection.granted_by, ACME_ADMIN);
    assert_eq!(connection.requested_by, s.admin.email);
    assert!(!connection.skip_suspended);
    // The Workspace vouches for the domain: no DNS record needed.
    let ownership: DomainOwnership = s
        .admin
        .ok("get_domain_ownership", &[("domain_id", &s.domain)])
        .await;
    assert_eq!(
        ownership.proof,
        OwnershipProof::Google {
            workspace: "acme.com".into()
        }
    );
    // The refresh token is sealed: nothing of Google's token format is readable at rest.
    let sealed: Vec<u8> =
        sqlx::query_scalar!("select refresh_token_sealed from google_connections")
            .fetch_one(&s.app.pool)
            .await
            .unwrap();
    assert!(!sealed.windows(3).any(|w| w == b"1//"));
    // The answer is good once.
    refused(s.back(&s.admin, &back).await, "already used once").await;

    // Test Connection: the first accounts as Roster would store them; nothing stored.
    let test: ConnectionTestResult = s
        .admin
        .ok("test_connection", &[("domain_id", &s.domain)])
        .await;
    let sample: Vec<&str> = test.accounts.iter().map(|a| a.address.as_str()).collect();
    assert!(sample.contains(&"alice@acme.com"), "{sample:?}");
    assert!(!sample.contains(&"bob@acme.net"), "{sample:?}");
    assert_eq!(s.accounts().await.total, 0);

    // A Manual Sync through the worker: users and groups of acme.com, nothing of other domains.
    let run = s.manual_sync().await;
    assert_eq!(run.run.status, RunState::Applied, "{:?}", run.run);
    let accounts = s.accounts().await;
    let by_address = |address: &str| accounts.rows.iter().find(|r| r.address == address);
    let alice = by_address("alice@acme.com").expect("alice");
    assert_eq!(alice.source, AccountSource::GoogleWorkspace);
    assert!(alice.aliases.contains(&"alice.example@acme.com".to_owned()));
    assert!(!alice.aliases.iter().any(|a| a.ends_with("acme.net")));
    assert!(by_address("sales@acme.com").is_some(), "the Sales group");
    // The group whose member is the whole Workspace keeps that meaning.
    assert!(by_address("everyone@acme.com").unwrap().includes_everyone);
    assert!(!by_address("sales@acme.com").unwrap().includes_everyone);
    assert!(
        by_address("dave@acme.com").unwrap().enabled,
        "archived: still receives mail"
    );
    assert!(
        !by_address("carol@acme.com").unwrap().enabled,
        "suspended: kept, disabled"
    );
    assert!(by_address("bob@acme.net").is_none());
    assert!(!accounts
        .rows
        .iter()
        .any(|r| r.aliases.iter().any(|a| a.contains("test-google-a.com"))));

    // "Skip suspended users": the next sync removes carol.
    s.admin
        .ok::<()>(
            "save_google_options",
            &[("domain_id", &s.domain), ("skip_suspended", "on")],
        )
        .await;
    assert!(s.panel().await.connection.unwrap().skip_suspended);
    let run = s.manual_sync().await;
    assert_eq!(run.run.status, RunState::Applied, "{:?}", run.run);
    let accounts = s.accounts().await;
    assert!(!accounts.rows.iter().any(|r| r.address == "carol@acme.com"));
    assert!(accounts.rows.iter().any(|r| r.address == "alice@acme.com"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bad_state_gets_an_error_page_and_stores_nothing(pool: PgPool) {
    let s = setup(pool).await;
    let a = &s.admin;
    let authorize = s.grant(a).await;
    let back = s.consent(&authorize, ACME_ADMIN, "allow").await;
    let code = param(&back, "code");
    let state = param(&back, "state");
    let answer = |state: &str| {
        format!(
            "/oauth/google/callback?{}",
            serde_urlencoded::to_string([("state", state), ("code", code.as_str())]).unwrap()
        )
    };

    // Missing, garbage, or well-formed but never issued: a forged callback.
    refused(
        a.get(&format!("/oauth/google/callback?code={code}")).await,
        "did not say which request",
    )
    .await;
    refused(a.get(&answer("nonsense")).await, "Roster did not make").await;
    let forged = format!("{}.{}", a.organization_id.simple(), "ab".repeat(32));
    refused(a.get(&answer(&forged)).await, "Roster did not make").await;

    // Another session: the same admin signed in elsewhere, and a browser without one.
    let elsewhere = s.app.admin_session(&a.email).await;
    refused(
        elsewhere.get(&answer(&state)).await,
        "another sign-in session",
    )
    .await;
    refused(
        s.app.anonymous().get(&answer(&state)).await,
        "another sign-in session",
    )
    .await;
    assert_eq!(connections(&s.app).await, 0);

    // Expired: ten minutes passed.
    let old = s.consent(&s.grant(a).await, ACME_ADMIN, "allow").await;
    sqlx::query!("update google_grant_requests set expires_at = now() - interval '1 second'")
        .execute(&s.app.pool)
        .await
        .unwrap();
    refused(s.back(a, &old).await, "more than 10 minutes old").await;
    assert_eq!(connections(&s.app).await, 0);

    // A fresh one works once; replayed, it is refused.
    let fresh = s.consent(&s.grant(a).await, ACME_ADMIN, "allow").await;
    let done = location(s.back(a, &fresh).await).await;
    assert!(done.ends_with("?grant=granted"), "{done}");
    refused(s.back(a, &fresh).await, "already used once").await;
    assert_eq!(connections(&s.app).await, 1);
    // Its secrets are gone once used.
    let left: i64 = sqlx::query_scalar!(
        r#"select count(*) as "n!" from google_grant_requests where used_at is not null and (nonce is not null or pkce_verifier is not null)"#
    )
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
}

/// Another Workspace's super admin grants permission for acme.com: Google proves who they
/// are, but their Workspace does not own the domain. Nothing is stored and the grant is given
/// back to Google.
#[sqlx::test(migrations = "../migrations")]
async fn another_workspaces_grant_for_this_domain_is_refused_and_revoked(pool: PgPool) {
    let s = setup(pool).await;
    let globex_admin = s
        .emu
        .state()
        .lock()
        .workspaces
        .iter()
        .find(|w| w.primary_domain == "globex.example")
        .and_then(|w| w.users.values().find(|u| u.is_admin))
        .map(|u| u.primary_email.clone())
        .expect("the generated Workspace has a super admin");
    let done = s.granted_by(&globex_admin).await;
    assert_eq!(
        done,
        format!("/domains/{}/sync/google?grant=not_owned", s.domain)
    );
    assert_eq!(connections(&s.app).await, 0);
    assert_eq!(s.grants(), vec![(globex_admin, true)], "revoked at Google");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_grant_by_a_user_who_is_not_a_super_admin_stores_nothing(pool: PgPool) {
    let s = setup(pool).await;
    let done = s.granted_by("alice@acme.com").await;
    assert!(done.ends_with("?grant=not_admin"), "{done}");
    assert_eq!(connections(&s.app).await, 0);
    assert_eq!(s.grants(), vec![("alice@acme.com".to_owned(), true)]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_cancelled_consent_screen_is_explained_and_stores_nothing(pool: PgPool) {
    let s = setup(pool).await;
    let authorize = s.grant(&s.admin).await;
    let back = s.consent(&authorize, ACME_ADMIN, "cancel").await;
    assert_eq!(param(&back, "error"), "access_denied");
    let done = location(s.back(&s.admin, &back).await).await;
    assert!(done.ends_with("?grant=cancelled"), "{done}");
    assert_eq!(connections(&s.app).await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_revoked_grant_is_explained_and_disconnect_revokes_at_google(pool: PgPool) {
    let s = setup(pool).await;
    assert!(s.granted_by(ACME_ADMIN).await.ends_with("?grant=granted"));

    // Revoked at Google (by the Workspace's admin): Test Connection says what to do.
    s.emu.state().revoke_all_grants();
    let (status, error) = s
        .admin
        .call::<ConnectionTestResult>("test_connection", &[("domain_id", &s.domain)])
        .await
        .unwrap_err();
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{error:?}");
    let AppError::Directory { message, .. } = error else {
        panic!("not a directory error: {error:?}")
    };
    assert!(
        message.contains("Grant permission again as a super admin"),
        "{message}"
    );

    // Granted again, then disconnected: revoked at Google, forgotten by Roster.
    assert!(s.granted_by(ACME_ADMIN).await.ends_with("?grant=granted"));
    assert_eq!(s.grants().iter().filter(|(_, revoked)| !revoked).count(), 1);
    s.admin
        .ok::<()>("disconnect_google", &[("domain_id", &s.domain)])
        .await;
    assert_eq!(connections(&s.app).await, 0);
    assert!(s.grants().iter().all(|(_, revoked)| *revoked));
    let (status, _) = s
        .admin
        .call::<Uuid>(
            "start_sync",
            &[("domain_id", &s.domain), ("mode", "manual")],
        )
        .await
        .unwrap_err();
    assert_eq!(status, StatusCode::CONFLICT);
}

/// A domain that is a domain alias of the Workspace (`in.acme.com`) syncs the addresses the
/// alias gives every user and group; once the Workspace drops the alias, a run fails and
/// changes nothing.
#[sqlx::test(migrations = "../migrations")]
async fn a_domain_alias_syncs_until_the_workspace_drops_it(pool: PgPool) {
    let emu = emulator().await;
    let app = spawn_app_with_google(pool, emu.base_url()).await;
    let admin = app.admin("Acme").await;
    let domain = admin
        .create_domain("in.acme.com", "google_workspace")
        .await
        .to_string();
    let s = Setup {
        emu,
        app,
        admin,
        domain,
    };
    assert!(s.granted_by(ACME_ADMIN).await.ends_with("?grant=granted"));
    let run = s.manual_sync().await;
    assert_eq!(run.run.status, RunState::Applied, "{:?}", run.run);
    let addresses: Vec<String> = s
        .accounts()
        .await
        .rows
        .into_iter()
        .map(|r| r.address)
        .collect();
    assert!(
        addresses.contains(&"alice@in.acme.com".to_owned()),
        "{addresses:?}"
    );
    assert!(
        addresses.contains(&"sales@in.acme.com".to_owned()),
        "{addresses:?}"
    );
    assert!(
        !addresses.iter().any(|a| !a.ends_with("@in.acme.com")),
        "{addresses:?}"
    );

    s.emu
        .state()
        .edit_workspace(ACME, |ws| {
            ws.domain_aliases.clear();
            Ok(())
        })
        .unwrap();
    let run = s.manual_sync().await;
    assert_eq!(run.run.status, RunState::Failed, "{:?}", run.run);
    let error = run.error.unwrap_or_default();
    assert!(
        error.contains(
            "in.acme.com is not a verified domain or domain alias of the Google Workspace acme.com"
        ),
        "{error}"
    );
    assert_eq!(
        s.accounts().await.total,
        i64::try_from(addresses.len()).unwrap()
    );
}
