//! A domain's Google Workspace connection: its state, "Grant permission" (Google's OAuth grant
//! by a super admin), "Skip suspended users", Disconnect (which revokes the grant at Google).
//! Test Connection is every connector's (`api::connection`). Google's answer to the grant
//! arrives at `ssr::google_grant` (a plain route, not a server function).

use crate::error::AppError;
use crate::model::GooglePanel;
use leptos::prelude::*;
use uuid::Uuid;

#[server(endpoint = "get_google_connection")]
pub async fn get_google_connection(domain_id: Uuid) -> Result<GooglePanel, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::{auth::require_admin, google_grant::load_connection, respond::respond};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        Ok(GooglePanel {
            configured: req.state.google.is_some() && req.state.secret_key.is_some(),
            connection: load_connection(&pool, admin.organization_id, domain_id).await?,
        })
    })
    .await
}

/// Starts the grant: records a single-use `state` bound to this session and domain, and sends
/// the admin to Google's consent screen.
#[server(endpoint = "grant_google")]
pub async fn grant_google(domain_id: Uuid) -> Result<(), AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::model::GOOGLE_NOT_CONFIGURED;
    use crate::ssr::{auth::require_admin, google_grant::start_grant, respond::respond};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        load_domain(&req.state.pool, admin.organization_id, domain_id).await?;
        let google = match (&req.state.google, &req.state.secret_key) {
            (Some(google), Some(_)) => google.clone(),
            _ => return Err(AppError::Conflict(GOOGLE_NOT_CONFIGURED.to_owned())),
        };
        let url = start_grant(&req, &google, &admin, domain_id).await?;
        req.redirect(&url);
        Ok(())
    })
    .await
}

/// "Skip suspended users": Google bounces mail to suspended users; by default Roster keeps
/// them (marked disabled), this leaves them out from the next sync on.
#[server(endpoint = "save_google_options")]
pub async fn save_google_options(
    domain_id: Uuid,
    #[server(default)] skip_suspended: Option<String>,
) -> Result<(), AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        // An HTML checkbox sends its value only when checked.
        let skip = skip_suspended.is_some();
        let updated = sqlx::query!(
            "update google_connections set skip_suspended = $3 where organization_id = $1 and domain_id = $2",
            admin.organization_id,
            domain_id,
            skip
        )
        .execute(&pool)
        .await
        .or_internal("saving the Google Workspace options")?;
        if updated.rows_affected() == 0 {
            return Err(AppError::Conflict("This domain is not connected to Google Workspace. Grant permission first.".to_owned()));
        }
        tracing::info!(%domain_id, skip_suspended = skip, admin = %admin.email, "Google Workspace options saved");
        Ok(())
    })
    .await
}

/// Revokes the grant at Google and forgets it. The domain's accounts stay as they are.
#[server(endpoint = "disconnect_google")]
pub async fn disconnect_google(domain_id: Uuid) -> Result<(), AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::google_grant::{open_refresh_token, stored_grant};
    use crate::ssr::{auth::require_admin, directory_error, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        let Some(stored) = stored_grant(&pool, admin.organization_id, domain_id)
            .await
            .or_internal("loading the Google Workspace grant")?
        else {
            return Ok(());
        };
        // Revoke first: a grant Roster forgot but Google still honours is the worse outcome.
        // A token that can't be opened here (the key changed) is of no use to anyone.
        let refresh = req.state.secret_key.as_ref().and_then(|key| {
            open_refresh_token(key, &stored.refresh_token_sealed, admin.organization_id, domain_id)
        });
        match (&req.state.google, refresh) {
            (Some(google), Some(refresh)) => google
                .revoke(&refresh)
                .await
                .map_err(|e| directory_error(&e, "revoking the Google Workspace grant"))?,
            _ => tracing::warn!(%domain_id, "the Google grant can't be revoked here (not configured, or the key changed); forgetting it"),
        }
        sqlx::query!(
            "delete from google_connections where organization_id = $1 and domain_id = $2",
            admin.organization_id,
            domain_id
        )
        .execute(&pool)
        .await
        .or_internal("disconnecting a domain from Google Workspace")?;
        tracing::info!(%domain_id, customer_id = %stored.customer_id, admin = %admin.email, "domain disconnected from Google Workspace");
        Ok(())
    })
    .await
}
