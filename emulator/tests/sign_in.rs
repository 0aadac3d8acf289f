//! OpenID Connect sign-in: discovery, keys, `/authorize` (with the session admin consent
//! leaves, or the sign-in page), the authorization-code grant with PKCE, RS256 ID tokens and
//! the one-shot ID-token faults.
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use roster_m365_emulator::RunningEmulator;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://localhost:3000/oauth/microsoft/callback";
const ADMIN_ID: &str = "00000000-0000-0000-0000-000000000001";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

fn authorize_query(challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", CLIENT_ID.into()),
        ("response_type", "code".into()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", "openid profile".into()),
        ("state", "s-2".into()),
        ("nonce", "n-1".into()),
        ("code_challenge", challenge.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

fn param(location: &str, name: &str) -> String {
    query_of(location)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

async fn redeem(emu: &RunningEmulator, code: &str, verifier: &str) -> (StatusCode, Value) {
    token_response(
        emu,
        CONTOSO,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Checks the signature against the published keys, `iss` and `aud`; returns the claims.
async fn verified(emu: &RunningEmulator, id_token: &str) -> Value {
    let config: Value = client()
        .get(format!(
            "{}/{CONTOSO}/v2.0/.well-known/openid-configuration",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks: JwkSet = client()
        .get(config["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[CLIENT_ID]);
    validation.set_issuer(&[config["issuer"].as_str().unwrap()]);
    jsonwebtoken::decode::<Value>(id_token, &key, &validation)
        .unwrap()
        .claims
}

/// Accepts admin consent as Contoso's admin in `browser`, then asks it to sign in.
async fn consent_then_authorize(emu: &RunningEmulator, browser: &reqwest::Client) -> String {
    let accepted = browser
        .post(format!("{}/_emulator/consent", emu.base_url()))
        .form(&[
            ("tenant", CONTOSO),
            ("client_id", CLIENT_ID),
            ("scope", GRAPH_SCOPE),
            ("redirect_uri", REDIRECT),
            ("state", "s-1"),
            ("account", &format!("admin:{CONTOSO}")),
            ("decision", "accept"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::FOUND);
    let res = browser
        .get(format!(
            "{}/{CONTOSO}/oauth2/v2.0/authorize",
            emu.base_url()
        ))
        .query(&authorize_query(&challenge()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "no second screen");
    res.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn discovery_names_the_tenant_issuer_and_its_keys() {
    let emu = start().await;
    let config: Value = client()
        .get(format!(
            "{}/contoso.com/v2.0/.well-known/openid-configuration",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let base = emu.base_url();
    assert_eq!(config["issuer"], format!("{base}/{CONTOSO}/v2.0"));
    assert_eq!(
        config["authorization_endpoint"],
        format!("{base}/contoso.com/oauth2/v2.0/authorize")
    );
    assert_eq!(
        config["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let keys: Value = client()
        .get(config["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"][0]["kty"], "RSA");
    assert_eq!(keys["keys"][0]["use"], "sig");
    assert!(keys["keys"][0]["kid"].is_string());

    let unknown = client()
        .get(format!(
            "{base}/{}/v2.0/.well-known/openid-configuration",
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(unknown.text().await.unwrap().contains("AADSTS90002"));
}

#[tokio::test]
async fn after_consent_authorize_answers_with_a_code_redeemed_once_for_a_signed_id_token() {
    let emu = start().await;
    let b = browser();
    let location = consent_then_authorize(&emu, &b).await;
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(param(&location, "state"), "s-2");
    let code = param(&location, "code");

    let (status, wrong) = redeem(&emu, &code, "not-the-verifier").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong["error_codes"][0], 501481);

    // The failed attempt used the code up, as Microsoft does.
    let (status, used) = redeem(&emu, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(used["error"], "invalid_grant");
    assert_eq!(used["error_codes"][0], 54005);

    let code = param(&consent_then_authorize(&emu, &b).await, "code");
    let (status, answer) = redeem(&emu, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let claims = verified(&emu, answer["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["tid"], CONTOSO);
    assert_eq!(claims["oid"], ADMIN_ID);
    assert_eq!(
        claims["preferred_username"],
        "admin@contoso.onmicrosoft.com"
    );
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["ver"], "2.0");
    assert!(claims["wids"]
        .as_array()
        .unwrap()
        .contains(&json!("62e90394-69f5-4237-9190-012177145e10")));
}

#[tokio::test]
async fn without_a_session_a_sign_in_page_stands_in_for_microsofts() {
    let emu = start().await;
    let page = client()
        .get(format!(
            "{}/{CONTOSO}/oauth2/v2.0/authorize",
            emu.base_url()
        ))
        .query(&authorize_query(&challenge()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in"));
    assert!(html.contains("admin@contoso.onmicrosoft.com — Global Administrator of Contoso"));

    let mut form: Vec<(&str, String)> = authorize_query(&challenge());
    form.push(("tenant", CONTOSO.into()));
    form.push(("account", format!("{CONTOSO}:{ADMIN_ID}")));
    form.push(("decision", "sign-in".into()));
    let b = browser();
    let res = b
        .post(format!("{}/_emulator/sign-in", emu.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let code = param(res.headers()["location"].to_str().unwrap(), "code");
    let (status, _) = redeem(&emu, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK);

    // Cancel goes back to the app with access_denied.
    let mut cancel: Vec<(&str, String)> = authorize_query(&challenge());
    cancel.push(("tenant", CONTOSO.into()));
    cancel.push(("decision", "cancel".into()));
    let res = client()
        .post(format!("{}/_emulator/sign-in", emu.base_url()))
        .form(&cancel)
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap();
    assert_eq!(param(location, "error"), "access_denied");
    assert_eq!(param(location, "state"), "s-2");
}

#[tokio::test]
async fn an_id_token_fault_spoils_the_next_token_only() {
    let emu = start().await;
    let b = browser();
    let res = client()
        .put(format!("{}/_emulator/faults/id-token", emu.base_url()))
        .json(&json!({"fault": "otherTenant"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let code = param(&consent_then_authorize(&emu, &b).await, "code");
    let (_, answer) = redeem(&emu, &code, VERIFIER).await;
    let claims =
        jsonwebtoken::dangerous::insecure_decode::<Value>(answer["id_token"].as_str().unwrap())
            .unwrap()
            .claims;
    assert_ne!(claims["tid"], CONTOSO);
    assert!(!claims["iss"].as_str().unwrap().contains(CONTOSO));

    let code = param(&consent_then_authorize(&emu, &b).await, "code");
    let (_, answer) = redeem(&emu, &code, VERIFIER).await;
    let claims = verified(&emu, answer["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["tid"], CONTOSO);
}
