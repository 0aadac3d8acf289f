//! Admin consent: `GET /{tenant}/v2.0/adminconsent` shows a consent page, and its form posts to
//! `POST /_emulator/consent`, which redirects back to the app exactly as Microsoft does.
//!
//! Problems with the request itself (no client id, unknown app, `common`, unknown tenant, no
//! redirect URI) get an error page, since the browser cannot safely be sent back; the user's
//! decisions (cancel, not an admin) are redirected to the app with `error=…`.

use super::errors::{description, error_page, timestamp};
use super::id_token::Account;
use super::sign_in::{account_of, set_session_cookie};
use crate::html::escape;
use crate::state::EmulatorState;
use crate::tenant::Tenant;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use std::sync::Arc;

/// The query of the consent request (and the hidden fields of the consent form).
#[derive(Debug, Default, Deserialize)]
pub struct ConsentRequest {
    client_id: Option<String>,
    scope: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
}

impl ConsentRequest {
    pub(super) fn new(
        client_id: Option<String>,
        scope: Option<String>,
        redirect_uri: Option<String>,
        state: Option<String>,
    ) -> Self {
        ConsentRequest {
            client_id,
            scope,
            redirect_uri,
            state,
        }
    }
}

/// What the consent page posts back.
#[derive(Debug, Deserialize)]
pub struct ConsentDecision {
    /// The `{tenant}` of the original request (GUID, domain or `organizations`).
    tenant: String,
    client_id: Option<String>,
    scope: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    /// `admin:<tenant id>` or `user:<tenant id>`.
    account: Option<String>,
    /// `accept` or `cancel`.
    decision: String,
}

/// A request that passed the checks that decide between an error page and a redirect.
pub(super) struct Checked {
    pub(super) redirect_uri: String,
    scope: String,
    state: Option<String>,
    /// The tenants whose accounts may sign in: one, or all for `organizations`.
    pub(super) tenants: Vec<String>,
}

pub async fn consent_page(
    State(state): State<Arc<EmulatorState>>,
    Path(tenant): Path<String>,
    Query(req): Query<ConsentRequest>,
) -> Response {
    let checked = match check(&state, &tenant, &req) {
        Ok(c) => c,
        Err(page) => return *page,
    };
    if let Some(bad) = bad_scope(&checked.scope) {
        return redirect(
            &checked.redirect_uri,
            &scope_error(&bad, checked.state.as_deref()),
        );
    }
    if state.settings.auto_consent {
        let Some(tid) = checked.tenants.first() else {
            return error_page(
                StatusCode::BAD_REQUEST,
                90002,
                "No tenant is loaded in the emulator.",
            );
        };
        return accept(&state, tid, &checked);
    }
    Html(render(&state, &tenant, &req, &checked)).into_response()
}

pub async fn consent_decision(
    State(state): State<Arc<EmulatorState>>,
    Form(form): Form<ConsentDecision>,
) -> Response {
    let req = ConsentRequest {
        client_id: form.client_id.clone(),
        scope: form.scope.clone(),
        redirect_uri: form.redirect_uri.clone(),
        state: form.state.clone(),
    };
    let checked = match check(&state, &form.tenant, &req) {
        Ok(c) => c,
        Err(page) => return *page,
    };
    let st = checked.state.as_deref();
    if form.decision != "accept" {
        let trace = uuid::Uuid::new_v4().to_string();
        let corr = uuid::Uuid::new_v4().to_string();
        let desc = description(
            65004,
            "User declined to consent to access the app.",
            &trace,
            &corr,
            &timestamp(),
        );
        let mut params = vec![
            ("error", "access_denied".to_string()),
            ("error_subcode", "cancel".to_string()),
            ("error_description", desc),
        ];
        push_state(&mut params, st);
        return redirect(&checked.redirect_uri, &params);
    }
    let account = form.account.unwrap_or_default();
    let (role, tid) = account.split_once(':').unwrap_or(("", ""));
    if !checked.tenants.iter().any(|t| t == tid) {
        return error_page(
            StatusCode::BAD_REQUEST,
            50020,
            "The account is not from the tenant the request names.",
        );
    }
    if role != "admin" {
        let trace = uuid::Uuid::new_v4().to_string();
        let corr = uuid::Uuid::new_v4().to_string();
        let desc = description(
            90094,
            "The grant requires admin permission.",
            &trace,
            &corr,
            &timestamp(),
        );
        let mut params = vec![
            ("error", "access_denied".to_string()),
            ("error_description", desc),
        ];
        push_state(&mut params, st);
        return redirect(&checked.redirect_uri, &params);
    }
    accept(&state, tid, &checked)
}

