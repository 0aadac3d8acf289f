//! Helpers shared by the integration tests: a spawned emulator with the Contoso fixture,
//! an HTTP client that does not follow redirects, tokens, and the real samples.
#![allow(clippy::unwrap_used, dead_code)]

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use roster_m365_emulator::{spawn, EmulatorConfig, RunningEmulator, TenantFile};
use serde_json::Value;
use std::collections::BTreeSet;

pub const CLIENT_ID: &str = "9a8b7c6d-1111-2222-3333-444455556666";
pub const SECRET: &str = "emulator-test-secret~value";
pub const CONTOSO: &str = "6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f";
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

pub fn contoso() -> TenantFile {
    serde_json::from_str(include_str!("../fixtures/contoso.json")).unwrap()
}

pub fn config() -> EmulatorConfig {
    EmulatorConfig::new(CLIENT_ID, SECRET).with_tenant(contoso())
}

pub async fn start() -> RunningEmulator {
    spawn(config()).await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The token endpoint's raw answer.
pub async fn token_response(
    emu: &RunningEmulator,
    tenant: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let res = client()
        .post(format!("{}/{tenant}/oauth2/v2.0/token", emu.base_url()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

pub async fn token(emu: &RunningEmulator, tenant: &str) -> String {
    let (status, body) = token_response(
        emu,
        tenant,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", GRAPH_SCOPE),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// GET a Graph URL (absolute, or a path under the base URL) with a bearer token.
pub async fn get(emu: &RunningEmulator, token: &str, url: &str) -> (StatusCode, HeaderMap, Value) {
    let url = if url.starts_with("http") {
        url.to_string()
    } else {
        format!("{}{url}", emu.base_url())
    };
    let res = client().get(url).bearer_auth(token).send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

/// Follows `@odata.nextLink` to the end; returns every `value` item and the page count.
pub async fn all_pages(emu: &RunningEmulator, token: &str, url: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut next = Some(url.to_string());
    let mut pages = 0;
    while let Some(url) = next {
        let (status, _, body) = get(emu, token, &url).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        items.extend(body["value"].as_array().unwrap().iter().cloned());
        next = body["@odata.nextLink"].as_str().map(str::to_string);
    }
    (items, pages)
}

pub async fn control(
    emu: &RunningEmulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client().request(method, format!("{}{path}", emu.base_url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A real sample from `tests/samples/`.
pub fn sample(name: &str) -> Value {
    let path = format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The response body of the Graph documentation mock whose URL is exactly `url`.
pub fn mock(url: &str) -> Value {
    let mocks = sample("graph-directory-mocks.json");
    mocks["mocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["request"]["url"] == url)
        .map(|m| m["response"]["body"].clone())
        .unwrap()
}

pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Same keys at every level of the error body (values differ: ids, dates).
pub fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            keys(a) == keys(b) && x.iter().all(|(k, v)| same_shape(v, &y[k]))
        }
        (Value::Array(_), Value::Array(_)) => true,
        (x, y) => std::mem::discriminant(x) == std::mem::discriminant(y),
    }
}

/// `?a=b&c=d` of a URL as pairs.
pub fn query_of(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    serde_urlencoded::from_str(q).unwrap()
}
