//! The organization's domains: list, add, and the Inbound Servers settings of one domain.

use crate::error::AppError;
use crate::model::{DomainInfo, DomainSummary};
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::error::AppError;
    use crate::model::DomainInfo;
    use crate::ssr::OrInternal;
    use roster_core::{DomainName, ServerType};
    use sqlx::PgPool;
    use uuid::Uuid;

    /// The domain if it belongs to the organization; `NotFound` otherwise, whether it exists
    /// elsewhere or not at all.
    pub async fn load_domain(
        pool: &PgPool,
        organization_id: Uuid,
        domain_id: Uuid,
    ) -> Result<DomainInfo, AppError> {
        let row = sqlx::query!(
            "select id, name, server_type, delivery_port from domains where organization_id = $1 and id = $2",
            organization_id,
            domain_id
        )
        .fetch_optional(pool)
        .await
        .or_internal("loading a domain")?
        .ok_or(AppError::NotFound)?;
        Ok(DomainInfo {
            id: row.id,
            name: display_name(&row.name),
            ascii_name: row.name,
            server_type: server_type(&row.server_type)?,
            delivery_port: u16::try_from(row.delivery_port).or_internal("reading a port")?,
        })
    }

    pub fn server_type(stored: &str) -> Result<ServerType, AppError> {
        ServerType::parse(stored).or_internal("reading a stored server type")
    }

    /// Unicode form of a stored ASCII domain name.
    pub fn display_name(ascii: &str) -> String {
        DomainName::parse(ascii)
            .map(|d| d.to_unicode())
            .unwrap_or_else(|_| ascii.to_owned())
    }
}

#[server(endpoint = "list_domains")]
pub async fn list_domains() -> Result<Vec<DomainSummary>, AppError> {
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let rows = sqlx::query!(
            r#"
            select d.id, d.name, d.server_type, d.last_synced_at,
                   coalesce(c.accounts, 0) as "account_count!",
                   last.id as "last_run_id?", last.status as "last_status?",
                   last.trigger as "last_trigger?", last.finished_at as "last_finished_at?"
            from domains d
            left join (
                select domain_id, count(*) as accounts
                from accounts
                where organization_id = $1
                group by domain_id
            ) c on c.domain_id = d.id
            -- The last sync that ended (not a Test Sync): a scheduled one that failed or
            -- stopped at the limit gets a badge.
            left join lateral (
                select r.id, r.status, r.trigger, r.finished_at
                from sync_runs r
                where r.organization_id = d.organization_id and r.domain_id = d.id
                  and not r.test and r.status in ('applied', 'limit_exceeded', 'failed')
                order by r.queued_at desc, r.id desc
                limit 1
            ) last on true
            where d.organization_id = $1
            order by d.name
            "#,
            admin.organization_id
        )
        .fetch_all(&req.state.pool)
        .await
        .or_internal("listing domains")?;
        rows.into_iter()
            .map(|r| {
                Ok(DomainSummary {
                    id: r.id,
                    name: ssr::display_name(&r.name),
                    ascii_name: r.name,
                    server_type: ssr::server_type(&r.server_type)?,
                    account_count: r.account_count,
                    last_synced_at: r.last_synced_at,
                    schedule_alert: match (r.last_run_id, r.last_status, r.last_trigger) {
                        (Some(id), Some(status), Some(trigger)) => {
                            crate::api::sync_runs::ssr::schedule_alert(
                                id,
                                &status,
                                &trigger,
                                r.last_finished_at,
                            )?
                        }
                        _ => None,
                    },
                })
            })
            .collect()
    })
    .await
}

/// Adds a domain and sends the admin to its page.
#[server(endpoint = "create_domain")]
pub async fn create_domain(name: String, server_type: String) -> Result<Uuid, AppError> {
    use crate::error::FieldError;
    use crate::ssr::{auth::require_admin, db::map_db_error, respond::respond, OrInternal};
    use roster_core::{DomainName, ServerType};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let mut errors = Vec::new();
        let name = DomainName::parse(&name)
            .map_err(|e| errors.push(FieldError::new("name", e)))
            .ok();
        let server_type = ServerType::parse(&server_type)
            .map_err(|e| errors.push(FieldError::new("server_type", e)))
            .ok();
        let (Some(name), Some(server_type)) = (name, server_type) else {
            return Err(AppError::Invalid(errors));
        };
        let pool = req.state.pool.clone();
        let mut tx = pool.begin().await.or_internal("starting a transaction")?;
        let id = sqlx::query_scalar!(
            "insert into domains (organization_id, name, server_type) values ($1, $2, $3) returning id",
            admin.organization_id,
            name.as_str(),
            server_type.as_str()
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            map_db_error(
                e,
                "adding a domain",
                &[(
                    "domains_name_key",
                    "name",
                    "This domain is already registered with the service. If it is yours, contact support.",
                )],
            )
        })?;
        sqlx::query!(
            "insert into sync_settings (organization_id, domain_id) values ($1, $2)",
            admin.organization_id,
            id
        )
        .execute(&mut *tx)
        .await
        .or_internal("creating a domain's sync settings")?;
        tx.commit().await.or_internal("committing a new domain")?;
        tracing::info!(organization_id = %admin.organization_id, domain_id = %id, domain = %name, "domain added");
        req.redirect(&format!("/domains/{id}"));
        Ok(id)
    })
    .await
}

#[server(endpoint = "get_domain")]
pub async fn get_domain(domain_id: Uuid) -> Result<DomainInfo, AppError> {
    use crate::ssr::{auth::require_admin, respond::respond};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        ssr::load_domain(&req.state.pool, admin.organization_id, domain_id).await
    })
    .await
}

#[server(endpoint = "set_server_type")]
pub async fn set_server_type(domain_id: Uuid, server_type: String) -> Result<(), AppError> {
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    use roster_core::ServerType;
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let server_type =
            ServerType::parse(&server_type).map_err(|e| AppError::invalid("server_type", e))?;
        let updated = sqlx::query!(
            "update domains set server_type = $3 where organization_id = $1 and id = $2",
            admin.organization_id,
            domain_id,
            server_type.as_str()
        )
        .execute(&req.state.pool)
        .await
        .or_internal("changing a domain's server type")?;
        if updated.rows_affected() == 0 {
            return Err(AppError::NotFound);
        }
        tracing::info!(organization_id = %admin.organization_id, %domain_id, server_type = server_type.as_str(), "server type changed");
        Ok(())
    })
    .await
}

#[server(endpoint = "set_delivery_port")]
pub async fn set_delivery_port(domain_id: Uuid, port: String) -> Result<(), AppError> {
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    use roster_core::DeliveryPort;
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let port = DeliveryPort::parse(&port).map_err(|e| AppError::invalid("port", e))?;
        let updated = sqlx::query!(
            "update domains set delivery_port = $3 where organization_id = $1 and id = $2",
            admin.organization_id,
            domain_id,
            i32::from(port.get())
        )
        .execute(&req.state.pool)
        .await
        .or_internal("changing a domain's delivery port")?;
        if updated.rows_affected() == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    })
    .await
}