/// Grants consent and, as at Microsoft, leaves the admin signed in to the identity platform
/// (the session cookie), so a sign-in request that follows needs no second screen.
fn accept(state: &EmulatorState, tenant_id: &str, checked: &Checked) -> Response {
    if let Err(e) = state.grant_consent(tenant_id, None) {
        return error_page(StatusCode::BAD_REQUEST, 90002, &e.to_string());
    }
    let mut params = vec![
        ("admin_consent", "True".to_string()),
        ("tenant", tenant_id.to_string()),
        ("scope", checked.scope.clone()),
    ];
    push_state(&mut params, checked.state.as_deref());
    let mut response = redirect(&checked.redirect_uri, &params);
    if let Some(admin) = consenting_admin(state, tenant_id) {
        let session = state.sign_ins().start_session(admin);
        set_session_cookie(&mut response, &session);
    }
    response
}

/// The account that accepts on the consent page: the tenant's first admin (as offered there),
/// or the stand-in `admin@<initial domain>` of a tenant without one.
fn consenting_admin(state: &EmulatorState, tenant_id: &str) -> Option<Account> {
    let dir = state.directory();
    let t = dir.tenants.get(tenant_id)?;
    let account = match t.admins().next() {
        Some(u) => account_of(t, u),
        None => Account {
            tenant_id: t.id.clone(),
            oid: uuid::Uuid::new_v4().to_string(),
            username: format!("admin@{}", t.initial_domain()),
            name: "Administrator".into(),
            global_admin: true,
        },
    };
    Some(account)
}

