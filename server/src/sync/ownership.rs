//! The check at the start of every Office 365 run: the domain must still be one of the
//! tenant's verified domains, as Microsoft reports them now (`GET /organization` →
//! `verifiedDomains`). A domain removed from the tenant (or moved to another one) stops
//! syncing with a clear error instead of having its recipients replaced by what the tenant
//! still holds under that name. The connection's stored list is refreshed either way, so the
//! domain's pages show what Microsoft said last.

use super::RunSpec;
use anyhow::{Context, Result};
use roster_core::microsoft::MicrosoftDirectory;
use roster_core::DomainName;
use sqlx::PgPool;

/// `Ok(Some(message))` when the run must not go on: the admin's words for the run's error.
/// A failure to read the tenant is an `Err` carrying the `DirectoryError`.
pub async fn check_tenant_lists_domain(
    pool: &PgPool,
    directory: &MicrosoftDirectory,
    spec: &RunSpec,
) -> Result<Option<String>> {
    let name = sqlx::query_scalar!(
        "select name from domains where organization_id = $1 and id = $2",
        spec.run.organization_id,
        spec.domain_id
    )
    .fetch_one(pool)
    .await
    .context("loading the domain's name")?;
    let domain = DomainName::parse(&name).context("the stored domain name")?;
    let org = directory.organization().await?;
    let listed = org.has_verified_domain(&domain);
    sqlx::query!(
        r#"update microsoft_connections set tenant_domains = $3, domain_verified = $4
           where organization_id = $1 and domain_id = $2"#,
        spec.run.organization_id,
        spec.domain_id,
        &org.verified_domains,
        listed
    )
    .execute(pool)
    .await
    .context("recording the tenant's verified domains")?;
    if listed {
        return Ok(None);
    }
    tracing::warn!(domain = %domain, tenant_id = %org.tenant_id.as_str(), verified_domains = ?org.verified_domains,
        "the domain is not a verified domain of its tenant; run refused");
    Ok(Some(format!(
        "{} is not a verified domain of the Microsoft 365 tenant “{}” (it lists: {}), so Roster will not sync it. Nothing was changed. Add the domain back in the Microsoft 365 admin center, or if it moved to another tenant, grant permission again from that tenant.",
        domain.to_unicode(),
        org.display_name,
        if org.verified_domains.is_empty() { "none".to_owned() } else { org.verified_domains.join(", ") }
    )))
}
