//! Admin consent and the token endpoint, against Microsoft's documented behaviour and the
//! real token samples.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::StatusCode;
use roster_m365_emulator::{spawn, GenerateSpec};
use serde_json::Value;

const REDIRECT: &str = "http://localhost:3000/connect/m365/callback";

async fn consent_get(
    emu: &roster_m365_emulator::RunningEmulator,
    tenant: &str,
    query: &[(&str, &str)],
) -> reqwest::Response {
    client()
        .get(format!("{}/{tenant}/v2.0/adminconsent", emu.base_url()))
        .query(query)
        .send()
        .await
        .unwrap()
}

fn consent_query(state: &str) -> Vec<(&str, &str)> {
    vec![
        ("client_id", CLIENT_ID),
        ("scope", GRAPH_SCOPE),
        ("redirect_uri", REDIRECT),
        ("state", state),
    ]
}

/// Posts the consent page's form the way a browser would.
async fn decide(
    emu: &roster_m365_emulator::RunningEmulator,
    tenant: &str,
    account: &str,
    decision: &str,
) -> String {
    let res = client()
        .post(format!("{}/_emulator/consent", emu.base_url()))
        .form(&[
            ("tenant", tenant),
            ("client_id", CLIENT_ID),
            ("scope", GRAPH_SCOPE),
            ("redirect_uri", REDIRECT),
            ("state", "xyz 1"),
            ("account", account),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    res.headers()["location"].to_str().unwrap().to_string()
}

async fn unconsented() -> roster_m365_emulator::RunningEmulator {
    let mut file = contoso();
    file.consented = Some(false);
    spawn(roster_m365_emulator::EmulatorConfig::new(CLIENT_ID, SECRET).with_tenant(file))
        .await
        .unwrap()
}

#[tokio::test]
async fn consent_page_lists_permissions_accounts_and_buttons() {
    let emu = unconsented().await;
    let res = consent_get(&emu, "contoso.com", &consent_query("s1")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    for needle in [
        "User.Read.All",
        "Group.Read.All",
        "admin@contoso.onmicrosoft.com",
        "Accept",
        "Cancel",
        "action=\"/_emulator/consent\"",
        "value=\"s1\"",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(
        !html.contains("<script") && !html.contains("<link") && !html.contains("src="),
        "no external assets"
    );
}

#[tokio::test]
async fn accepting_redirects_with_admin_consent_and_records_it() {
    let emu = unconsented().await;
    let location = decide(&emu, CONTOSO, &format!("admin:{CONTOSO}"), "accept").await;
    assert_eq!(
        location,
        format!("{REDIRECT}?admin_consent=True&tenant={CONTOSO}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&state=xyz+1")
    );
    assert!(emu.state().summary(CONTOSO).unwrap().consented);
    token(&emu, "contoso.com").await;
}

#[tokio::test]
async fn cancelling_redirects_with_access_denied() {
    let emu = unconsented().await;
    let location = decide(&emu, "contoso.com", &format!("admin:{CONTOSO}"), "cancel").await;
    let q = query_of(&location);
    assert!(location.starts_with(&format!("{REDIRECT}?error=access_denied&error_subcode=cancel&error_description=AADSTS65004%3A+User+declined+to+consent")));
    assert!(q.contains(&("state".into(), "xyz 1".into())));
    assert!(!emu.state().summary(CONTOSO).unwrap().consented);
}

#[tokio::test]
async fn a_non_admin_gets_admin_consent_required() {
    let emu = unconsented().await;
    let location = decide(&emu, "contoso.com", &format!("user:{CONTOSO}"), "accept").await;
    let q = query_of(&location);
    assert!(q.contains(&("error".into(), "access_denied".into())));
    let description = &q.iter().find(|(k, _)| k == "error_description").unwrap().1;
    assert!(description.starts_with("AADSTS90094: "), "{description}");
    assert!(!emu.state().summary(CONTOSO).unwrap().consented);
}

#[tokio::test]
async fn organizations_lets_the_admin_pick_the_tenant() {
    let emu = unconsented().await;
    emu.state()
        .generate_tenant(&GenerateSpec {
            users: 5,
            groups: 1,
            domains: vec!["fabrikam.example".into()],
            seed: 3,
            ..GenerateSpec::default()
        })
        .unwrap();
    let html = consent_get(&emu, "organizations", &consent_query("s"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Contoso") && html.contains("Fabrikam"));
    let fabrikam = emu.state().summary("fabrikam.example").unwrap().id;
    let location = decide(
        &emu,
        "organizations",
        &format!("admin:{fabrikam}"),
        "accept",
    )
    .await;
    assert!(location.contains(&format!("tenant={fabrikam}")));
}

#[tokio::test]
async fn common_and_bad_requests_get_an_error_page() {
    let emu = unconsented().await;
    let res = consent_get(&emu, "common", &consent_query("s")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("AADSTS90130"));
    let res = consent_get(
        &emu,
        "contoso.com",
        &[("client_id", CLIENT_ID), ("scope", GRAPH_SCOPE)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("redirect_uri"));
    let res = consent_get(
        &emu,
        "contoso.com",
        &[("redirect_uri", REDIRECT), ("scope", GRAPH_SCOPE)],
    )
    .await;
    assert!(res.text().await.unwrap().contains("AADSTS900144"));
    let res = consent_get(&emu, "nowhere.example", &consent_query("s")).await;
    assert!(res.text().await.unwrap().contains("AADSTS90002"));
    let mut q = consent_query("s");
    q[0] = ("client_id", "someone-else");
    let res = consent_get(&emu, "contoso.com", &q).await;
    assert!(res.text().await.unwrap().contains("AADSTS700016"));
}

#[tokio::test]
async fn auto_consent_accepts_at_once() {
    let mut file = contoso();
    file.consented = Some(false);
    let mut config = roster_m365_emulator::EmulatorConfig::new(CLIENT_ID, SECRET).with_tenant(file);
    config.auto_consent = true;
    let emu = spawn(config).await.unwrap();
    let res = consent_get(&emu, "organizations", &consent_query("abc")).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(
        location.contains("admin_consent=True")
            && location.contains(CONTOSO)
            && location.ends_with("state=abc")
    );
    assert!(emu.state().summary(CONTOSO).unwrap().consented);
}

fn form<'a>(secret: &'a str, scope: &'a str, grant: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", CLIENT_ID),
        ("client_secret", secret),
        ("scope", scope),
        ("grant_type", grant),
    ]
}

#[tokio::test]
async fn token_success_has_the_shape_of_the_sample() {
    let emu = start().await;
    let (status, body) = token_response(
        &emu,
        CONTOSO,
        &form(SECRET, GRAPH_SCOPE, "client_credentials"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&body), keys(&sample("token_success.json")));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    assert!(token.starts_with("eyJ") && token.split('.').count() == 3);
}

#[tokio::test]
async fn token_errors_match_microsoft() {
    let emu = start().await;
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, StatusCode, &'a str, u64);
    let cases: Vec<Case> = vec![
        (
            "nowhere.example",
            form(SECRET, GRAPH_SCOPE, "client_credentials"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
        ),
        (
            CONTOSO,
            form("wrong", GRAPH_SCOPE, "client_credentials"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
        ),
        (
            CONTOSO,
            form(SECRET, "https://example.com/.default", "client_credentials"),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
        ),
        (
            CONTOSO,
            form(SECRET, "User.Read.All", "client_credentials"),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
        ),
        (
            CONTOSO,
            form(SECRET, GRAPH_SCOPE, "password"),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
        ),
        (
            "common",
            form(SECRET, GRAPH_SCOPE, "client_credentials"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90130,
        ),
    ];
    let shape = sample("token_error_invalid_client_7000215.json");
    for (tenant, form, status, error, code) in cases {
        let (got_status, body) = token_response(&emu, tenant, &form).await;
        assert_eq!(got_status, status, "{body}");
        assert_eq!(body["error"], error);
        assert_eq!(body["error_codes"][0], code);
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}: ")));
        assert!(same_shape(&body, &shape), "{body}");
    }
    let (_, body) = token_response(
        &emu,
        CONTOSO,
        &form(SECRET, GRAPH_SCOPE, "client_credentials")[..3],
    )
    .await;
    assert_eq!(body["error_codes"][0], 900144);
}

#[tokio::test]
async fn an_app_without_consent_is_not_found_in_the_directory() {
    let emu = unconsented().await;
    let (status, body) = token_response(
        &emu,
        "contoso.com",
        &form(SECRET, GRAPH_SCOPE, "client_credentials"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(body["error_codes"][0], 700016);
    assert!(same_shape(
        &body,
        &sample("token_error_unauthorized_client_700016.json")
    ));
    assert!(body["error_uri"].as_str().unwrap().ends_with("code=700016"));
}

#[tokio::test]
async fn client_secret_basic_is_accepted() {
    let emu = start().await;
    let res = client()
        .post(format!("{}/{CONTOSO}/oauth2/v2.0/token", emu.base_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("scope", GRAPH_SCOPE), ("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn token_ttl_is_configurable() {
    let mut config = config();
    config.token_ttl = std::time::Duration::from_secs(120);
    let emu = spawn(config).await.unwrap();
    let (_, body) = token_response(
        &emu,
        CONTOSO,
        &form(SECRET, GRAPH_SCOPE, "client_credentials"),
    )
    .await;
    assert_eq!(body["expires_in"], 120);
    assert_eq!(body["ext_expires_in"], 120);
}
