//! Google's OAuth 2.0 web-server flow: the consent page (`/o/oauth2/v2/auth`), the token
//! endpoint (`/token`: authorization code with PKCE, refresh token), revocation (`/revoke`),
//! OpenID discovery and the JWKS. ID tokens are RS256 with the crate's one signing key.

use super::errors::oauth_error;
use super::state::{now_secs, random_token, GoogleState, Grant, PendingAuth, PendingCode};
use crate::html::escape;
use crate::identity::id_token::pkce_matches;
use crate::identity::keys::signing_key;
use crate::identity::sign_in::base_url;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The scopes the emulator knows (Roster's, plus OpenID's).
const KNOWN_SCOPES: &[&str] = &[
    "openid",
    "email",
    "profile",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
    "https://www.googleapis.com/auth/admin.directory.domain.readonly",
];
const CODE_TTL: Duration = Duration::from_secs(600);

fn issuer(state: &GoogleState, headers: &HeaderMap) -> String {
    state
        .config
        .issuer
        .clone()
        .unwrap_or_else(|| base_url(headers))
}

/// `GET /.well-known/openid-configuration`.
pub async fn openid_configuration(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
) -> Json<Value> {
    let base = base_url(&headers);
    Json(json!({
        "issuer": issuer(&state, &headers),
        "authorization_endpoint": format!("{base}/o/oauth2/v2/auth"),
        "token_endpoint": format!("{base}/token"),
        "revocation_endpoint": format!("{base}/revoke"),
        "jwks_uri": format!("{base}/oauth2/v3/certs"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "hd", "iat", "iss", "name", "nonce", "sub"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }))
}

/// `GET /oauth2/v3/certs`: the JWKS (RS256, `alg`, `kid`, `n`, `e`).
pub async fn certs() -> Json<Value> {
    let mut jwks = signing_key().jwks("");
    if let Some(key) = jwks["keys"][0].as_object_mut() {
        key.remove("issuer");
        key.insert("alg".into(), json!("RS256"));
    }
    Json(jwks)
}

#[derive(Debug, Deserialize)]
pub struct AuthRequest {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    access_type: Option<String>,
    prompt: Option<String>,
}

/// Google's error page for a request it cannot send back ("Error 400: redirect_uri_mismatch").
fn error_page(status: StatusCode, error: &str, detail: &str) -> Response {
    let body = format!(
        "<!doctype html><title>Error {code}: {error}</title><h1>Access blocked: authorization error</h1>\
         <p id=\"error\">Error {code}: {error}</p><p id=\"detail\">{detail}</p>",
        code = status.as_u16(),
        error = escape(error),
        detail = escape(detail),
    );
    (status, Html(body)).into_response()
}

fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    // Google answers 302 Found.
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{uri}{sep}{query}"))],
    )
        .into_response()
}

