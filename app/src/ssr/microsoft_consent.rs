//! Admin consent for Microsoft 365, server side: the `state` Roster sends with the consent
//! request, and Microsoft's redirect back to `/oauth/microsoft/callback`.
//!
//! The `state` is `<organization id>.<32 random bytes, hex>`; only its SHA-256 is stored, with
//! the session and domain it was made for. It is good once, for 10 minutes, in that session.
//! The `tenant` Microsoft sends back proves nothing by itself: Roster gets a token for it and
//! reads `/v1.0/organization` before it stores the connection.

use super::auth::{require_admin, session_hash, SignedIn};
use super::{AppState, MicrosoftSetup, OrInternal, Request};
use crate::error::AppError;
use crate::model::{DomainInfo, MicrosoftConnection};
use axum::extract::Query;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use rand::RngCore;
use roster_core::microsoft::TenantId;
use roster_core::{DomainName, DomainRules, ExcludePatterns};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

/// How long an admin has to answer Microsoft's consent screen.
const CONSENT_TTL_MINUTES: i64 = 10;

pub async fn load_connection(
    pool: &PgPool,
    organization_id: Uuid,
    domain_id: Uuid,
) -> Result<Option<MicrosoftConnection>, AppError> {
    let row = sqlx::query!(
        r#"select tenant_id, tenant_name, tenant_domains, domain_verified, granted_by_email, granted_at
           from microsoft_connections where organization_id = $1 and domain_id = $2"#,
        organization_id,
        domain_id
    )
    .fetch_optional(pool)
    .await
    .or_internal("loading the Microsoft 365 connection")?;
    Ok(row.map(|r| MicrosoftConnection {
        tenant_id: r.tenant_id,
        tenant_name: r.tenant_name,
        tenant_domains: r.tenant_domains,
        domain_verified: r.domain_verified,
        granted_by: r.granted_by_email,
        granted_at: r.granted_at,
    }))
}

/// The domain and its Exclude Records, as the connector applies them.
pub async fn domain_rules(
    pool: &PgPool,
    organization_id: Uuid,
    domain: &DomainInfo,
) -> Result<DomainRules, AppError> {
    let patterns = sqlx::query_scalar!(
        "select exclude_patterns from sync_settings where organization_id = $1 and domain_id = $2",
        organization_id,
        domain.id
    )
    .fetch_optional(pool)
    .await
    .or_internal("loading exclude patterns")?
    .unwrap_or_default();
    let name = DomainName::parse(&domain.ascii_name).or_internal("reading a stored domain")?;
    let exclude = ExcludePatterns::parse_lines(&patterns.join("\n"))
        .or_internal("reading stored exclude patterns")?;
    Ok(DomainRules::new(name).with_exclude(exclude))
}

/// Records a consent request and returns the URL of Microsoft's consent screen.
pub async fn start_consent(
    req: &Request,
    microsoft: &MicrosoftSetup,
    admin: &SignedIn,
    domain_id: Uuid,
) -> Result<String, AppError> {
    let session = session_hash(req).ok_or(AppError::Unauthorized)?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let state = format!("{}.{}", admin.organization_id.simple(), hex::encode(bytes));
    let pool = &req.state.pool;
    sqlx::query!(
        r#"insert into microsoft_consent_requests
               (organization_id, state_hash, domain_id, admin_id, session_hash, expires_at)
           values ($1, $2, $3, $4, $5, now() + make_interval(mins => $6))"#,
        admin.organization_id,
        state_hash(&state),
        domain_id,
        admin.admin_id,
        session,
        i32::try_from(CONSENT_TTL_MINUTES).or_internal("consent lifetime")?
    )
    .execute(pool)
    .await
    .or_internal("recording a consent request")?;
    // Old requests are of no use to anyone; sweep them while we are here.
    sqlx::query!(
        "delete from microsoft_consent_requests where expires_at < now() - interval '1 day'"
    )
    .execute(pool)
    .await
    .or_internal("removing old consent requests")?;
    let config = microsoft.client.config();
    let mut url = url::Url::parse(&format!(
        "{}/organizations/v2.0/adminconsent",
        config.login_url.trim_end_matches('/')
    ))
    .or_internal("building the consent URL")?;
    url.query_pairs_mut()
        .append_pair("client_id", &config.client_id)
        .append_pair("scope", &config.scope)
        .append_pair("redirect_uri", &microsoft.redirect_uri())
        .append_pair("state", &state);
    tracing::info!(%domain_id, admin = %admin.email, "admin consent requested");
    Ok(url.into())
}

