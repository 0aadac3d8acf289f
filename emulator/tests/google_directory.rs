//! The Google emulator's Directory API reads: shapes against the real samples, paging,
//! `fields=`, domains and domain aliases, members of every type.
#![allow(clippy::unwrap_used)]

mod google_common;

use google_common::*;
use reqwest::StatusCode;
use roster_m365_emulator::google::{spawn, GenerateSpec};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn users_by_email(body: &Value) -> std::collections::BTreeMap<String, Value> {
    body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["primaryEmail"].as_str().unwrap().to_string(), u.clone()))
        .collect()
}

#[tokio::test]
async fn users_have_the_samples_shape_and_omit_empty_arrays() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    let (s, body) = get(
        &emu,
        &token,
        "/admin/directory/v1/users?customer=my_customer",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let sample = sample("psoxy-original-users.json");
    let sample_users: Vec<&Value> = sample["users"].as_array().unwrap().iter().collect();
    // The envelope: kind, etag, users; no nextPageToken on the last page.
    assert_eq!(
        body.as_object().unwrap().keys().collect::<BTreeSet<_>>(),
        ["etag", "kind", "users"]
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
            .iter()
            .collect()
    );
    assert_eq!(body["kind"], sample["kind"]);
    let etag = body["etag"].as_str().unwrap();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.contains('/'),
        "{etag}"
    );
    for user in body["users"].as_array().unwrap() {
        let mut user = user.clone();
        user.as_object_mut().unwrap().remove("suspensionReason"); // no suspended user in the sample
        assert_eq!(
            shape_violations(&user, &sample_users, "user"),
            Vec::<String>::new()
        );
    }
    let users = users_by_email(&body);
    assert_eq!(users.len(), 7);
    let alice = &users["alice@acme.com"];
    assert_eq!(
        alice["aliases"],
        json!(["alice.example@acme.com", "a@acme.net"])
    );
    // Google's own: the primary domain's test-google-a.com address and one per domain alias.
    assert_eq!(
        alice["nonEditableAliases"],
        json!([
            "alice@acme.com.test-google-a.com",
            "alice@in.acme.com",
            "alice.example@acme.com.test-google-a.com",
            "alice.example@in.acme.com"
        ])
    );
    assert_eq!(alice["name"]["fullName"], "Alice Example");
    assert_eq!(
        alice["emails"][0],
        json!({"address": "alice@acme.com", "primary": true})
    );
    // bob is in the secondary domain: no aliases of any kind, so neither key.
    let bob = &users["bob@acme.net"];
    assert!(
        bob.get("aliases").is_none() && bob.get("nonEditableAliases").is_none(),
        "{bob}"
    );
    assert_eq!(users["carol@acme.com"]["suspended"], true);
    assert_eq!(users["carol@acme.com"]["suspensionReason"], "ADMIN");
    assert_eq!(users["dave@acme.com"]["archived"], true);
    assert_eq!(
        users["erin@acme.com"]["nonEditableAliases"],
        json!(["erin@acme.com.test-google-a.com"])
    );
    assert_eq!(users["admin@acme.com"]["isAdmin"], true);
    assert_eq!(users["alice@acme.com"]["customerId"], CUSTOMER);
    // domain= narrows to primary emails in the domain.
    let (_, net) = get(&emu, &token, "/admin/directory/v1/users?domain=acme.net").await;
    assert_eq!(
        users_by_email(&net).keys().collect::<Vec<_>>(),
        vec!["bob@acme.net"]
    );
}

