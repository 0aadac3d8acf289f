//! Abuse limits: request body size, password and email length at sign-in, a lock-out that
//! parallel requests can't race, the per-client sign-in rate, and adding an admin without
//! learning about other organizations.
#![allow(clippy::unwrap_used)]

use crate::helpers::{
    new_client, post, spawn_app, spawn_app_with_limits, unique_domain, TestApp, PASSWORD,
};
use app::error::AppError;
use app::ssr::limits::Limits;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use sqlx::PgPool;
use std::num::NonZeroU32;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn with_limits(pool: PgPool, limits: Limits) -> TestApp {
    spawn_app_with_limits(pool, false, None, true, limits).await
}

fn limits(per_minute: u32, trusted_proxies: &[&str]) -> Limits {
    Limits::new(
        2,
        NonZeroU32::new(per_minute).unwrap(),
        trusted_proxies.iter().map(|p| p.parse().unwrap()).collect(),
    )
}

async fn attempt_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar!(r#"select count(*) as "n!" from login_attempts"#)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    post(
        &new_client(),
        &app.address,
        "login",
        &[("email", email), ("password", password)],
    )
    .await
}

/// POSTs `body` to `/api/login` as curl does with a large body (`Expect: 100-continue`): the
/// body goes only once the server asks for it, so a refusal from the declared length never
/// races the client still writing (with a plain client the write then and again failed with
/// a broken pipe). Returns the status and the rest of the answer.
async fn post_declared(app: &TestApp, accept: &str, body: &str) -> (u16, String) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {address}\r\nAccept: {accept}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let mut sent = false;
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the server answers")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if !sent && answer.starts_with(b"HTTP/1.1 100") {
            // The server asked for the body: it did not refuse it from its length.
            if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                answer.drain(..end + 4);
                sent = true;
                let _ = stream.write_all(body.as_bytes()).await;
            }
        }
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
    (status, answer)
}

