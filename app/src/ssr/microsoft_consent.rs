//! Admin consent for Microsoft 365, server side: the `state` Roster sends with the consent
//! request, and Microsoft's redirects back to `/oauth/microsoft/callback`.
//!
//! Two steps share the one registered redirect URI, each with a `state` of its own:
//! 1. **Consent**: Microsoft answers `admin_consent=True&tenant=T` (or `error=…`). That answer
//!    passes through the browser, so anyone can type it: T is only *claimed*. Roster records T on
//!    a new request row (the sign-in step) and sends the admin to sign in at T.
//! 2. **Sign-in** (OpenID Connect, code flow with PKCE and a nonce): Microsoft answers `code=…`
//!    (or `error=…`). Roster redeems the code itself and accepts the ID token only if it is valid
//!    and of tenant T (`roster_core::microsoft::MicrosoftClient::prove_sign_in`). Then it reads
//!    `/v1.0/organization` with an app token and stores the connection with who granted it.
//!
//! Nothing is stored in `microsoft_connections` before the proof. A `state` is
//! `<organization id>.<32 random bytes, hex>`; only its SHA-256 is stored, with the session and
//! domain it was made for; it is good once, in that session, within the 10 minutes of the
//! request, and only for the answer of its own step.

use super::auth::{require_admin, session_hash, SignedIn};
use super::grant_state::{new_state, organization_of, state_hash, StateProblem};
use super::{AppState, MicrosoftSetup, OrInternal, Request};
use crate::error::AppError;
use crate::model::{DomainInfo, MicrosoftConnection};
use axum::extract::Query;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use roster_core::microsoft::{SignInError, TenantId};
use roster_core::{DomainName, DomainRules, ExcludePatterns};
use serde::Deserialize;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

const OFFICE365_SYNC: &str = "Office 365 Sync";

/// How long an admin has to answer Microsoft's consent screen.
const CONSENT_TTL_MINUTES: i64 = 10;