#[tokio::test]
async fn groups_and_members_have_the_samples_shape() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    let (s, body) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups?customer=my_customer",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let groups_sample = sample("psoxy-original-groups.json");
    let forseti = sample("forseti-groups-list.json");
    let sample_groups: Vec<&Value> = groups_sample["groups"].as_array().unwrap().iter().collect();
    let groups = body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 4);
    for g in groups {
        let mut g = g.clone();
        g.as_object_mut().unwrap().remove("aliases"); // the samples' groups have no aliases
        assert_eq!(
            shape_violations(&g, &sample_groups, "group"),
            Vec::<String>::new()
        );
        // Same key set as the captured group.
        let keys: BTreeSet<&String> = g.as_object().unwrap().keys().collect();
        let want: BTreeSet<&String> = sample_groups[0].as_object().unwrap().keys().collect();
        if g.get("nonEditableAliases").is_some() {
            assert_eq!(keys, want);
        }
    }
    assert_eq!(body["kind"], forseti["kind"]);
    let by_email = |e: &str| groups.iter().find(|g| g["email"] == e).unwrap().clone();
    let sales = by_email("sales@acme.com");
    assert_eq!(
        sales["directMembersCount"], "3",
        "a string, as Google sends it"
    );
    assert_eq!(sales["aliases"], json!(["sales-team@acme.com"]));
    assert_eq!(
        sales["nonEditableAliases"],
        json!([
            "sales@acme.com.test-google-a.com",
            "sales@in.acme.com",
            "sales-team@acme.com.test-google-a.com",
            "sales-team@in.acme.com"
        ])
    );
    let empty = by_email("empty@acme.net");
    assert_eq!(empty["directMembersCount"], "0");
    assert!(empty.get("aliases").is_none() && empty.get("nonEditableAliases").is_none());

    // Members: the sample's keys; USER with roles, GROUP (a cycle sales ↔ child), CUSTOMER.
    let members_sample = sample("psoxy-original-group-members.json");
    let sample_members: Vec<&Value> = members_sample["members"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    let (s, m) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups/sales@acme.com/members",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["kind"], members_sample["kind"]);
    let list = m["members"].as_array().unwrap();
    for member in list {
        assert_eq!(
            shape_violations(member, &sample_members, "member"),
            Vec::<String>::new()
        );
        assert_eq!(
            member.as_object().unwrap().len(),
            sample_members[0].as_object().unwrap().len()
        );
    }
    let summary: Vec<(String, String, String)> = list
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().into(),
                m["type"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("alice@acme.com".into(), "USER".into(), "MEMBER".into()),
            ("bob@acme.net".into(), "USER".into(), "OWNER".into()),
            ("child@acme.com".into(), "GROUP".into(), "MEMBER".into()),
        ]
    );
    // By id and by alias too; the child lists sales back (the cycle), carol SUSPENDED.
    let (_, child) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups/02nusc190i90bg6/members",
    )
    .await;
    let child = child["members"].as_array().unwrap();
    assert_eq!(child[0]["status"], "SUSPENDED");
    assert_eq!(child[1]["email"], "sales@acme.com");
    assert_eq!(child[1]["type"], "GROUP");
    // An outside address: a USER member with that email and an id of its own.
    assert_eq!(child[2]["email"], "partner@outside.example");
    assert_eq!(child[2]["type"], "USER");
    assert!(child[2]["id"]
        .as_str()
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_digit()));
    let (s, _) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups/sales-team@acme.com/members",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, everyone) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups/everyone@acme.com/members",
    )
    .await;
    let customer = &everyone["members"][0];
    assert_eq!(customer["type"], "CUSTOMER");
    assert_eq!(customer["id"], CUSTOMER);
    assert!(customer.get("email").is_none(), "{customer}");
    // No members: only kind and etag.
    let (_, none) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups/empty@acme.net/members",
    )
    .await;
    assert_eq!(
        none.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        vec!["etag".to_string(), "kind".to_string()]
    );
    // Unknown group: 404 notFound.
    let (s, body) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups/nope@acme.com/members",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": {"errors": [{"domain": "global", "reason": "notFound", "message": "Resource Not Found: groupKey"}], "code": 404, "message": "Resource Not Found: groupKey"}})
    );
}

#[tokio::test]
async fn domains_and_domain_aliases() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    let (s, body) = get(
        &emu,
        &token,
        "/admin/directory/v1/customer/my_customer/domains",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "admin#directory#domains");
    let domains = body["domains"].as_array().unwrap();
    assert_eq!(domains.len(), 2);
    assert_eq!(domains[0]["domainName"], "acme.com");
    assert_eq!(domains[0]["isPrimary"], true);
    assert_eq!(domains[0]["verified"], true);
    assert!(domains[0]["creationTime"].is_string());
    assert_eq!(
        domains[0]["domainAliases"][0]["domainAliasName"],
        "in.acme.com"
    );
    assert_eq!(domains[1]["isPrimary"], false);
    assert!(domains[1].get("domainAliases").is_none());
    let keys: BTreeSet<&str> = domains[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "kind",
            "etag",
            "domainName",
            "isPrimary",
            "verified",
            "creationTime",
            "domainAliases"
        ]
        .into_iter()
        .collect()
    );
    let (s, aliases) = get(
        &emu,
        &token,
        &format!("/admin/directory/v1/customer/{CUSTOMER}/domainaliases"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(aliases["kind"], "admin#directory#domainAliases");
    let a = &aliases["domainAliases"][0];
    assert_eq!(
        (
            a["domainAliasName"].as_str(),
            a["parentDomainName"].as_str(),
            a["kind"].as_str()
        ),
        (
            Some("in.acme.com"),
            Some("acme.com"),
            Some("admin#directory#domainAlias")
        )
    );
    let (_, none) = get(
        &emu,
        &token,
        "/admin/directory/v1/customer/my_customer/domainaliases?parentDomainName=acme.net",
    )
    .await;
    assert!(none.get("domainAliases").is_none(), "{none}");
    // Another customer's id: forbidden.
    let (s, body) = get(&emu, &token, "/admin/directory/v1/customer/C0other/domains").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body, sample("forseti-unauthorized-403.json"));
}

