//! "Grant permission" for Google Workspace, server side: the request Roster sends a super admin
//! to Google with, and Google's redirect back to `/oauth/google/callback`.
//!
//! One step (Google's OAuth 2.0 web-server flow with PKCE, a nonce, offline access): Google
//! answers `code=…` (or `error=…`) through the browser, so nothing in the answer is believed
//! by itself. Roster claims its single-use `state` (bound to this session and domain), redeems
//! the code itself with the client secret and the PKCE verifier, accepts the grant only with a
//! valid ID token (`roster_core::google::GoogleClient::prove_grant`: signature by Google's
//! published keys, issuer, audience, expiry, nonce, a Workspace account's `hd`), then asks the
//! Directory API, as that grant, which domains the Workspace owns: a grant whose Workspace does
//! not own the domain (verified, or a verified domain alias) is revoked at Google and nothing
//! is stored. Otherwise the refresh token is sealed (`ROSTER_SECRET_KEY`) into
//! `google_connections` with who granted it. Disconnect revokes it at Google and forgets it.

use super::auth::{require_admin, session_hash, SignedIn};
use super::grant_state::{new_state, organization_of, state_hash, StateProblem};
use super::microsoft_consent::problem_page;
use super::secrets::{google_refresh_token_context, SecretKey};
use super::{AppState, OrInternal, Request};
use crate::error::AppError;
use crate::model::GoogleConnection;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use roster_core::google::{GoogleClient, GrantError, RefreshToken};
use roster_core::{DirectoryError, DomainName};
use serde::Deserialize;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

/// Where Google sends the admin back after its consent screen.
pub const GOOGLE_CALLBACK_PATH: &str = "/oauth/google/callback";

/// How long an admin has to answer Google's consent screen.
const GRANT_TTL_MINUTES: i32 = 10;

const GOOGLE_SYNC: &str = "Google Workspace Sync";

/// A domain's Google connection as the page shows it (never the token).
pub async fn load_connection(
    pool: &PgPool,
    organization_id: Uuid,
    domain_id: Uuid,
) -> Result<Option<GoogleConnection>, AppError> {
    let row = sqlx::query!(
        r#"select customer_id, hosted_domain, granted_by_email, requested_by, granted_at, skip_suspended
           from google_connections where organization_id = $1 and domain_id = $2"#,
        organization_id,
        domain_id
    )
    .fetch_optional(pool)
    .await
    .or_internal("loading the Google Workspace connection")?;
    Ok(row.map(|r| GoogleConnection {
        customer_id: r.customer_id,
        hosted_domain: r.hosted_domain,
        granted_by: r.granted_by_email,
        requested_by: r.requested_by,
        granted_at: r.granted_at,
        skip_suspended: r.skip_suspended,
    }))
}

/// The stored grant of a domain: its Workspace, refresh token (sealed) and options.
pub struct StoredGrant {
    pub customer_id: String,
    pub refresh_token_sealed: Vec<u8>,
    pub skip_suspended: bool,
}

pub async fn stored_grant(
    pool: &PgPool,
    organization_id: Uuid,
    domain_id: Uuid,
) -> anyhow::Result<Option<StoredGrant>> {
    use anyhow::Context;
    let row = sqlx::query_as!(
        StoredGrant,
        r#"select customer_id, refresh_token_sealed, skip_suspended
           from google_connections where organization_id = $1 and domain_id = $2"#,
        organization_id,
        domain_id
    )
    .fetch_optional(pool)
    .await
    .context("loading the domain's Google Workspace grant")?;
    Ok(row)
}

/// Opens a stored refresh token; `None` when it does not open with this key (the key changed,
/// or the row was copied from another domain).
pub fn open_refresh_token(
    key: &SecretKey,
    sealed: &[u8],
    organization_id: Uuid,
    domain_id: Uuid,
) -> Option<RefreshToken> {
    key.open(
        sealed,
        &google_refresh_token_context(organization_id, domain_id),
    )
    .ok()
    .and_then(|bytes| String::from_utf8(bytes).ok())
    .map(RefreshToken::new)
}

