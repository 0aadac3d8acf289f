//! OpenID Connect sign-in, as Microsoft serves it: the OpenID configuration document
//! (`/{tenant}/v2.0/.well-known/openid-configuration`), its keys
//! (`/{tenant}/discovery/v2.0/keys`) and the authorization endpoint
//! (`/{tenant}/oauth2/v2.0/authorize`, authorization code flow). The code is redeemed at the
//! token endpoint (`token.rs`) for an RS256 ID token.
//!
//! With the identity session cookie (set when an admin accepted consent, or signed in here
//! before) `/authorize` answers at once with a code; without it, a page standing in for
//! Microsoft's sign-in lets the user pick an account of the tenant (no passwords: not Microsoft).

use super::consent::{check, redirect, ConsentRequest};
use super::errors::error_page;
use super::id_token::{Account, PendingCode, SESSION_COOKIE};
use super::keys::signing_key;
use crate::html::escape;
use crate::model::User;
use crate::state::EmulatorState;
use crate::tenant::Tenant;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The authorize request's query (and the sign-in form's hidden fields).
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeRequest {
    client_id: Option<String>,
    response_type: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
}

/// What the sign-in page posts back.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    tenant: String,
    #[serde(flatten)]
    request: AuthorizeRequest,
    /// `<tenant id>:<user id>`.
    account: Option<String>,
    /// `sign-in` or `cancel`.
    decision: String,
}

/// `http://host:port` as the caller reached the emulator: the issuer's base.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// The tenant id in the issuer for a tenant key; `{tenantid}` for `organizations`/`common`.
fn issuer_tenant(state: &EmulatorState, key: &str) -> Option<String> {
    match key.to_ascii_lowercase().as_str() {
        "organizations" | "common" => Some("{tenantid}".into()),
        _ => state.directory().resolve(key).map(|t| t.id.clone()),
    }
}