#[tokio::test]
async fn paging_1050_users_by_500_gives_3_pages_and_every_user_once() {
    let mut config = config();
    config.workspaces.clear();
    let emu = spawn(config.with_generated(GenerateSpec {
        users: 1050,
        groups: 3,
        domains: vec!["acme.com".into()],
        domain_aliases: vec![],
        customer_id: CUSTOMER.into(),
        seed: 4,
    }))
    .await
    .unwrap();
    let token = admin_token(&emu).await;
    let mut seen = BTreeSet::new();
    let mut pages = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut url = "/admin/directory/v1/users?customer=my_customer&maxResults=500".to_string();
        if let Some(t) = &next {
            url.push_str(&format!("&pageToken={t}"));
        }
        let (s, body) = get(&emu, &token, &url).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let users = body["users"].as_array().unwrap();
        pages.push(users.len());
        for u in users {
            assert!(
                seen.insert(u["id"].as_str().unwrap().to_string()),
                "served twice: {u}"
            );
        }
        match body.get("nextPageToken") {
            Some(t) => next = Some(t.as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(pages, vec![500, 500, 50]);
    assert_eq!(seen.len(), 1050);
    // Defaults and limits: 100 a page by default; 501 and 0 are refused; a forged token too.
    let (_, first) = get(
        &emu,
        &token,
        "/admin/directory/v1/users?customer=my_customer",
    )
    .await;
    assert_eq!(first["users"].as_array().unwrap().len(), 100);
    for bad in ["501", "0", "x"] {
        let (s, body) = get(
            &emu,
            &token,
            &format!("/admin/directory/v1/users?customer=my_customer&maxResults={bad}"),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error"]["errors"][0]["reason"], "invalid");
        assert_eq!(
            body["error"]["message"],
            format!("Invalid value '{bad}'. Values must be within the range: [1, 500]")
        );
    }
    let (s, _) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups?customer=my_customer&maxResults=201",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, body) = get(
        &emu,
        &token,
        "/admin/directory/v1/users?customer=my_customer&pageToken=garbage",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn fields_trims_the_response_to_the_selection() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    let fields = "nextPageToken,users(id,primaryEmail,aliases,nonEditableAliases,suspended,archived,name/fullName)";
    let (s, body) = get(
        &emu,
        &token,
        &format!("/admin/directory/v1/users?customer=my_customer&maxResults=2&fields={fields}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        vec!["nextPageToken".to_string(), "users".to_string()]
    );
    for u in body["users"].as_array().unwrap() {
        let keys: BTreeSet<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(
            keys.is_subset(
                &[
                    "id",
                    "primaryEmail",
                    "aliases",
                    "nonEditableAliases",
                    "suspended",
                    "archived",
                    "name"
                ]
                .into_iter()
                .collect()
            ),
            "{u}"
        );
        assert!(keys.contains("id") && keys.contains("suspended"));
        assert_eq!(
            u["name"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>(),
            vec!["fullName".to_string()]
        );
    }
    // The token still pages.
    let t = body["nextPageToken"].as_str().unwrap();
    let (s, next) = get(&emu, &token, &format!("/admin/directory/v1/users?customer=my_customer&maxResults=2&pageToken={t}&fields={fields}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(next["users"][0]["id"], body["users"][0]["id"]);
    // Groups and members too.
    let (_, g) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups?customer=my_customer&fields=groups(email,directMembersCount)",
    )
    .await;
    assert_eq!(g["groups"][0].as_object().unwrap().len(), 2);
    let (_, m) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups/sales@acme.com/members?fields=members(email,type)",
    )
    .await;
    assert_eq!(
        m["members"][0],
        json!({"email": "alice@acme.com", "type": "USER"})
    );
    // A malformed selector: 400.
    let (s, body) = get(
        &emu,
        &token,
        "/admin/directory/v1/users?customer=my_customer&fields=users(id",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["errors"][0]["location"], "fields");
}

#[tokio::test]
async fn list_requests_need_a_customer_or_a_domain_of_the_customer() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    let (s, body) = get(&emu, &token, "/admin/directory/v1/users").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": {"errors": [{"domain": "global", "reason": "badRequest", "message": "Bad Request"}], "code": 400, "message": "Bad Request"}})
    );
    let (s, body) = get(
        &emu,
        &token,
        "/admin/directory/v1/users?domain=other.example",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["message"], "Domain not found.");
    let (s, body) = get(&emu, &token, "/admin/directory/v1/groups?customer=C0other").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body, sample("forseti-unauthorized-403.json"));
}
