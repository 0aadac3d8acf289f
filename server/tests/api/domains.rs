#![allow(clippy::unwrap_used)]

use crate::helpers::{fields, spawn_app, unique_domain};
use app::model::{DomainInfo, DomainSummary, MailServerRow};
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrations = "../migrations")]
async fn domains_are_stored_lower_case_and_idn_as_punycode(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let id = admin
        .create_domain("  Mail.ACME.Example. ", "office365")
        .await;
    let idn = admin.create_domain("Bücher.example", "on_premise").await;

    let info: DomainInfo = admin
        .ok("get_domain", &[("domain_id", &id.to_string())])
        .await;
    assert_eq!(info.ascii_name, "mail.acme.example");
    let info: DomainInfo = admin
        .ok("get_domain", &[("domain_id", &idn.to_string())])
        .await;
    assert_eq!(info.ascii_name, "xn--bcher-kva.example");
    assert_eq!(info.name, "bücher.example");

    let list: Vec<DomainSummary> = admin.ok("list_domains", &[]).await;
    assert_eq!(list.len(), 2);
    assert!(list
        .iter()
        .all(|d| d.account_count == 0 && d.last_synced_at.is_none()));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_domain_is_unique_across_the_service(pool: PgPool) {
    let app = spawn_app(pool).await;
    let a = app.admin("Acme").await;
    let b = app.admin("Beta").await;
    let name = unique_domain("taken");
    a.create_domain(&name, "office365").await;
    let errors = b
        .invalid(
            "create_domain",
            &[("name", &name.to_uppercase()), ("server_type", "office365")],
        )
        .await;
    assert_eq!(fields(&errors), vec!["name"]);
    assert!(
        errors[0].message.contains("already registered"),
        "{errors:?}"
    );
    let list: Vec<DomainSummary> = b.ok("list_domains", &[]).await;
    assert!(list.is_empty(), "nothing stored for the refused domain");
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_domain_input_is_refused_with_field_messages(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    for bad in [
        "",
        "localhost",
        "-bad.example",
        "a..example",
        "bob@example.com",
        "1.2.3.4",
    ] {
        let errors = admin
            .invalid(
                "create_domain",
                &[("name", bad), ("server_type", "office365")],
            )
            .await;
        assert_eq!(fields(&errors), vec!["name"], "{bad:?}");
    }
    let errors = admin
        .invalid(
            "create_domain",
            &[("name", "ok.example"), ("server_type", "exchange2003")],
        )
        .await;
    assert_eq!(fields(&errors), vec!["server_type"]);
    let list: Vec<DomainSummary> = admin.ok("list_domains", &[]).await;
    assert!(list.is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn server_type_and_delivery_port_can_be_changed(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let id = admin
        .create_domain(&unique_domain("types"), "on_premise")
        .await
        .to_string();
    admin
        .ok::<()>(
            "set_server_type",
            &[("domain_id", &id), ("server_type", "office365")],
        )
        .await;
    let info: DomainInfo = admin.ok("get_domain", &[("domain_id", &id)]).await;
    assert_eq!(info.server_type, roster_core::ServerType::Office365);
    assert_eq!(info.delivery_port, 25);

    for bad in ["0", "65536", "abc", ""] {
        let errors = admin
            .invalid("set_delivery_port", &[("domain_id", &id), ("port", bad)])
            .await;
        assert_eq!(fields(&errors), vec!["port"], "{bad:?}");
    }
    admin
        .ok::<()>("set_delivery_port", &[("domain_id", &id), ("port", "2525")])
        .await;
    let info: DomainInfo = admin.ok("get_domain", &[("domain_id", &id)]).await;
    assert_eq!(info.delivery_port, 2525);
    let errors = admin
        .invalid(
            "set_server_type",
            &[("domain_id", &id), ("server_type", "nonsense")],
        )
        .await;
    assert_eq!(fields(&errors), vec!["server_type"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn mail_servers_are_added_searched_and_deleted(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let id = admin
        .create_domain(&unique_domain("mx"), "office365")
        .await
        .to_string();

    let a: MailServerRow = admin
        .ok(
            "add_mail_server",
            &[
                ("domain_id", &id),
                ("host", "MX1.Acme.example"),
                ("priority", "10"),
            ],
        )
        .await;
    assert_eq!(a.host, "mx1.acme.example");
    let _: MailServerRow = admin
        .ok(
            "add_mail_server",
            &[("domain_id", &id), ("host", "192.0.2.7"), ("priority", "5")],
        )
        .await;
    let _: MailServerRow = admin
        .ok(
            "add_mail_server",
            &[
                ("domain_id", &id),
                ("host", "[2001:db8::1]"),
                ("priority", "20"),
            ],
        )
        .await;

    let errors = admin
        .invalid(
            "add_mail_server",
            &[("domain_id", &id), ("host", "-bad"), ("priority", "70000")],
        )
        .await;
    assert_eq!(fields(&errors), vec!["host", "priority"]);
    let errors = admin
        .invalid(
            "add_mail_server",
            &[
                ("domain_id", &id),
                ("host", "mx1.acme.example"),
                ("priority", "1"),
            ],
        )
        .await;
    assert!(
        errors[0].message.contains("already in the list"),
        "{errors:?}"
    );

    let all: Vec<MailServerRow> = admin.ok("list_mail_servers", &[("domain_id", &id)]).await;
    let hosts: Vec<_> = all.iter().map(|s| s.host.as_str()).collect();
    assert_eq!(
        hosts,
        vec!["192.0.2.7", "mx1.acme.example", "2001:db8::1"],
        "ordered by priority"
    );
    let found: Vec<MailServerRow> = admin
        .ok(
            "list_mail_servers",
            &[("domain_id", &id), ("search", "ACME")],
        )
        .await;
    assert_eq!(found.len(), 1);
    let none: Vec<MailServerRow> = admin
        .ok("list_mail_servers", &[("domain_id", &id), ("search", "%")])
        .await;
    assert!(none.is_empty(), "LIKE metacharacters are matched literally");

    admin
        .ok::<()>(
            "delete_mail_server",
            &[("domain_id", &id), ("mail_server_id", &a.id.to_string())],
        )
        .await;
    let left: Vec<MailServerRow> = admin.ok("list_mail_servers", &[("domain_id", &id)]).await;
    assert_eq!(left.len(), 2);
    let gone = admin
        .call::<()>(
            "delete_mail_server",
            &[
                ("domain_id", &id),
                ("mail_server_id", &Uuid::new_v4().to_string()),
            ],
        )
        .await;
    assert_eq!(gone.unwrap_err().0, reqwest::StatusCode::NOT_FOUND);
}