#[sqlx::test(migrations = "../migrations")]
async fn a_megabyte_body_is_refused_with_413_before_anything_is_recorded(pool: PgPool) {
    let limits = limits(1000, &[]);
    let app = with_limits(pool.clone(), limits.clone()).await;
    let (email, _) = app.create_org("Acme").await;
    let huge = "x".repeat(1024 * 1024);
    let form =
        serde_urlencoded::to_string([("email", email.as_str()), ("password", &huge)]).unwrap();

    let (status, answer) = post_declared(&app, "application/json", &form).await;
    assert_eq!(status, 413, "{answer}");
    let json = &answer[answer.find('{').unwrap()..=answer.rfind('}').unwrap()];
    let message = serde_json::from_str::<AppError>(json).unwrap().to_string();
    assert!(
        message.contains("The request was too large (over 64 KiB)"),
        "{message}"
    );
    assert_eq!(attempt_rows(&pool).await, 0);
    assert_eq!(limits.hashes_started(), 0);

    // A browser posting the form without JavaScript reads the same sentence as text.
    let (status, answer) = post_declared(&app, "text/html", &form).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer.contains("The request was too large (over 64 KiB)"),
        "{answer}"
    );
    assert_eq!(attempt_rows(&pool).await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_body_that_does_not_declare_its_length_is_cut_off_too(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    // Chunked: the server learns the size only while reading.
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, "x".repeat(16 * 1024));
    for _ in 0..8 {
        // The server may answer and close before all of it is sent.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("over 64 KiB"), "{answer}");
    assert_eq!(attempt_rows(&pool).await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_sync_settings_form_may_be_larger_than_other_requests(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let id = admin
        .create_domain(&unique_domain("big"), "office365")
        .await
        .to_string();
    // 500 long patterns: about 120 KiB, over the general limit, as the form allows.
    let patterns = (0..500)
        .map(|i| format!("{i:03}-{}*@acme.example", "a".repeat(220)))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(patterns.len() > 100 * 1024);
    admin
        .ok::<()>(
            "save_auto_sync",
            &[
                ("domain_id", id.as_str()),
                ("times_per_day", "1"),
                ("exclude_patterns", &patterns),
            ],
        )
        .await;
    // Any other server function refuses it.
    let res = admin
        .raw(
            "create_domain",
            &[("name", &patterns), ("server_type", "office365")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[sqlx::test(migrations = "../migrations")]
async fn passwords_longer_than_any_allowed_are_refused_without_hashing(pool: PgPool) {
    let limits = limits(1000, &[]);
    let app = with_limits(pool.clone(), limits.clone()).await;
    let (email, _) = app.create_org("Acme").await;
    let long = "x".repeat(roster_core::MAX_PASSWORD_BYTES + 1);

    let res = sign_in(&app, &email, &long).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json::<AppError>().await.unwrap(),
        AppError::BadCredentials
    );
    assert_eq!(limits.hashes_started(), 0);
    assert_eq!(attempt_rows(&pool).await, 0);

    // A new admin's password that long is refused with a clear message.
    let admin = app.admin("Other").await;
    let errors = admin
        .invalid(
            "add_admin",
            &[("email", "new@other.example"), ("password", &long)],
        )
        .await;
    assert_eq!(crate::helpers::fields(&errors), vec!["password"]);
    assert!(
        errors[0].message.contains("at most 128 characters"),
        "{errors:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn emails_longer_than_254_characters_are_refused_before_any_sql(pool: PgPool) {
    let limits = limits(1000, &[]);
    let app = with_limits(pool.clone(), limits.clone()).await;
    let email = format!("{}@{}.example", "a".repeat(60), "b".repeat(250));
    assert!(email.len() > 254);

    let res = sign_in(&app, &email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json::<AppError>().await.unwrap(),
        AppError::BadCredentials
    );
    assert_eq!(attempt_rows(&pool).await, 0);
    assert_eq!(limits.hashes_started(), 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn two_hundred_parallel_wrong_passwords_lock_after_ten(pool: PgPool) {
    let limits = limits(10_000, &[]);
    let app = with_limits(pool.clone(), limits.clone()).await;
    let (email, _) = app.create_org("Acme").await;

    let client = new_client();
    let attempts = (0..200).map(|_| {
        let (client, address, email) = (client.clone(), app.address.clone(), email.clone());
        tokio::spawn(async move {
            let res = post(
                &client,
                &address,
                "login",
                &[("email", &email), ("password", "wrong password!")],
            )
            .await;
            (res.status(), res.json::<AppError>().await.unwrap())
        })
    });
    let mut wrong = 0;
    let mut locked = 0;
    for answer in futures::future::join_all(attempts).await {
        match answer.unwrap() {
            (StatusCode::UNAUTHORIZED, AppError::BadCredentials) => wrong += 1,
            (StatusCode::TOO_MANY_REQUESTS, AppError::LockedOut { minutes }) => {
                assert!((14..=15).contains(&minutes), "{minutes}");
                locked += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((wrong, locked), (9, 191));
    // Only the ten attempts within the limit were checked against the password.
    assert_eq!(limits.hashes_started(), 10);
    let row = sqlx::query!(
        "select attempts, expires_at > now() + interval '14 minutes' as locked from login_attempts where email = $1",
        email
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.attempts, 11);
    assert_eq!(row.locked, Some(true));

    // Locked: even the right password is refused, without being checked.
    let res = sign_in(&app, &email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limits.hashes_started(), 10);
}

#[sqlx::test(migrations = "../migrations")]
async fn expired_sign_in_counts_are_swept(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    sqlx::query(
        "insert into login_attempts (email, attempts, expires_at) values
         ('old@acme.example', 3, now() - interval '1 minute'),
         ('locked@acme.example', 11, now() + interval '10 minutes')",
    )
    .execute(&pool)
    .await
    .unwrap();

    let res = sign_in(&app, "someone@acme.example", "wrong password!").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let left: Vec<String> = sqlx::query_scalar!("select email from login_attempts order by email")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, vec!["locked@acme.example", "someone@acme.example"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn sign_ins_over_the_rate_of_one_client_get_429_with_retry_after(pool: PgPool) {
    let app = with_limits(pool, limits(3, &[])).await;
    let admin = app.admin("Acme").await; // the first sign-in
    for _ in 0..2 {
        let res = sign_in(&app, "nobody@acme.example", "wrong password!").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = sign_in(&app, &admin.email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = res.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    let error = res.json::<AppError>().await.unwrap();
    assert_eq!(
        error,
        AppError::RateLimited {
            seconds: retry_after
        }
    );
    assert!(error
        .to_string()
        .starts_with("Too many sign-in attempts from your network."));
    // Only sign-in is limited: the signed-in admin carries on.
    let me: app::model::Me = admin.ok("me", &[]).await;
    assert_eq!(me.organization_name, "Acme");
}

async fn sign_in_from(app: &TestApp, forwarded_for: &str) -> StatusCode {
    new_client()
        .post(format!("{}/api/login", app.address))
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-for", forwarded_for)
        .body("email=nobody%40acme.example&password=wrong+password%21")
        .send()
        .await
        .unwrap()
        .status()
}

#[sqlx::test(migrations = "../migrations")]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate(pool: PgPool) {
    let app = with_limits(pool, limits(2, &["127.0.0.1"])).await;
    assert_eq!(
        sign_in_from(&app, "198.51.100.1").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_from(&app, "198.51.100.1").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_from(&app, "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy is not held up; what a client claims before the
    // proxy's own entry does not change whom it counts as.
    assert_eq!(
        sign_in_from(&app, "198.51.100.2").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_from(&app, "203.0.113.9, 198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn forwarded_for_from_an_untrusted_peer_is_ignored(pool: PgPool) {
    let app = with_limits(pool, limits(2, &["10.9.9.9"])).await;
    assert_eq!(
        sign_in_from(&app, "198.51.100.1").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_from(&app, "198.51.100.2").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_from(&app, "198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn adding_an_admin_of_another_organization_reveals_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let acme = app.admin("Acme").await;
    let (globex_email, globex_id) = app.create_org("Globex").await;

    let errors = acme
        .invalid(
            "add_admin",
            &[("email", &globex_email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(crate::helpers::fields(&errors), vec!["email"]);
    assert_eq!(errors[0].message, app::api::admins::EMAIL_NOT_AVAILABLE);
    for telling in ["exist", "organization", "Globex", "already"] {
        assert!(!errors[0].message.contains(telling), "{errors:?}");
    }
    // Nothing changed for Globex's admin.
    let org = sqlx::query_scalar!(
        "select organization_id from admins where email = $1",
        globex_email
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(org, globex_id);

    // One of our own is named as such: the admins page lists them anyway.
    let errors = acme
        .invalid(
            "add_admin",
            &[("email", &acme.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        errors[0].message,
        "This person is already an admin of your organization."
    );
}
