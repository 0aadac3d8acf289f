#![allow(clippy::unwrap_used)]

use crate::helpers::{new_client, post, spawn_app, spawn_app_with, PASSWORD};
use app::error::AppError;
use app::model::Me;
use reqwest::StatusCode;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn sign_in_sets_a_session_cookie_and_sign_out_ends_it(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (email, _) = app.create_org("Acme").await;
    let client = new_client();

    let res = post(
        &client,
        &app.address,
        "login",
        &[("email", &email.to_uppercase()), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("roster_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );

    let res = post(&client, &app.address, "me", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Me = res.json().await.unwrap();
    assert_eq!(me.email, email);
    assert_eq!(me.organization_name, "Acme");

    let res = post(&client, &app.address, "logout", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = post(&client, &app.address, "me", &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_session_is_stored_hashed(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (email, _) = app.create_org("Acme").await;
    let client = new_client();
    let res = post(
        &client,
        &app.address,
        "login",
        &[("email", &email), ("password", PASSWORD)],
    )
    .await;
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let token = cookie
        .trim_start_matches("roster_session=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select token_hash from sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token.as_bytes());
    assert_eq!(stored[0].len(), 32, "a SHA-256");
}

#[sqlx::test(migrations = "../migrations")]
async fn secure_cookies_over_https(pool: PgPool) {
    let app = spawn_app_with(pool, true).await;
    let (email, _) = app.create_org("Acme").await;
    let res = post(
        &new_client(),
        &app.address,
        "login",
        &[("email", &email), ("password", PASSWORD)],
    )
    .await;
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(
        cookie.starts_with("__Host-roster_session=") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain="), "{cookie}");
}

#[sqlx::test(migrations = "../migrations")]
async fn unknown_email_and_wrong_password_get_the_same_answer(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (email, _) = app.create_org("Acme").await;
    let client = new_client();

    let wrong = post(
        &client,
        &app.address,
        "login",
        &[("email", &email), ("password", "not the password")],
    )
    .await;
    let wrong_status = wrong.status();
    let wrong_body = wrong.text().await.unwrap();
    let unknown = post(
        &client,
        &app.address,
        "login",
        &[("email", "nobody@nowhere.example"), ("password", PASSWORD)],
    )
    .await;
    let unknown_status = unknown.status();
    let unknown_body = unknown.text().await.unwrap();

    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_status, unknown_status);
    assert_eq!(wrong_body, unknown_body);
    assert_eq!(
        serde_json::from_str::<AppError>(&wrong_body).unwrap(),
        AppError::BadCredentials
    );
    let message = serde_json::from_str::<AppError>(&wrong_body)
        .unwrap()
        .to_string();
    assert!(
        message.contains("email or password is not correct"),
        "{message}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn ten_failures_lock_the_account_for_fifteen_minutes(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (email, _) = app.create_org("Acme").await;
    let client = new_client();
    for attempt in 1..=9 {
        let res = post(
            &client,
            &app.address,
            "login",
            &[("email", &email), ("password", "wrong password!")],
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let tenth = post(
        &client,
        &app.address,
        "login",
        &[("email", &email), ("password", "wrong password!")],
    )
    .await;
    assert_eq!(tenth.status(), StatusCode::TOO_MANY_REQUESTS);

    // Locked: even the right password is refused, and says why.
    let res = post(
        &client,
        &app.address,
        "login",
        &[("email", &email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    match res.json::<AppError>().await.unwrap() {
        AppError::LockedOut { minutes } => assert!((14..=15).contains(&minutes), "{minutes}"),
        other => panic!("{other:?}"),
    }

    // Fifteen minutes later it opens again.
    sqlx::query("update login_attempts set expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let res = post(
        &client,
        &app.address,
        "login",
        &[("email", &email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[sqlx::test(migrations = "../migrations")]
async fn failures_older_than_the_window_do_not_count(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (email, _) = app.create_org("Acme").await;
    let client = new_client();
    for _ in 0..9 {
        post(
            &client,
            &app.address,
            "login",
            &[("email", &email), ("password", "wrong password!")],
        )
        .await;
    }
    sqlx::query("update login_attempts set expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let res = post(
        &client,
        &app.address,
        "login",
        &[("email", &email), ("password", "wrong password!")],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "old failures must have expired"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn admins_can_add_another_admin_to_their_organization(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let errors = admin
        .invalid(
            "add_admin",
            &[("email", "not-an-email"), ("password", "short")],
        )
        .await;
    assert_eq!(crate::helpers::fields(&errors), vec!["email", "password"]);

    let added: app::model::AdminRow = admin
        .ok(
            "add_admin",
            &[("email", "Second@Acme.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(added.email, "second@acme.example");
    let errors = admin
        .invalid(
            "add_admin",
            &[("email", "second@acme.example"), ("password", PASSWORD)],
        )
        .await;
    assert!(
        errors[0]
            .message
            .contains("already an admin of your organization"),
        "{errors:?}"
    );

    // The new admin signs in and sees the same organization.
    let client = new_client();
    let res = post(
        &client,
        &app.address,
        "login",
        &[("email", "second@acme.example"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Me = post(&client, &app.address, "me", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me.organization_name, "Acme");
    let list: Vec<app::model::AdminRow> = admin.ok("list_admins", &[]).await;
    assert_eq!(list.len(), 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_send_anonymous_visitors_to_sign_in(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = new_client()
        .get(format!("{}/domains", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers().get("location").unwrap(), "/login");
}