fn state_hash(state: &str) -> Vec<u8> {
    Sha256::digest(state.as_bytes()).to_vec()
}

/// What Microsoft appends to the redirect URI.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    tenant: Option<String>,
    admin_consent: Option<String>,
    error: Option<String>,
    error_subcode: Option<String>,
    error_description: Option<String>,
}

/// Why a callback's `state` was refused; nothing is stored for any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateProblem {
    Missing,
    Unknown,
    Expired,
    Replayed,
    OtherSession,
}

impl StateProblem {
    fn explain(self) -> &'static str {
        match self {
            StateProblem::Missing => "Microsoft's answer did not say which request it belongs to, so Roster ignored it.",
            StateProblem::Unknown => "Microsoft's answer belongs to a request Roster did not make, so Roster ignored it.",
            StateProblem::Expired => "The permission request was more than 10 minutes old when Microsoft answered, so Roster ignored the answer.",
            StateProblem::Replayed => "This answer from Microsoft was already used once, so Roster ignored it.",
            StateProblem::OtherSession => "The permission request was started in another sign-in session, so Roster ignored the answer. Sign in and grant permission again from the same browser.",
        }
    }
}

/// `GET /oauth/microsoft/callback`: checks `state`, reads Microsoft's answer, confirms the tenant
/// and stores the connection; then back to the domain's Office 365 Sync page with the outcome.
pub async fn callback(
    state: AppState,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let req = Request::from_headers(state, headers);
    match handle(&req, query).await {
        Ok(location) => Redirect::to(&location).into_response(),
        Err(Failure::State(problem)) => {
            tracing::warn!(?problem, "admin consent callback refused");
            problem_page(StatusCode::BAD_REQUEST, problem.explain())
        }
        Err(Failure::App(error)) => problem_page(error.status(), &error.to_string()),
    }
}

enum Failure {
    State(StateProblem),
    App(AppError),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::App(e)
    }
}

async fn handle(req: &Request, query: CallbackQuery) -> Result<String, Failure> {
    let pool = &req.state.pool;
    let raw_state = query
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(Failure::State(StateProblem::Missing))?;
    let organization_id = raw_state
        .split_once('.')
        .and_then(|(org, _)| Uuid::parse_str(org).ok())
        .ok_or(Failure::State(StateProblem::Unknown))?;
    let hash = state_hash(raw_state);
    let session = session_hash(req);
    // Used at most once, even by two answers arriving together: the update is the check.
    let claimed = sqlx::query!(
        r#"update microsoft_consent_requests r set used_at = now()
           from sessions s
           where r.organization_id = $1 and r.state_hash = $2 and r.used_at is null
             and r.expires_at > now() and r.session_hash = $3
             and s.token_hash = r.session_hash and s.expires_at > now()
           returning r.domain_id, r.admin_id"#,
        organization_id,
        hash,
        session.clone().unwrap_or_default()
    )
    .fetch_optional(pool)
    .await
    .or_internal("claiming a consent request")?;
    let Some(claimed) = claimed else {
        let row = sqlx::query!(
            r#"select used_at is not null as "used!", expires_at <= now() as "expired!"
               from microsoft_consent_requests where organization_id = $1 and state_hash = $2"#,
            organization_id,
            hash
        )
        .fetch_optional(pool)
        .await
        .or_internal("looking up a consent request")?;
        return Err(Failure::State(match row {
            None => StateProblem::Unknown,
            Some(r) if r.used => StateProblem::Replayed,
            Some(r) if r.expired => StateProblem::Expired,
            Some(_) => StateProblem::OtherSession,
        }));
    };
    let admin = require_admin(req).await?;
    let span =
        tracing::info_span!("admin_consent", domain_id = %claimed.domain_id, %organization_id);
    complete(req, query, organization_id, claimed.domain_id, admin)
        .instrument(span)
        .await
}

