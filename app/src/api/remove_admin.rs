//! Removing another admin of the signed-in admin's organization.

use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// Said when an admin tries to remove themselves.
pub const NOT_YOURSELF: &str =
    "You can't remove yourself. Ask another admin of your organization to do it.";
/// Said when the admin is the organization's only one.
pub const NOT_THE_LAST: &str =
    "This is your organization's only admin, so it can't be removed. Add another admin first.";

/// Removes the admin `admin_id` of the caller's organization and ends all of their sessions at
/// once (they are signed out everywhere, their live streams close). Refuses the caller
/// themselves and the organization's last admin; another organization's admin is not found.
#[server(endpoint = "remove_admin")]
pub async fn remove_admin(admin_id: Uuid) -> Result<(), AppError> {
    use crate::ssr::{
        auth::notify_sessions_ended, auth::require_admin, respond::respond, OrInternal,
    };
    respond(|req| async move {
        let me = require_admin(&req).await?;
        let org = me.organization_id;
        let mut tx = req.state.pool.begin().await.or_internal("starting a transaction")?;
        // Locks the organization's admins, so two admins removing each other at the same
        // time can't leave it with none.
        let admins = sqlx::query_scalar!(
            "select id from admins where organization_id = $1 order by id for update",
            org
        )
        .fetch_all(&mut *tx)
        .await
        .or_internal("locking the organization's admins")?;
        if !admins.contains(&admin_id) {
            return Err(AppError::NotFound);
        }
        if admins.len() <= 1 {
            return Err(AppError::Conflict(NOT_THE_LAST.to_owned()));
        }
        if admin_id == me.admin_id {
            return Err(AppError::Conflict(NOT_YOURSELF.to_owned()));
        }
        let sessions = sqlx::query!(
            "delete from sessions where organization_id = $1 and admin_id = $2",
            org,
            admin_id
        )
        .execute(&mut *tx)
        .await
        .or_internal("ending a removed admin's sessions")?
        .rows_affected();
        sqlx::query!(
            "delete from admins where organization_id = $1 and id = $2",
            org,
            admin_id
        )
        .execute(&mut *tx)
        .await
        .or_internal("removing an admin")?;
        tx.commit().await.or_internal("committing an admin's removal")?;
        notify_sessions_ended(&req.state.pool, org).await?;
        tracing::info!(organization_id = %org, removed_admin_id = %admin_id, by_admin_id = %me.admin_id, sessions, "admin removed");
        Ok(())
    })
    .await
}
