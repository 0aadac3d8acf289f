//! The operator's commands that are more than an insert: resetting an admin's password.

#![allow(clippy::unwrap_used)]

use crate::helpers::{post, spawn_app, PASSWORD};
use reqwest::StatusCode;
use roster_core::{EmailAddress, NewPassword};
use roster_server::operator;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn reset_password_sets_a_new_one_ends_sessions_and_lifts_the_lock_out(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = app.admin("Reset").await;
    assert_eq!(admin.raw("me", &[]).await.status(), StatusCode::OK);
    // Someone has been guessing: the email is locked out.
    sqlx::query!(
        "insert into login_attempts (email, attempts, expires_at) values ($1, 1000, now() + interval '1 hour')",
        admin.email
    )
    .execute(&pool)
    .await
    .unwrap();

    let email = EmailAddress::parse(&admin.email).unwrap();
    let new = "a brand new passphrase 42";
    let reset = operator::reset_password(&pool, &email, &NewPassword::parse(new).unwrap())
        .await
        .unwrap();
    assert_eq!(reset.sessions_ended, 1);

    // The old session is gone, the old password no longer works, the new one does.
    assert_eq!(
        admin.raw("me", &[]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let client = crate::helpers::new_client();
    let old = post(
        &client,
        &app.address,
        "login",
        &[("email", &admin.email), ("password", PASSWORD)],
    )
    .await;
    assert_ne!(old.status(), StatusCode::OK);
    let fresh = post(
        &client,
        &app.address,
        "login",
        &[("email", &admin.email), ("password", new)],
    )
    .await;
    assert_eq!(fresh.status(), StatusCode::OK);
}

#[sqlx::test(migrations = "../migrations")]
async fn reset_password_of_an_unknown_email_says_so_and_changes_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.create_org("Other").await;
    let before: Vec<String> = sqlx::query_scalar!("select password_hash from admins")
        .fetch_all(&pool)
        .await
        .unwrap();
    let email = EmailAddress::parse("nobody@nowhere.example").unwrap();
    let error = operator::reset_password(&pool, &email, &NewPassword::parse(PASSWORD).unwrap())
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no admin with the email nobody@nowhere.example"),
        "{error}"
    );
    let after: Vec<String> = sqlx::query_scalar!("select password_hash from admins")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before, after);
}