fn unknown_tenant(key: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "error": "invalid_tenant",
            "error_description": format!("AADSTS90002: Tenant '{key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
            "error_codes": [90002],
        })),
    )
        .into_response()
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration(
    State(state): State<Arc<EmulatorState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(tid) = issuer_tenant(&state, &tenant) else {
        return unknown_tenant(&tenant);
    };
    let base = base_url(&headers);
    Json(json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{tid}/v2.0"),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "preferred_username", "name", "tid", "ver", "oid", "wids"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    }))
    .into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub async fn keys(
    State(state): State<Arc<EmulatorState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(tid) = issuer_tenant(&state, &tenant) else {
        return unknown_tenant(&tenant);
    };
    let issuer = format!("{}/{tid}/v2.0", base_url(&headers));
    Json(signing_key().jwks(&issuer)).into_response()
}

/// `GET /{tenant}/oauth2/v2.0/authorize`.
pub async fn authorize(
    State(state): State<Arc<EmulatorState>>,
    Path(tenant): Path<String>,
    Query(req): Query<AuthorizeRequest>,
    headers: HeaderMap,
) -> Response {
    let checked = match check(&state, &tenant, &consent_request(&req)) {
        Ok(c) => c,
        Err(page) => return *page,
    };
    if let Some(problem) = request_problem(&req) {
        return redirect(&checked.redirect_uri, &with_state(problem, &req));
    }
    let forced = matches!(req.prompt.as_deref(), Some("login" | "select_account"));
    let signed_in = session_id(&headers)
        .and_then(|id| state.sign_ins().session(&id).cloned())
        .filter(|a| checked.tenants.contains(&a.tenant_id));
    match signed_in {
        Some(account) if !forced => answer_with_code(&state, account, &req, &checked.redirect_uri),
        _ => Html(render(&state, &tenant, &req, &checked.tenants)).into_response(),
    }
}

/// `POST /_emulator/sign-in`: the sign-in page's answer.
pub async fn sign_in(
    State(state): State<Arc<EmulatorState>>,
    Form(form): Form<SignInForm>,
) -> Response {
    let req = form.request;
    let checked = match check(&state, &form.tenant, &consent_request(&req)) {
        Ok(c) => c,
        Err(page) => return *page,
    };
    if let Some(problem) = request_problem(&req) {
        return redirect(&checked.redirect_uri, &with_state(problem, &req));
    }
    if form.decision != "sign-in" {
        let params = vec![
            ("error", "access_denied".to_string()),
            ("error_subcode", "cancel".to_string()),
            (
                "error_description",
                "AADSTS50058: The user cancelled the sign-in.".to_string(),
            ),
        ];
        return redirect(&checked.redirect_uri, &with_state(params, &req));
    }
    let chosen = form.account.unwrap_or_default();
    let (tid, user_id) = chosen.split_once(':').unwrap_or(("", ""));
    let account = {
        let dir = state.directory();
        dir.tenants
            .get(tid)
            .filter(|_| checked.tenants.iter().any(|t| t == tid))
            .and_then(|t| t.users.get(user_id).map(|u| account_of(t, u)))
    };
    let Some(account) = account else {
        return error_page(
            StatusCode::BAD_REQUEST,
            50020,
            "The account is not from the tenant the request names.",
        );
    };
    let session = state.sign_ins().start_session(account.clone());
    let mut response = answer_with_code(&state, account, &req, &checked.redirect_uri);
    set_session_cookie(&mut response, &session);
    response
}

/// The account of a user.
pub fn account_of(tenant: &Tenant, user: &User) -> Account {
    Account {
        tenant_id: tenant.id.clone(),
        oid: user.id.clone(),
        username: user.user_principal_name.clone(),
        name: user
            .display_name
            .clone()
            .unwrap_or_else(|| user.user_principal_name.clone()),
        global_admin: user.is_admin,
    }
}

/// Adds `Set-Cookie` for the identity session.
pub fn set_session_cookie(response: &mut Response, session: &str) {
    if let Ok(value) = format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax").parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

fn consent_request(req: &AuthorizeRequest) -> ConsentRequest {
    ConsentRequest::new(
        req.client_id.clone(),
        req.scope.clone(),
        req.redirect_uri.clone(),
        req.state.clone(),
    )
}

/// Problems reported to the app by redirect: response type, scope, PKCE method.
fn request_problem(req: &AuthorizeRequest) -> Option<Vec<(&'static str, String)>> {
    let error = |error: &str, code: u32, message: &str| {
        Some(vec![
            ("error", error.to_string()),
            ("error_description", format!("AADSTS{code}: {message}")),
        ])
    };
    if req.response_type.as_deref() != Some("code") {
        return error(
            "unsupported_response_type",
            700054,
            "response_type 'code' is the only one this emulator supports.",
        );
    }
    let scope = req.scope.as_deref().unwrap_or("");
    if !scope.split_whitespace().any(|s| s == "openid") {
        return error(
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid: it must include openid.",
        );
    }
    match (
        req.code_challenge.as_deref(),
        req.code_challenge_method.as_deref(),
    ) {
        (Some(_), Some("S256" | "plain") | None) | (None, None) => None,
        _ => error(
            "invalid_request",
            501491,
            "Invalid code_challenge_method or code_challenge.",
        ),
    }
}

fn with_state(
    mut params: Vec<(&'static str, String)>,
    req: &AuthorizeRequest,
) -> Vec<(&'static str, String)> {
    if let Some(s) = &req.state {
        params.push(("state", s.clone()));
    }
    params
}

fn answer_with_code(
    state: &EmulatorState,
    account: Account,
    req: &AuthorizeRequest,
    redirect_uri: &str,
) -> Response {
    let code = state.sign_ins().issue_code(PendingCode::new(
        account,
        req.client_id.clone().unwrap_or_default(),
        redirect_uri.to_string(),
        req.scope.clone().unwrap_or_default(),
        req.nonce.clone(),
        req.code_challenge.clone(),
        req.code_challenge_method.clone(),
    ));
    let params = vec![
        ("code", code),
        ("session_state", uuid::Uuid::new_v4().to_string()),
    ];
    redirect(redirect_uri, &with_state(params, req))
}

fn render(
    state: &EmulatorState,
    tenant_key: &str,
    req: &AuthorizeRequest,
    tenants: &[String],
) -> String {
    let dir = state.directory();
    let mut options = String::new();
    let mut first = true;
    for t in tenants.iter().filter_map(|id| dir.tenants.get(id)) {
        // Administrators first, then a few members: enough to choose from.
        let admins = t.admins();
        let members = t
            .users
            .values()
            .filter(|u| !u.is_admin && u.account_enabled && u.user_type == "Member")
            .take(5);
        for u in admins.chain(members) {
            let checked = if first { " checked" } else { "" };
            first = false;
            let role = if u.is_admin {
                format!("Global Administrator of {}", t.display_name)
            } else {
                format!("user of {}", t.display_name)
            };
            options.push_str(&format!(
                "<li><label><input type=\"radio\" name=\"account\" value=\"{}:{}\"{checked}> {} — {}</label></li>\n",
                escape(&t.id),
                escape(&u.id),
                escape(&u.user_principal_name),
                escape(&role)
            ));
        }
    }
    let hidden = |name: &str, value: Option<&str>| match value {
        Some(v) => format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
            escape(v)
        ),
        None => String::new(),
    };
    let fields = [
        hidden("tenant", Some(tenant_key)),
        hidden("client_id", req.client_id.as_deref()),
        hidden("response_type", req.response_type.as_deref()),
        hidden("redirect_uri", req.redirect_uri.as_deref()),
        hidden("scope", req.scope.as_deref()),
        hidden("state", req.state.as_deref()),
        hidden("nonce", req.nonce.as_deref()),
        hidden("code_challenge", req.code_challenge.as_deref()),
        hidden(
            "code_challenge_method",
            req.code_challenge_method.as_deref(),
        ),
    ]
    .concat();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in to your account</title></head>\n\
<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">\n\
<h1>Sign in</h1>\n\
<p>The application <strong>{app}</strong> asks you to sign in.</p>\n\
<form method=\"post\" action=\"/_emulator/sign-in\">\n{fields}\
<fieldset><legend>Pick an account</legend>\n<ul id=\"accounts\" style=\"list-style:none;padding:0\">\n{options}</ul></fieldset>\n\
<button type=\"submit\" name=\"decision\" value=\"sign-in\">Sign in</button>\n\
<button type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button>\n\
</form>\n<p><small>Microsoft 365 emulator: not a Microsoft page.</small></p>\n</body></html>\n",
        app = escape(req.client_id.as_deref().unwrap_or("")),
    )
}