pub(super) fn check(
    state: &EmulatorState,
    tenant_key: &str,
    req: &ConsentRequest,
) -> Result<Checked, Box<Response>> {
    let key = tenant_key.trim().to_ascii_lowercase();
    let client_id = req.client_id.as_deref().unwrap_or("").trim();
    if key == "common" || key == "consumers" {
        return Err(boxed_page(
            StatusCode::BAD_REQUEST,
            90130,
            &format!("Application '{client_id}' is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint."),
        ));
    }
    if client_id.is_empty() {
        return Err(missing("client_id"));
    }
    let dir = state.directory();
    let tenants: Vec<String> = if key == "organizations" {
        dir.ids().to_vec()
    } else {
        match dir.resolve(&key) {
            Some(t) => vec![t.id.clone()],
            None => {
                return Err(boxed_page(
                    StatusCode::BAD_REQUEST,
                    90002,
                    &format!("Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
                ))
            }
        }
    };
    if client_id != state.settings.client_id {
        let directory = if key == "organizations" {
            tenant_key.to_string()
        } else {
            dir.resolve(&key)
                .map(|t| t.display_name.clone())
                .unwrap_or_default()
        };
        return Err(boxed_page(
            StatusCode::BAD_REQUEST,
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{directory}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."),
        ));
    }
    let redirect_uri = req.redirect_uri.as_deref().unwrap_or("").trim().to_string();
    if redirect_uri.is_empty() {
        return Err(missing("redirect_uri"));
    }
    let registered = &state.settings.redirect_uris;
    if !registered.is_empty() && !registered.iter().any(|r| r == &redirect_uri) {
        return Err(boxed_page(
            StatusCode::BAD_REQUEST,
            50011,
            &format!("The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'."),
        ));
    }
    Ok(Checked {
        redirect_uri,
        scope: req.scope.clone().unwrap_or_default().trim().to_string(),
        state: req.state.clone(),
        tenants,
    })
}

/// The first scope item that is not a Microsoft Graph permission, if any (empty is bad too).
fn bad_scope(scope: &str) -> Option<String> {
    if scope.is_empty() {
        return Some(String::new());
    }
    scope
        .split_whitespace()
        .find(|s| {
            !(s.starts_with("https://graph.microsoft.com/")
                || matches!(*s, "openid" | "profile" | "offline_access" | "email"))
        })
        .map(str::to_string)
}

fn scope_error(bad: &str, state: Option<&str>) -> Vec<(&'static str, String)> {
    let trace = uuid::Uuid::new_v4().to_string();
    let corr = uuid::Uuid::new_v4().to_string();
    let message = if bad.is_empty() {
        "The provided request must include a 'scope' input parameter.".to_string()
    } else {
        format!("The provided value for the input parameter 'scope' is not valid. The scope {bad} is not valid.")
    };
    let mut params = vec![
        ("error", "invalid_scope".to_string()),
        (
            "error_description",
            description(70011, &message, &trace, &corr, &timestamp()),
        ),
    ];
    push_state(&mut params, state);
    params
}

fn boxed_page(status: StatusCode, code: u32, message: &str) -> Box<Response> {
    Box::new(error_page(status, code, message))
}

fn missing(name: &str) -> Box<Response> {
    boxed_page(
        StatusCode::BAD_REQUEST,
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
    )
}

fn push_state(params: &mut Vec<(&'static str, String)>, state: Option<&str>) {
    if let Some(s) = state {
        params.push(("state", s.to_string()));
    }
}

/// 302 to `redirect_uri` with the parameters form-encoded into its query.
pub(super) fn redirect(redirect_uri: &str, params: &[(&str, String)]) -> Response {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{sep}{query}");
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// The accounts offered on the page for one tenant: its admin, and a user who is not one.
fn accounts(t: &Tenant) -> [(String, String); 2] {
    let admin = t
        .admins()
        .next()
        .map(|u| u.user_principal_name.clone())
        .unwrap_or_else(|| format!("admin@{}", t.initial_domain()));
    let user = t
        .users
        .values()
        .find(|u| !u.is_admin && u.user_type == "Member" && u.account_enabled)
        .map(|u| u.user_principal_name.clone())
        .unwrap_or_else(|| format!("user@{}", t.initial_domain()));
    [
        (
            format!("admin:{}", t.id),
            format!("{admin} — Global Administrator of {}", t.display_name),
        ),
        (
            format!("user:{}", t.id),
            format!("{user} — user of {} (not an admin)", t.display_name),
        ),
    ]
}

fn render(
    state: &EmulatorState,
    tenant_key: &str,
    req: &ConsentRequest,
    checked: &Checked,
) -> String {
    let dir = state.directory();
    let mut options = String::new();
    for (i, t) in checked
        .tenants
        .iter()
        .filter_map(|id| dir.tenants.get(id))
        .enumerate()
    {
        for (j, (value, label)) in accounts(t).iter().enumerate() {
            let checked_attr = if i == 0 && j == 0 { " checked" } else { "" };
            options.push_str(&format!(
                "<li><label><input type=\"radio\" name=\"account\" value=\"{}\"{checked_attr}> {}</label></li>\n",
                escape(value),
                escape(label)
            ));
        }
    }
    let permissions: String = state
        .settings
        .permissions
        .iter()
        .map(|p| format!("<li><code>{}</code> (application)</li>\n", escape(p)))
        .collect();
    let hidden = |name: &str, value: Option<&str>| match value {
        Some(v) => format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
            escape(v)
        ),
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Permissions requested</title></head>\n\
<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">\n\
<h1>Permissions requested</h1>\n\
<p>The application <strong>{app}</strong> asks for these permissions on behalf of your organization:</p>\n\
<ul id=\"permissions\">\n{permissions}</ul>\n\
<form method=\"post\" action=\"/_emulator/consent\">\n\
{h_tenant}{h_client}{h_scope}{h_redirect}{h_state}\
<fieldset><legend>Sign in as</legend>\n<ul id=\"accounts\" style=\"list-style:none;padding:0\">\n{options}</ul></fieldset>\n\
<p>Accepting lets the app read this data for every user of the organization. You can change this later.</p>\n\
<button type=\"submit\" name=\"decision\" value=\"accept\">Accept</button>\n\
<button type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button>\n\
</form>\n<p><small>Microsoft 365 emulator: not a Microsoft page.</small></p>\n</body></html>\n",
        app = escape(req.client_id.as_deref().unwrap_or("")),
        h_tenant = hidden("tenant", Some(tenant_key)),
        h_client = hidden("client_id", req.client_id.as_deref()),
        h_scope = hidden("scope", req.scope.as_deref()),
        h_redirect = hidden("redirect_uri", req.redirect_uri.as_deref()),
        h_state = hidden("state", req.state.as_deref()),
    )
}
