//! Google batch requests against the emulator: members of several groups in one round trip,
//! each part answered as if sent alone (its own status, faults and counters).
#![allow(clippy::unwrap_used)]

mod google_common;

use google_common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn batch_body(paths: &[&str]) -> String {
    let mut body = String::new();
    for (i, p) in paths.iter().enumerate() {
        body.push_str(&format!(
            "--b0undary\r\nContent-Type: application/http\r\nContent-ID: <item{}>\r\n\r\nGET {p} HTTP/1.1\r\n\r\n\r\n",
            i + 1
        ));
    }
    body.push_str("--b0undary--\r\n");
    body
}

/// (Content-ID, status, JSON body) of each response part, in order.
fn parse_answer(content_type: &str, text: &str) -> Vec<(String, u16, Value)> {
    let boundary = content_type.split("boundary=").nth(1).unwrap().to_string();
    text.split(&format!("--{boundary}"))
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .map(|part| {
            let id = part
                .split("Content-ID: <")
                .nth(1)
                .unwrap()
                .split('>')
                .next()
                .unwrap()
                .to_string();
            let status: u16 = part.split("HTTP/1.1 ").nth(1).unwrap()[..3]
                .parse()
                .unwrap();
            let json_start = part.find('{').unwrap();
            let body: Value = serde_json::from_str(part[json_start..].trim_end()).unwrap();
            (id, status, body)
        })
        .collect()
}

#[tokio::test]
async fn a_batch_answers_each_part_as_if_sent_alone() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    let body = batch_body(&[
        "/admin/directory/v1/groups/sales@acme.com/members?maxResults=200",
        "/admin/directory/v1/groups/nope@acme.com/members",
        "https://admin.googleapis.com/admin/directory/v1/groups/everyone@acme.com/members?fields=members(id,type)",
    ]);
    let res = client()
        .post(format!("{}/batch/admin/directory_v1", emu.base_url()))
        .bearer_auth(&token)
        .header("content-type", "multipart/mixed; boundary=b0undary")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("multipart/mixed; boundary="), "{ct}");
    let parts = parse_answer(&ct, &res.text().await.unwrap());
    assert_eq!(parts.len(), 3);
    assert_eq!((parts[0].0.as_str(), parts[0].1), ("response-item1", 200));
    assert_eq!(parts[0].2["members"].as_array().unwrap().len(), 3);
    assert_eq!((parts[1].0.as_str(), parts[1].1), ("response-item2", 404));
    assert_eq!(
        parts[1].2["error"]["message"],
        "Resource Not Found: groupKey"
    );
    assert_eq!(
        parts[2].2,
        json!({"members": [{"id": CUSTOMER, "type": "CUSTOMER"}]})
    );

    // Faults reach the parts: the next request (the first part) is throttled.
    let res = client()
        .put(format!("{}/_emulator/faults", emu.base_url()))
        .json(&json!({"throttle": "rateLimitExceeded", "throttleCount": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client()
        .post(format!("{}/batch", emu.base_url()))
        .bearer_auth(&token)
        .header("content-type", "multipart/mixed; boundary=b0undary")
        .body(body)
        .send()
        .await
        .unwrap();
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    let parts = parse_answer(&ct, &res.text().await.unwrap());
    assert_eq!(
        parts.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![429, 404, 200]
    );
    assert_eq!(
        parts[0].2["error"]["errors"][0]["reason"],
        "rateLimitExceeded"
    );
    let counters: Value = client()
        .get(format!("{}/_emulator/counters", emu.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["byKind"]["batch"], 2);
    assert_eq!(counters["byKind"]["members"], 6);
    assert_eq!(counters["throttled"], 1);

    // Without a token each part is 401; a body that is not multipart: 400.
    let res = client()
        .post(format!("{}/batch", emu.base_url()))
        .header("content-type", "multipart/mixed; boundary=b0undary")
        .body(batch_body(&[
            "/admin/directory/v1/users?customer=my_customer",
        ]))
        .send()
        .await
        .unwrap();
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(parse_answer(&ct, &res.text().await.unwrap())[0].1, 401);
    let res = client()
        .post(format!("{}/batch", emu.base_url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
