//! Delta queries: a full round, then only the changes made through the control API.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use roster_m365_emulator::RunningEmulator;
use serde_json::{json, Value};

/// Runs a delta round from `url` to its deltaLink; returns the items and the deltaLink.
async fn round(emu: &RunningEmulator, token: &str, url: &str) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut url = url.to_string();
    loop {
        let (status, _, body) = get(emu, token, &url).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        items.extend(body["value"].as_array().unwrap().iter().cloned());
        if let Some(next) = body["@odata.nextLink"].as_str() {
            assert!(next.contains("$skiptoken="));
            url = next.to_string();
        } else {
            let delta = body["@odata.deltaLink"].as_str().unwrap();
            assert!(delta.contains("$deltatoken="));
            return (items, delta.to_string());
        }
    }
}

async fn small_pages() -> RunningEmulator {
    let mut config = config();
    config.delta_page_size = 2;
    roster_m365_emulator::spawn(config).await.unwrap()
}

#[tokio::test]
async fn users_delta_reports_only_changes_since_the_delta_link() {
    let emu = small_pages().await;
    let t = token(&emu, CONTOSO).await;
    let (first, link) = round(
        &emu,
        &t,
        "/v1.0/users/delta?$select=displayName,mail,proxyAddresses,accountEnabled",
    )
    .await;
    assert_eq!(first.len(), 5);
    assert!(first.iter().all(|u| keys(u).len() == 5));

    // Nothing changed: an empty round.
    let (none, link) = round(&emu, &t, &link).await;
    assert!(none.is_empty());

    let t_path = format!("/_emulator/tenants/{CONTOSO}");
    let (s, _) = control(
        &emu,
        Method::POST,
        &format!("{t_path}/users"),
        Some(json!({
            "id": "00000000-0000-0000-0000-0000000000aa",
            "displayName": "New Hire",
            "userPrincipalName": "new.hire@contoso.com",
            "mail": "new.hire@contoso.com",
            "proxyAddresses": ["SMTP:new.hire@contoso.com"]
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = control(
        &emu,
        Method::PATCH,
        &format!("{t_path}/users/00000000-0000-0000-0000-000000000002"),
        Some(json!({
            "proxyAddresses": ["SMTP:Adele.Vance@contoso.com", "smtp:av@contoso.net"]
        })),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = control(
        &emu,
        Method::DELETE,
        &format!("{t_path}/users/00000000-0000-0000-0000-000000000004"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = control(
        &emu,
        Method::DELETE,
        &format!("{t_path}/users/00000000-0000-0000-0000-000000000005?permanent=true"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let (changes, link) = round(&emu, &t, &link).await;
    assert_eq!(changes.len(), 4, "{changes:?}");
    let by_id = |id: &str| changes.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(
        by_id("00000000-0000-0000-0000-0000000000aa")["displayName"],
        "New Hire"
    );
    assert_eq!(
        by_id("00000000-0000-0000-0000-000000000002")["proxyAddresses"],
        json!(["SMTP:Adele.Vance@contoso.com", "smtp:av@contoso.net"])
    );
    assert_eq!(
        by_id("00000000-0000-0000-0000-000000000004"),
        json!({"id": "00000000-0000-0000-0000-000000000004", "@removed": {"reason": "changed"}})
    );
    assert_eq!(
        by_id("00000000-0000-0000-0000-000000000005")["@removed"]["reason"],
        "deleted"
    );
    // The select of the first round is kept in the tokens.
    assert_eq!(
        keys(&by_id("00000000-0000-0000-0000-0000000000aa")).len(),
        5
    );

    let (none, _) = round(&emu, &t, &link).await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn groups_delta_reports_membership_changes() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (first, link) = round(
        &emu,
        &t,
        "/v1.0/groups/delta?$select=displayName,mail,members",
    )
    .await;
    assert_eq!(first.len(), 4);
    let sales = first
        .iter()
        .find(|g| g["displayName"] == "Sales DL")
        .unwrap();
    assert_eq!(sales["members@delta"].as_array().unwrap().len(), 3);

    let t_path = "/_emulator/tenants/contoso.com";
    let sales_id = "10000000-0000-0000-0000-000000000001";
    let (s, _) = control(
        &emu,
        Method::POST,
        &format!("{t_path}/groups/{sales_id}/members"),
        Some(json!({"id": "00000000-0000-0000-0000-000000000005"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = control(
        &emu,
        Method::DELETE,
        &format!("{t_path}/groups/{sales_id}/members/30000000-0000-0000-0000-000000000001"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = control(
        &emu,
        Method::DELETE,
        &format!("{t_path}/groups/10000000-0000-0000-0000-000000000002?permanent=true"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let (changes, _) = round(&emu, &t, &link).await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    let sales = changes.iter().find(|g| g["id"] == sales_id).unwrap();
    let mut deltas = sales["members@delta"].as_array().unwrap().clone();
    deltas.sort_by_key(|d| d["id"].as_str().unwrap().to_string());
    assert_eq!(
        deltas,
        vec![
            json!({"@odata.type": "#microsoft.graph.user", "id": "00000000-0000-0000-0000-000000000005"}),
            json!({"@odata.type": "#microsoft.graph.orgContact", "id": "30000000-0000-0000-0000-000000000001", "@removed": {"reason": "deleted"}}),
        ]
    );
    let golf = changes
        .iter()
        .find(|g| g["id"] == "10000000-0000-0000-0000-000000000002")
        .unwrap();
    assert_eq!(golf["@removed"]["reason"], "deleted");
}

#[tokio::test]
async fn large_groups_span_several_delta_pages() {
    let mut file = contoso();
    let big = &mut file.groups[3];
    for i in 0..250 {
        let id = format!("20000000-0000-0000-0000-{i:012}");
        file.users.push(
            serde_json::from_value(
                json!({"id": id, "userPrincipalName": format!("u{i}@contoso.com")}),
            )
            .unwrap(),
        );
    }
    let big_id = big.id.clone();
    for u in &file.users {
        file.groups[3].members.insert(u.id.clone());
    }
    let emu = roster_m365_emulator::spawn(
        roster_m365_emulator::EmulatorConfig::new(CLIENT_ID, SECRET).with_tenant(file),
    )
    .await
    .unwrap();
    let t = token(&emu, CONTOSO).await;
    let (items, _) = round(&emu, &t, "/v1.0/groups/delta?$select=id,members").await;
    let parts: Vec<&Value> = items
        .iter()
        .filter(|g| g["id"] == big_id.as_str())
        .collect();
    assert_eq!(parts.len(), 3);
    let members: usize = parts
        .iter()
        .map(|p| p["members@delta"].as_array().unwrap().len())
        .sum();
    assert_eq!(members, 255);
}

#[tokio::test]
async fn stale_delta_tokens_must_start_over() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (_, link) = round(&emu, &t, "/v1.0/users/delta?$select=id,mail").await;
    let (s, _) = control(
        &emu,
        Method::POST,
        &format!("/_emulator/tenants/{CONTOSO}/delta/invalidate"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (status, headers, body) = get(&emu, &t, &link).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"]["code"], "syncStateNotFound");
    assert_eq!(
        headers["location"].to_str().unwrap(),
        format!("{}/v1.0/users/delta?$select=id,mail", emu.base_url())
    );
    let (status, _, body) = get(&emu, &t, "/v1.0/users/delta?$deltatoken=garbage").await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"]["code"], "syncStateNotFound");
    // Replacing the tenant (a new epoch) kills old tokens too; 400 when so configured.
    let (_, link) = round(&emu, &t, "/v1.0/users/delta").await;
    emu.state().load_tenant(contoso()).unwrap();
    emu.state().set_faults(roster_m365_emulator::FaultConfig {
        delta_token_error_status: 400,
        ..Default::default()
    });
    let (status, _, body) = get(&emu, &t, &link).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "syncStateNotFound");
    // $top is not supported on delta.
    let (status, _, _) = get(&emu, &t, "/v1.0/users/delta?$top=5").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn latest_delta_token_skips_the_full_round() {
    let emu = start().await;
    let t = token(&emu, CONTOSO).await;
    let (items, link) = round(&emu, &t, "/v1.0/users/delta?$deltatoken=latest").await;
    assert!(items.is_empty());
    emu.state()
        .directory_mut()
        .resolve_mut(CONTOSO)
        .unwrap()
        .remove_member(
            "10000000-0000-0000-0000-000000000004",
            "00000000-0000-0000-0000-000000000004",
        )
        .unwrap();
    let (items, _) = round(&emu, &t, &link).await;
    assert!(items.is_empty(), "a membership change is not a user change");
}

#[tokio::test]
async fn pages_fill_up_with_the_member_chunks_of_large_groups() {
    let mut file = contoso();
    for i in 0..250 {
        let id = format!("20000000-0000-0000-0000-{i:012}");
        file.users.push(
            serde_json::from_value(
                json!({"id": id, "userPrincipalName": format!("u{i}@contoso.com")}),
            )
            .unwrap(),
        );
    }
    let all: Vec<String> = file.users.iter().map(|u| u.id.clone()).collect();
    file.groups[0].members.extend(all.iter().cloned());
    let want: std::collections::BTreeMap<String, usize> = file
        .groups
        .iter()
        .map(|g| (g.id.clone(), g.members.len()))
        .collect();
    let mut config = roster_m365_emulator::EmulatorConfig::new(CLIENT_ID, SECRET).with_tenant(file);
    config.delta_page_size = 3;
    let emu = roster_m365_emulator::spawn(config).await.unwrap();
    let t = token(&emu, CONTOSO).await;
    let mut url = "/v1.0/groups/delta?$select=id,members".to_string();
    let mut pages = Vec::new();
    loop {
        let (status, _, body) = get(&emu, &t, &url).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages.push(body["value"].as_array().unwrap().clone());
        match body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    // Every page but the last is full: a large group's chunks don't end a page early.
    let (last, full) = pages.split_last().unwrap();
    assert!(
        full.iter().all(|p| p.len() == 3),
        "{:?}",
        pages.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert!(!last.is_empty());
    // Merged by id, each group has all its members once.
    let mut got: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for item in pages.iter().flatten() {
        let members = got
            .entry(item["id"].as_str().unwrap().to_owned())
            .or_default();
        for m in item["members@delta"].as_array().into_iter().flatten() {
            assert!(
                members.insert(m["id"].as_str().unwrap().to_owned()),
                "a member twice"
            );
        }
    }
    let got: std::collections::BTreeMap<String, usize> =
        got.into_iter().map(|(k, v)| (k, v.len())).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn contacts_delta_reports_changes_and_latest_skips_the_full_round() {
    let emu = small_pages().await;
    let t = token(&emu, CONTOSO).await;
    let (first, _) = round(
        &emu,
        &t,
        "/v1.0/contacts/delta?$select=id,mail,proxyAddresses",
    )
    .await;
    assert!(!first.is_empty());
    let (status, _, body) = get(
        &emu,
        &t,
        "/v1.0/contacts/delta?$select=id,mail,proxyAddresses&$deltatoken=latest",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["value"].as_array().unwrap().is_empty());
    let link = body["@odata.deltaLink"].as_str().unwrap().to_string();
    let t_path = format!("/_emulator/tenants/{CONTOSO}");
    let (s, _) = control(
        &emu,
        Method::POST,
        &format!("{t_path}/contacts"),
        Some(json!({
            "id": "00000000-0000-0000-0000-0000000000cc",
            "displayName": "Partner",
            "mail": "partner@fabrikam.example",
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (changes, _) = round(&emu, &t, &link).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["mail"], "partner@fabrikam.example");
}
