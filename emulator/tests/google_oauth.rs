//! The Google emulator's OAuth 2.0 web-server flow: consent page, code, token with PKCE,
//! refresh, revoke, and the error bodies of the token endpoint.
#![allow(clippy::unwrap_used)]

mod google_common;

use google_common::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use roster_m365_emulator::google::spawn;
use serde_json::Value;

#[tokio::test]
async fn discovery_and_jwks_describe_rs256_id_tokens() {
    let emu = start().await;
    let (s, conf) = get(&emu, "-", "/.well-known/openid-configuration").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(conf["issuer"], "https://accounts.google.com");
    assert_eq!(conf["token_endpoint"], format!("{}/token", emu.base_url()));
    assert_eq!(
        conf["authorization_endpoint"],
        format!("{}/o/oauth2/v2/auth", emu.base_url())
    );
    assert_eq!(
        conf["revocation_endpoint"],
        format!("{}/revoke", emu.base_url())
    );
    assert_eq!(
        conf["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let (s, jwks) = get(&emu, "-", "/oauth2/v3/certs").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
}

#[tokio::test]
async fn the_consent_page_shows_the_app_scopes_and_the_admins() {
    let emu = start().await;
    let (status, page) = consent_page(&emu, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(CLIENT_ID));
    assert!(page.contains("admin.directory.user.readonly"));
    assert!(page.contains("admin@acme.com"));
    assert!(
        !page.contains("helpdesk@acme.com"),
        "only admins are offered"
    );
    assert!(page.contains("value=\"allow\"") && page.contains("value=\"cancel\""));
}

#[tokio::test]
async fn bad_authorization_requests_get_googles_errors() {
    let emu = start().await;
    for (extra, status, error) in [
        (
            vec![("client_id", "other.apps.googleusercontent.com")],
            401,
            "invalid_client",
        ),
        (
            vec![("redirect_uri", "https://evil.test/cb")],
            400,
            "redirect_uri_mismatch",
        ),
        (vec![("scope", "")], 400, "invalid_request"),
        (
            vec![(
                "scope",
                "openid https://www.googleapis.com/auth/admin.directory.user",
            )],
            400,
            "invalid_scope",
        ),
        (
            vec![("code_challenge_method", "plain")],
            400,
            "invalid_request",
        ),
        (vec![("code_challenge", "")], 400, "invalid_request"),
    ] {
        let (s, page) = consent_page(&emu, &extra).await;
        assert_eq!(s.as_u16(), status, "{extra:?}: {page}");
        assert!(
            page.contains(&format!("Error {status}: {error}")),
            "{extra:?}: {page}"
        );
    }
    // A response type other than code goes back to the (registered) redirect URI.
    let res = client()
        .get(format!("{}/o/oauth2/v2/auth", emu.base_url()))
        .query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("response_type", "token"),
            ("scope", SCOPES),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let (base, params) = location_params(&res);
    assert_eq!(base, REDIRECT);
    assert_eq!(params["error"], "unsupported_response_type");
    assert_eq!(params["state"], "s");
}

#[tokio::test]
async fn cancel_redirects_with_access_denied() {
    let emu = start().await;
    let (_, page) = consent_page(&emu, &[]).await;
    let res = client()
        .post(format!("{}/_emulator/oauth/consent", emu.base_url()))
        .form(&[
            ("request", request_id(&page).as_str()),
            ("decision", "cancel"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let (base, params) = location_params(&res);
    assert_eq!(base, REDIRECT);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-1");
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn full_flow_code_pkce_token_refresh_revoke_then_invalid_grant() {
    let emu = start().await;
    // Allow: the redirect carries code, state, scope and hd.
    let (_, page) = consent_page(&emu, &[]).await;
    let res = allow(&emu, &page, "admin@acme.com").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (base, params) = location_params(&res);
    assert_eq!(base, REDIRECT);
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["scope"], SCOPES);
    assert_eq!(params["hd"], "acme.com");
    let code = params["code"].clone();
    assert!(code.starts_with("4/0"));

    // A wrong verifier uses the code up.
    let form = |code: &str, verifier: &'static str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("redirect_uri", REDIRECT.to_string()),
            ("code_verifier", verifier.to_string()),
            ("client_id", CLIENT_ID.to_string()),
            ("client_secret", SECRET.to_string()),
        ]
    };
    let as_refs = |f: &Vec<(&'static str, String)>| {
        f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let post = |f: Vec<(&'static str, String)>| {
        let url = format!("{}/token", emu.base_url());
        async move {
            let res = client().post(url).form(&f).send().await.unwrap();
            let s = res.status();
            (s, res.json::<Value>().await.unwrap())
        }
    };
    let (s, body) = post(as_refs(&form(
        &code,
        "wrong-verifier-wrong-verifier-wrong-verifier",
    )))
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(body["error_description"], "Invalid code verifier.");
    let (s, body) = post(as_refs(&form(&code, VERIFIER))).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "a code is good once"
    );

    // The right verifier on a fresh code: tokens.
    let code = code_for(&emu, "admin@acme.com").await;
    let (s, tokens) = post(as_refs(&form(&code, VERIFIER))).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3599);
    assert_eq!(tokens["scope"], SCOPES);
    assert!(tokens["access_token"]
        .as_str()
        .unwrap()
        .starts_with("ya29."));
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    assert!(refresh.starts_with("1//"));

    // The ID token verifies against the JWKS, with Google's claims.
    let (_, jwks) = get(&emu, "-", "/oauth2/v3/certs").await;
    let jwks: JwkSet = serde_json::from_value(jwks).unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[CLIENT_ID]);
    validation.set_issuer(&["https://accounts.google.com"]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["email"], "admin@acme.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["hd"], "acme.com");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["sub"], "100000000000000000001");
    assert_eq!(claims["azp"], CLIENT_ID);

    // The access token reads the directory.
    let access = tokens["access_token"].as_str().unwrap();
    let (s, _) = get(
        &emu,
        access,
        "/admin/directory/v1/users?customer=my_customer",
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // Refresh: a new access token, no new refresh token.
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
    ];
    let (s, refreshed) = token_call(&emu, &refresh_form).await;
    assert_eq!(s, StatusCode::OK, "{refreshed}");
    assert_ne!(refreshed["access_token"], tokens["access_token"]);
    assert!(refreshed.get("refresh_token").is_none());

    // Revoke: 200, then refresh is invalid_grant and the access tokens are dead.
    let res = client()
        .post(format!("{}/revoke", emu.base_url()))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (s, body) = token_call(&emu, &refresh_form).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    );
    let (s, _) = get(
        &emu,
        refreshed["access_token"].as_str().unwrap(),
        "/admin/directory/v1/users?customer=my_customer",
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Revoking again: invalid_token.
    let res = client()
        .post(format!("{}/revoke", emu.base_url()))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");

    // The control API lists the grants, revoked ones marked, without token values.
    let grants: Value = client()
        .get(format!("{}/_emulator/grants", emu.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants = grants.as_array().unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["revoked"], true);
    assert_eq!(grants[0]["email"], "admin@acme.com");
    assert!(!grants[0].to_string().contains(&refresh));
}

#[tokio::test]
async fn token_endpoint_errors_have_googles_bodies() {
    let emu = start().await;
    let code = code_for(&emu, "admin@acme.com").await;
    // (form, status, error, error_description)
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![
                ("grant_type", "password"),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
            ],
            400,
            "unsupported_grant_type",
            "Invalid grant_type: password",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", "nope"),
                ("client_secret", SECRET),
            ],
            401,
            "invalid_client",
            "The OAuth client was not found.",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", CLIENT_ID),
                ("client_secret", "wrong"),
            ],
            401,
            "invalid_client",
            "Unauthorized",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
            ],
            400,
            "invalid_request",
            "Missing required parameter: code",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "4/0garbage"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
            ],
            400,
            "invalid_grant",
            "Malformed auth code.",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://other.test/cb"),
                ("code_verifier", VERIFIER),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
            ],
            400,
            "redirect_uri_mismatch",
            "Bad Request",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "1//unknown"),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
            ],
            400,
            "invalid_grant",
            "Bad Request",
        ),
    ];
    for (form, status, error, description) in cases {
        let (s, body) = token_call(&emu, &form).await;
        assert_eq!(s.as_u16(), status, "{form:?}: {body}");
        assert_eq!(
            body,
            serde_json::json!({"error": error, "error_description": description}),
            "{form:?}"
        );
    }
    // A code without its verifier.
    let code = code_for(&emu, "admin@acme.com").await;
    let (s, body) = token_call(
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_description"], "Missing code verifier.");
    // Client credentials by HTTP Basic work too (form-urlencoded first, as RFC 6749 says).
    let code = code_for(&emu, "admin@acme.com").await;
    let res = client()
        .post(format!("{}/token", emu.base_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn online_access_has_no_refresh_token_and_issuer_can_be_the_emulator() {
    let mut config = config();
    config.issuer = None;
    let emu = spawn(config).await.unwrap();
    let (_, page) = consent_page(&emu, &[("access_type", "online")]).await;
    let res = allow(&emu, &page, "admin@acme.com").await;
    let (_, params) = location_params(&res);
    let (s, tokens) = redeem(&emu, &params["code"]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(tokens.get("refresh_token").is_none());
    let payload = tokens["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_string();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], emu.base_url());
}

#[tokio::test]
async fn a_refresh_token_comes_with_the_first_consent_and_again_only_with_prompt_consent() {
    let emu = start().await;
    let first = grant(&emu, "admin@acme.com").await;
    assert!(first["refresh_token"].is_string());
    // Offline again without prompt=consent: Google sends no new refresh token.
    let (_, page) = consent_page(&emu, &[("prompt", "")]).await;
    let (_, params) = location_params(&allow(&emu, &page, "admin@acme.com").await);
    let (s, again) = redeem(&emu, &params["code"]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(again.get("refresh_token").is_none(), "{again}");
    // With prompt=consent (as Roster's "Grant again" sends it): a new one.
    let again = grant(&emu, "admin@acme.com").await;
    assert!(again["refresh_token"].is_string());
    assert_ne!(again["refresh_token"], first["refresh_token"]);
}
