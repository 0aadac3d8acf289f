//! The emulator's Graph responses against the real samples: same keys, same shapes.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::StatusCode;
use roster_m365_emulator::FaultConfig;
use serde_json::Value;

fn sgnl(key: &str) -> Value {
    sample("sgnl_azuread_fixtures.json")[key].clone()
}

#[tokio::test]
async fn users_page_has_the_default_properties_of_the_real_tenant() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (status, headers, body) = get(&emu, &t, "/v1.0/users?$top=2").await;
    assert_eq!(status, StatusCode::OK);
    let real = sgnl("/v1.0/users?$select=id&$top=2");
    assert_eq!(keys(&body), keys(&real));
    assert_eq!(keys(&body["value"][0]), keys(&real["value"][0]));
    assert_eq!(
        body["@odata.context"],
        format!("{}/v1.0/$metadata#users", emu.base_url())
    );
    assert!(body["@odata.nextLink"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/v1.0/users?$top=2&$skiptoken=", emu.base_url())));
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(headers.contains_key("request-id"));
}

#[tokio::test]
async fn groups_page_has_the_properties_of_the_real_tenant() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (_, _, body) = get(&emu, &t, "/v1.0/groups?$top=2").await;
    let real = sgnl("/v1.0/groups?$select=id&$top=2");
    assert_eq!(keys(&body), keys(&real));
    assert_eq!(keys(&body["value"][0]), keys(&real["value"][0]));
    // The Microsoft 365 group of the fixture carries the same kind of values as the real one.
    let (_, _, golf) = get(
        &emu,
        &t,
        "/v1.0/groups/10000000-0000-0000-0000-000000000002",
    )
    .await;
    assert_eq!(golf["groupTypes"], serde_json::json!(["Unified"]));
    assert!(golf["securityIdentifier"]
        .as_str()
        .unwrap()
        .starts_with("S-1-12-1-"));
}

#[tokio::test]
async fn select_id_gives_only_ids_like_the_real_groups_sample() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (_, _, body) = get(&emu, &t, "/v1.0/groups?$select=id&$top=1").await;
    let real = sgnl("/v1.0/groups?$select=id&$top=1");
    assert_eq!(keys(&body), keys(&real));
    assert_eq!(keys(&body["value"][0]), keys(&real["value"][0]));
    assert_eq!(
        body["@odata.context"],
        format!("{}/v1.0/$metadata#groups(id)", emu.base_url())
    );
}

#[tokio::test]
async fn members_carry_odata_type_like_the_transitive_members_sample() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (_, _, body) = get(
        &emu,
        &t,
        "/v1.0/groups/10000000-0000-0000-0000-000000000001/transitiveMembers?$select=id,mail",
    )
    .await;
    let real = mock("https://graph.microsoft.com/v1.0/groups/*/transitiveMembers");
    let first = &body["value"][0];
    assert_eq!(keys(first), keys(&real["value"][0]));
    let types: Vec<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["@odata.type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"#microsoft.graph.user"));
    assert!(types.contains(&"#microsoft.graph.group"));
    assert!(types.contains(&"#microsoft.graph.orgContact"));
    // Sales DL → Adele, Eric (contact), Finance Security → Support, All Staff → Bob, No Mailbox.
    assert_eq!(body["value"].as_array().unwrap().len(), 7);
    let (_, _, direct) = get(
        &emu,
        &t,
        "/v1.0/groups/10000000-0000-0000-0000-000000000001/members",
    )
    .await;
    assert_eq!(direct["value"].as_array().unwrap().len(), 3);
    assert_eq!(
        direct["@odata.context"],
        format!("{}/v1.0/$metadata#directoryObjects", emu.base_url())
    );
}

