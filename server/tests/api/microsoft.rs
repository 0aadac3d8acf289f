//! The Microsoft 365 connection against the emulator: admin consent (the `state` checks, the
//! answers Microsoft can give, confirming the tenant), Disconnect and Test Connection.

#![allow(clippy::unwrap_used)]

use crate::helpers::{
    spawn_app, spawn_app_with_microsoft, Admin, TestApp, MS_CLIENT_ID, MS_SECRET,
};
use app::error::AppError;
use app::model::{AccountsPage, ConnectionTestResult, MicrosoftPanel};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use roster_m365_emulator::{spawn, EmulatorConfig, RunningEmulator, TenantFile};
use sqlx::PgPool;
use url::Url;
use uuid::Uuid;

const CONTOSO: &str = "6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f";

async fn emulator(consented: bool) -> RunningEmulator {
    let mut tenant: TenantFile = serde_json::from_str(include_str!(
        "../../../emulator/tests/fixtures/contoso.json"
    ))
    .unwrap();
    tenant.consented = Some(consented);
    spawn(EmulatorConfig::new(MS_CLIENT_ID, MS_SECRET).with_tenant(tenant))
        .await
        .unwrap()
}

async fn connections(app: &TestApp) -> i64 {
    sqlx::query_scalar!(r#"select count(*) as "n!" from microsoft_connections"#)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Asks for consent; returns the URL of Microsoft's consent screen.
async fn grant(admin: &Admin, domain: &str) -> Url {
    let res = admin
        .raw("grant_microsoft_consent", &[("domain_id", domain)])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    Url::parse(res.headers()[LOCATION].to_str().unwrap()).unwrap()
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// Microsoft's redirect back to Roster, as the admin's browser follows it.
async fn callback(admin: &Admin, query: &[(&str, &str)]) -> reqwest::Response {
    admin
        .get(&format!(
            "/oauth/microsoft/callback?{}",
            serde_urlencoded::to_string(query).unwrap()
        ))
        .await
}

fn accepted(state: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("admin_consent", "True"),
        ("tenant", CONTOSO),
        ("scope", "https://graph.microsoft.com/.default"),
        ("state", state),
    ]
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

async fn refused(res: reqwest::Response, says: &str) {
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(body.contains(says), "{says:?} not in {body}");
    assert!(body.contains("Nothing was changed"));
}

#[sqlx::test(migrations = "../migrations")]
async fn consent_through_the_emulator_connects_the_domain(pool: PgPool) {
    let emu = emulator(false).await;
    let app = spawn_app_with_microsoft(pool, emu.base_url()).await;
    let a = app.admin("Alpha").await;
    let domain = a
        .create_domain("contoso.com", "office365")
        .await
        .to_string();
    let panel: MicrosoftPanel = a
        .ok("get_microsoft_connection", &[("domain_id", &domain)])
        .await;
    assert!(panel.configured);
    assert_eq!(panel.connection, None);

    let consent = grant(&a, &domain).await;
    assert_eq!(
        consent.as_str().split('?').next().unwrap(),
        format!("{}/organizations/v2.0/adminconsent", emu.base_url())
    );
    assert_eq!(param(&consent, "client_id"), MS_CLIENT_ID);
    assert_eq!(
        param(&consent, "scope"),
        "https://graph.microsoft.com/.default"
    );
    assert_eq!(
        param(&consent, "redirect_uri"),
        format!("{}/oauth/microsoft/callback", app.address)
    );
    let state = param(&consent, "state");
    assert!(state.starts_with(&a.organization_id.simple().to_string()));

    // The emulator's consent screen, accepted as the tenant's Global Administrator.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(consent.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Permissions requested"));
    let answer = http
        .post(format!("{}/_emulator/consent", emu.base_url()))
        .form(&[
            ("tenant", "organizations"),
            ("client_id", MS_CLIENT_ID),
            ("scope", param(&consent, "scope").as_str()),
            ("redirect_uri", param(&consent, "redirect_uri").as_str()),
            ("state", state.as_str()),
            ("account", format!("admin:{CONTOSO}").as_str()),
            ("decision", "accept"),
        ])
        .send()
        .await
        .unwrap();
    let back = Url::parse(&location(answer).await).unwrap();
    assert!(back.as_str().starts_with(&param(&consent, "redirect_uri")));
    assert_eq!(param(&back, "tenant"), CONTOSO);

    let done = location(
        a.get(&format!("{}?{}", back.path(), back.query().unwrap()))
            .await,
    )
    .await;
    assert_eq!(
        done,
        format!("/domains/{domain}/sync/office365?consent=granted")
    );
    let panel: MicrosoftPanel = a
        .ok("get_microsoft_connection", &[("domain_id", &domain)])
        .await;
    let c = panel.connection.expect("connected");
    assert_eq!(
        (c.tenant_id.as_str(), c.tenant_name.as_str()),
        (CONTOSO, "Contoso")
    );
    assert_eq!(c.granted_by, a.email);
    assert!(c.domain_verified);
    assert_eq!(c.tenant_domains[0], "contoso.com");
    assert!((chrono::Utc::now() - c.granted_at).num_seconds() < 60);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bad_state_gets_an_error_page_and_stores_nothing(pool: PgPool) {
    let emu = emulator(true).await;
    let app = spawn_app_with_microsoft(pool, emu.base_url()).await;
    let a = app.admin("Alpha").await;
    let domain = a
        .create_domain("contoso.com", "office365")
        .await
        .to_string();
    let state = param(&grant(&a, &domain).await, "state");

    // Missing, garbage, or well-formed but never issued.
    refused(
        callback(&a, &[("admin_consent", "True"), ("tenant", CONTOSO)]).await,
        "did not say which request",
    )
    .await;
    refused(
        callback(&a, &accepted("nonsense")).await,
        "Roster did not make",
    )
    .await;
    let forged = format!("{}.{}", a.organization_id.simple(), "ab".repeat(32));
    refused(
        callback(&a, &accepted(&forged)).await,
        "Roster did not make",
    )
    .await;

    // Another session: the same admin signed in elsewhere, and a browser without a session.
    let elsewhere = app.admin_session(&a.email).await;
    refused(
        callback(&elsewhere, &accepted(&state)).await,
        "another sign-in session",
    )
    .await;
    refused(
        callback(&app.anonymous(), &accepted(&state)).await,
        "another sign-in session",
    )
    .await;

    // Expired: ten minutes passed.
    let old = param(&grant(&a, &domain).await, "state");
    sqlx::query!("update microsoft_consent_requests set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    refused(
        callback(&a, &accepted(&old)).await,
        "more than 10 minutes old",
    )
    .await;
    refused(
        callback(&a, &accepted(&state)).await,
        "more than 10 minutes old",
    )
    .await;
    assert_eq!(connections(&app).await, 0);

    // A good one works once; the same answer again is a replay.
    let fresh = param(&grant(&a, &domain).await, "state");
    let done = location(callback(&a, &accepted(&fresh)).await).await;
    assert!(done.ends_with("?consent=granted"), "{done}");
    assert_eq!(connections(&app).await, 1);
    refused(callback(&a, &accepted(&fresh)).await, "already used once").await;
    assert_eq!(connections(&app).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn cancel_denial_and_errors_are_explained_and_store_nothing(pool: PgPool) {
    let emu = emulator(true).await;
    let app = spawn_app_with_microsoft(pool, emu.base_url()).await;
    let a = app.admin("Alpha").await;
    let domain = a
        .create_domain("contoso.com", "office365")
        .await
        .to_string();
    let page = format!("/domains/{domain}/sync/office365");

    let s = param(&grant(&a, &domain).await, "state");
    let cancelled = callback(
        &a,
        &[
            ("error", "access_denied"),
            ("error_subcode", "cancel"),
            ("error_description", "AADSTS65004: User declined to consent to access the app.\r\nTrace ID: 1\r\nCorrelation ID: 2"),
            ("state", &s),
        ],
    )
    .await;
    assert_eq!(
        location(cancelled).await,
        format!("{page}?consent=cancelled&code=AADSTS65004")
    );

    let s = param(&grant(&a, &domain).await, "state");
    let denied = callback(
        &a,
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "AADSTS90094: The grant requires admin permission.",
            ),
            ("state", &s),
        ],
    )
    .await;
    assert_eq!(
        location(denied).await,
        format!("{page}?consent=denied&code=AADSTS90094")
    );

    let s = param(&grant(&a, &domain).await, "state");
    let odd = callback(
        &a,
        &[
            ("error", "<script>alert(1)</script>"),
            ("error_description", "no code"),
            ("state", &s),
        ],
    )
    .await;
    assert_eq!(location(odd).await, format!("{page}?consent=failed"));

    // "Accepted" for a tenant Roster can't get a token for proves nothing.
    let s = param(&grant(&a, &domain).await, "state");
    let unknown_tenant = Uuid::new_v4().to_string();
    let mut q = accepted(&s);
    q[1] = ("tenant", &unknown_tenant);
    assert_eq!(
        location(callback(&a, &q).await).await,
        format!("{page}?consent=unconfirmed&code=AADSTS90002")
    );
    control(
        &emu,
        reqwest::Method::DELETE,
        &format!("/_emulator/tenants/{CONTOSO}/consent"),
    )
    .await;
    let s = param(&grant(&a, &domain).await, "state");
    assert_eq!(
        location(callback(&a, &accepted(&s)).await).await,
        format!("{page}?consent=unconfirmed&code=AADSTS700016")
    );
    assert_eq!(connections(&app).await, 0);
}

async fn control(emu: &RunningEmulator, method: reqwest::Method, path: &str) {
    let res = reqwest::Client::new()
        .request(method, format!("{}{path}", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
}

/// Connects `domain` to Contoso through the callback.
async fn connect(a: &Admin, domain: &str) {
    let s = param(&grant(a, domain).await, "state");
    let done = location(callback(a, &accepted(&s)).await).await;
    assert!(done.ends_with("?consent=granted"), "{done}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_domain_the_tenant_has_not_verified_is_flagged(pool: PgPool) {
    let emu = emulator(true).await;
    let app = spawn_app_with_microsoft(pool, emu.base_url()).await;
    let a = app.admin("Alpha").await;
    let domain = a
        .create_domain("fabrikam.example", "office365")
        .await
        .to_string();
    let other = a
        .create_domain("contoso.net", "office365")
        .await
        .to_string();
    connect(&a, &domain).await;
    connect(&a, &other).await; // several domains may use the same tenant
    let panel: MicrosoftPanel = a
        .ok("get_microsoft_connection", &[("domain_id", &domain)])
        .await;
    let c = panel.connection.unwrap();
    assert!(!c.domain_verified);
    assert_eq!(
        c.tenant_domains,
        ["contoso.com", "contoso.net", "contoso.onmicrosoft.com"]
    );
    let panel: MicrosoftPanel = a
        .ok("get_microsoft_connection", &[("domain_id", &other)])
        .await;
    assert!(panel.connection.unwrap().domain_verified);
    // The check at connection time decides ownership: the unverified domain can't be synced,
    // the verified one counts as proven by its tenant.
    let refused = a
        .call::<uuid::Uuid>("start_sync", &[("domain_id", &domain), ("mode", "test")])
        .await;
    assert!(
        matches!(
            refused,
            Err((
                reqwest::StatusCode::CONFLICT,
                app::error::AppError::OwnershipNotVerified(_)
            ))
        ),
        "{refused:?}"
    );
    let ownership: app::model::DomainOwnership =
        a.ok("get_domain_ownership", &[("domain_id", &other)]).await;
    assert!(matches!(
        ownership.proof,
        app::model::OwnershipProof::Microsoft { .. }
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn test_connection_shows_accounts_stores_nothing_and_explains_revoked_consent(pool: PgPool) {
    let emu = emulator(true).await;
    let app = spawn_app_with_microsoft(pool, emu.base_url()).await;
    let a = app.admin("Alpha").await;
    let domain = a
        .create_domain("contoso.com", "office365")
        .await
        .to_string();
    let args = [("domain_id", domain.as_str())];

    let not_yet = a
        .call::<ConnectionTestResult>("test_microsoft_connection", &args)
        .await;
    assert!(
        matches!(not_yet, Err((StatusCode::CONFLICT, AppError::NotConnected))),
        "{not_yet:?}"
    );

    connect(&a, &domain).await;
    let result: ConnectionTestResult = a.ok("test_microsoft_connection", &args).await;
    assert!(!result.accounts.is_empty() && result.accounts.len() <= 10);
    assert!(result.users_read > 0 && result.groups_read > 0);
    assert!(result
        .accounts
        .iter()
        .all(|acc| acc.address.ends_with("@contoso.com")));
    let adele = result
        .accounts
        .iter()
        .find(|acc| acc.address == "adele.vance@contoso.com")
        .expect("Adele is among the first accounts");
    assert!(adele.aliases.iter().all(|al| al.ends_with("@contoso.com")));
    let page: AccountsPage = a.ok("list_accounts", &args).await;
    assert_eq!(page.total, 0, "a connection test stores nothing");

    control(
        &emu,
        reqwest::Method::DELETE,
        &format!("/_emulator/tenants/{CONTOSO}/consent"),
    )
    .await;
    match a
        .call::<ConnectionTestResult>("test_microsoft_connection", &args)
        .await
    {
        Err((
            StatusCode::BAD_GATEWAY,
            AppError::Directory {
                message,
                microsoft_code,
            },
        )) => {
            assert!(message.contains("admin consent was revoked"), "{message}");
            assert_eq!(
                microsoft_code.as_deref(),
                Some("Authorization_RequestDenied")
            );
        }
        other => panic!("expected a directory error, got {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn disconnect_forgets_the_tenant_and_keeps_the_accounts(pool: PgPool) {
    let emu = emulator(true).await;
    let app = spawn_app_with_microsoft(pool, emu.base_url()).await;
    let a = app.admin("Alpha").await;
    let domain = a
        .create_domain("contoso.com", "office365")
        .await
        .to_string();
    let args = [("domain_id", domain.as_str())];
    connect(&a, &domain).await;
    let _: serde_json::Value = a
        .ok(
            "add_account",
            &[
                ("domain_id", &domain),
                ("local_part", "info"),
                ("kind", "mailbox"),
            ],
        )
        .await;
    let _: () = a.ok("disconnect_microsoft", &args).await;
    let panel: MicrosoftPanel = a.ok("get_microsoft_connection", &args).await;
    assert_eq!(panel.connection, None);
    let page: AccountsPage = a.ok("list_accounts", &args).await;
    assert_eq!(page.total, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn without_an_app_registration_nothing_can_be_granted(pool: PgPool) {
    let app = spawn_app(pool).await;
    let a = app.admin("Alpha").await;
    let domain = a
        .create_domain("contoso.com", "office365")
        .await
        .to_string();
    let args = [("domain_id", domain.as_str())];
    let panel: MicrosoftPanel = a.ok("get_microsoft_connection", &args).await;
    assert!(!panel.configured);
    let refused = a.call::<()>("grant_microsoft_consent", &args).await;
    assert!(
        matches!(
            refused,
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                AppError::MicrosoftNotConfigured
            ))
        ),
        "{refused:?}"
    );
    let res = a.get("/oauth/microsoft/callback?state=x").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Nor can a sync start.
    let overview: app::model::SyncOverview = a.ok("get_sync_overview", &args).await;
    assert!(!overview.configured && !overview.connected);
    let sync = a
        .call::<uuid::Uuid>(
            "start_sync",
            &[("domain_id", domain.as_str()), ("mode", "manual")],
        )
        .await;
    assert!(
        matches!(
            sync,
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                AppError::MicrosoftNotConfigured
            ))
        ),
        "{sync:?}"
    );
}
