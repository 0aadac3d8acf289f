//! Sessions and passwords. A session is a random 32-byte token in an HttpOnly cookie; the
//! database keeps only its SHA-256, with the admin and organization it belongs to.
//!
//! Over https the cookie is `__Host-roster_session` (`Secure; Path=/`, no `Domain`): browsers
//! then refuse it from a sibling subdomain or a plain-http page. Browsers also refuse a
//! `__Host-` cookie without `Secure`, so on the plain-http local default it is
//! `roster_session`. Only the configured name is ever read.

use super::{internal, limits::Limits, OrInternal, Request};
use crate::error::AppError;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use http::header::{COOKIE, SET_COOKIE};
use http::HeaderValue;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use uuid::Uuid;

/// The session cookie's name on plain http (local development).
pub const SESSION_COOKIE: &str = "roster_session";
/// The session cookie's name over https.
pub const SECURE_SESSION_COOKIE: &str = "__Host-roster_session";

/// The session cookie's name for this installation.
pub fn session_cookie_name(secure_cookies: bool) -> &'static str {
    if secure_cookies {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The admin behind the current request. Every server function except sign-in starts by
/// getting one, and scopes every query by its `organization_id`.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub admin_id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub organization_name: String,
}

fn session_token_from_request(req: &Request) -> Option<String> {
    let wanted = session_cookie_name(req.state.secure_cookies);
    req.parts
        .as_ref()?
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

/// The stored hash of the request's session cookie, if it carries one.
pub fn session_hash(req: &Request) -> Option<Vec<u8>> {
    session_token_from_request(req).map(|t| token_hash(&t))
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The signed-in admin, or `Unauthorized`.
pub async fn require_admin(req: &Request) -> Result<SignedIn, AppError> {
    let token = session_token_from_request(req).ok_or(AppError::Unauthorized)?;
    let pool = &req.state.pool;
    let row = sqlx::query!(
        r#"
        select s.admin_id, s.organization_id, a.email, o.name as organization_name
        from sessions s
        join admins a on a.organization_id = s.organization_id and a.id = s.admin_id
        join organizations o on o.id = s.organization_id
        where s.token_hash = $1 and s.expires_at > now()
        "#,
        token_hash(&token)
    )
    .fetch_optional(pool)
    .await
    .or_internal("looking up the session")?;
    let row = row.ok_or(AppError::Unauthorized)?;
    Ok(SignedIn {
        admin_id: row.admin_id,
        organization_id: row.organization_id,
        email: row.email,
        organization_name: row.organization_name,
    })
}

/// Starts a session for the admin and sets its cookie on the response.
pub async fn start_session(
    req: &Request,
    organization_id: Uuid,
    admin_id: Uuid,
) -> Result<(), AppError> {
    let state = &req.state;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let expires_at = chrono::Utc::now() + state.session_ttl;
    sqlx::query!(
        "insert into sessions (token_hash, organization_id, admin_id, expires_at) values ($1, $2, $3, $4)",
        token_hash(&token),
        organization_id,
        admin_id,
        expires_at
    )
    .execute(&state.pool)
    .await
    .or_internal("creating a session")?;
    // Expired sessions are of no use to anyone; sweep them while we are here.
    sqlx::query!("delete from sessions where expires_at < now()")
        .execute(&state.pool)
        .await
        .or_internal("removing expired sessions")?;
    set_cookie(
        req,
        &format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
            session_cookie_name(state.secure_cookies),
            state.session_ttl.num_seconds(),
            if state.secure_cookies { "; Secure" } else { "" }
        ),
    )
}

/// Ends the current session, if any, and clears its cookie.
pub async fn end_session(req: &Request) -> Result<(), AppError> {
    let state = &req.state;
    let mut ended = None;
    if let Some(token) = session_token_from_request(req) {
        ended = sqlx::query_scalar!(
            "delete from sessions where token_hash = $1 returning organization_id",
            token_hash(&token)
        )
        .fetch_optional(&state.pool)
        .await
        .or_internal("ending a session")?;
    }
    if let Some(admin) = ended {
        notify_sessions_ended(&state.pool, admin).await?;
    }
    set_cookie(
        req,
        &format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            session_cookie_name(state.secure_cookies),
            if state.secure_cookies { "; Secure" } else { "" }
        ),
    )
}

/// Tells every instance's live streams of the organization that some of its sessions ended,
/// so a stream whose session is gone stops now rather than at its next check. It rides on the
/// progress channel, whose streams wake on any `<organization>:` payload.
pub async fn notify_sessions_ended(
    pool: &sqlx::PgPool,
    organization_id: Uuid,
) -> Result<(), AppError> {
    sqlx::query!(
        "select pg_notify('sync_progress', $1)",
        format!("{organization_id}:sessions")
    )
    .execute(pool)
    .await
    .or_internal("announcing ended sessions")?;
    Ok(())
}

fn set_cookie(req: &Request, value: &str) -> Result<(), AppError> {
    let response = req
        .response
        .as_ref()
        .ok_or_else(|| internal(anyhow::anyhow!("ResponseOptions missing from context")))?;
    let value = HeaderValue::from_str(value).or_internal("building the session cookie")?;
    response.append_header(SET_COOKIE, value);
    Ok(())
}

/// Hashes a password with argon2id (the crate's default), off the async threads and within
/// the instance's limit of concurrent hashes.
pub async fn hash_password(limits: &Limits, password: String) -> Result<String, AppError> {
    limits
        .hashing(move || hash_now(&password))
        .await?
        .or_internal("hashing a password")
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// Checks a password against a stored hash, off the async threads and within the instance's
/// limit of concurrent hashes. With no stored hash (an unknown email) it still does the same
/// work, so timing does not tell the two apart.
pub async fn verify_password(
    limits: &Limits,
    password: String,
    stored: Option<String>,
) -> Result<bool, AppError> {
    limits
        .hashing(move || {
            let known = stored.is_some();
            let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))?;
            let ok = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok::<bool, anyhow::Error>(known && ok)
        })
        .await?
        .or_internal("verifying a password")
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no admin has this password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}