pub async fn load_connection(
    pool: &PgPool,
    organization_id: Uuid,
    domain_id: Uuid,
) -> Result<Option<MicrosoftConnection>, AppError> {
    let row = sqlx::query!(
        r#"select tenant_id, tenant_name, tenant_domains, domain_verified, granted_by_email, granted_at,
                  granted_by_username, granted_by_global_admin
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
        granter_proven: r.granted_by_username.is_some(),
        granted_by: r.granted_by_username.unwrap_or(r.granted_by_email),
        granted_by_global_admin: r.granted_by_global_admin,
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
    let state = new_state(admin.organization_id);
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

/// What Microsoft appends to the redirect URI.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    /// The sign-in step's answer: an authorization code.
    code: Option<String>,
    tenant: Option<String>,
    admin_consent: Option<String>,
    error: Option<String>,
    error_subcode: Option<String>,
    error_description: Option<String>,
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
            problem_page(
                StatusCode::BAD_REQUEST,
                &problem.explain("Microsoft"),
                OFFICE365_SYNC,
            )
        }
        Err(Failure::App(error)) => {
            problem_page(error.status(), &error.to_string(), OFFICE365_SYNC)
        }
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

/// A request row claimed by a callback.
struct Claimed {
    domain_id: Uuid,
    session_hash: Vec<u8>,
    expires_at: chrono::DateTime<chrono::Utc>,
    /// Set on the sign-in step: the tenant the consent answer named, and the step's secrets.
    sign_in: Option<SignInStep>,
}

struct SignInStep {
    tenant: String,
    nonce: String,
    pkce_verifier: String,
}

async fn handle(req: &Request, query: CallbackQuery) -> Result<String, Failure> {
    let pool = &req.state.pool;
    let raw_state = query
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(Failure::State(StateProblem::Missing))?;
    let organization_id =
        organization_of(raw_state).ok_or(Failure::State(StateProblem::Unknown))?;
    let hash = state_hash(raw_state);
    let session = session_hash(req);
    // Which step this answer belongs to: a code answers the sign-in, a tenant the consent; an
    // error can answer either.
    let consent_step: Option<bool> = if query.code.is_some() {
        Some(false)
    } else if query.error.is_some() {
        None
    } else {
        Some(true)
    };
    // Used at most once, even by two answers arriving together: the update is the check. The
    // sign-in step's secrets are cleared as it is used (`old` is the row before the update).
    let claimed = sqlx::query!(
        r#"update microsoft_consent_requests r set used_at = now(), nonce = null, pkce_verifier = null
           from sessions s, microsoft_consent_requests old
           where r.organization_id = $1 and r.state_hash = $2 and r.used_at is null
             and r.expires_at > now() and r.session_hash = $3
             and s.token_hash = r.session_hash and s.expires_at > now()
             and ($4::bool is null or (r.claimed_tenant_id is null) = $4)
             and old.organization_id = r.organization_id and old.state_hash = r.state_hash
           returning r.domain_id, r.session_hash, r.expires_at, r.claimed_tenant_id,
                     old.nonce as "nonce?", old.pkce_verifier as "pkce_verifier?""#,
        organization_id,
        hash,
        session.clone().unwrap_or_default(),
        consent_step
    )
    .fetch_optional(pool)
    .await
    .or_internal("claiming a consent request")?;
    let Some(row) = claimed else {
        let row = sqlx::query!(
            r#"select used_at is not null as "used!", expires_at <= now() as "expired!",
                      (session_hash = $3 and exists (select 1 from sessions
                           where token_hash = $3 and expires_at > now())) as "same_session!"
               from microsoft_consent_requests where organization_id = $1 and state_hash = $2"#,
            organization_id,
            hash,
            session.clone().unwrap_or_default()
        )
        .fetch_optional(pool)
        .await
        .or_internal("looking up a consent request")?;
        return Err(Failure::State(match row {
            None => StateProblem::Unknown,
            Some(r) if r.used => StateProblem::Replayed,
            Some(r) if r.expired => StateProblem::Expired,
            Some(r) if r.same_session => StateProblem::WrongStep,
            Some(_) => StateProblem::OtherSession,
        }));
    };
    let sign_in = match (row.claimed_tenant_id, row.nonce, row.pkce_verifier) {
        (Some(tenant), Some(nonce), Some(pkce_verifier)) => Some(SignInStep {
            tenant,
            nonce,
            pkce_verifier,
        }),
        (Some(_), ..) => {
            return Err(Failure::App(super::internal(anyhow::anyhow!(
                "a sign-in step without its nonce or PKCE verifier"
            ))))
        }
        (None, ..) => None,
    };
    let claimed = Claimed {
        domain_id: row.domain_id,
        session_hash: row.session_hash,
        expires_at: row.expires_at,
        sign_in,
    };
    let admin = require_admin(req).await?;
    let span =
        tracing::info_span!("admin_consent", domain_id = %claimed.domain_id, %organization_id);
    complete(req, query, organization_id, claimed, admin)
        .instrument(span)
        .await
}

/// Where the admin lands after the callback, with the outcome.
fn back_to(domain_id: Uuid, outcome: &str, code: Option<&str>) -> String {
    let page = format!("/domains/{domain_id}/sync/office365");
    match code {
        Some(code) => format!("{page}?consent={outcome}&code={code}"),
        None => format!("{page}?consent={outcome}"),
    }
}

/// The state was good: read Microsoft's answer for its step.
async fn complete(
    req: &Request,
    query: CallbackQuery,
    organization_id: Uuid,
    claimed: Claimed,
    admin: SignedIn,
) -> Result<String, Failure> {
    let domain_id = claimed.domain_id;
    let back = |outcome: &str, code: Option<&str>| back_to(domain_id, outcome, code);
    if let Some(error) = query.error.as_deref() {
        let code = aadsts_code(query.error_description.as_deref().unwrap_or(""))
            .or_else(|| safe_code(error));
        let outcome = match (error, query.error_subcode.as_deref(), code.as_deref()) {
            _ if claimed.sign_in.is_some() => "unproven",
            ("access_denied", Some("cancel"), _) | (_, _, Some("AADSTS65004")) => "cancelled",
            ("access_denied", ..) => "denied",
            _ => "failed",
        };
        tracing::info!(
            error,
            code = code.as_deref(),
            description = query.error_description.as_deref(),
            sign_in_step = claimed.sign_in.is_some(),
            "admin consent not given"
        );
        return Ok(back(outcome, code.as_deref()));
    }
    let Some(microsoft) = req.state.microsoft.as_ref() else {
        return Err(Failure::App(AppError::MicrosoftNotConfigured));
    };
    match &claimed.sign_in {
        None => consent_answered(req, microsoft, &query, organization_id, &claimed, &admin).await,
        Some(step) => {
            signed_in(
                req,
                microsoft,
                &query,
                organization_id,
                &claimed,
                step,
                &admin,
            )
            .await
        }
    }
}

/// Step 1 answered: the tenant Microsoft named is only claimed. Records the sign-in step (a new
/// single-use state, the nonce and PKCE verifier) and sends the admin to sign in at that tenant.
async fn consent_answered(
    req: &Request,
    microsoft: &MicrosoftSetup,
    query: &CallbackQuery,
    organization_id: Uuid,
    claimed: &Claimed,
    admin: &SignedIn,
) -> Result<String, Failure> {
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
        return Ok(back_to(claimed.domain_id, "failed", None));
    };
    let state = new_state(organization_id);
    let start = microsoft
        .client
        .sign_in_start(&tenant, &microsoft.redirect_uri(), &state)
        .map_err(|e| Failure::App(super::directory_error(&e, "building the sign-in request")))?;
    sqlx::query!(
        r#"insert into microsoft_consent_requests
               (organization_id, state_hash, domain_id, admin_id, session_hash, expires_at,
                claimed_tenant_id, nonce, pkce_verifier)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"#,
        organization_id,
        state_hash(&state),
        claimed.domain_id,
        admin.admin_id,
        claimed.session_hash,
        claimed.expires_at,
        tenant.as_str(),
        start.nonce,
        start.pkce_verifier
    )
    .execute(&req.state.pool)
    .await
    .or_internal("recording the sign-in step of a consent request")?;
    tracing::info!(claimed_tenant = %tenant, admin = %admin.email, "admin consent answered; asking for a sign-in to prove the tenant");
    Ok(start.url)
}

