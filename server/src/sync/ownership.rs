//! The check at the start of every run ("Apply these changes" and scheduled runs too): the
//! domain must still be proven to be the customer's.
//!
//! A directory that vouches for domains itself ([`Directory::verified_domains`]: Microsoft
//! 365's tenant, `GET /organization` → `verifiedDomains`, read now) must still list it: a
//! domain removed from the tenant (or moved to another one) stops syncing with a clear error
//! instead of having its recipients replaced by what the tenant still holds under that name.
//! The connection's stored list is refreshed either way, so the domain's pages show what the
//! directory said last. A directory that vouches for none (an LDAP server) needs the domain's
//! DNS TXT record proven, as Manual Sync does.

use super::RunSpec;
use anyhow::{Context, Result};
use roster_core::{Directory, DomainName, SyncSource};
use sqlx::PgPool;

/// What a run of a domain without proof says.
pub const NOT_PROVEN: &str = "Ownership not verified: this domain can't be synced until it is proven to be yours. Nothing was changed. Add the TXT record shown on the domain's Inbound Servers page and choose Verify ownership.";

/// `Ok(Some(message))` when the run must not go on: the admin's words for the run's error.
/// A failure to read the directory is an `Err` carrying the `DirectoryError`.
pub async fn check_before_run(
    pool: &PgPool,
    directory: &dyn Directory,
    spec: &RunSpec,
) -> Result<Option<String>> {
    let row = sqlx::query!(
        "select name, ownership_verified_at from domains where organization_id = $1 and id = $2",
        spec.run.organization_id,
        spec.domain_id
    )
    .fetch_one(pool)
    .await
    .context("loading the domain's name")?;
    let domain = DomainName::parse(&row.name).context("the stored domain name")?;
    let Some(listing) = directory.verified_domains().await? else {
        if row.ownership_verified_at.is_some() {
            return Ok(None);
        }
        tracing::warn!(domain = %domain, "the domain's ownership is not proven; run refused");
        return Ok(Some(NOT_PROVEN.to_owned()));
    };
    let listed = listing.lists(&domain);
    // Only Microsoft 365's connection keeps a listing (no row for other directories).
    sqlx::query!(
        r#"update microsoft_connections set tenant_domains = $3, domain_verified = $4
           where organization_id = $1 and domain_id = $2"#,
        spec.run.organization_id,
        spec.domain_id,
        &listing.domains,
        listed
    )
    .execute(pool)
    .await
    .context("recording the directory's verified domains")?;
    if listed {
        return Ok(None);
    }
    tracing::warn!(domain = %domain, directory = %directory.identity(), verified_domains = ?listing.domains,
        "the domain is not a verified domain of its directory; run refused");
    let lists = if listing.domains.is_empty() {
        "none".to_owned()
    } else {
        listing.domains.join(", ")
    };
    Ok(Some(match spec.source {
        SyncSource::GoogleWorkspace => format!(
            "{} is not a verified domain or domain alias of the {} (it lists: {lists}), so Roster will not sync it. Nothing was changed. Add the domain back in the Google Admin console, or if it moved to another Workspace, grant permission again as a super admin of that one.",
            domain.to_unicode(),
            listing.directory_name,
        ),
        _ => format!(
            "{} is not a verified domain of the Microsoft 365 tenant “{}” (it lists: {lists}), so Roster will not sync it. Nothing was changed. Add the domain back in the Microsoft 365 admin center, or if it moved to another tenant, grant permission again from that tenant.",
            domain.to_unicode(),
            listing.directory_name,
        ),
    }))
}
