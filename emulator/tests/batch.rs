//! `POST /v1.0/$batch`: inner requests answer as if sent alone (auth, faults, counters per
//! request), the batch's own checks fail it as a whole.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use roster_m365_emulator::{FaultConfig, RunningEmulator};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const SALES: &str = "10000000-0000-0000-0000-000000000001";
const GOLF: &str = "10000000-0000-0000-0000-000000000002";
const FINANCE: &str = "10000000-0000-0000-0000-000000000003";
const MEMBERS_QUERY: &str = "$select=id,mail,proxyAddresses&$top=999";

/// POSTs a batch body; the status and the JSON answer.
async fn batch(emu: &RunningEmulator, token: &str, body: Value) -> (StatusCode, Value) {
    let res = client()
        .post(format!("{}/v1.0/$batch", emu.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

fn members_request(id: &str, group: &str) -> Value {
    json!({"id": id, "method": "GET", "url": format!("/groups/{group}/transitiveMembers?{MEMBERS_QUERY}")})
}

/// The responses by id (their order is Graph's choice).
fn by_id(answer: &Value) -> BTreeMap<String, Value> {
    answer["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

#[tokio::test]
async fn a_batch_of_member_reads_answers_as_the_single_reads_do() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let groups = [SALES, GOLF, FINANCE];
    let mut alone = Vec::new();
    for group in groups {
        let (status, _, body) = get(
            &emu,
            &t,
            &format!("/v1.0/groups/{group}/transitiveMembers?{MEMBERS_QUERY}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        alone.push(body);
    }
    emu.state().reset_counters();

    let requests: Vec<Value> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| members_request(&(i + 1).to_string(), g))
        .collect();
    let (status, answer) = batch(&emu, &t, json!({ "requests": requests })).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let responses = by_id(&answer);
    assert_eq!(responses.len(), 3);
    for (i, body) in alone.iter().enumerate() {
        let r = &responses[&(i + 1).to_string()];
        assert_eq!(r["status"], 200, "{r}");
        assert!(r["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json"));
        assert_eq!(&r["body"], body);
    }
    // Graph promises no order: clients must match by id (the emulator reverses).
    let order: Vec<&str> = answer["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["3", "2", "1"]);

    let c = emu.state().counter_snapshot();
    assert_eq!(c.by_kind["batch"], 1, "{c:?}");
    assert_eq!(c.by_kind["transitiveMembers"], 3, "{c:?}");
    assert_eq!(c.graph, 4, "{c:?}");
}

#[tokio::test]
async fn more_than_twenty_requests_or_a_repeated_id_fail_the_whole_batch() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let requests = |n: usize| -> Vec<Value> {
        (1..=n)
            .map(|i| members_request(&i.to_string(), SALES))
            .collect()
    };
    let (status, body) = batch(&emu, &t, json!({ "requests": requests(21) })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "BadRequest");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeds the limit"),
        "{body}"
    );
    assert!(body["error"]["innerError"]["request-id"].is_string());
    assert!(!emu
        .state()
        .counter_snapshot()
        .by_kind
        .contains_key("transitiveMembers"));

    let (status, body) = batch(&emu, &t, json!({ "requests": requests(20) })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id(&body).len(), 20);
    assert_eq!(
        emu.state().counter_snapshot().by_kind["transitiveMembers"],
        20
    );

    // Ids are compared without regard to case.
    let dup = json!({"requests": [
        {"id": "a", "method": "GET", "url": "/users"},
        {"id": "A", "method": "GET", "url": "/users"},
    ]});
    let (status, body) = batch(&emu, &t, dup).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "BadRequest");

    for bad in [
        json!({}),
        json!({"requests": [{"id": "1", "method": "GET"}]}),
        json!({"requests": [{"id": "1", "url": "/users"}]}),
        json!({"requests": [{"method": "GET", "url": "/users"}]}),
        json!({"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}]}),
    ] {
        let (status, body) = batch(&emu, &t, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "BadRequest");
    }
}

#[tokio::test]
async fn each_inner_request_has_its_own_answer() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let unknown = "10000000-0000-0000-0000-0000000000ff";
    let (status, answer) = batch(
        &emu,
        &t,
        json!({"requests": [
            members_request("known", SALES),
            members_request("gone", unknown),
            {"id": "post", "method": "POST", "url": "/users", "body": {}, "headers": {"Content-Type": "application/json"}},
            {"id": "nested", "method": "POST", "url": "/$batch"},
            {"id": "relative", "method": "get", "url": "users?$select=id&$top=2"},
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let r = by_id(&answer);
    assert_eq!(r["known"]["status"], 200);
    assert_eq!(r["gone"]["status"], 404);
    assert_eq!(
        r["gone"]["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    assert!(r["gone"]["body"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains(unknown));
    assert_eq!(r["post"]["status"], 405);
    assert_eq!(r["post"]["body"]["error"]["code"], "Request_BadRequest");
    assert_eq!(r["nested"]["status"], 400);
    assert_eq!(r["relative"]["status"], 200);
    assert_eq!(r["relative"]["body"]["value"].as_array().unwrap().len(), 2);
    // A nextLink inside a batch is absolute, on the caller's origin, like any other.
    assert!(r["relative"]["body"]["@odata.nextLink"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/v1.0/users?", emu.base_url())));
}

#[tokio::test]
async fn inner_requests_are_throttled_one_by_one_while_the_batch_answers_200() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    emu.state().set_faults(FaultConfig {
        throttle_every: 2,
        retry_after: "0.05".into(),
        path_kinds: vec!["transitiveMembers".into()],
        ..FaultConfig::default()
    });
    let (status, answer) = batch(
        &emu,
        &t,
        json!({"requests": [
            members_request("1", SALES),
            members_request("2", GOLF),
            members_request("3", FINANCE),
            members_request("4", SALES),
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let r = by_id(&answer);
    let statuses: Vec<u64> = ["1", "2", "3", "4"]
        .iter()
        .map(|id| r[*id]["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 429, 200, 429]);
    for id in ["2", "4"] {
        assert_eq!(r[id]["headers"]["Retry-After"], "0.05", "{}", r[id]);
        assert_eq!(r[id]["body"]["error"]["code"], "TooManyRequests");
    }
    assert!(r["1"]["headers"].get("Retry-After").is_none());
    let c = emu.state().counter_snapshot();
    assert_eq!(c.throttled, 2, "{c:?}");
    assert_eq!(c.by_kind["transitiveMembers"], 4, "{c:?}");
}

#[tokio::test]
async fn inner_requests_carry_the_callers_token_and_permissions() {
    let emu = start().await;
    // Only User.Read.All: users answer, members are denied, inside the same batch.
    let (s, _) = control(
        &emu,
        Method::PUT,
        &format!("/_emulator/tenants/{CONTOSO}/consent"),
        Some(json!({"roles": ["User.Read.All"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let t = token(&emu, CONTOSO).await;
    let (status, answer) = batch(
        &emu,
        &t,
        json!({"requests": [
            {"id": "users", "method": "GET", "url": "/users?$select=id"},
            members_request("members", SALES),
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let r = by_id(&answer);
    assert_eq!(r["users"]["status"], 200);
    assert_eq!(r["members"]["status"], 403);
    assert_eq!(
        r["members"]["body"]["error"]["code"],
        "Authorization_RequestDenied"
    );
    assert_eq!(emu.state().counter_snapshot().forbidden, 1);

    // The batch itself needs a valid token.
    let (status, body) = batch(&emu, "not-a-token", json!({"requests": []})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
}
