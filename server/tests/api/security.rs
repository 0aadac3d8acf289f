//! Cross-site requests, security headers, safe no-JS redirects, removing admins, and live
//! streams that end with their session.

#![allow(clippy::unwrap_used)]

use crate::helpers::{new_client, spawn_app, spawn_app_with, PASSWORD};
use app::error::AppError;
use app::model::{AdminRow, DomainSummary, Me};
use reqwest::StatusCode;
use sqlx::PgPool;
use std::time::Duration;

/// A server function call as a browser on another site would make it.
async fn from_elsewhere(
    client: &reqwest::Client,
    address: &str,
    name: &str,
    form: &[(&str, &str)],
    header: (&str, &str),
) -> reqwest::Response {
    client
        .post(format!("{address}/api/{name}"))
        .header("accept", "application/json")
        .header(header.0, header.1)
        .form(form)
        .send()
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn cross_site_requests_are_refused_and_change_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let (other_email, _) = app.create_org("Evil").await;

    for header in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        // Signing the victim's browser into the attacker's organization.
        let victim = new_client();
        let res = from_elsewhere(
            &victim,
            &app.address,
            "login",
            &[("email", &other_email), ("password", PASSWORD)],
            header,
        )
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{header:?}");
        assert!(res.headers().get("set-cookie").is_none());
        assert!(res.text().await.unwrap().contains("another site"));

        // Signing the admin out.
        let res = from_elsewhere(&admin.client, &app.address, "logout", &[], header).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{header:?}");
        let _: Me = admin.ok("me", &[]).await;

        // A server function with the admin's cookie.
        let res = from_elsewhere(
            &admin.client,
            &app.address,
            "create_domain",
            &[("name", "forged.example"), ("server_type", "office365")],
            header,
        )
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{header:?}");
    }
    let domains: Vec<DomainSummary> = admin.ok("list_domains", &[]).await;
    assert!(domains.is_empty(), "a forged request created a domain");
    let sessions = sqlx::query_scalar!(r#"select count(*) as "n!" from sessions"#)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 1, "only the admin's own session");

    // The same requests from Roster's own pages work.
    let res = from_elsewhere(
        &admin.client,
        &app.address,
        "create_domain",
        &[("name", "mine.example"), ("server_type", "office365")],
        ("origin", &app.address),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = from_elsewhere(
        &admin.client,
        &app.address,
        "logout",
        &[],
        ("sec-fetch-site", "same-origin"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = admin.raw("me", &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_carry_the_security_headers_and_a_nonce_for_their_scripts(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    for path in ["/login", "/domains", "/admins"] {
        let res = admin.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let headers = res.headers().clone();
        let csp = headers["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert!(headers.get("strict-transport-security").is_none());
        // Every inline script carries the nonce the policy names.
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap()
            .to_owned();
        let html = res.text().await.unwrap();
        let scripts = html.matches("<script").count();
        assert!(scripts > 0, "{path}");
        assert_eq!(
            html.matches(&format!("<script nonce=\"{nonce}\"")).count()
                + html
                    .matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
                    .count(),
            scripts,
            "{path}: a script without the nonce"
        );
    }
    // A server function's answer has a policy too, without a nonce.
    let res = admin.raw("me", &[]).await;
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("nonce"),
        "{csp}"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[sqlx::test(migrations = "../migrations")]
async fn https_adds_hsts(pool: PgPool) {
    let app = spawn_app_with(pool, true).await;
    let res = app.anonymous().get("/login").await;
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_plain_form_post_never_redirects_to_another_site(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let res = admin
        .client
        .post(format!("{}/api/create_domain", app.address))
        .header("accept", "text/html")
        .header("referer", "https://evil.example/phish?x=1")
        .form(&[("name", "not a domain"), ("server_type", "office365")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/?"), "{location}");
    assert!(!location.contains("evil"), "{location}");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_error_in_a_crafted_url_shows_no_attacker_text(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    // What the old encoding accepted: any JSON error, here a Conflict with the attacker's words.
    let crafted = serde_json::to_string(&AppError::Conflict(
        "Call +1 555 0100 to restore your account".to_owned(),
    ))
    .unwrap();
    for err in [
        crafted.clone(),
        base64_url(&crafted),
        "Call +1 555 0100 to restore your account".to_owned(),
    ] {
        let query =
            serde_urlencoded::to_string([("__path", "/api/add_admin"), ("__err", &err)]).unwrap();
        let res = admin.get(&format!("/admins?{query}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(!html.contains("555 0100"), "attacker text shown for {err}");
    }
    // A known code shows Roster's own sentence.
    let res = admin
        .get("/admins?__path=%2Fapi%2Fadd_admin&__err=conflict")
        .await;
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Reload the page to see the current state"),
        "{html}"
    );
}

/// server_fn's URL encoding of an error (URL-safe base64), as an attacker would write it.
fn base64_url(text: &str) -> String {
    let url = leptos::server_fn::error::ServerFnUrlError::new(
        "/api/add_admin",
        AppError::Conflict(text.to_owned()),
    )
    .to_url("http://x/")
    .unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "__err")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn removing_an_admin_signs_them_out_but_not_yourself_or_the_last(pool: PgPool) {
    let app = spawn_app(pool).await;
    let first = app.admin("Acme").await;

    // Alone: the last admin can't go.
    let me_id = admin_id(&app.pool, &first.email).await;
    match first
        .call::<()>("remove_admin", &[("admin_id", &me_id)])
        .await
    {
        Err((StatusCode::CONFLICT, AppError::Conflict(m))) => {
            assert!(m.contains("only admin"), "{m}")
        }
        other => panic!("{other:?}"),
    }

    let second: AdminRow = first
        .ok(
            "add_admin",
            &[("email", "second@acme.example"), ("password", PASSWORD)],
        )
        .await;
    let second = app.admin_session(&second.email).await;
    let _: Me = second.ok("me", &[]).await;

    // Not yourself.
    match first
        .call::<()>("remove_admin", &[("admin_id", &me_id)])
        .await
    {
        Err((StatusCode::CONFLICT, AppError::Conflict(m))) => {
            assert!(m.contains("can't remove yourself"), "{m}")
        }
        other => panic!("{other:?}"),
    }

    // Another organization's admin can't remove ours.
    let stranger = app.admin("Other").await;
    let second_id = admin_id(&app.pool, &second.email).await;
    match stranger
        .call::<()>("remove_admin", &[("admin_id", &second_id)])
        .await
    {
        Err((StatusCode::NOT_FOUND, AppError::NotFound)) => {}
        other => panic!("{other:?}"),
    }
    let _: Me = second.ok("me", &[]).await;

    // The other admin: removed, and signed out at once.
    let () = first.ok("remove_admin", &[("admin_id", &second_id)]).await;
    let res = second.raw("me", &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let admins: Vec<AdminRow> = first.ok("list_admins", &[]).await;
    assert_eq!(
        admins.iter().map(|a| a.email.as_str()).collect::<Vec<_>>(),
        vec![first.email.as_str()]
    );
    let res = new_client()
        .post(format!("{}/api/login", app.address))
        .header("accept", "application/json")
        .form(&[("email", "second@acme.example"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn admin_id(pool: &PgPool, email: &str) -> String {
    sqlx::query_scalar!("select id from admins where email = $1", email)
        .fetch_one(pool)
        .await
        .unwrap()
        .to_string()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_progress_stream_ends_with_its_session(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let domain = admin.create_domain("stream.example", "office365").await;
    let res = admin
        .client
        .get(format!("{}/domains/{domain}/sync/events", app.address))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res;
    // The first event: no run yet.
    let first = body.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("progress"));

    // Signing out (in another tab) ends the stream, well before its periodic check.
    let () = admin.ok("logout", &[]).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = body.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived its session");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_progress_stream_of_a_removed_admin_ends(pool: PgPool) {
    let app = spawn_app(pool).await;
    let first = app.admin("Acme").await;
    let domain = first.create_domain("removed.example", "office365").await;
    let second: AdminRow = first
        .ok(
            "add_admin",
            &[("email", "watcher@acme.example"), ("password", PASSWORD)],
        )
        .await;
    let second_id = admin_id(&app.pool, &second.email).await;
    let second = app.admin_session(&second.email).await;
    let mut stream = second
        .client
        .get(format!("{}/domains/{domain}/sync/events", app.address))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let first_event = stream.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first_event).contains("progress"));

    // The other admin removes them: their open stream ends, well before its periodic check.
    let () = first.ok("remove_admin", &[("admin_id", &second_id)]).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived its admin");
}
