//! A domain's Microsoft 365 connection: its state, "Grant permission" (admin consent),
//! Disconnect, and Test Connection. Microsoft's answer to the consent request arrives at
//! `ssr::microsoft_consent` (a plain route, not a server function).

use crate::error::AppError;
use crate::model::{ConnectionTestResult, MicrosoftPanel};
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

/// Gets a token, reads the first page of users and of groups, and shows the first accounts as
/// Roster would store them for this domain. Stores nothing.
#[server(endpoint = "test_microsoft_connection")]
pub async fn test_microsoft_connection(domain_id: Uuid) -> Result<ConnectionTestResult, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::model::SampleAccount;
    use crate::ssr::microsoft_consent::{domain_rules, load_connection};
    use crate::ssr::{auth::require_admin, directory_error, internal, respond::respond};
    use tracing::Instrument;
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let domain = load_domain(&pool, admin.organization_id, domain_id).await?;
        let microsoft = req
            .state
            .microsoft
            .clone()
            .ok_or(AppError::MicrosoftNotConfigured)?;
        let connection = load_connection(&pool, admin.organization_id, domain_id)
            .await?
            .ok_or(AppError::NotConnected)?;
        let rules = domain_rules(&pool, admin.organization_id, &domain).await?;
        let span =
            tracing::info_span!("test_connection", %domain_id, tenant_id = %connection.tenant_id);
        let started = std::time::Instant::now();
        let test = microsoft
            .client
            .test_connection(&connection.tenant_id, &rules)
            .instrument(span.clone())
            .await
            .map_err(|e| {
                span.in_scope(|| directory_error(&e, "testing the Microsoft 365 connection"))
            })?;
        let count = |n: usize| u32::try_from(n).map_err(internal);
        let accounts = test
            .sample
            .into_iter()
            .map(|a| {
                Ok(SampleAccount {
                    address: a.address.to_string(),
                    display_name: a.display_name.to_string(),
                    kind: a.kind,
                    aliases: a.aliases.iter().map(ToString::to_string).collect(),
                    members: count(a.members.len())?,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(ConnectionTestResult {
            accounts,
            users_read: count(test.users_read)?,
            groups_read: count(test.groups_read)?,
            accounts_found: count(test.accounts_found)?,
            more_pages: test.more_pages,
            elapsed_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
        })
    })
    .await
}
