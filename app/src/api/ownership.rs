//! Domain ownership: the TXT record a domain's owner publishes, "Verify ownership", and the
//! rule the sync server functions apply — a domain whose ownership is not proven can't be
//! synced (Manual Sync, Test Sync, Apply these changes).

use crate::error::AppError;
use crate::model::DomainOwnership;
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::error::AppError;
    use crate::model::{DomainOwnership, OwnershipProof};
    use crate::ssr::OrInternal;
    use sqlx::PgPool;
    use uuid::Uuid;

    /// The domain's record and proof; `NotFound` unless it is the organization's.
    pub async fn load(
        pool: &PgPool,
        org: Uuid,
        domain_id: Uuid,
    ) -> Result<DomainOwnership, AppError> {
        let row = sqlx::query!(
            r#"select d.name, d.ownership_token, d.ownership_verified_at,
                      c.tenant_name as "tenant_name?", c.domain_verified as "domain_verified?",
                      g.hosted_domain as "google_workspace?"
               from domains d
               left join microsoft_connections c
                 on c.organization_id = d.organization_id and c.domain_id = d.id
               left join google_connections g
                 on g.organization_id = d.organization_id and g.domain_id = d.id
               where d.organization_id = $1 and d.id = $2"#,
            org,
            domain_id
        )
        .fetch_optional(pool)
        .await
        .or_internal("loading a domain's ownership")?
        .ok_or(AppError::NotFound)?;
        // A Google grant is kept only when its Workspace owns the domain (and every run checks
        // again), so a connection is the proof.
        let proof = match (
            row.ownership_verified_at,
            row.domain_verified,
            row.tenant_name,
            row.google_workspace,
        ) {
            (Some(verified_at), ..) => OwnershipProof::Dns { verified_at },
            (None, Some(true), Some(tenant_name), _) => OwnershipProof::Microsoft { tenant_name },
            (None, _, _, Some(workspace)) => OwnershipProof::Google { workspace },
            _ => OwnershipProof::NotVerified,
        };
        Ok(DomainOwnership {
            record_name: row.name,
            record_value: roster_core::ownership::txt_value(&row.ownership_token),
            proof,
        })
    }

    /// Refuses with the admin's words unless the domain's ownership is proven.
    pub async fn require_proven(pool: &PgPool, org: Uuid, domain_id: Uuid) -> Result<(), AppError> {
        if load(pool, org, domain_id).await?.verified() {
            Ok(())
        } else {
            Err(AppError::OwnershipNotVerified(
                "Ownership not verified: this domain can't be synced until it is proven to be yours. Add the TXT record shown on the domain's Inbound Servers page and choose Verify ownership (an Office 365 or Google Workspace domain is also proven when its connected Microsoft 365 tenant or Google Workspace lists it as a verified domain).".to_owned(),
            ))
        }
    }
}

#[server(endpoint = "get_domain_ownership")]
pub async fn get_domain_ownership(domain_id: Uuid) -> Result<DomainOwnership, AppError> {
    use crate::ssr::{auth::require_admin, respond::respond};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        ssr::load(&req.state.pool, admin.organization_id, domain_id).await
    })
    .await
}

/// "Verify ownership": looks up the domain's TXT records (`ROSTER_DNS_SERVER` or the system's
/// resolvers) and records the time when the domain's record is there. A failed check changes
/// nothing, not even an earlier success.
#[server(endpoint = "verify_domain_ownership")]
pub async fn verify_domain_ownership(domain_id: Uuid) -> Result<DomainOwnership, AppError> {
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    use roster_core::DomainName;
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let org = admin.organization_id;
        let row = sqlx::query!(
            "select name, ownership_token from domains where organization_id = $1 and id = $2",
            org,
            domain_id
        )
        .fetch_optional(&pool)
        .await
        .or_internal("loading a domain")?
        .ok_or(AppError::NotFound)?;
        let domain = DomainName::parse(&row.name).or_internal("reading a stored domain name")?;
        if let Err(refusal) = req.state.dns.verify(&domain, &row.ownership_token).await {
            tracing::info!(organization_id = %org, %domain_id, domain = %domain, reason = ?refusal, admin = %admin.email, "domain ownership not verified");
            return Err(AppError::OwnershipNotVerified(refusal.to_string()));
        }
        sqlx::query!(
            "update domains set ownership_verified_at = now() where organization_id = $1 and id = $2",
            org,
            domain_id
        )
        .execute(&pool)
        .await
        .or_internal("recording a domain's ownership")?;
        tracing::info!(organization_id = %org, %domain_id, domain = %domain, admin = %admin.email, "domain ownership verified by DNS");
        ssr::load(&pool, org, domain_id).await
    })
    .await
}
