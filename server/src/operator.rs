//! Operator commands: create an organization with its first admin, reset an admin's password,
//! and the demo seed.

use anyhow::{Context, Result};
use rand::distributions::{Alphanumeric, DistString};
use roster_core::{EmailAddress, NewPassword, OrganizationName};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug)]
pub struct CreatedOrganization {
    pub organization_id: Uuid,
    pub admin_id: Uuid,
}

/// Creates an organization and its first admin in one transaction.
pub async fn create_organization(
    pool: &PgPool,
    name: &OrganizationName,
    admin_email: &EmailAddress,
    password: &NewPassword,
) -> Result<CreatedOrganization> {
    let limits = app::ssr::limits::Limits::default();
    let hash = app::ssr::auth::hash_password(&limits, password.expose().to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx = pool.begin().await?;
    let exists = sqlx::query_scalar!(
        "select exists(select 1 from admins where email = $1) as \"exists!\"",
        admin_email.as_str()
    )
    .fetch_one(&mut *tx)
    .await?;
    if exists {
        anyhow::bail!("an admin with the email {admin_email} already exists");
    }
    let organization_id = sqlx::query_scalar!(
        "insert into organizations (name) values ($1) returning id",
        name.as_str()
    )
    .fetch_one(&mut *tx)
    .await
    .context("creating the organization")?;
    let admin_id = sqlx::query_scalar!(
        "insert into admins (organization_id, email, password_hash) values ($1, $2, $3) returning id",
        organization_id,
        admin_email.as_str(),
        hash
    )
    .fetch_one(&mut *tx)
    .await
    .context("creating the admin")?;
    tx.commit().await?;
    Ok(CreatedOrganization {
        organization_id,
        admin_id,
    })
}

pub const DEMO_ADMIN_EMAIL: &str = "admin@roster.example";

/// Creates the demo organization and admin when there is no organization at all. Returns the
/// login to print (once), or `None` when there was already data.
pub async fn seed_demo(pool: &PgPool) -> Result<Option<(String, String)>> {
    let any = sqlx::query_scalar!("select exists(select 1 from organizations) as \"exists!\"")
        .fetch_one(pool)
        .await?;
    if any {
        return Ok(None);
    }
    let password = generate_password();
    let name = OrganizationName::parse("Demo Organization").map_err(|e| anyhow::anyhow!("{e}"))?;
    let email = EmailAddress::parse(DEMO_ADMIN_EMAIL).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pw = NewPassword::parse(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    create_organization(pool, &name, &email, &pw).await?;
    Ok(Some((DEMO_ADMIN_EMAIL.to_owned(), password)))
}

/// What `reset_password` did.
#[derive(Debug, PartialEq, Eq)]
pub struct PasswordReset {
    /// Sign-in sessions of that admin that were ended.
    pub sessions_ended: u64,
}

/// Sets a new password for an admin, ends all of their sessions and lifts any sign-in
/// lock-out of their email, in one transaction. The operator's way back in for an admin who
/// lost their password (or the demo login that is printed only once).
pub async fn reset_password(
    pool: &PgPool,
    email: &EmailAddress,
    password: &NewPassword,
) -> Result<PasswordReset> {
    let limits = app::ssr::limits::Limits::default();
    let hash = app::ssr::auth::hash_password(&limits, password.expose().to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx = pool.begin().await?;
    let admin = sqlx::query!(
        "update admins set password_hash = $2, updated_at = now() where email = $1 returning organization_id, id",
        email.as_str(),
        hash
    )
    .fetch_optional(&mut *tx)
    .await
    .context("updating the password")?
    .with_context(|| format!("there is no admin with the email {email}"))?;
    let ended = sqlx::query!(
        "delete from sessions where organization_id = $1 and admin_id = $2",
        admin.organization_id,
        admin.id
    )
    .execute(&mut *tx)
    .await
    .context("ending the admin's sessions")?
    .rows_affected();
    sqlx::query!(
        "delete from login_attempts where email = $1",
        email.as_str()
    )
    .execute(&mut *tx)
    .await
    .context("lifting the sign-in lock-out")?;
    tx.commit().await?;
    Ok(PasswordReset {
        sessions_ended: ended,
    })
}

/// A random password for the operator to pass on (16 letters and digits).
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}
