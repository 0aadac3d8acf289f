//! Operator commands: create an organization with its first admin, and the demo seed.

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
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 16);
    let name = OrganizationName::parse("Demo Organization").map_err(|e| anyhow::anyhow!("{e}"))?;
    let email = EmailAddress::parse(DEMO_ADMIN_EMAIL).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pw = NewPassword::parse(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    create_organization(pool, &name, &email, &pw).await?;
    Ok(Some((DEMO_ADMIN_EMAIL.to_owned(), password)))
}
