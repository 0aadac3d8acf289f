//! `POST /{tenant}/oauth2/v2.0/token`: the client-credentials grant, with Entra's checks in
//! Entra's order and its status codes (400 for request and tenant problems, 401 for bad client
//! credentials).
//!
//! Client credentials are accepted in the form body or as HTTP Basic (`client_secret_basic`,
//! what the `oauth2` crate sends by default).
//!
//! The authorization-code grant (OpenID Connect sign-in) redeems a code from `/authorize` once:
//! same client, tenant and redirect URI, the PKCE verifier of its challenge; the answer holds an
//! RS256 ID token (`id_token.rs`).

use super::errors::{no_store, AadError};
use super::id_token::{id_token, pkce_matches, CodeProblem};
use super::sign_in::base_url;
use crate::state::EmulatorState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::ExposeSecret;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// The resource identifiers of Microsoft Graph a `/.default` scope may name.
const GRAPH_RESOURCES: &[&str] = &[
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
    "00000003-0000-0000-c000-000000000000",
];

#[derive(Serialize)]
struct TokenResponse {
    token_type: &'static str,
    expires_in: u64,
    ext_expires_in: u64,
    access_token: String,
}

pub async fn token(
    State(state): State<Arc<EmulatorState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue(&state, &tenant, &headers, &body) {
        Ok(response) => response,
        Err(e) => e.correlated(&headers).into_response(),
    }
}

fn issue(
    state: &EmulatorState,
    tenant_key: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AadError> {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let field = |name: &str| form.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
    let special = matches!(
        tenant_key.to_ascii_lowercase().as_str(),
        "common" | "organizations" | "consumers"
    );
    if !special && state.directory().resolve(tenant_key).is_none() {
        return Err(tenant_not_found(tenant_key));
    }
    let grant_type = field("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant_type == "authorization_code" && !special {
        return redeem_code(state, tenant_key, headers, &form);
    }
    if grant_type != "client_credentials" {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    if special {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90130,
            format!(
                "Application '{}' is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
                field("client_id").unwrap_or("")
            ),
        ));
    }
    let basic = basic_credentials(headers);
    let client_id = basic
        .as_ref()
        .map(|(id, _)| id.as_str())
        .or_else(|| field("client_id"))
        .ok_or_else(|| missing("client_id"))?;
    let dir = state.directory();
    let tenant = dir
        .resolve(tenant_key)
        .ok_or_else(|| tenant_not_found(tenant_key))?;
    let consent = dir
        .consent(&tenant.id)
        .filter(|_| client_id == state.settings.client_id)
        .ok_or_else(|| {
            AadError::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                    tenant.display_name
                ),
            )
        })?;
    check_secret(state, &basic, &form)?;
    let scope = field("scope").ok_or_else(|| missing("scope"))?;
    check_scope(scope)?;
    let tenant_id = tenant.id.clone();
    let roles = consent.roles.clone();
    drop(dir);
    let ttl = state.settings.token_ttl;
    let access_token = state.tokens().issue(&tenant_id, client_id, &roles, ttl);
    state.counters().tokens_issued += 1;
    let mut response = Json(TokenResponse {
        token_type: "Bearer",
        expires_in: ttl.as_secs(),
        ext_expires_in: ttl.as_secs(),
        access_token,
    })
    .into_response();
    no_store(response.headers_mut());
    Ok(response)
}

/// The client id and secret of a request, checked against the app registration.
fn client<'a>(
    state: &EmulatorState,
    basic: &'a Option<(String, String)>,
    form: &'a HashMap<String, String>,
) -> Result<&'a str, AadError> {
    let field = |name: &str| form.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
    let client_id = basic
        .as_ref()
        .map(|(id, _)| id.as_str())
        .or_else(|| field("client_id"))
        .ok_or_else(|| missing("client_id"))?;
    if client_id != state.settings.client_id {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!("Application with identifier '{client_id}' was not found in the directory."),
        ));
    }
    check_secret(state, basic, form)?;
    Ok(client_id)
}

/// The client secret of a request (Basic credentials or the form), compared as sent, spaces
/// included.
fn check_secret(
    state: &EmulatorState,
    basic: &Option<(String, String)>,
    form: &HashMap<String, String>,
) -> Result<(), AadError> {
    let secret = basic
        .as_ref()
        .map(|(_, s)| s.as_str())
        .or_else(|| {
            form.get("client_secret")
                .map(String::as_str)
                .filter(|s| !s.is_empty())
        })
        .ok_or_else(|| {
            AadError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        })?;
    if secret != state.settings.client_secret.expose_secret() {
        return Err(AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret is provided.",
        ));
    }
    Ok(())
}