/// `GET /o/oauth2/v2/auth`: checks the request, then shows the consent page.
pub async fn auth(
    State(state): State<Arc<GoogleState>>,
    Query(req): Query<AuthRequest>,
) -> Response {
    let Some(client_id) = req.client_id.filter(|c| !c.is_empty()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: client_id",
        );
    };
    if client_id != state.config.client_id {
        return error_page(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        );
    }
    let Some(redirect_uri) = req.redirect_uri.filter(|r| !r.is_empty()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: redirect_uri",
        );
    };
    if !state.config.redirect_uris.is_empty() && !state.config.redirect_uris.contains(&redirect_uri)
    {
        return error_page(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            &format!("You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. redirect_uri={redirect_uri}"),
        );
    }
    let st = req.state.clone().unwrap_or_default();
    if req.response_type.as_deref() != Some("code") {
        return redirect_with(
            &redirect_uri,
            &[("error", "unsupported_response_type"), ("state", &st)],
        );
    }
    let Some(scope) = req.scope.filter(|s| !s.trim().is_empty()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: scope",
        );
    };
    let scopes: Vec<String> = scope.split_whitespace().map(str::to_string).collect();
    if let Some(bad) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("Some requested scopes were invalid. {{invalid=[{bad}]}}"),
        );
    }
    // Roster always sends PKCE S256; the emulator insists so a regression shows.
    let challenge = match (
        req.code_challenge.filter(|c| !c.is_empty()),
        req.code_challenge_method.as_deref(),
    ) {
        (Some(c), Some("S256")) => c,
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "code_challenge_method S256 with a code_challenge is required",
            )
        }
    };
    let offline = req.access_type.as_deref() == Some("offline");
    if req
        .access_type
        .as_deref()
        .is_some_and(|a| a != "offline" && a != "online")
    {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid access_type",
        );
    }
    if req.prompt.as_deref().is_some_and(|p| {
        !p.split_whitespace()
            .all(|p| matches!(p, "none" | "consent" | "select_account"))
    }) {
        return error_page(StatusCode::BAD_REQUEST, "invalid_request", "Invalid prompt");
    }
    let pending = PendingAuth {
        client_id,
        redirect_uri,
        scopes,
        state: req.state,
        nonce: req.nonce,
        code_challenge: challenge,
        offline,
        prompt_consent: req
            .prompt
            .as_deref()
            .is_some_and(|p| p.split_whitespace().any(|p| p == "consent")),
    };
    let id = random_token("");
    let page = consent_page(&state, &id, &pending);
    state.lock().auths.insert(id, pending);
    Html(page).into_response()
}

fn consent_page(state: &GoogleState, id: &str, pending: &PendingAuth) -> String {
    let inner = state.lock();
    let mut accounts = String::new();
    for ws in &inner.workspaces {
        for user in ws.users.values().filter(|u| u.is_admin) {
            accounts.push_str(&format!(
                "<li><label><input type=\"radio\" name=\"account\" value=\"{e}\"{checked}> {e} (super admin, {d})</label></li>",
                e = escape(&user.primary_email),
                d = escape(&ws.primary_domain),
                checked = if accounts.is_empty() { " checked" } else { "" },
            ));
        }
    }
    let scopes: String = pending
        .scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    format!(
        "<!doctype html><title>Sign in - Google Accounts</title><h1>Roster wants to access your Google Account</h1>\
         <p>App: <b id=\"client\">{client}</b></p><p>This will allow Roster to:</p><ul id=\"scopes\">{scopes}</ul>\
         <form method=\"post\" action=\"/_emulator/oauth/consent\"><input type=\"hidden\" name=\"request\" value=\"{id}\">\
         <p>Sign in as:</p><ul id=\"accounts\">{accounts}</ul>\
         <button name=\"decision\" value=\"allow\">Allow</button> <button name=\"decision\" value=\"cancel\">Cancel</button></form>",
        client = escape(&pending.client_id),
    )
}

#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    request: String,
    decision: String,
    /// Email of the signing-in user (any user of a loaded Workspace, admin or not).
    account: Option<String>,
}

/// `POST /_emulator/oauth/consent`: Allow (code) or Cancel (`access_denied`).
pub async fn consent(
    State(state): State<Arc<GoogleState>>,
    Form(form): Form<ConsentForm>,
) -> Response {
    let mut inner = state.lock();
    let Some(auth) = inner.auths.remove(&form.request) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "This consent request is unknown or was already answered.",
        );
    };
    let st = auth.state.clone().unwrap_or_default();
    if form.decision != "allow" {
        return redirect_with(
            &auth.redirect_uri,
            &[("error", "access_denied"), ("state", &st)],
        );
    }
    let email = form.account.unwrap_or_default();
    let Some((ws, user_id)) = inner.account(&email) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("No account {email} in a loaded Workspace."),
        );
    };
    let (customer_id, hd) = (ws.customer_id.clone(), ws.primary_domain.clone());
    let code = random_token("4/0");
    let scope = auth.scopes.join(" ");
    let redirect_uri = auth.redirect_uri.clone();
    let now = SystemTime::now();
    inner.codes.retain(|_, c| c.expires_at > now);
    inner.codes.insert(
        code.clone(),
        PendingCode {
            auth,
            customer_id,
            user_id,
            expires_at: SystemTime::now() + CODE_TTL,
        },
    );
    redirect_with(
        &redirect_uri,
        &[
            ("state", &st),
            ("code", &code),
            ("scope", &scope),
            ("authuser", "0"),
            ("hd", &hd),
            ("prompt", "consent"),
        ],
    )
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Client credentials from HTTP Basic (each part form-urlencoded, RFC 6749 §2.3.1, as the
/// `oauth2` crate sends them) or the body.
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let decode = |p: &str| {
                percent_encoding::percent_decode_str(&p.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            s.split_once(':').map(|(a, b)| (decode(a), decode(b)))
        });
    match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (form.client_id.clone(), form.client_secret.clone()),
    }
}

