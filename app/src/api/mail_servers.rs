//! The mail servers a domain's clean mail is delivered to.

use crate::error::AppError;
use crate::model::MailServerRow;
use leptos::prelude::*;
use uuid::Uuid;

#[server(endpoint = "list_mail_servers")]
pub async fn list_mail_servers(
    domain_id: Uuid,
    #[server(default)] search: String,
) -> Result<Vec<MailServerRow>, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        let pattern = format!("%{}%", like_escape(search.trim()));
        let rows = sqlx::query!(
            r#"select id, host, priority from mail_servers
               where organization_id = $1 and domain_id = $2 and host like $3
               order by priority, host"#,
            admin.organization_id,
            domain_id,
            pattern.to_lowercase()
        )
        .fetch_all(&pool)
        .await
        .or_internal("listing mail servers")?;
        rows.into_iter()
            .map(|r| {
                Ok(MailServerRow {
                    id: r.id,
                    host: r.host,
                    priority: u16::try_from(r.priority).or_internal("reading a priority")?,
                })
            })
            .collect()
    })
    .await
}

#[server(endpoint = "add_mail_server")]
pub async fn add_mail_server(
    domain_id: Uuid,
    host: String,
    priority: String,
) -> Result<MailServerRow, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::error::FieldError;
    use crate::ssr::{auth::require_admin, db::map_db_error, respond::respond};
    use roster_core::{MailServerHost, Priority};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        let mut errors = Vec::new();
        let host = MailServerHost::parse(&host)
            .map_err(|e| errors.push(FieldError::new("host", e)))
            .ok();
        let priority = Priority::parse(&priority)
            .map_err(|e| errors.push(FieldError::new("priority", e)))
            .ok();
        let (Some(host), Some(priority)) = (host, priority) else {
            return Err(AppError::Invalid(errors));
        };
        let id = sqlx::query_scalar!(
            r#"insert into mail_servers (organization_id, domain_id, host, priority)
               values ($1, $2, $3, $4) returning id"#,
            admin.organization_id,
            domain_id,
            host.as_str(),
            i32::from(priority.get())
        )
        .fetch_one(&pool)
        .await
        .map_err(|e| {
            map_db_error(
                e,
                "adding a mail server",
                &[(
                    "mail_servers_host_key",
                    "host",
                    "This mail server is already in the list.",
                )],
            )
        })?;
        Ok(MailServerRow {
            id,
            host: host.as_str().to_owned(),
            priority: priority.get(),
        })
    })
    .await
}

#[server(endpoint = "delete_mail_server")]
pub async fn delete_mail_server(domain_id: Uuid, mail_server_id: Uuid) -> Result<(), AppError> {
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let deleted = sqlx::query!(
            "delete from mail_servers where organization_id = $1 and domain_id = $2 and id = $3",
            admin.organization_id,
            domain_id,
            mail_server_id
        )
        .execute(&req.state.pool)
        .await
        .or_internal("deleting a mail server")?;
        if deleted.rows_affected() == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    })
    .await
}

/// Escapes `%`, `_` and `\` so user text is matched literally inside a LIKE pattern.
#[cfg(feature = "ssr")]
pub(crate) fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