/// Step 2 answered: proves the tenant with the ID token, confirms it with an app token, and
/// stores the connection with who granted it.
async fn signed_in(
    req: &Request,
    microsoft: &MicrosoftSetup,
    query: &CallbackQuery,
    organization_id: Uuid,
    claimed: &Claimed,
    step: &SignInStep,
    admin: &SignedIn,
) -> Result<String, Failure> {
    let pool = &req.state.pool;
    let domain_id = claimed.domain_id;
    let back = |outcome: &str, code: Option<&str>| back_to(domain_id, outcome, code);
    let tenant = TenantId::parse(&step.tenant).or_internal("reading a claimed tenant")?;
    let Some(code) = query.code.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(back("unproven", None));
    };
    let granter = match microsoft
        .client
        .prove_sign_in(
            &tenant,
            &microsoft.redirect_uri(),
            code,
            &step.pkce_verifier,
            &step.nonce,
        )
        .await
    {
        Ok(granter) => granter,
        Err(e) => {
            tracing::warn!(claimed_tenant = %tenant, error = %e, admin = %admin.email, "admin consent not proven: nothing stored");
            let code = match &e {
                SignInError::Redeem(d) => d.microsoft_code().and_then(safe_code),
                _ => None,
            };
            return Ok(back("unproven", code.as_deref()));
        }
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
               (organization_id, domain_id, tenant_id, tenant_name, tenant_domains, domain_verified,
                granted_by_email, granted_at, granted_by_oid, granted_by_username, granted_by_name,
                granted_by_global_admin)
           values ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9, $10, $11)
           on conflict (organization_id, domain_id) do update set
               tenant_id = excluded.tenant_id, tenant_name = excluded.tenant_name,
               tenant_domains = excluded.tenant_domains, domain_verified = excluded.domain_verified,
               granted_by_email = excluded.granted_by_email, granted_at = excluded.granted_at,
               granted_by_oid = excluded.granted_by_oid,
               granted_by_username = excluded.granted_by_username,
               granted_by_name = excluded.granted_by_name,
               granted_by_global_admin = excluded.granted_by_global_admin"#,
        organization_id,
        domain_id,
        org.tenant_id.as_str(),
        org.display_name,
        &org.verified_domains,
        verified,
        admin.email,
        granter.oid,
        granter.username,
        granter.name,
        granter.global_admin
    )
    .execute(pool)
    .await
    .or_internal("storing the Microsoft 365 connection")?;
    tracing::info!(
        tenant_id = %org.tenant_id,
        verified,
        admin = %admin.email,
        granted_by = %granter.username,
        granted_by_oid = %granter.oid,
        global_admin = granter.global_admin,
        "domain connected to Microsoft 365"
    );
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
pub(super) fn problem_page(status: StatusCode, message: &str, sync_page: &str) -> Response {
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Permission not recorded · Roster</title>
<link rel="stylesheet" href="/pkg/roster.css"></head>
<body><main id="main" class="content standalone">
<section class="panel error-panel" role="alert">
<h1>Permission not recorded</h1>
<p>{}</p>
<p>Nothing was changed. Start again from the domain's {} page with “Grant permission”.</p>
<p><a href="/domains">Back to your domains</a></p>
</section></main></body></html>"#,
        escape_html(message),
        escape_html(sync_page)
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
