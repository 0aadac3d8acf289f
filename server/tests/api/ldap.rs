//! The AD/LDAP Sync page's server functions: settings saved with the password sealed and never
//! returned, every bad field refused with nothing changed, another organization's domain not
//! found, LDAP off without ROSTER_SECRET_KEY; and the connector registry: Manual Sync of an
//! LDAP domain is refused until its settings are saved and its ownership proven, then queued
//! with source `ldap`, and a scheduled run of an unproven LDAP domain changes nothing.

#![allow(clippy::unwrap_used)]

use crate::helpers::{
    spawn_app_configured, spawn_app_without_secret_key, test_secret_key, Admin, TestApp,
};
use app::error::AppError;
use app::model::{LdapPanel, SyncOverview, LDAP_NOT_CONFIGURED};
use app::ssr::secrets::ldap_password_context;
use reqwest::StatusCode;
use roster_core::{Clock, FakeClock, RunState};
use roster_server::{schedule, worker};
use sqlx::PgPool;
use uuid::Uuid;

const PASSWORD: &str = "Ldap-s3cret-for-roster";

fn form<'a>(domain: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("domain_id", domain),
        ("preset", "openldap"),
        ("servers", "dc1.contoso.example, 10.0.0.2"),
        ("security", "ldaps"),
        ("port", ""),
        ("verify_certificate", "on"),
        ("ca_pem", ""),
        ("bind_user", "cn=roster,ou=Service,dc=contoso,dc=example"),
        ("password", password),
        (
            "base_dns",
            "ou=Staff,dc=contoso,dc=example\nou=Lists,dc=contoso,dc=example",
        ),
        ("filter", ""),
        ("email_attribute", "mail"),
        ("alias_attributes", "mailLocalAddress"),
        ("list_attribute", "objectClass"),
        ("list_value", "groupOfNames"),
    ]
}

async fn ldap_domain(app: &TestApp, org: &str) -> (Admin, String) {
    let a = app.admin(org).await;
    let domain = a
        .create_domain(&crate::helpers::unique_domain("ldap"), "on_premise")
        .await;
    (a, domain.to_string())
}

async fn sealed(app: &TestApp, domain: &str) -> Option<Vec<u8>> {
    sqlx::query_scalar!(
        "select password_sealed from ldap_connections where domain_id = $1::uuid",
        domain.parse::<Uuid>().unwrap()
    )
    .fetch_optional(&app.pool)
    .await
    .unwrap()
}