/// Records a grant request and returns the URL of Google's consent screen.
pub async fn start_grant(
    req: &Request,
    google: &GoogleClient,
    admin: &SignedIn,
    domain_id: Uuid,
) -> Result<String, AppError> {
    let session = session_hash(req).ok_or(AppError::Unauthorized)?;
    let state = new_state(admin.organization_id);
    let start = google
        .grant_start(&state)
        .map_err(|e| super::directory_error(&e, "building the Google grant request"))?;
    let pool = &req.state.pool;
    sqlx::query!(
        r#"insert into google_grant_requests
               (organization_id, state_hash, domain_id, admin_id, session_hash, nonce, pkce_verifier,
                expires_at)
           values ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(mins => $8))"#,
        admin.organization_id,
        state_hash(&state),
        domain_id,
        admin.admin_id,
        session,
        start.nonce,
        start.pkce_verifier,
        GRANT_TTL_MINUTES
    )
    .execute(pool)
    .await
    .or_internal("recording a Google grant request")?;
    // Old requests are of no use to anyone; sweep them while we are here.
    sqlx::query!("delete from google_grant_requests where expires_at < now() - interval '1 day'")
        .execute(pool)
        .await
        .or_internal("removing old Google grant requests")?;
    tracing::info!(%domain_id, admin = %admin.email, "Google Workspace grant requested");
    Ok(start.url)
}

/// What Google appends to the redirect URI.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
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

/// `GET /oauth/google/callback`: checks `state`, proves the grant, checks the Workspace owns
/// the domain and stores the connection; then back to the domain's Google Workspace Sync page
/// with the outcome (`?grant=…`).
pub async fn callback(
    state: AppState,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let req = Request::from_headers(state, headers);
    match handle(&req, query).await {
        Ok(location) => Redirect::to(&location).into_response(),
        Err(Failure::State(problem)) => {
            tracing::warn!(?problem, "Google grant callback refused");
            problem_page(
                StatusCode::BAD_REQUEST,
                &problem.explain("Google"),
                GOOGLE_SYNC,
            )
        }
        Err(Failure::App(error)) => problem_page(error.status(), &error.to_string(), GOOGLE_SYNC),
    }
}

/// A request row claimed by a callback, with its secrets.
struct Claimed {
    domain_id: Uuid,
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
    let session = session_hash(req).unwrap_or_default();
    // Used at most once, even by two answers arriving together: the update is the check, and
    // it clears the request's secrets (`old` is the row before the update).
    let claimed = sqlx::query!(
        r#"update google_grant_requests r set used_at = now(), nonce = null, pkce_verifier = null
           from sessions s, google_grant_requests old
           where r.organization_id = $1 and r.state_hash = $2 and r.used_at is null
             and r.expires_at > now() and r.session_hash = $3
             and s.token_hash = r.session_hash and s.expires_at > now()
             and old.organization_id = r.organization_id and old.state_hash = r.state_hash
           returning r.domain_id, old.nonce as "nonce?", old.pkce_verifier as "pkce_verifier?""#,
        organization_id,
        hash,
        session
    )
    .fetch_optional(pool)
    .await
    .or_internal("claiming a Google grant request")?;
    let Some(row) = claimed else {
        let row = sqlx::query!(
            r#"select used_at is not null as "used!", expires_at <= now() as "expired!"
               from google_grant_requests where organization_id = $1 and state_hash = $2"#,
            organization_id,
            hash
        )
        .fetch_optional(pool)
        .await
        .or_internal("looking up a Google grant request")?;
        return Err(Failure::State(match row {
            None => StateProblem::Unknown,
            Some(r) if r.used => StateProblem::Replayed,
            Some(r) if r.expired => StateProblem::Expired,
            Some(_) => StateProblem::OtherSession,
        }));
    };
    let (Some(nonce), Some(pkce_verifier)) = (row.nonce, row.pkce_verifier) else {
        return Err(Failure::App(super::internal(anyhow::anyhow!(
            "a Google grant request without its nonce or PKCE verifier"
        ))));
    };
    let claimed = Claimed {
        domain_id: row.domain_id,
        nonce,
        pkce_verifier,
    };
    let admin = require_admin(req).await?;
    let span =
        tracing::info_span!("google_grant", domain_id = %claimed.domain_id, %organization_id);
    complete(req, query, organization_id, claimed, admin)
        .instrument(span)
        .await
}

/// Where the admin lands after the callback, with the outcome.
fn back_to(domain_id: Uuid, outcome: &str) -> String {
    format!("/domains/{domain_id}/sync/google?grant={outcome}")
}

