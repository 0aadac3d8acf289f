//! Forms work without JavaScript: a plain HTML post is answered with a redirect back to the
//! form, carrying the error in the URL when there is one.

#![allow(clippy::unwrap_used)]

use crate::helpers::{spawn_app, unique_domain, PASSWORD};
use reqwest::StatusCode;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn a_plain_form_post_redirects_back_with_the_error(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let referer = format!("{}/domains/new", app.address);
    let post = |name: &'static str, body: String| {
        admin
            .client
            .post(format!("{}/api/{name}", app.address))
            .header("accept", "text/html")
            .header("referer", &referer)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let res = post(
        "create_domain",
        "name=not+a+domain&server_type=office365".to_owned(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    // Back to the form's path (never an absolute URL), with the error's code.
    assert!(location.starts_with("/domains/new?"), "{location}");
    assert!(location.contains("__err=invalid.name"), "{location}");

    // The page it returns to shows the message at the field.
    let page = admin
        .client
        .get(format!("{}{location}", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    // The URL carries only a code, so the field gets Roster's fixed sentence.
    assert!(
        html.contains("This value was not accepted"),
        "the error is shown on the form"
    );

    // Success goes where the function says: the new domain's page.
    let name = unique_domain("nojs");
    let res = post(
        "create_domain",
        format!("name={name}&server_type=office365"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers().get("location").unwrap().to_str().unwrap();
    assert!(location.starts_with("/domains/"), "{location}");
}

#[sqlx::test(migrations = "../migrations")]
async fn signing_in_without_javascript(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (email, _) = app.create_org("Acme").await;
    let client = crate::helpers::new_client();
    let res = client
        .post(format!("{}/api/login", app.address))
        .header("accept", "text/html")
        .header("referer", format!("{}/login", app.address))
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers().get("location").unwrap(), "/domains");
    let page = client
        .get(format!("{}/domains", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Add domain"));
}