fn opens(a: &Admin, domain: &str, sealed: &[u8]) -> String {
    let context = ldap_password_context(a.organization_id, domain.parse().unwrap());
    String::from_utf8(test_secret_key().open(sealed, &context).unwrap()).unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn settings_are_saved_with_the_password_sealed_and_never_shown(pool: PgPool) {
    let app = spawn_app_configured(pool, false, None, false).await;
    let (a, domain) = ldap_domain(&app, "Contoso").await;
    let args = [("domain_id", domain.as_str())];
    let empty: LdapPanel = a.ok("get_ldap_settings", &args).await;
    assert!(empty.configured && empty.saved.is_none());

    a.ok::<()>("save_ldap_settings", &form(&domain, PASSWORD))
        .await;
    let panel: LdapPanel = a.ok("get_ldap_settings", &args).await;
    let saved = panel.saved.unwrap();
    assert_eq!(saved.preset, "openldap");
    assert_eq!(saved.updated_by, a.email);
    assert_eq!(saved.settings.servers, "dc1.contoso.example, 10.0.0.2");
    assert_eq!(saved.settings.port, "636", "LDAPS's port when left empty");
    assert!(saved.settings.verify_certificate);
    assert_eq!(
        saved.settings.base_dns,
        "ou=Staff,dc=contoso,dc=example\nou=Lists,dc=contoso,dc=example"
    );
    assert_eq!(saved.settings.alias_attributes, "mailLocalAddress");
    assert_eq!(
        saved.settings.filter, "",
        "empty: the built-in search string"
    );

    // Sealed in the database, bound to this row; never in an answer or on the page.
    let first = sealed(&app, &domain).await.unwrap();
    assert!(!first
        .windows(PASSWORD.len())
        .any(|w| w == PASSWORD.as_bytes()));
    assert_eq!(opens(&a, &domain, &first), PASSWORD);
    let other_row = ldap_password_context(a.organization_id, Uuid::new_v4());
    assert!(test_secret_key().open(&first, &other_row).is_err());
    let body = a
        .raw("get_ldap_settings", &args)
        .await
        .text()
        .await
        .unwrap();
    assert!(!body.contains(PASSWORD), "{body}");
    let page = a
        .client
        .get(format!("{}/domains/{domain}/sync/ldap", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("AD/LDAP Sync"));
    assert!(html.contains("A password is saved"));
    assert!(html.contains("dc1.contoso.example"));
    assert!(!html.contains(PASSWORD));

    // An empty password keeps the saved one; other changes are saved.
    let mut change = form(&domain, "");
    change[2] = ("servers", "dc3.contoso.example");
    a.ok::<()>("save_ldap_settings", &change).await;
    assert_eq!(sealed(&app, &domain).await.unwrap(), first);
    let panel: LdapPanel = a.ok("get_ldap_settings", &args).await;
    assert_eq!(panel.saved.unwrap().settings.servers, "dc3.contoso.example");

    // A new password is sealed anew.
    a.ok::<()>("save_ldap_settings", &form(&domain, "another-Passw0rd"))
        .await;
    let second = sealed(&app, &domain).await.unwrap();
    assert_ne!(second, first);
    assert_eq!(opens(&a, &domain, &second), "another-Passw0rd");
}

#[sqlx::test(migrations = "../migrations")]
async fn every_bad_field_is_named_and_nothing_is_saved(pool: PgPool) {
    let app = spawn_app_configured(pool, false, None, false).await;
    let (a, domain) = ldap_domain(&app, "Contoso").await;

    // The first save needs a password.
    let errors = a.invalid("save_ldap_settings", &form(&domain, "")).await;
    assert_eq!(crate::helpers::fields(&errors), ["password"]);
    assert!(sealed(&app, &domain).await.is_none(), "nothing saved");

    a.ok::<()>("save_ldap_settings", &form(&domain, PASSWORD))
        .await;
    let before: LdapPanel = a.ok("get_ldap_settings", &[("domain_id", &domain)]).await;
    let bad = [
        ("domain_id", domain.as_str()),
        ("servers", "ldap://dc1.contoso.example"),
        ("security", "ldaps"),
        ("port", "70000"),
        ("verify_certificate", "on"),
        ("ca_pem", "not a certificate"),
        ("bind_user", ""),
        ("password", "a-new-password"),
        ("base_dns", "contoso.example"),
        ("filter", "(&(mail=*)"),
        ("email_attribute", "mail address"),
        ("list_value", "[group"),
    ];
    let errors = a.invalid("save_ldap_settings", &bad).await;
    let mut named = crate::helpers::fields(&errors);
    named.sort_unstable();
    assert_eq!(
        named,
        [
            "attributes",
            "base_dns",
            "bind_user",
            "ca_pem",
            "filter",
            "list_value",
            "port",
            "servers"
        ]
    );
    let after: LdapPanel = a.ok("get_ldap_settings", &[("domain_id", &domain)]).await;
    assert_eq!(after, before, "a refused save changes nothing");
    assert_eq!(
        opens(&a, &domain, &sealed(&app, &domain).await.unwrap()),
        PASSWORD
    );

    // Only a domain of type On Premise/Hosted Exchange has LDAP settings.
    let o365 = a
        .create_domain(&crate::helpers::unique_domain("o365"), "office365")
        .await
        .to_string();
    let refused = a
        .call::<()>("save_ldap_settings", &form(&o365, PASSWORD))
        .await;
    assert!(
        matches!(refused, Err((StatusCode::CONFLICT, AppError::Conflict(_)))),
        "{refused:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn another_organizations_domain_is_not_found(pool: PgPool) {
    let app = spawn_app_configured(pool, false, None, false).await;
    let (a, domain) = ldap_domain(&app, "Contoso").await;
    a.ok::<()>("save_ldap_settings", &form(&domain, PASSWORD))
        .await;
    let before = sealed(&app, &domain).await;
    let b = app.admin("Fabrikam").await;
    for (name, args) in [
        ("get_ldap_settings", vec![("domain_id", domain.as_str())]),
        ("save_ldap_settings", form(&domain, "intruder-password")),
        ("test_connection", vec![("domain_id", domain.as_str())]),
    ] {
        let res = b.raw(name, &args).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{name}");
    }
    assert_eq!(sealed(&app, &domain).await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn without_a_secret_key_ldap_sync_is_not_configured(pool: PgPool) {
    let app = spawn_app_without_secret_key(pool).await;
    let (a, domain) = ldap_domain(&app, "Contoso").await;
    let args = [("domain_id", domain.as_str())];
    let panel: LdapPanel = a.ok("get_ldap_settings", &args).await;
    assert!(!panel.configured);
    let refused = a
        .call::<()>("save_ldap_settings", &form(&domain, PASSWORD))
        .await;
    assert_eq!(
        refused,
        Err((
            StatusCode::CONFLICT,
            AppError::Conflict(LDAP_NOT_CONFIGURED.to_owned())
        ))
    );
    assert!(sealed(&app, &domain).await.is_none());
    let start = a
        .call::<Uuid>("start_sync", &[("domain_id", &domain), ("mode", "manual")])
        .await;
    assert_eq!(
        start,
        Err((
            StatusCode::CONFLICT,
            AppError::Conflict(LDAP_NOT_CONFIGURED.to_owned())
        ))
    );
    let overview: SyncOverview = a.ok("get_sync_overview", &args).await;
    assert!(!overview.configured && !overview.connected);
    let html = a
        .client
        .get(format!("{}/domains/{domain}/sync/ldap", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("LDAP sync is not configured on this Roster installation"),
        "{html}"
    );
    assert!(!html.contains("name=\"password\""), "no form to save");
}

#[sqlx::test(migrations = "../migrations")]
async fn manual_sync_of_an_ldap_domain_needs_settings_and_ownership_then_queues_an_ldap_run(
    pool: PgPool,
) {
    // No worker: the run stays queued for the test to see.
    let app = spawn_app_configured(pool, false, None, false).await;
    let (a, domain) = ldap_domain(&app, "Contoso").await;
    let manual = [("domain_id", domain.as_str()), ("mode", "manual")];

    match a.call::<Uuid>("start_sync", &manual).await {
        Err((StatusCode::CONFLICT, AppError::Conflict(message))) => {
            assert!(message.contains("not saved yet"), "{message}");
            assert!(message.contains("AD/LDAP Sync page"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let untested = a
        .call::<app::model::ConnectionTestResult>("test_connection", &[("domain_id", &domain)])
        .await;
    assert!(
        matches!(&untested, Err((StatusCode::CONFLICT, AppError::Conflict(m))) if m.contains("not saved yet")),
        "{untested:?}"
    );
    let overview: SyncOverview = a.ok("get_sync_overview", &[("domain_id", &domain)]).await;
    assert!(overview.configured && !overview.connected);
    assert!(overview.unavailable.unwrap().contains("not saved yet"));

    a.ok::<()>("save_ldap_settings", &form(&domain, PASSWORD))
        .await;
    let unproven = a.call::<Uuid>("start_sync", &manual).await;
    assert!(
        matches!(
            unproven,
            Err((StatusCode::CONFLICT, AppError::OwnershipNotVerified(_)))
        ),
        "{unproven:?}"
    );

    sqlx::query!(
        "update domains set ownership_verified_at = now() where id = $1::uuid",
        domain.parse::<Uuid>().unwrap()
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let overview: SyncOverview = a.ok("get_sync_overview", &[("domain_id", &domain)]).await;
    assert!(overview.connected && overview.ownership_verified && overview.unavailable.is_none());
    let run_id: Uuid = a.ok("start_sync", &manual).await;
    let run = sqlx::query!(
        "select source, status, test, requested_by from sync_runs where id = $1",
        run_id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (run.source.as_str(), run.status.as_str(), run.test),
        ("ldap", "queued", false)
    );
    assert_eq!(run.requested_by.as_deref(), Some(a.email.as_str()));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_scheduled_run_of_an_unproven_ldap_domain_changes_nothing(pool: PgPool) {
    let app = spawn_app_configured(pool, false, None, false).await;
    let (a, domain) = ldap_domain(&app, "Contoso").await;
    a.ok::<()>("save_ldap_settings", &form(&domain, PASSWORD))
        .await;
    a.ok::<()>(
        "save_auto_sync",
        &[
            ("domain_id", domain.as_str()),
            ("auto_sync_enabled", "on"),
            ("times_per_day", "1"),
        ],
    )
    .await;
    let domain_id: Uuid = domain.parse().unwrap();
    let clock = FakeClock::new(chrono::Utc::now());
    schedule::make_due(&app.pool, a.organization_id, domain_id, clock.now())
        .await
        .unwrap();
    let tick = schedule::tick(&app.pool, &clock).await.unwrap();
    assert_eq!(tick.queued, 1);
    let run = sqlx::query!(
        "select id, source, trigger from sync_runs where domain_id = $1",
        domain_id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (run.source.as_str(), run.trigger.as_str()),
        ("ldap", "schedule")
    );

    // The worker builds the LDAP directory and refuses before reading it: the DNS record
    // is not proven.
    let engine = worker::Engine {
        pool: app.pool.clone(),
        connectors: app::ssr::connectors::Connectors {
            microsoft: None,
            secret_key: Some(test_secret_key()),
            google: None,
        },
        lease: crate::sync_engine::lease(),
    };
    worker::perform(
        &engine,
        worker::SyncJob {
            organization_id: a.organization_id,
            run_id: run.id,
        },
    )
    .await
    .unwrap();
    let ended = sqlx::query!("select status, error from sync_runs where id = $1", run.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        RunState::parse(&ended.status).unwrap(),
        RunState::Failed,
        "{:?}",
        ended.error
    );
    assert_eq!(
        ended.error.as_deref(),
        Some(roster_server::sync::ownership::NOT_PROVEN)
    );
}
