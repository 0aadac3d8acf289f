//! Faults on demand and the control API that sets them: throttling, 503, token expiry,
//! consent revocation, counters.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn every_third_graph_request_is_throttled_with_a_fractional_retry_after() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (s, _) = control(
        &emu,
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"throttleEvery": 3, "retryAfter": "0.05"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, headers, _) = get(&emu, &t, "/v1.0/users?$select=id").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(headers["retry-after"], "0.05");
        }
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 429, 200, 200, 429]);
    let (_, counters) = control(&emu, Method::GET, "/_emulator/counters", None).await;
    assert_eq!(counters["throttled"], 2);
    assert_eq!(counters["byKind"]["users"], 6);
    assert_eq!(counters["byKind"]["token"], 1);
    assert_eq!(counters["total"], 7);
    let (s, _) = control(&emu, Method::POST, "/_emulator/counters/reset", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(emu.state().counter_snapshot().total, 0);
}

#[tokio::test]
async fn throttling_can_target_one_path_kind_and_be_random_but_repeatable() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    emu.state().set_faults(roster_m365_emulator::FaultConfig {
        throttle_probability: 0.5,
        seed: 7,
        path_kinds: vec!["members".into()],
        ..Default::default()
    });
    let mut run = Vec::new();
    for _ in 0..10 {
        let (s, _, _) = get(
            &emu,
            &t,
            "/v1.0/groups/10000000-0000-0000-0000-000000000001/members",
        )
        .await;
        run.push(s.as_u16());
        let (s, _, _) = get(&emu, &t, "/v1.0/users").await;
        assert_eq!(s, StatusCode::OK);
    }
    assert!(run.contains(&429) && run.contains(&200));
    emu.state().set_faults(roster_m365_emulator::FaultConfig {
        throttle_probability: 0.5,
        seed: 7,
        path_kinds: vec!["members".into()],
        ..Default::default()
    });
    let mut again = Vec::new();
    for _ in 0..10 {
        let (s, _, _) = get(
            &emu,
            &t,
            "/v1.0/groups/10000000-0000-0000-0000-000000000001/members",
        )
        .await;
        again.push(s.as_u16());
    }
    assert_eq!(run, again);
}

#[tokio::test]
async fn service_unavailable_carries_retry_after() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    control(
        &emu,
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"unavailableEvery": 1, "unavailableRetryAfter": "3"})),
    )
    .await;
    let (status, headers, body) = get(&emu, &t, "/v1.0/groups").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "3");
    assert_eq!(body["error"]["code"], "serviceNotAvailable");
    let (s, _) = control(&emu, Method::DELETE, "/_emulator/faults", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (status, _, _) = get(&emu, &t, "/v1.0/groups").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn expiring_tokens_mid_run_gives_401_until_a_new_token() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (_, _, page) = get(&emu, &t, "/v1.0/users?$top=2").await;
    let next = page["@odata.nextLink"].as_str().unwrap().to_string();
    let (s, body) = control(&emu, Method::POST, "/_emulator/tokens/expire", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["expired"], 1);
    let (status, _, body) = get(&emu, &t, &next).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    let fresh = token(&emu, CONTOSO).await;
    let (status, _, _) = get(&emu, &fresh, &next).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn revoking_consent_denies_graph_and_new_tokens() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (s, _) = control(
        &emu,
        Method::DELETE,
        &format!("/_emulator/tenants/{CONTOSO}/consent"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (status, _, body) = get(&emu, &t, "/v1.0/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    let (status, body) = token_response(
        &emu,
        CONTOSO,
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", GRAPH_SCOPE),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"][0], 700016);
    // Consent without Group.Read.All: users work, groups are forbidden.
    let (s, _) = control(
        &emu,
        Method::PUT,
        &format!("/_emulator/tenants/{CONTOSO}/consent"),
        Some(json!({"roles": ["User.Read.All"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let t = token(&emu, CONTOSO).await;
    assert_eq!(get(&emu, &t, "/v1.0/users").await.0, StatusCode::OK);
    assert_eq!(get(&emu, &t, "/v1.0/groups").await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn latency_is_added() {
    let emu = start().await;
    emu.state().set_faults(roster_m365_emulator::FaultConfig {
        latency_ms: 150,
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let t = token(&emu, CONTOSO).await;
    get(&emu, &t, "/v1.0/organization").await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
}

#[tokio::test]
async fn control_api_loads_generates_and_exports_tenants() {
    let emu = start().await;
    let (s, summary) = control(&emu, Method::POST, "/_emulator/tenants/generate", Some(json!({
        "users": 120, "groups": 15, "domains": ["fabrikam.example", "fabrikam.net"], "seed": 9, "consented": true
    }))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(summary["users"], 120);
    assert_eq!(summary["defaultDomain"], "fabrikam.example");
    let id = summary["id"].as_str().unwrap().to_string();
    let (_, list) = control(&emu, Method::GET, "/_emulator/tenants", None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // Export, change, load back with PUT: the state is exactly the file.
    let (s, mut file) = control(&emu, Method::GET, &format!("/_emulator/tenants/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    file["users"] = json!([file["users"][0].clone()]);
    file["groups"] = json!([]);
    file["contacts"] = json!([]);
    let (s, summary) = control(
        &emu,
        Method::PUT,
        &format!("/_emulator/tenants/{id}"),
        Some(file),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{summary}");
    assert_eq!(summary["users"], 1);
    // A domain can belong to one tenant only; conflicts and bad input are refused.
    let mut clash = contoso();
    clash.id = "11111111-1111-1111-1111-111111111111".into();
    let (s, _) = control(
        &emu,
        Method::POST,
        "/_emulator/tenants",
        Some(serde_json::to_value(clash).unwrap()),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = control(
        &emu,
        Method::POST,
        &format!("/_emulator/tenants/{CONTOSO}/users"),
        Some(json!({
            "userPrincipalName": "x@contoso.com", "mail": "sales@contoso.com"
        })),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "sales@contoso.com belongs to a group"
    );
    let (s, _) = control(
        &emu,
        Method::DELETE,
        &format!("/_emulator/tenants/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = control(&emu, Method::GET, &format!("/_emulator/tenants/{id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let emu = start().await;
    let base = emu.base_url().to_string();
    emu.shutdown().await.unwrap();
    assert!(client()
        .get(format!("{base}/v1.0/users"))
        .send()
        .await
        .is_err());
}
