//! The Microsoft 365 connection against the emulator: admin consent (the `state` checks, the
//! answers Microsoft can give, the sign-in that proves the tenant, confirming the tenant),
//! Disconnect and Test Connection.

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
/// Contoso's Global Administrator in the fixture.
const CONTOSO_ADMIN_ID: &str = "00000000-0000-0000-0000-000000000001";
const CONTOSO_ADMIN: &str = "admin@contoso.onmicrosoft.com";

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

/// Roster's answer to a URL Microsoft redirected the browser to.
async fn follow(admin: &Admin, url: &Url) -> reqwest::Response {
    admin
        .get(&format!("{}?{}", url.path(), url.query().unwrap_or("")))
        .await
}

/// The consent answer for Contoso: Roster sends the admin on to sign in there.
async fn consent_answer(admin: &Admin, state: &str) -> Url {
    Url::parse(&location(callback(admin, &accepted(state)).await).await).unwrap()
}

/// Microsoft's sign-in page answered as Contoso's Global Administrator (the form the page posts):
/// the browser is sent back to Roster with a code.
async fn sign_in(emu: &RunningEmulator, authorize: &Url) -> Url {
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("tenant".into(), CONTOSO.into()));
    form.push(("account".into(), format!("{CONTOSO}:{CONTOSO_ADMIN_ID}")));
    form.push(("decision".into(), "sign-in".into()));
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/_emulator/sign-in", emu.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    Url::parse(&location(res).await).unwrap()
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

    // The emulator's consent screen, accepted as the tenant's Global Administrator, in a
    // browser that keeps the identity platform's session cookie.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
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

    // The consent answer only claims Contoso: Roster asks the admin to sign in there (OpenID
    // Connect, code flow, PKCE, a nonce, a new state), and stores nothing yet.
    let authorize = Url::parse(&location(follow(&a, &back).await).await).unwrap();
    assert_eq!(
        authorize.as_str().split('?').next().unwrap(),
        format!("{}/{CONTOSO}/oauth2/v2.0/authorize", emu.base_url())
    );
    assert_eq!(param(&authorize, "response_type"), "code");
    assert_eq!(param(&authorize, "scope"), "openid profile");
    assert_eq!(param(&authorize, "client_id"), MS_CLIENT_ID);
    assert_eq!(param(&authorize, "code_challenge_method"), "S256");
    assert!(!param(&authorize, "nonce").is_empty());
    assert_eq!(
        param(&authorize, "redirect_uri"),
        param(&consent, "redirect_uri")
    );
    let sign_in_state = param(&authorize, "state");
    assert_ne!(sign_in_state, state);
    assert!(sign_in_state.starts_with(&a.organization_id.simple().to_string()));
    assert_eq!(connections(&app).await, 0);

    // The session the consent left answers at once: no second screen.
    let signed_in = http.get(authorize.clone()).send().await.unwrap();
    let back = Url::parse(&location(signed_in).await).unwrap();
    assert_eq!(param(&back, "state"), sign_in_state);
    assert!(!param(&back, "code").is_empty());

    let done = location(follow(&a, &back).await).await;
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
    // Who granted it is the account that signed in at Microsoft, not the Roster admin.
    assert_eq!(c.granted_by, CONTOSO_ADMIN);
    assert!(c.granter_proven && c.granted_by_global_admin);
    let stored = sqlx::query!(
        "select granted_by_oid, granted_by_email, granted_by_name from microsoft_connections"
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored.granted_by_oid.as_deref(), Some(CONTOSO_ADMIN_ID));
    assert_eq!(stored.granted_by_email, a.email);
    assert_eq!(stored.granted_by_name.as_deref(), Some("MOD Administrator"));
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

    // A good one works once; the same answer again is a replay. So is the sign-in's.
    let fresh = param(&grant(&a, &domain).await, "state");
    let authorize = consent_answer(&a, &fresh).await;
    refused(callback(&a, &accepted(&fresh)).await, "already used once").await;
    // The sign-in step's state does not take a consent answer.
    let sign_in_state = param(&authorize, "state");
    refused(
        callback(&a, &accepted(&sign_in_state)).await,
        "does not fit the step",
    )
    .await;
    let back = sign_in(&emu, &authorize).await;
    let done = location(follow(&a, &back).await).await;
    assert!(done.ends_with("?consent=granted"), "{done}");
    assert_eq!(connections(&app).await, 1);
    refused(follow(&a, &back).await, "already used once").await;
    assert_eq!(connections(&app).await, 1);
}

