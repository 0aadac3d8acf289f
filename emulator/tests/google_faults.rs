//! The Google emulator's faults and control API: throttling bodies, API not enabled, a grantor
//! who is not (or no longer) an admin, revoked grants, expired tokens, scopes, edits, counters.
#![allow(clippy::unwrap_used)]

mod google_common;

use google_common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const USERS: &str = "/admin/directory/v1/users?customer=my_customer";

async fn control(
    emu: &roster_m365_emulator::google::RunningGoogle,
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

fn v1(code: u16, domain: &str, reason: &str, message: &str) -> Value {
    json!({"error": {"errors": [{"domain": domain, "reason": reason, "message": message}], "code": code, "message": message}})
}

#[tokio::test]
async fn throttling_faults_answer_with_googles_bodies_for_n_requests() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    for (kind, status, body) in [
        (
            "userRateLimitExceeded",
            403,
            v1(
                403,
                "usageLimits",
                "userRateLimitExceeded",
                "User Rate Limit Exceeded",
            ),
        ),
        (
            "quotaExceeded",
            403,
            v1(403, "usageLimits", "quotaExceeded", "Quota Exceeded"),
        ),
        (
            "rateLimitExceeded",
            429,
            v1(
                429,
                "usageLimits",
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            ),
        ),
        (
            "backendError",
            503,
            v1(
                503,
                "global",
                "backendError",
                "Service unavailable. Please try again",
            ),
        ),
    ] {
        let (s, _) = control(
            &emu,
            reqwest::Method::PUT,
            "/_emulator/faults",
            Some(json!({"throttle": kind, "throttleCount": 2})),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        for _ in 0..2 {
            let (s, got) = get(&emu, &token, USERS).await;
            assert_eq!(s.as_u16(), status, "{kind}");
            assert_eq!(got, body, "{kind}");
        }
        let (s, _) = get(&emu, &token, USERS).await;
        assert_eq!(s, StatusCode::OK, "{kind}: only the next 2 requests");
    }
    let (_, counters) = control(&emu, reqwest::Method::GET, "/_emulator/counters", None).await;
    assert_eq!(counters["throttled"], 8);
    assert_eq!(counters["byKind"]["users"], 12);
    assert_eq!(counters["tokensIssued"], 1);
    assert!(counters["oauth"].as_u64().unwrap() >= 2);
    assert_eq!(counters["directory"], 12);
}

#[tokio::test]
async fn a_throttling_probability_is_seeded_and_repeats() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        control(
            &emu,
            reqwest::Method::PUT,
            "/_emulator/faults",
            Some(json!({"throttle": "rateLimitExceeded", "throttleProbability": 0.5, "seed": 9})),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(get(&emu, &token, USERS).await.0.as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    let throttled = runs[0].iter().filter(|s| **s == 429).count();
    assert!((3..=17).contains(&throttled), "{throttled} of 20");
    let (s, _) = control(&emu, reqwest::Method::DELETE, "/_emulator/faults", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(get(&emu, &token, USERS).await.0, StatusCode::OK);
}

#[tokio::test]
async fn api_not_enabled_answers_access_not_configured() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    control(
        &emu,
        reqwest::Method::PUT,
        "/_emulator/faults",
        Some(json!({"apiNotEnabled": true})),
    )
    .await;
    let (s, body) = get(&emu, &token, USERS).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let err = &body["error"]["errors"][0];
    assert_eq!(err["reason"], "accessNotConfigured");
    assert_eq!(err["domain"], "usageLimits");
    assert!(body["error"]["message"].as_str().unwrap().starts_with(
        "Admin Directory API has not been used in project 123456789012 before or it is disabled."
    ));
    assert_eq!(body["error"]["code"], 403);
}

#[tokio::test]
async fn a_grantor_who_is_not_an_admin_gets_forbidden() {
    let emu = start().await;
    let forbidden = sample("forseti-unauthorized-403.json");
    // Granted by a non-admin (signs in at the consent page all the same, as at Google).
    let helpdesk = grant(&emu, "helpdesk@acme.com").await;
    let (s, body) = get(&emu, helpdesk["access_token"].as_str().unwrap(), USERS).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body, forbidden);
    // The admin loses admin rights after granting.
    let token = admin_token(&emu).await;
    assert_eq!(get(&emu, &token, USERS).await.0, StatusCode::OK);
    let (s, _) = control(
        &emu,
        reqwest::Method::PATCH,
        &format!("/_emulator/workspaces/{CUSTOMER}/users/admin@acme.com"),
        Some(json!({"isAdmin": false})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups?customer=my_customer",
    )
    .await;
    assert_eq!((s, body), (StatusCode::FORBIDDEN, forbidden.clone()));
    control(
        &emu,
        reqwest::Method::PATCH,
        &format!("/_emulator/workspaces/{CUSTOMER}/users/admin@acme.com"),
        Some(json!({"isAdmin": true})),
    )
    .await;
    assert_eq!(get(&emu, &token, USERS).await.0, StatusCode::OK);
    // Or by the fault switch.
    control(
        &emu,
        reqwest::Method::PUT,
        "/_emulator/faults",
        Some(json!({"grantorNotAdmin": true})),
    )
    .await;
    assert_eq!(
        get(&emu, &token, USERS).await,
        (StatusCode::FORBIDDEN, forbidden)
    );
    let (_, counters) = control(&emu, reqwest::Method::GET, "/_emulator/counters", None).await;
    assert_eq!(counters["forbidden"], 3);
}

#[tokio::test]
async fn revoked_grants_expired_tokens_and_missing_scopes() {
    let emu = start().await;
    let tokens = grant(&emu, "admin@acme.com").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
    ];
    // Expired access token: 401 with WWW-Authenticate; refresh still works.
    let (s, body) = control(
        &emu,
        reqwest::Method::POST,
        "/_emulator/tokens/expire",
        None,
    )
    .await;
    assert_eq!((s, body["expired"].as_u64()), (StatusCode::OK, Some(1)));
    let res = client()
        .get(format!("{}{USERS}", emu.base_url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["errors"][0]["reason"], "authError");
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    let (s, fresh) = token_call(&emu, &refresh_form).await;
    assert_eq!(s, StatusCode::OK);
    // No token at all: 401.
    let res = client()
        .get(format!("{}{USERS}", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Revoked grant (the user removed the app's access): invalid_grant, access tokens 401.
    let (_, body) = control(
        &emu,
        reqwest::Method::POST,
        "/_emulator/grants/revoke",
        None,
    )
    .await;
    assert_eq!(body["revoked"], 1);
    let (s, body) = token_call(&emu, &refresh_form).await;
    assert_eq!(
        (s, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
        )
    );
    assert_eq!(
        get(&emu, fresh["access_token"].as_str().unwrap(), USERS)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // A grant without the group scope: 403 insufficientPermissions on groups, users fine.
    let (_, page) = consent_page(
        &emu,
        &[(
            "scope",
            "openid email https://www.googleapis.com/auth/admin.directory.user.readonly",
        )],
    )
    .await;
    let res = allow(&emu, &page, "admin@acme.com").await;
    let (_, params) = location_params(&res);
    let (_, t) = redeem(&emu, &params["code"]).await;
    let narrow = t["access_token"].as_str().unwrap();
    assert_eq!(get(&emu, narrow, USERS).await.0, StatusCode::OK);
    let (s, body) = get(
        &emu,
        narrow,
        "/admin/directory/v1/groups?customer=my_customer",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"]["errors"][0]["reason"],
        "insufficientPermissions"
    );
    assert_eq!(
        body["error"]["message"],
        "Request had insufficient authentication scopes."
    );
    assert_eq!(
        get(
            &emu,
            narrow,
            "/admin/directory/v1/groups/sales@acme.com/members"
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(
            &emu,
            narrow,
            "/admin/directory/v1/customer/my_customer/domains"
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_control_api_loads_edits_and_generates_workspaces() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    let ws = format!("/_emulator/workspaces/{CUSTOMER}");
    // Add a user with an alias in the domain alias's parent; it shows up in users.list.
    let (s, body) = control(&emu, reqwest::Method::POST, &format!("{ws}/users"), Some(json!({"primaryEmail": "frank@acme.com", "fullName": "Frank New", "aliases": ["f@acme.net"]}))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, users) = get(&emu, &token, USERS).await;
    assert!(users["users"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["primaryEmail"] == "frank@acme.com"));
    // An address owned twice or outside the Workspace's domains: refused, nothing changed.
    let (s, body) = control(
        &emu,
        reqwest::Method::POST,
        &format!("{ws}/users"),
        Some(json!({"primaryEmail": "x@acme.com", "aliases": ["alice@acme.com"]})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, _) = control(
        &emu,
        reqwest::Method::POST,
        &format!("{ws}/users"),
        Some(json!({"primaryEmail": "x@elsewhere.example"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Suspend alice; members: add frank to sales, remove bob.
    control(
        &emu,
        reqwest::Method::PATCH,
        &format!("{ws}/users/alice@acme.com"),
        Some(json!({"suspended": true})),
    )
    .await;
    let (s, _) = control(
        &emu,
        reqwest::Method::POST,
        &format!("{ws}/groups/sales@acme.com/members"),
        Some(json!({"key": "frank@acme.com"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = control(
        &emu,
        reqwest::Method::DELETE,
        &format!("{ws}/groups/sales@acme.com/members/bob@acme.net"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, m) = get(
        &emu,
        &token,
        "/admin/directory/v1/groups/sales@acme.com/members?fields=members(email,status)",
    )
    .await;
    assert_eq!(
        m["members"],
        json!([{"email": "alice@acme.com", "status": "SUSPENDED"}, {"email": "child@acme.com", "status": "ACTIVE"}, {"email": "frank@acme.com", "status": "ACTIVE"}])
    );
    // A new group, then delete it; delete a user (gone from groups too).
    let (s, _) = control(&emu, reqwest::Method::POST, &format!("{ws}/groups"), Some(json!({"email": "new@acme.com", "name": "New", "members": ["frank@acme.com", "C03az79cb"]}))).await;
    assert_eq!(s, StatusCode::OK);
    let (_, g) = control(
        &emu,
        reqwest::Method::GET,
        &format!("{ws}/groups/new@acme.com"),
        None,
    )
    .await;
    assert_eq!(g["directMembersCount"], "2");
    let (s, _) = control(
        &emu,
        reqwest::Method::DELETE,
        &format!("{ws}/users/frank@acme.com"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, g) = control(
        &emu,
        reqwest::Method::GET,
        &format!("{ws}/groups/new@acme.com"),
        None,
    )
    .await;
    assert_eq!(g["directMembersCount"], "1");
    let (s, _) = control(
        &emu,
        reqwest::Method::DELETE,
        &format!("{ws}/groups/new@acme.com"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Export round-trips; a second Workspace cannot take a loaded domain; generate another.
    let (s, exported) = control(&emu, reqwest::Method::GET, &ws, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(exported["customerId"], CUSTOMER);
    let (s, _) = control(
        &emu,
        reqwest::Method::POST,
        "/_emulator/workspaces",
        Some(json!({"customerId": "C0other", "primaryDomain": "acme.com"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, summary) = control(&emu, reqwest::Method::POST, "/_emulator/workspaces/generate", Some(json!({"users": 20, "groups": 3, "domains": ["globex.example"], "domainAliases": [], "customerId": "C0globex", "seed": 2}))).await;
    assert_eq!(s, StatusCode::CREATED, "{summary}");
    assert_eq!(summary["users"], 20);
    assert_eq!(summary["admins"], json!(["admin@globex.example"]));
    let (_, list) = control(&emu, reqwest::Method::GET, "/_emulator/workspaces", None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // Globex's admin sees Globex, and is refused Acme's customer id.
    let globex = admin_token_of(&emu, "admin@globex.example").await;
    let (_, users) = get(&emu, &globex, USERS).await;
    assert_eq!(users["users"].as_array().unwrap().len(), 20);
    let (s, _) = get(
        &emu,
        &globex,
        &format!("/admin/directory/v1/users?customer={CUSTOMER}"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn admin_token_of(emu: &roster_m365_emulator::google::RunningGoogle, email: &str) -> String {
    grant(emu, email).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_refused_load_or_edit_changes_nothing_and_latency_slows_directory_reads() {
    let emu = start().await;
    let token = admin_token(&emu).await;
    // Replacing Acme by a file that takes another Workspace's domain is refused; Acme stays.
    let (s, _) = control(&emu, reqwest::Method::POST, "/_emulator/workspaces/generate", Some(json!({"users": 3, "groups": 0, "domains": ["globex.example"], "domainAliases": [], "customerId": "C0globex", "seed": 1}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = control(
        &emu,
        reqwest::Method::POST,
        "/_emulator/workspaces",
        Some(json!({"customerId": CUSTOMER, "primaryDomain": "globex.example"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, users) = get(&emu, &token, USERS).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(users["users"].as_array().unwrap().len(), 7);
    // An edit that breaks a rule: refused, the user unchanged.
    let (s, _) = control(
        &emu,
        reqwest::Method::PATCH,
        &format!("/_emulator/workspaces/{CUSTOMER}/users/bob@acme.net"),
        Some(json!({"aliases": ["bob@globex.example"]})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, bob) = control(
        &emu,
        reqwest::Method::GET,
        &format!("/_emulator/workspaces/{CUSTOMER}/users/bob@acme.net"),
        None,
    )
    .await;
    assert!(bob.get("aliases").is_none(), "{bob}");
    // Latency: a Directory read takes at least that long.
    control(
        &emu,
        reqwest::Method::PUT,
        "/_emulator/faults",
        Some(json!({"latencyMs": 150})),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(get(&emu, &token, USERS).await.0, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
}