/// `POST /token`.
pub async fn token(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let (client_id, secret) = client_credentials(&headers, &form);
    let Some(grant_type) = form.grant_type.as_deref().filter(|g| !g.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type: ",
        );
    };
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {grant_type}"),
        );
    }
    match client_id.as_deref() {
        None | Some("") => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Could not determine client ID from request.",
            )
        }
        Some(id) if id != state.config.client_id => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The OAuth client was not found.",
            )
        }
        Some(_) => {}
    }
    if secret.as_deref() != Some(state.config.client_secret.as_str()) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
    }
    let iss = issuer(&state, &headers);
    if grant_type == "authorization_code" {
        redeem_code(&state, &form, &iss)
    } else {
        refresh(&state, &form, &iss)
    }
}

fn redeem_code(state: &GoogleState, form: &TokenForm, iss: &str) -> Response {
    let Some(code) = form.code.as_deref().filter(|c| !c.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: code",
        );
    };
    let mut inner = state.lock();
    // A code is good once: taken out whether it then succeeds or not.
    let Some(pending) = inner.codes.remove(code) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Malformed auth code.",
        );
    };
    if pending.expires_at <= SystemTime::now() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
    }
    if form.redirect_uri.as_deref() != Some(pending.auth.redirect_uri.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "Bad Request",
        );
    }
    let Some(verifier) = form.code_verifier.as_deref().filter(|v| !v.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Missing code verifier.",
        );
    };
    if !pkce_matches("S256", &pending.auth.code_challenge, verifier) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid code verifier.",
        );
    }
    let Some(user) = inner
        .workspace(&pending.customer_id)
        .and_then(|w| w.users.get(&pending.user_id))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The account has been deleted",
        );
    };
    // As at Google: offline access gives a refresh token on the first consent of a user to
    // the app, and again only with `prompt=consent`.
    let granted_before = inner.grants.values().any(|g| {
        !g.revoked
            && g.has_refresh_token
            && g.user_id == pending.user_id
            && g.customer_id == pending.customer_id
            && g.client_id == pending.auth.client_id
    });
    let refresh_token = (pending.auth.offline && (pending.auth.prompt_consent || !granted_before))
        .then(|| random_token("1//"));
    let grant = Grant {
        id: random_token(""),
        customer_id: pending.customer_id.clone(),
        user_id: pending.user_id.clone(),
        email: user.primary_email.clone(),
        client_id: pending.auth.client_id.clone(),
        scopes: pending.auth.scopes.clone(),
        refresh_token: refresh_token.clone(),
        has_refresh_token: refresh_token.is_some(),
        revoked: false,
        created_at: now_secs(),
        nonce: pending.auth.nonce.clone(),
    };
    let body = issue(&mut inner, state, &grant, iss, true);
    inner.grants.insert(grant.id.clone(), grant);
    body
}

