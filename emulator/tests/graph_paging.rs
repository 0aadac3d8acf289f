//! Graph query options and paging: `$select`, `$top`, `$filter`, `$skiptoken`, absolute links.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::StatusCode;
use roster_m365_emulator::{spawn, GenerateSpec};
use std::collections::BTreeSet;

#[tokio::test]
async fn select_returns_only_the_named_properties_and_id() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (_, _, body) = get(
        &emu,
        &t,
        "/v1.0/users?$select=mail,proxyAddresses,accountEnabled,userType",
    )
    .await;
    for user in body["value"].as_array().unwrap() {
        let got: Vec<String> = keys(user).into_iter().collect();
        assert_eq!(
            got,
            vec!["accountEnabled", "id", "mail", "proxyAddresses", "userType"]
        );
    }
    assert_eq!(
        body["@odata.context"],
        format!(
            "{}/v1.0/$metadata#users(mail,proxyAddresses,accountEnabled,userType)",
            emu.base_url()
        )
    );
    // Not selected, not returned: the default set has no proxyAddresses.
    let (_, _, plain) = get(&emu, &t, "/v1.0/users").await;
    assert!(plain["value"][0].get("proxyAddresses").is_none());
    // A user without a mailbox: mail null, proxyAddresses [].
    let (_, _, nomail) = get(
        &emu,
        &t,
        "/v1.0/users/nomailbox@contoso.com?$select=mail,proxyAddresses",
    )
    .await;
    assert_eq!(nomail["mail"], serde_json::Value::Null);
    assert_eq!(nomail["proxyAddresses"], serde_json::json!([]));
    let (status, _, bad) = get(&emu, &t, "/v1.0/users?$select=id,nonsense").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nonsense"));
}

#[tokio::test]
async fn top_must_be_between_1_and_999() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    for bad in ["0", "1000", "abc", "-1"] {
        let (status, _, body) = get(&emu, &t, &format!("/v1.0/users?$top={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
        assert_eq!(
            body["error"]["message"],
            format!("Invalid page size specified: '{bad}'. Must be between 1 and 999 inclusive.")
        );
    }
    let (status, _, body) = get(&emu, &t, "/v1.0/users?$top=999").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"].as_array().unwrap().len(), 5);
    assert!(body.get("@odata.nextLink").is_none());
    let (status, _, _) = get(&emu, &t, "/v1.0/users?$skip=2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn paging_a_generated_tenant_returns_each_user_exactly_once() {
    let mut config = roster_m365_emulator::EmulatorConfig::new(CLIENT_ID, SECRET);
    config = config.with_generated(GenerateSpec {
        users: 3500,
        groups: 200,
        seed: 42,
        consented: true,
        ..GenerateSpec::default()
    });
    let emu = spawn(config).await.unwrap();
    let t = token(&emu, "contoso.com").await;
    let (users, pages) = all_pages(
        &emu,
        &t,
        "/v1.0/users?$select=id,mail,proxyAddresses,accountEnabled,userType,mailNickname&$top=999",
    )
    .await;
    assert_eq!(pages, 4);
    let ids: BTreeSet<&str> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3500);
    assert_eq!(users.len(), 3500);
    // Default page size is 100.
    let (_, _, first) = get(&emu, &t, "/v1.0/users").await;
    assert_eq!(first["value"].as_array().unwrap().len(), 100);
    // Realistic mess is there.
    assert!(users.iter().any(|u| u["userType"] == "Guest"));
    assert!(users
        .iter()
        .any(|u| u["accountEnabled"] == false && u["mail"].is_string()));
    assert!(users
        .iter()
        .any(|u| u["mail"].is_null() && u["proxyAddresses"] == serde_json::json!([])));
    // Groups: paging with a filter keeps the filter in the nextLink.
    let (groups, _) = all_pages(
        &emu,
        &t,
        "/v1.0/groups?$filter=mailEnabled eq true&$select=id,mailEnabled,groupTypes&$top=20",
    )
    .await;
    assert!(!groups.is_empty());
    assert!(groups.iter().all(|g| g["mailEnabled"] == true));
    let (all, _) = all_pages(&emu, &t, "/v1.0/groups?$select=id&$top=999").await;
    assert_eq!(all.len(), 200);
    assert!(groups.len() < all.len());
}

#[tokio::test]
async fn paging_survives_changes_between_pages() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (_, _, first) = get(&emu, &t, "/v1.0/users?$top=2&$select=id").await;
    let next = first["@odata.nextLink"].as_str().unwrap().to_string();
    // A user after the page boundary is deleted before the next page is asked for.
    {
        let mut dir = emu.state().directory_mut();
        let tenant = dir.resolve_mut(CONTOSO).unwrap();
        tenant
            .delete_user(
                "00000000-0000-0000-0000-000000000005",
                roster_m365_emulator::changes::RemovalReason::Deleted,
            )
            .unwrap();
    }
    let (rest, _) = all_pages(&emu, &t, &next).await;
    let ids: Vec<&str> = rest.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec![
            "00000000-0000-0000-0000-000000000003",
            "00000000-0000-0000-0000-000000000004"
        ]
    );
}

#[tokio::test]
async fn next_links_are_absolute_and_follow_the_host_header() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let localhost = format!("http://localhost:{}", emu.addr().port());
    let (_, _, body) = get(
        &emu,
        &t,
        &format!("{localhost}/v1.0/users?$top=1&$select=id,mail"),
    )
    .await;
    let next = body["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!(
            "{localhost}/v1.0/users?$top=1&$select=id,mail&$skiptoken="
        )),
        "{next}"
    );
    assert!(body["@odata.context"]
        .as_str()
        .unwrap()
        .starts_with(&localhost));
    let (status, _, body) = get(&emu, &t, "/v1.0/users?$skiptoken=not-a-token").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "Directory_ExpiredPageToken");
}

#[tokio::test]
async fn group_filters() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (_, _, body) = get(
        &emu,
        &t,
        "/v1.0/groups?$filter=mailEnabled%20eq%20true&$select=id,mail",
    )
    .await;
    let names: Vec<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["mail"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "sales@contoso.com",
            "golfassist@contoso.com",
            "finance@contoso.com"
        ]
    );
    let (status, _, body) = get(&emu, &t, "/v1.0/groups?$filter=startswith(displayName,'S')").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    let (_, _, unified) = get(
        &emu,
        &t,
        "/v1.0/groups?$filter=groupTypes/any(c:c eq 'Unified')&$select=id",
    )
    .await;
    assert_eq!(unified["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bearer_token_is_required() {
    let emu = start().await;
    let (status, headers, body) = get(&emu, "", "/v1.0/users").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert!(headers.contains_key("www-authenticate"));
    let (status, _, body) = get(&emu, "eyJhbGciOi.eyJhdWQiOi.c2ln", "/v1.0/users").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
}

#[tokio::test]
async fn unknown_objects_and_paths() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (status, _, body) = get(&emu, &t, "/v1.0/groups/nope/members").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    let (status, _, body) = get(&emu, &t, "/v1.0/applications").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "Resource not found for the segment 'applications'."
    );
    let (status, _, body) = get(&emu, &t, "/v1.0/contacts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"][0]["mail"], "erics@partner.example");
}