/// The state was good: read Microsoft's answer, confirm the tenant, store the connection.
async fn complete(
    req: &Request,
    query: CallbackQuery,
    organization_id: Uuid,
    domain_id: Uuid,
    admin: SignedIn,
) -> Result<String, Failure> {
    let pool = &req.state.pool;
    let page = format!("/domains/{domain_id}/sync/office365");
    let back = |outcome: &str, code: Option<&str>| match code {
        Some(code) => format!("{page}?consent={outcome}&code={code}"),
        None => format!("{page}?consent={outcome}"),
    };
    if let Some(error) = query.error.as_deref() {
        let code = aadsts_code(query.error_description.as_deref().unwrap_or(""))
            .or_else(|| safe_code(error));
        let outcome = match (error, query.error_subcode.as_deref(), code.as_deref()) {
            ("access_denied", Some("cancel"), _) | (_, _, Some("AADSTS65004")) => "cancelled",
            ("access_denied", ..) => "denied",
            _ => "failed",
        };
        tracing::info!(
            error,
            code = code.as_deref(),
            description = query.error_description.as_deref(),
            "admin consent not given"
        );
        return Ok(back(outcome, code.as_deref()));
    }
    let tenant = query
        .tenant
        .as_deref()
        .and_then(|t| TenantId::parse(t).ok())
        .filter(|t| t.is_guid());
    let consented = query
        .admin_consent
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let (Some(tenant), true) = (tenant, consented) else {
        tracing::warn!(?query.tenant, ?query.admin_consent, "admin consent answer without a tenant");
        return Ok(back("failed", None));
    };
    let Some(microsoft) = req.state.microsoft.as_ref() else {
        return Err(Failure::App(AppError::MicrosoftNotConfigured));
    };
    let directory = microsoft
        .client
        .tenant(tenant.as_str())
        .map_err(|e| Failure::App(super::directory_error(&e, "reading the consenting tenant")))?;
    let org = match directory.organization().await {
        Ok(org) if org.tenant_id == tenant => org,
        Ok(org) => {
            tracing::warn!(returned = %tenant, read = %org.tenant_id, "the tenant read differs from the one Microsoft returned");
            return Ok(back("unconfirmed", None));
        }
        Err(e) => {
            super::directory_error(&e, "confirming the consenting tenant");
            return Ok(back(
                "unconfirmed",
                e.microsoft_code().and_then(safe_code).as_deref(),
            ));
        }
    };
    let domain_ascii = sqlx::query_scalar!(
        "select name from domains where organization_id = $1 and id = $2",
        organization_id,
        domain_id
    )
    .fetch_optional(pool)
    .await
    .or_internal("loading the consenting domain")?
    .ok_or(AppError::NotFound)?;
    let verified = DomainName::parse(&domain_ascii)
        .map(|d| org.has_verified_domain(&d))
        .unwrap_or(false);
    sqlx::query!(
        r#"insert into microsoft_connections
               (organization_id, domain_id, tenant_id, tenant_name, tenant_domains, domain_verified, granted_by_email, granted_at)
           values ($1, $2, $3, $4, $5, $6, $7, now())
           on conflict (organization_id, domain_id) do update set
               tenant_id = excluded.tenant_id, tenant_name = excluded.tenant_name,
               tenant_domains = excluded.tenant_domains, domain_verified = excluded.domain_verified,
               granted_by_email = excluded.granted_by_email, granted_at = excluded.granted_at"#,
        organization_id,
        domain_id,
        org.tenant_id.as_str(),
        org.display_name,
        &org.verified_domains,
        verified,
        admin.email
    )
    .execute(pool)
    .await
    .or_internal("storing the Microsoft 365 connection")?;
    tracing::info!(tenant_id = %org.tenant_id, verified, admin = %admin.email, "domain connected to Microsoft 365");
    Ok(back("granted", None))
}

/// The `AADSTSnnnn` code at the start of an `error_description`.
fn aadsts_code(description: &str) -> Option<String> {
    let start = description.find("AADSTS")?;
    let digits: String = description[start + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .take(10)
        .collect();
    (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
}

/// A code that is safe to carry in a URL and show: letters, digits and underscores.
fn safe_code(code: &str) -> Option<String> {
    (!code.is_empty()
        && code.len() <= 64
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then(|| code.to_owned())
}

/// A small page of its own: the callback may come without a usable session or domain.
fn problem_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Permission not recorded · Roster</title>
<link rel="stylesheet" href="/pkg/roster.css"></head>
<body><main id="main" class="content standalone">
<section class="panel error-panel" role="alert">
<h1>Permission not recorded</h1>
<p>{}</p>
<p>Nothing was changed. Start again from the domain's Office 365 Sync page with “Grant permission”.</p>
<p><a href="/domains">Back to your domains</a></p>
</section></main></body></html>"#,
        escape_html(message)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_from_descriptions() {
        assert_eq!(
            aadsts_code("AADSTS65004: User declined to consent to access the app.\r\nTrace ID: x")
                .as_deref(),
            Some("AADSTS65004")
        );
        assert_eq!(aadsts_code("no code here"), None);
        assert_eq!(safe_code("access_denied").as_deref(), Some("access_denied"));
        assert_eq!(safe_code("<script>"), None);
        assert_eq!(safe_code(""), None);
    }
}
