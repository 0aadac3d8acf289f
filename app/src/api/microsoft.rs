//! A domain's Microsoft 365 connection: its state, "Grant permission" (admin consent),
//! Disconnect (Test Connection is every connector's: `api::connection`). Microsoft's answer to the consent request arrives at
//! `ssr::microsoft_consent` (a plain route, not a server function).

use crate::error::AppError;
use crate::model::MicrosoftPanel;
use leptos::prelude::*;
use uuid::Uuid;

#[server(endpoint = "get_microsoft_connection")]
pub async fn get_microsoft_connection(domain_id: Uuid) -> Result<MicrosoftPanel, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::{auth::require_admin, microsoft_consent::load_connection, respond::respond};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        Ok(MicrosoftPanel {
            configured: req.state.microsoft.is_some(),
            connection: load_connection(&pool, admin.organization_id, domain_id).await?,
        })
    })
    .await
}

/// Starts admin consent: records a single-use `state` bound to this session and domain, and
/// sends the admin to Microsoft's consent screen.
#[server(endpoint = "grant_microsoft_consent")]
pub async fn grant_microsoft_consent(domain_id: Uuid) -> Result<(), AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::{auth::require_admin, microsoft_consent::start_consent, respond::respond};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        load_domain(&req.state.pool, admin.organization_id, domain_id).await?;
        let microsoft = req
            .state
            .microsoft
            .clone()
            .ok_or(AppError::MicrosoftNotConfigured)?;
        let url = start_consent(&req, &microsoft, &admin, domain_id).await?;
        req.redirect(&url);
        Ok(())
    })
    .await
}

/// Forgets the domain's tenant. The domain's accounts stay as they are.
#[server(endpoint = "disconnect_microsoft")]
pub async fn disconnect_microsoft(domain_id: Uuid) -> Result<(), AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        let removed = sqlx::query!(
            "delete from microsoft_connections where organization_id = $1 and domain_id = $2 returning tenant_id",
            admin.organization_id,
            domain_id
        )
        .fetch_optional(&pool)
        .await
        .or_internal("disconnecting a domain from Microsoft 365")?;
        if let Some(row) = removed {
            tracing::info!(%domain_id, tenant_id = %row.tenant_id, admin = %admin.email, "domain disconnected from Microsoft 365");
        }
        Ok(())
    })
    .await
}
