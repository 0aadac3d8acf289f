//! The signed-in pages render their data on the server (the first paint, and the whole page
//! without JavaScript).

#![allow(clippy::unwrap_used)]

use crate::helpers::{spawn_app, unique_domain, Admin};
use app::model::AccountRow;
use reqwest::StatusCode;
use sqlx::PgPool;

async fn page(admin: &Admin, address: &str, path: &str) -> String {
    let res = admin
        .client
        .get(format!("{address}{path}"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.text().await.unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_show_the_organizations_data(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let name = unique_domain("pages");
    let id = admin.create_domain(&name, "office365").await.to_string();
    let _: AccountRow = admin
        .ok(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "frontdesk"),
                ("kind", "mailbox"),
                ("aliases", "reception"),
            ],
        )
        .await;
    let _: app::model::MailServerRow = admin
        .ok(
            "add_mail_server",
            &[
                ("domain_id", &id),
                ("host", "mx.pages.example"),
                ("priority", "7"),
            ],
        )
        .await;
    admin
        .ok::<()>(
            "save_auto_sync",
            &[
                ("domain_id", &id),
                ("times_per_day", "2"),
                ("notification_recipients", "reports@pages.example"),
            ],
        )
        .await;

    // Several times over, so requests land on different worker threads.
    for _ in 0..5 {
        let html = page(&admin, &app.address, "/domains").await;
        assert!(html.contains(&name), "the domains list names the domain");
        let html = page(&admin, &app.address, &format!("/domains/{id}")).await;
        assert!(html.contains("mx.pages.example"));
        assert!(
            html.contains("Office 365 Sync"),
            "the sync entry is in the menu"
        );
        let html = page(&admin, &app.address, &format!("/domains/{id}/accounts")).await;
        assert!(html.contains(&format!("frontdesk@{name}")));
        assert!(html.contains(&format!("reception@{name}")));
        let html = page(
            &admin,
            &app.address,
            &format!("/domains/{id}/sync/office365"),
        )
        .await;
        assert!(html.contains("reports@pages.example"));
        assert!(html.contains("Nothing found"));
    }
}

/// The first page a newcomer opens is a redirect from the server, not an empty page that only
/// JavaScript would fill.
#[sqlx::test(migrations = "../migrations")]
async fn the_root_redirects_from_the_server(pool: PgPool) {
    let app = spawn_app(pool).await;
    let location = |res: &reqwest::Response| {
        res.headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
    };

    let anonymous = app.anonymous();
    let res = anonymous.get("/").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res).as_deref(), Some("/login"));

    let admin = app.admin("Root").await;
    let res = admin.get("/").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res).as_deref(), Some("/domains"));
    assert_eq!(admin.get("/domains").await.status(), StatusCode::OK);
}