#[tokio::test]
async fn organization_has_the_sample_keys_and_verified_domains() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (status, _, body) = get(&emu, &t, "/v1.0/organization").await;
    assert_eq!(status, StatusCode::OK);
    let real = mock("https://graph.microsoft.com/v1.0/organization");
    let org = &body["value"][0];
    assert!(keys(&real["value"][0]).is_subset(&keys(org)));
    assert_eq!(org["id"], CONTOSO);
    assert_eq!(org["displayName"], "Contoso");
    let domains = org["verifiedDomains"].as_array().unwrap();
    assert_eq!(domains.len(), 3);
    let default: Vec<&Value> = domains.iter().filter(|d| d["isDefault"] == true).collect();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0]["name"], "contoso.com");
    for d in domains {
        assert_eq!(
            keys(d).into_iter().collect::<Vec<_>>(),
            vec!["capabilities", "isDefault", "isInitial", "name", "type"]
        );
    }
}

#[tokio::test]
async fn delta_pages_have_the_shape_of_the_samples() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let mut config = roster_m365_emulator::EmulatorConfig::new(CLIENT_ID, SECRET);
    config.delta_page_size = 2;
    let small = roster_m365_emulator::spawn(config.with_tenant(contoso()))
        .await
        .unwrap();
    let ts = token(&small, CONTOSO).await;
    let (_, _, users) = get(&small, &ts, "/v1.0/users/delta").await;
    let real = mock("https://graph.microsoft.com/v1.0/users/delta");
    assert_eq!(keys(&users), keys(&real));
    assert_eq!(keys(&users["value"][0]), keys(&real["value"][0]));
    let (_, _, groups) = get(&emu, &t, "/v1.0/groups/delta").await;
    let real = mock("https://graph.microsoft.com/v1.0/groups/delta");
    assert!(groups["@odata.deltaLink"].is_string());
    let with_members = groups["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["members@delta"].is_array())
        .unwrap();
    assert!(
        keys(&real["value"][0])
            .iter()
            .all(|k| with_members.get(k).is_some()),
        "{with_members}"
    );
    assert_eq!(
        keys(&with_members["members@delta"][0]),
        keys(&real["value"][0]["members@delta"][0])
    );
}

#[tokio::test]
async fn error_bodies_have_the_shape_of_the_samples() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    // 400: an advanced filter without ConsistencyLevel.
    let (status, _, body) = get(
        &emu,
        &t,
        "/v1.0/users?$filter=endsWith(mail,'@contoso.com')",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let real = sample("graph_error_400_unsupported_query.json");
    assert!(same_shape(&body, &real), "{body}");
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    assert_eq!(body["error"]["message"], real["error"]["message"]);
    // 403: consent revoked while the token is still valid.
    emu.state().revoke_consent(CONTOSO).unwrap();
    let (status, _, body) = get(&emu, &t, "/v1.0/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let real = sample("graph_error_403_authz_denied.json");
    assert!(same_shape(&body, &real), "{body}");
    assert_eq!(body["error"]["message"], real["error"]["message"]);
    // 429: throttled.
    emu.state().grant_consent(CONTOSO, None).unwrap();
    emu.state().set_faults(FaultConfig {
        throttle_every: 1,
        retry_after: "2.128".into(),
        ..FaultConfig::default()
    });
    let (status, headers, body) = get(&emu, &t, "/v1.0/users").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(same_shape(&body, &sample("graph_error_429.json")), "{body}");
    assert_eq!(headers["retry-after"], "2.128");
}

#[tokio::test]
async fn client_request_id_is_echoed_and_request_id_returned() {
    let emu = start().await;
    let res = client()
        .get(format!("{}/v1.0/users", emu.base_url()))
        .header("client-request-id", "a1556ddf-4794-929d-0105-b753a78b4c68")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let request_id = res.headers()["request-id"].to_str().unwrap().to_string();
    assert_eq!(
        res.headers()["client-request-id"],
        "a1556ddf-4794-929d-0105-b753a78b4c68"
    );
    assert!(res.headers().contains_key("www-authenticate"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(
        body["error"]["innerError"]["client-request-id"],
        "a1556ddf-4794-929d-0105-b753a78b4c68"
    );
    assert_eq!(
        body["error"]["innerError"]["request-id"],
        request_id.as_str()
    );
}