fn refresh(state: &GoogleState, form: &TokenForm, iss: &str) -> Response {
    let Some(refresh_token) = form.refresh_token.as_deref().filter(|c| !c.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: refresh_token",
        );
    };
    let mut inner = state.lock();
    let grant = inner
        .grants
        .values()
        .find(|g| g.refresh_token.as_deref() == Some(refresh_token))
        .cloned();
    match grant {
        Some(g)
            if !g.revoked
                && inner
                    .workspace(&g.customer_id)
                    .is_some_and(|w| w.users.contains_key(&g.user_id)) =>
        {
            issue(&mut inner, state, &g, iss, false)
        }
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Token has been expired or revoked.",
        ),
        None => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request"),
    }
}

/// The token response: access token, scope, ID token when `openid` was granted, and the
/// refresh token on the first exchange of an offline grant.
fn issue(
    inner: &mut super::state::Inner,
    state: &GoogleState,
    grant: &Grant,
    iss: &str,
    first: bool,
) -> Response {
    let ttl = state.config.token_ttl;
    let access = random_token("ya29.");
    inner.access_tokens.insert(
        access.clone(),
        super::state::AccessToken {
            grant_id: grant.id.clone(),
            expires_at: SystemTime::now() + Duration::from_secs(ttl),
        },
    );
    inner.counters.tokens_issued += 1;
    let mut body = json!({
        "access_token": access,
        "expires_in": ttl,
        "scope": grant.scopes.join(" "),
        "token_type": "Bearer",
    });
    if first {
        if let Some(rt) = &grant.refresh_token {
            body["refresh_token"] = json!(rt);
        }
    }
    if grant.scopes.iter().any(|s| s == "openid") {
        let hd = inner
            .workspace(&grant.customer_id)
            .map(|w| w.primary_domain.clone());
        let name = inner
            .workspace(&grant.customer_id)
            .and_then(|w| w.users.get(&grant.user_id))
            .map(|u| u.full_name.clone().unwrap_or_default());
        let now = now_secs();
        let mut claims = json!({
            "iss": iss,
            "azp": grant.client_id,
            "aud": grant.client_id,
            "sub": grant.user_id,
            "email": grant.email,
            "email_verified": true,
            "iat": now,
            "exp": now + 3599,
        });
        if let Some(hd) = hd {
            claims["hd"] = json!(hd);
        }
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            claims["name"] = json!(name);
        }
        if first {
            if let Some(nonce) = &grant.nonce {
                claims["nonce"] = json!(nonce);
            }
        }
        match signing_key().sign(&claims) {
            Ok(t) => body["id_token"] = json!(t),
            Err(e) => {
                tracing::error!(error = %e, "signing an ID token");
                return oauth_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_failure",
                    "Signing failed",
                );
            }
        }
    }
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    response
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    token: Option<String>,
}

/// `POST /revoke` (token in the form or the query): revokes the whole grant of an access or
/// refresh token.
pub async fn revoke(
    State(state): State<Arc<GoogleState>>,
    Query(query): Query<RevokeForm>,
    body: String,
) -> Response {
    let form: RevokeForm = serde_urlencoded::from_str(&body).unwrap_or(RevokeForm { token: None });
    let Some(token) = form.token.or(query.token).filter(|t| !t.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: token",
        );
    };
    let mut inner = state.lock();
    let grant_id = inner
        .access_tokens
        .get(&token)
        .map(|t| t.grant_id.clone())
        .or_else(|| {
            inner
                .grants
                .values()
                .find(|g| g.refresh_token.as_deref() == Some(token.as_str()))
                .map(|g| g.id.clone())
        });
    match grant_id.and_then(|id| inner.grants.get_mut(&id)) {
        Some(grant) if !grant.revoked => {
            grant.revoked = true;
            Json(json!({})).into_response()
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_urlencoded() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("id%2B1:s%3Ac+d");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        let form = TokenForm {
            grant_type: None,
            code: None,
            redirect_uri: None,
            code_verifier: None,
            refresh_token: None,
            client_id: Some("ignored".into()),
            client_secret: None,
        };
        assert_eq!(
            client_credentials(&headers, &form),
            (Some("id+1".into()), Some("s:c d".into()))
        );
    }
}
