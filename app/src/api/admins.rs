//! The admins of the signed-in admin's organization.

use crate::error::AppError;
use crate::model::AdminRow;
use leptos::prelude::*;

#[server(endpoint = "list_admins")]
pub async fn list_admins() -> Result<Vec<AdminRow>, AppError> {
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let rows = sqlx::query_as!(
            AdminRow,
            "select id, email, created_at from admins where organization_id = $1 order by email",
            admin.organization_id
        )
        .fetch_all(&req.state.pool)
        .await
        .or_internal("listing admins")?;
        Ok(rows)
    })
    .await
}

/// What adding an admin answers for an email already used by an admin of another
/// organization (admin emails are unique across Roster, since sign-in starts from the email
/// alone). It names no organization and does not say the address exists: it can't be added,
/// for whatever reason, and that is all this organization learns.
pub const EMAIL_NOT_AVAILABLE: &str =
    "This email address can't be used for a new admin. Ask them for another address.";

/// Adds another admin to the signed-in admin's own organization.
#[server(endpoint = "add_admin")]
pub async fn add_admin(email: String, password: String) -> Result<AdminRow, AppError> {
    use crate::error::FieldError;
    use crate::ssr::{
        auth::hash_password, auth::require_admin, db::map_db_error, respond::respond, OrInternal,
    };
    use roster_core::{EmailAddress, NewPassword};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let mut errors = Vec::new();
        let email = EmailAddress::parse(&email)
            .map_err(|e| errors.push(FieldError::new("email", e)))
            .ok();
        let password = NewPassword::parse(&password)
            .map_err(|e| errors.push(FieldError::new("password", e)))
            .ok();
        let (Some(email), Some(password)) = (email, password) else {
            return Err(AppError::Invalid(errors));
        };
        // Our own admins are listed on the page anyway; anyone else's are not our business.
        let ours = sqlx::query_scalar!(
            r#"select organization_id = $1 as "ours!" from admins where email = $2"#,
            admin.organization_id,
            email.as_str()
        )
        .fetch_optional(&req.state.pool)
        .await
        .or_internal("checking whether an email is an admin already")?;
        match ours {
            Some(true) => {
                return Err(AppError::invalid(
                    "email",
                    "This person is already an admin of your organization.",
                ))
            }
            Some(false) => return Err(AppError::invalid("email", EMAIL_NOT_AVAILABLE)),
            None => {}
        }
        let hash = hash_password(&req.state.limits, password.expose().to_owned()).await?;
        let row = sqlx::query_as!(
            AdminRow,
            r#"insert into admins (organization_id, email, password_hash, created_by)
               values ($1, $2, $3, $4)
               returning id, email, created_at"#,
            admin.organization_id,
            email.as_str(),
            hash,
            admin.admin_id
        )
        .fetch_one(&req.state.pool)
        .await
        // Taken in the meantime, by whoever: the same neutral answer.
        .map_err(|e| map_db_error(e, "adding an admin", &[("admins_email_key", "email", EMAIL_NOT_AVAILABLE)]))?;
        tracing::info!(organization_id = %admin.organization_id, new_admin_id = %row.id, "admin added");
        Ok(row)
    })
    .await
}