/// The state was good: prove the grant, check the Workspace owns the domain, store it.
async fn complete(
    req: &Request,
    query: CallbackQuery,
    organization_id: Uuid,
    claimed: Claimed,
    admin: SignedIn,
) -> Result<String, Failure> {
    let pool = &req.state.pool;
    let domain_id = claimed.domain_id;
    let back = |outcome: &str| back_to(domain_id, outcome);
    if let Some(error) = query.error.as_deref() {
        tracing::info!(error, admin = %admin.email, "Google Workspace grant not given");
        return Ok(back(if error == "access_denied" {
            "cancelled"
        } else {
            "failed"
        }));
    }
    let (Some(google), Some(key)) = (req.state.google.as_ref(), req.state.secret_key.as_ref())
    else {
        return Err(Failure::App(AppError::Conflict(
            crate::model::GOOGLE_NOT_CONFIGURED.to_owned(),
        )));
    };
    let Some(code) = query.code.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(back("failed"));
    };
    let grant = match google
        .prove_grant(code, &claimed.pkce_verifier, &claimed.nonce, None)
        .await
    {
        Ok(grant) => grant,
        Err(e) => {
            tracing::warn!(error = %e, admin = %admin.email, "Google grant not proven: nothing stored");
            return Ok(back(match e {
                GrantError::Redeem(DirectoryError::GoogleClientRejected(_)) => "client_rejected",
                GrantError::Redeem(_) | GrantError::Keys(_) => "unconfirmed",
                GrantError::IdToken(_) => "unproven",
                GrantError::NoRefreshToken => "no_refresh_token",
            }));
        }
    };
    let domain_ascii = sqlx::query_scalar!(
        "select name from domains where organization_id = $1 and id = $2",
        organization_id,
        domain_id
    )
    .fetch_optional(pool)
    .await
    .or_internal("loading the domain being connected")?
    .ok_or(AppError::NotFound)?;
    let domain = DomainName::parse(&domain_ascii).or_internal("reading a stored domain")?;
    let refresh = grant.refresh_token.clone();
    let owned = match google.workspace_domains(&refresh).await {
        Ok(domains) => domains,
        Err(e) => {
            tracing::warn!(error = %e, detail = ?e.google(), granted_by = %grant.email, "the Workspace's domains could not be read with the new grant: nothing stored");
            revoke_unkept(google, &refresh).await;
            return Ok(back(match e {
                DirectoryError::GoogleNotAuthorized(_) | DirectoryError::GoogleGrantRevoked(_) => {
                    "not_admin"
                }
                DirectoryError::GoogleApiNotEnabled(_) => "api_not_enabled",
                _ => "unconfirmed",
            }));
        }
    };
    if !owned.owns(&domain) {
        tracing::warn!(
            domain = %domain,
            hosted_domain = %grant.hosted_domain,
            granted_by = %grant.email,
            workspace_domains = ?owned,
            "a Google Workspace that does not own the domain granted permission: refused, nothing stored"
        );
        revoke_unkept(google, &refresh).await;
        return Ok(back("not_owned"));
    }
    let customer_id = match google.customer_id(&refresh).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(error = %e, detail = ?e.google(), "the Workspace's customer id could not be read: nothing stored");
            revoke_unkept(google, &refresh).await;
            return Ok(back("unconfirmed"));
        }
    };
    let sealed = key.seal(
        refresh.expose().as_bytes(),
        &google_refresh_token_context(organization_id, domain_id),
    );
    // A grant given again replaces the old one; the old refresh token is revoked below.
    let previous = stored_grant(pool, organization_id, domain_id)
        .await
        .or_internal("loading the previous Google grant")?;
    sqlx::query!(
        r#"insert into google_connections
               (organization_id, domain_id, customer_id, hosted_domain, refresh_token_sealed,
                granted_by_email, granted_by_subject, requested_by, granted_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, now())
           on conflict (organization_id, domain_id) do update set
               customer_id = excluded.customer_id, hosted_domain = excluded.hosted_domain,
               refresh_token_sealed = excluded.refresh_token_sealed,
               granted_by_email = excluded.granted_by_email,
               granted_by_subject = excluded.granted_by_subject,
               requested_by = excluded.requested_by, granted_at = excluded.granted_at"#,
        organization_id,
        domain_id,
        customer_id,
        grant.hosted_domain,
        sealed,
        grant.email,
        grant.subject,
        admin.email
    )
    .execute(pool)
    .await
    .or_internal("storing the Google Workspace connection")?;
    if let Some(old) = previous
        .and_then(|p| open_refresh_token(key, &p.refresh_token_sealed, organization_id, domain_id))
    {
        if old != refresh {
            revoke_unkept(google, &old).await;
        }
    }
    tracing::info!(
        customer_id = %customer_id,
        hosted_domain = %grant.hosted_domain,
        granted_by = %grant.email,
        admin = %admin.email,
        "domain connected to Google Workspace"
    );
    Ok(back("granted"))
}

/// Revokes a grant Roster does not keep. A failure is logged: the admin can remove Roster's
/// access in the Google Admin console too.
async fn revoke_unkept(google: &GoogleClient, refresh: &RefreshToken) {
    if let Err(e) = google.revoke(refresh).await {
        tracing::warn!(error = %e, detail = ?e.google(), "a Google grant Roster does not keep could not be revoked");
    }
}