fn invalid_grant(code: u32, message: &str) -> AadError {
    AadError::new(StatusCode::BAD_REQUEST, "invalid_grant", code, message)
}

#[derive(Serialize)]
struct CodeTokenResponse {
    token_type: &'static str,
    scope: String,
    expires_in: u64,
    ext_expires_in: u64,
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

/// `grant_type=authorization_code`: a code from `/authorize` for an ID token.
fn redeem_code(
    state: &EmulatorState,
    tenant_key: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Response, AadError> {
    let field = |name: &str| form.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
    let basic = basic_credentials(headers);
    let client_id = client(state, &basic, form)?;
    let code = field("code").ok_or_else(|| missing("code"))?;
    let redirect_uri = field("redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
    let tenant_id = state
        .directory()
        .resolve(tenant_key)
        .map(|t| t.id.clone())
        .ok_or_else(|| tenant_not_found(tenant_key))?;
    let pending = state.sign_ins().redeem(code).map_err(|problem| match problem {
        CodeProblem::Unknown => invalid_grant(9002313, "Invalid request. Request is malformed or invalid."),
        CodeProblem::Expired => invalid_grant(70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."),
        CodeProblem::AlreadyRedeemed => invalid_grant(54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."),
    })?;
    if pending.client_id != client_id {
        return Err(invalid_grant(
            70000,
            "The provided authorization code was issued to another client.",
        ));
    }
    if pending.account.tenant_id != tenant_id {
        return Err(invalid_grant(
            700005,
            "Provided Authorization Code is intended to use against other tenant, thus rejected.",
        ));
    }
    if pending.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            50011,
            "The redirect URI does not match the redirect URI used to obtain the authorization code.",
        ));
    }
    if let Some(challenge) = &pending.code_challenge {
        let verifier = field("code_verifier").unwrap_or("");
        if !pkce_matches(&pending.code_challenge_method, challenge, verifier) {
            return Err(invalid_grant(
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
    }
    let wants_id_token = pending.scope.split_whitespace().any(|s| s == "openid");
    let id_token = if wants_id_token {
        let fault = state.sign_ins().take_fault();
        let other_tenant = state
            .directory()
            .ids()
            .iter()
            .find(|id| **id != tenant_id)
            .cloned()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let token = id_token(&base_url(headers), &pending, fault, &other_tenant).map_err(|e| {
            AadError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                90100,
                format!("The ID token could not be signed ({e})."),
            )
        })?;
        Some(token)
    } else {
        None
    };
    let signature: [u8; 32] = rand::random();
    let mut response = Json(CodeTokenResponse {
        token_type: "Bearer",
        scope: pending.scope.clone(),
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: STANDARD.encode(signature),
        id_token,
    })
    .into_response();
    no_store(response.headers_mut());
    Ok(response)
}

/// Client credentials must ask for `<resource>/.default`, and the resource must be Graph.
fn check_scope(scope: &str) -> Result<(), AadError> {
    for item in scope.split_whitespace() {
        let Some(resource) = item.strip_suffix("/.default") else {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                1002012,
                format!("The provided value for scope {item} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
            ));
        };
        if !GRAPH_RESOURCES
            .iter()
            .any(|r| resource.eq_ignore_ascii_case(r))
        {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                70011,
                format!("The provided value for the input parameter 'scope' is not valid. The scope {item} is not valid."),
            ));
        }
    }
    Ok(())
}

fn tenant_not_found(tenant_key: &str) -> AadError {
    AadError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        format!(
            "Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
    )
}

fn missing(name: &str) -> AadError {
    AadError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{name}'."),
    )
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={s}")).ok()?;
        pairs.into_iter().next().map(|(_, v)| v)
    };
    Some((unescape(id)?, unescape(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert!(check_scope("https://graph.microsoft.com/.default").is_ok());
        assert_eq!(
            check_scope("User.Read.All").err().map(|e| e.code),
            Some(1002012)
        );
        assert_eq!(
            check_scope("https://example.com/.default")
                .err()
                .map(|e| e.code),
            Some(70011)
        );
    }

    #[test]
    fn basic_credentials_are_url_decoded() {
        let mut headers = HeaderMap::new();
        let raw = STANDARD.encode("app%20id:s%3Acret%2B");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {raw}")
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("app id".into(), "s:cret+".into()))
        );
    }
}
