//! Every server function checks the session and the organization: anonymous calls get 401,
//! and an admin of another organization gets "not found" for anything that is not theirs.
//! The table below must name every registered server function, so a new one can't skip it.

#![allow(clippy::unwrap_used)]

use crate::helpers::{spawn_app, unique_domain};
use app::model::{
    AccountRow, AccountsPage, AdminRow, DomainInfo, DomainSummary, MailServerRow, SyncSettings,
};
use reqwest::StatusCode;
use sqlx::PgPool;
use std::collections::BTreeSet;

/// Public by design: signing in, and signing out (harmless without a session).
const PUBLIC: &[&str] = &["login", "logout"];

#[sqlx::test(migrations = "../migrations")]
async fn every_server_function_checks_session_and_organization(pool: PgPool) {
    let app = spawn_app(pool).await;
    let a = app.admin("Alpha").await;
    let name = unique_domain("alpha");
    let domain = a.create_domain(&name, "office365").await.to_string();
    let server: MailServerRow = a
        .ok(
            "add_mail_server",
            &[
                ("domain_id", &domain),
                ("host", "mx.alpha.example"),
                ("priority", "10"),
            ],
        )
        .await;
    let account: AccountRow = a
        .ok(
            "add_account",
            &[
                ("domain_id", &domain),
                ("local_part", "info"),
                ("kind", "mailbox"),
                ("aliases", "hello"),
            ],
        )
        .await;
    let alias = account.aliases[0].clone();
    sqlx::query!(
        r#"insert into microsoft_connections
               (organization_id, domain_id, tenant_id, tenant_name, domain_verified, granted_by_email)
           values ($1, $2, '6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f', 'Alpha tenant', true, $3)"#,
        a.organization_id,
        domain.parse::<uuid::Uuid>().unwrap(),
        a.email
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (server, account) = (server.id.to_string(), account.id.to_string());
    // A kept plan of A's (a run stopped by the Operations Limit).
    let run: uuid::Uuid = sqlx::query_scalar!(
        r#"insert into sync_runs (organization_id, domain_id, source, trigger, requested_by, status, counts, recipients_fingerprint)
           values ($1, $2, 'office365', 'manual', $3, 'limit_exceeded', '{}'::jsonb, 'x') returning id"#,
        a.organization_id,
        domain.parse::<uuid::Uuid>().unwrap(),
        a.email
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let run = run.to_string();
    let a_admin: uuid::Uuid =
        sqlx::query_scalar!("select id from admins where email = $1", a.email)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let a_admin = a_admin.to_string();

    // Valid arguments for every function that takes an organization's ids: all of them A's.
    let scoped: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("get_domain", vec![("domain_id", &domain)]),
        (
            "set_server_type",
            vec![("domain_id", &domain), ("server_type", "on_premise")],
        ),
        (
            "set_delivery_port",
            vec![("domain_id", &domain), ("port", "2525")],
        ),
        ("list_mail_servers", vec![("domain_id", &domain)]),
        (
            "add_mail_server",
            vec![
                ("domain_id", &domain),
                ("host", "mx2.alpha.example"),
                ("priority", "20"),
            ],
        ),
        (
            "delete_mail_server",
            vec![("domain_id", &domain), ("mail_server_id", &server)],
        ),
        ("list_accounts", vec![("domain_id", &domain)]),
        (
            "add_account",
            vec![
                ("domain_id", &domain),
                ("local_part", "intruder"),
                ("kind", "mailbox"),
            ],
        ),
        (
            "add_alias",
            vec![
                ("domain_id", &domain),
                ("account_id", &account),
                ("alias", "intruder"),
            ],
        ),
        (
            "remove_alias",
            vec![
                ("domain_id", &domain),
                ("account_id", &account),
                ("alias", &alias),
            ],
        ),
        (
            "set_account_kind",
            vec![
                ("domain_id", &domain),
                ("account_id", &account),
                ("kind", "distribution_list"),
            ],
        ),
        (
            "delete_account",
            vec![("domain_id", &domain), ("account_id", &account)],
        ),
        ("get_sync_settings", vec![("domain_id", &domain)]),
        (
            "save_auto_sync",
            vec![
                ("domain_id", &domain),
                ("times_per_day", "4"),
                ("auto_sync_enabled", "on"),
            ],
        ),
        (
            "save_operation_limits",
            vec![("domain_id", &domain), ("total_limit", "1")],
        ),
        ("get_microsoft_connection", vec![("domain_id", &domain)]),
        ("grant_microsoft_consent", vec![("domain_id", &domain)]),
        ("disconnect_microsoft", vec![("domain_id", &domain)]),
        ("get_google_connection", vec![("domain_id", &domain)]),
        ("grant_google", vec![("domain_id", &domain)]),
        (
            "save_google_options",
            vec![("domain_id", &domain), ("skip_suspended", "on")],
        ),
        ("disconnect_google", vec![("domain_id", &domain)]),
        ("test_connection", vec![("domain_id", &domain)]),
        ("get_ldap_settings", vec![("domain_id", &domain)]),
        (
            "save_ldap_settings",
            vec![
                ("domain_id", &domain),
                ("servers", "dc1.alpha.example"),
                ("bind_user", "reader@alpha.example"),
                ("password", "intruder"),
                ("base_dns", "dc=alpha,dc=example"),
            ],
        ),
        ("get_sync_overview", vec![("domain_id", &domain)]),
        ("get_domain_ownership", vec![("domain_id", &domain)]),
        ("verify_domain_ownership", vec![("domain_id", &domain)]),
        (
            "start_sync",
            vec![("domain_id", &domain), ("mode", "manual")],
        ),
        (
            "list_sync_history",
            vec![("domain_id", &domain), ("page", "1")],
        ),
        (
            "get_sync_run",
            vec![("domain_id", &domain), ("run_id", &run)],
        ),
        (
            "list_run_changes",
            vec![
                ("domain_id", &domain),
                ("run_id", &run),
                ("kind", ""),
                ("search", ""),
                ("page", "1"),
            ],
        ),
        (
            "apply_kept_plan",
            vec![("domain_id", &domain), ("run_id", &run)],
        ),
        (
            "get_list_members",
            vec![
                ("domain_id", &domain),
                ("account_id", &account),
                ("page", "1"),
            ],
        ),
        ("remove_admin", vec![("admin_id", &a_admin)]),
    ];
    // Functions that only ever touch the caller's own organization; checked further down.
    let own: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("me", vec![]),
        ("list_admins", vec![]),
        (
            "add_admin",
            vec![
                ("email", "new@beta.example"),
                ("password", "a long enough password"),
            ],
        ),
        ("list_domains", vec![]),
        (
            "create_domain",
            vec![("name", "fresh.example"), ("server_type", "office365")],
        ),
    ];

    // The table covers every registered server function.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_owned())
        .collect();
    let covered: BTreeSet<String> = scoped
        .iter()
        .chain(own.iter())
        .map(|(n, _)| (*n).to_owned())
        .chain(PUBLIC.iter().map(|n| (*n).to_owned()))
        .collect();
    assert_eq!(
        registered, covered,
        "every server function needs a row in this test"
    );

    // Anonymous: 401 from everything but the public ones.
    let anonymous = app.anonymous();
    for (name, form) in scoped.iter().chain(own.iter()) {
        let res = anonymous.raw(name, form).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{name} answered an anonymous call"
        );
    }

    // Another organization's admin: A's things are not found, and stay as they were.
    let b = app.admin("Beta").await;
    for (name, form) in &scoped {
        let res = b.raw(name, form).await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{name} let organization B reach A's data"
        );
    }
    let info: DomainInfo = a.ok("get_domain", &[("domain_id", &domain)]).await;
    assert_eq!(
        (info.server_type, info.delivery_port),
        (roster_core::ServerType::Office365, 25)
    );
    let servers: Vec<MailServerRow> = a.ok("list_mail_servers", &[("domain_id", &domain)]).await;
    assert_eq!(servers.len(), 1);
    let accounts: AccountsPage = a.ok("list_accounts", &[("domain_id", &domain)]).await;
    assert_eq!(accounts.total, 1);
    let runs = sqlx::query_scalar!(r#"select count(*) as "n!" from sync_runs"#)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(runs, 1, "B started a sync of A's domain");
    assert_eq!(accounts.rows[0].aliases, vec![alias.clone()]);
    assert_eq!(accounts.rows[0].kind, app::model::AccountKind::Mailbox);
    let settings: SyncSettings = a.ok("get_sync_settings", &[("domain_id", &domain)]).await;
    assert_eq!(settings, SyncSettings::default());
    let connected: i64 = sqlx::query_scalar!(
        r#"select count(*) as "n!" from microsoft_connections where domain_id = $1::uuid"#,
        domain.parse::<uuid::Uuid>().unwrap()
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(connected, 1, "B's disconnect must not touch A's connection");
    let a_ownership: app::model::DomainOwnership = a
        .ok("get_domain_ownership", &[("domain_id", &domain)])
        .await;
    assert_eq!(
        a_ownership.proof,
        app::model::OwnershipProof::Microsoft {
            tenant_name: "Alpha tenant".into()
        },
        "B's Verify ownership must not touch A's domain"
    );

    // The own-organization functions show B only B's data.
    let b_domains: Vec<DomainSummary> = b.ok("list_domains", &[]).await;
    assert!(b_domains.is_empty());
    let b_admins: Vec<AdminRow> = b.ok("list_admins", &[]).await;
    assert_eq!(
        b_admins.iter().map(|a| a.email.clone()).collect::<Vec<_>>(),
        vec![b.email.clone()]
    );

    // And the page of A's domain is a 404 for B.
    let res = b
        .client
        .get(format!("{}/domains/{domain}", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body = res.text().await.unwrap();
    assert!(
        !body.contains(&name),
        "the page must not reveal A's domain name"
    );
}