/// Issue #8: a consent answer typed by hand for another customer's tenant (a tenant id is
/// public) connects nothing: Roster asks for a sign-in at that tenant, which the attacker
/// can't give.
#[sqlx::test(migrations = "../migrations")]
async fn a_forged_consent_answer_for_another_tenant_connects_nothing(pool: PgPool) {
    // Contoso consented to Roster for its real owner long ago.
    let emu = emulator(true).await;
    let app = spawn_app_with_microsoft(pool, emu.base_url()).await;
    let attacker = app.admin("Mallory").await;
    let domain = attacker
        .create_domain("contoso.net", "office365")
        .await
        .to_string();
    let page = format!("/domains/{domain}/sync/office365");
    // "Grant permission", skip Microsoft, answer for Contoso.
    let state = param(&grant(&attacker, &domain).await, "state");
    let authorize = consent_answer(&attacker, &state).await;
    assert!(authorize.as_str().starts_with(&format!(
        "{}/{CONTOSO}/oauth2/v2.0/authorize?",
        emu.base_url()
    )));
    assert_eq!(connections(&app).await, 0);
    let panel: MicrosoftPanel = attacker
        .ok("get_microsoft_connection", &[("domain_id", &domain)])
        .await;
    assert_eq!(panel.connection, None, "no tenant name or domains shown");

    // Microsoft asks for an account of Contoso (no session): the attacker has none.
    let screen = reqwest::get(authorize.clone()).await.unwrap();
    assert_eq!(screen.status(), StatusCode::OK);
    assert!(screen.text().await.unwrap().contains("Sign in"));

    // A made-up code, or a made-up answer without one, proves nothing and says so.
    let sign_in_state = param(&authorize, "state");
    assert_eq!(
        location(callback(&attacker, &[("code", "forged"), ("state", &sign_in_state)]).await).await,
        format!("{page}?consent=unproven&code=AADSTS9002313")
    );
    assert_eq!(connections(&app).await, 0);
    let state = param(&grant(&attacker, &domain).await, "state");
    let authorize = consent_answer(&attacker, &state).await;
    assert_eq!(
        location(
            callback(
                &attacker,
                &[
                    ("error", "interaction_required"),
                    ("state", &param(&authorize, "state"))
                ]
            )
            .await
        )
        .await,
        format!("{page}?consent=unproven&code=interaction_required")
    );
    assert_eq!(connections(&app).await, 0);
}

/// Each way an ID token can be wrong: refused, nothing stored.
#[sqlx::test(migrations = "../migrations")]
async fn id_tokens_of_another_tenant_nonce_expired_or_badly_signed_are_refused(pool: PgPool) {
    let emu = emulator(true).await;
    let app = spawn_app_with_microsoft(pool, emu.base_url()).await;
    let a = app.admin("Alpha").await;
    let domain = a
        .create_domain("contoso.com", "office365")
        .await
        .to_string();
    let page = format!("/domains/{domain}/sync/office365");
    for fault in ["otherTenant", "wrongNonce", "expired", "badSignature"] {
        let res = reqwest::Client::new()
            .put(format!("{}/_emulator/faults/id-token", emu.base_url()))
            .json(&serde_json::json!({ "fault": fault }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        let state = param(&grant(&a, &domain).await, "state");
        let back = sign_in(&emu, &consent_answer(&a, &state).await).await;
        assert_eq!(
            location(follow(&a, &back).await).await,
            format!("{page}?consent=unproven"),
            "{fault}"
        );
        assert_eq!(connections(&app).await, 0, "{fault}");
    }
    // The faults were one-shot: the next sign-in proves the tenant.
    connect(&a, &emu, &domain).await;
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

    // "Accepted" for a tenant that does not exist: the sign-in can't even start there.
    let s = param(&grant(&a, &domain).await, "state");
    let unknown_tenant = Uuid::new_v4().to_string();
    let mut q = accepted(&s);
    q[1] = ("tenant", &unknown_tenant);
    let authorize = Url::parse(&location(callback(&a, &q).await).await).unwrap();
    let screen = reqwest::get(authorize).await.unwrap();
    assert_eq!(screen.status(), StatusCode::BAD_REQUEST);
    assert!(screen.text().await.unwrap().contains("AADSTS90002"));
    // Proven by a sign-in, but Roster can't get an app token: not stored either.
    control(
        &emu,
        reqwest::Method::DELETE,
        &format!("/_emulator/tenants/{CONTOSO}/consent"),
    )
    .await;
    let s = param(&grant(&a, &domain).await, "state");
    let back = sign_in(&emu, &consent_answer(&a, &s).await).await;
    assert_eq!(
        location(follow(&a, &back).await).await,
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

/// Connects `domain` to Contoso through the callback: consent, then the sign-in.
async fn connect(a: &Admin, emu: &RunningEmulator, domain: &str) {
    let s = param(&grant(a, domain).await, "state");
    let back = sign_in(emu, &consent_answer(a, &s).await).await;
    let done = location(follow(a, &back).await).await;
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
    connect(&a, &emu, &domain).await;
    connect(&a, &emu, &other).await; // several domains may use the same tenant
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
        .call::<ConnectionTestResult>("test_connection", &args)
        .await;
    assert!(
        matches!(not_yet, Err((StatusCode::CONFLICT, AppError::NotConnected))),
        "{not_yet:?}"
    );

    connect(&a, &emu, &domain).await;
    let result: ConnectionTestResult = a.ok("test_connection", &args).await;
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
        .call::<ConnectionTestResult>("test_connection", &args)
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
    connect(&a, &emu, &domain).await;
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
