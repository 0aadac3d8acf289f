//! Helpers shared by the Google emulator's tests: a spawned emulator with the Acme Workspace,
//! a client that does not follow redirects, the OAuth flow up to tokens, and the samples.
#![allow(clippy::unwrap_used, dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use roster_m365_emulator::google::{spawn, GoogleConfig, RunningGoogle, WorkspaceFile};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub const CLIENT_ID: &str = "123456789012-emulator.apps.googleusercontent.com";
pub const SECRET: &str = "GOCSPX-emulator-test-secret";
pub const REDIRECT: &str = "https://roster.test/google/callback";
pub const CUSTOMER: &str = "C03az79cb";
pub const SCOPES: &str = "openid email https://www.googleapis.com/auth/admin.directory.user.readonly https://www.googleapis.com/auth/admin.directory.group.readonly https://www.googleapis.com/auth/admin.directory.group.member.readonly https://www.googleapis.com/auth/admin.directory.domain.readonly";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn acme() -> WorkspaceFile {
    serde_json::from_str(include_str!("../fixtures/acme-workspace.json")).unwrap()
}

pub fn config() -> GoogleConfig {
    let mut c = GoogleConfig::new(CLIENT_ID, SECRET).with_workspace(acme());
    c.redirect_uris = vec![REDIRECT.into()];
    c
}

pub async fn start() -> RunningGoogle {
    spawn(config()).await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn sample(name: &str) -> Value {
    let path = format!("{}/tests/samples/google/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The query parameters of a redirect's `Location`.
pub fn location_params(res: &reqwest::Response) -> (String, HashMap<String, String>) {
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    let url = reqwest::Url::parse(&loc).unwrap();
    let base = format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap(),
        url.path()
    );
    (base, url.query_pairs().into_owned().collect())
}

/// The consent page for Roster's request; returns the hidden request id.
pub async fn consent_page(emu: &RunningGoogle, extra: &[(&str, &str)]) -> (StatusCode, String) {
    let challenge = challenge(VERIFIER);
    let mut params = vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", SCOPES),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("access_type", "offline"),
        ("prompt", "consent"),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    let res = client()
        .get(format!("{}/o/oauth2/v2/auth", emu.base_url()))
        .query(&params)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

pub fn request_id(page: &str) -> String {
    let marker = "name=\"request\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

/// Allow as `account`: the code from the redirect.
pub async fn code_for(emu: &RunningGoogle, account: &str) -> String {
    let (status, page) = consent_page(emu, &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let res = allow(emu, &page, account).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (_, params) = location_params(&res);
    params["code"].clone()
}

pub async fn token_call(emu: &RunningGoogle, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = client()
        .post(format!("{}/token", emu.base_url()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// Allow on the consent page `page` as `account`: the redirect.
pub async fn allow(emu: &RunningGoogle, page: &str, account: &str) -> reqwest::Response {
    client()
        .post(format!("{}/_emulator/oauth/consent", emu.base_url()))
        .form(&[
            ("request", request_id(page).as_str()),
            ("decision", "allow"),
            ("account", account),
        ])
        .send()
        .await
        .unwrap()
}

/// Redeems `code` with Roster's verifier and the client's credentials.
pub async fn redeem(emu: &RunningGoogle, code: &str) -> (StatusCode, Value) {
    token_call(
        emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await
}

/// The token response of a full grant by `account`.
pub async fn grant(emu: &RunningGoogle, account: &str) -> Value {
    let code = code_for(emu, account).await;
    let (status, body) = redeem(emu, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// An access token of the Workspace's super admin with Roster's scopes.
pub async fn admin_token(emu: &RunningGoogle) -> String {
    grant(emu, "admin@acme.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn get(emu: &RunningGoogle, token: &str, path: &str) -> (StatusCode, Value) {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", emu.base_url())
    };
    let res = client().get(url).bearer_auth(token).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// JSON type name, for shape comparisons.
pub fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key of `ours` is a key of one of `samples` with the same JSON type (recursively for
/// objects); returns the violations.
pub fn shape_violations(ours: &Value, samples: &[&Value], path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(obj) = ours.as_object() else {
        return out;
    };
    for (k, v) in obj {
        let theirs: Vec<&Value> = samples.iter().filter_map(|s| s.get(k)).collect();
        if theirs.is_empty() {
            out.push(format!("{path}.{k}: not in the samples"));
            continue;
        }
        if !theirs.iter().any(|t| type_of(t) == type_of(v)) {
            out.push(format!(
                "{path}.{k}: {} here, {} in the samples",
                type_of(v),
                type_of(theirs[0])
            ));
        }
        if v.is_object() {
            let subs: Vec<&Value> = theirs.iter().copied().filter(|t| t.is_object()).collect();
            out.extend(shape_violations(v, &subs, &format!("{path}.{k}")));
        }
    }
    out
}
