//! A domain's sync settings: the Automatic Synchronization and Operations Limit forms.
//! Both are validated here, on the server; the browser's checks are only a convenience.

use crate::error::AppError;
use crate::model::SyncSettings;
use leptos::prelude::*;
use uuid::Uuid;

#[server(endpoint = "get_sync_settings")]
pub async fn get_sync_settings(domain_id: Uuid) -> Result<SyncSettings, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        let row = sqlx::query!(
            r#"select auto_sync_enabled, times_per_day, notifications_enabled,
                      notification_recipients, exclude_patterns,
                      account_add_limit, account_delete_limit, alias_add_limit,
                      alias_delete_limit, total_limit, next_run_at
               from sync_settings where organization_id = $1 and domain_id = $2"#,
            admin.organization_id,
            domain_id
        )
        .fetch_optional(&pool)
        .await
        .or_internal("loading sync settings")?;
        // The last sync that ended (not a Test Sync): a scheduled one that failed or stopped
        // at the limit is shown with what to do.
        let last = sqlx::query!(
            r#"select id, status, trigger, finished_at from sync_runs
               where organization_id = $1 and domain_id = $2
                 and not test and status in ('applied', 'limit_exceeded', 'failed')
               order by queued_at desc, id desc
               limit 1"#,
            admin.organization_id,
            domain_id
        )
        .fetch_optional(&pool)
        .await
        .or_internal("loading the last sync")?;
        let schedule_alert = match last {
            Some(r) => crate::api::sync_runs::ssr::schedule_alert(
                r.id,
                &r.status,
                &r.trigger,
                r.finished_at,
            )?,
            None => None,
        };
        let Some(row) = row else {
            return Ok(SyncSettings {
                schedule_alert,
                ..SyncSettings::default()
            });
        };
        let limit = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
        Ok(SyncSettings {
            auto_sync_enabled: row.auto_sync_enabled,
            times_per_day: u8::try_from(row.times_per_day).unwrap_or(1),
            notifications_enabled: row.notifications_enabled,
            notification_recipients: row.notification_recipients.join("\n"),
            exclude_patterns: row.exclude_patterns.join("\n"),
            account_add_limit: limit(row.account_add_limit),
            account_delete_limit: limit(row.account_delete_limit),
            alias_add_limit: limit(row.alias_add_limit),
            alias_delete_limit: limit(row.alias_delete_limit),
            total_limit: limit(row.total_limit),
            next_run_at: row.next_run_at.filter(|_| row.auto_sync_enabled),
            schedule_alert,
        })
    })
    .await
}

/// Saves the Automatic Synchronization form. Checkboxes arrive only when ticked.
#[server(endpoint = "save_auto_sync")]
pub async fn save_auto_sync(
    domain_id: Uuid,
    #[server(default)] auto_sync_enabled: Option<String>,
    times_per_day: String,
    #[server(default)] notifications_enabled: Option<String>,
    #[server(default)] notification_recipients: String,
    #[server(default)] exclude_patterns: String,
) -> Result<(), AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::error::FieldError;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    use roster_core::{ExcludePatterns, NotificationRecipients, SyncSchedule};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        let auto = auto_sync_enabled.is_some();
        let notify = notifications_enabled.is_some();
        let mut errors = Vec::new();
        let schedule = SyncSchedule::parse(&times_per_day)
            .map_err(|e| errors.push(FieldError::new("times_per_day", e)))
            .ok();
        let recipients = NotificationRecipients::parse(&notification_recipients)
            .map_err(|e| errors.push(FieldError::new("notification_recipients", e)))
            .ok();
        if notify && recipients.as_ref().is_some_and(|r| r.is_empty()) {
            errors.push(FieldError::new(
                "notification_recipients",
                "Enter at least one recipient, or turn sync notifications off.",
            ));
        }
        let patterns = ExcludePatterns::parse_lines(&exclude_patterns)
            .map_err(|e| errors.push(FieldError::new("exclude_patterns", e)))
            .ok();
        let (Some(schedule), Some(recipients), Some(patterns), true) =
            (schedule, recipients, patterns, errors.is_empty())
        else {
            return Err(AppError::Invalid(errors));
        };
        let recipients: Vec<String> = recipients
            .as_slice()
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect();
        let patterns: Vec<String> = patterns.iter().map(|p| p.as_str().to_owned()).collect();
        // The domain's next slot: set when Automatic Synchronization is turned on or its
        // number of syncs per day changes (rescheduled from now), kept when neither changed,
        // cleared when it is turned off (which also cancels a pending retry).
        let next_slot = roster_core::next_slot(domain_id, schedule, chrono::Utc::now());
        sqlx::query!(
            r#"insert into sync_settings (organization_id, domain_id, auto_sync_enabled, times_per_day,
                   notifications_enabled, notification_recipients, exclude_patterns, next_run_at)
               values ($1, $2, $3, $4, $5, $6, $7, case when $3 then $8::timestamptz end)
               on conflict (organization_id, domain_id) do update set
                   auto_sync_enabled = excluded.auto_sync_enabled,
                   times_per_day = excluded.times_per_day,
                   notifications_enabled = excluded.notifications_enabled,
                   notification_recipients = excluded.notification_recipients,
                   exclude_patterns = excluded.exclude_patterns,
                   next_run_at = case
                       when not excluded.auto_sync_enabled then null
                       when sync_settings.auto_sync_enabled
                            and sync_settings.times_per_day = excluded.times_per_day
                            and sync_settings.next_run_at is not null
                           then sync_settings.next_run_at
                       else excluded.next_run_at end,
                   retry_at = case when excluded.auto_sync_enabled then sync_settings.retry_at end,
                   retry_attempt = case when excluded.auto_sync_enabled then sync_settings.retry_attempt end"#,
            admin.organization_id,
            domain_id,
            auto,
            i16::from(schedule.times_per_day()),
            notify,
            &recipients,
            &patterns,
            next_slot
        )
        .execute(&pool)
        .await
        .or_internal("saving automatic sync settings")?;
        tracing::info!(organization_id = %admin.organization_id, %domain_id, "automatic sync settings saved");
        Ok(())
    })
    .await
}

/// Saves the Operations Limit form: each limit empty (none) or a whole number.
#[server(endpoint = "save_operation_limits")]
pub async fn save_operation_limits(
    domain_id: Uuid,
    #[server(default)] account_add_limit: String,
    #[server(default)] account_delete_limit: String,
    #[server(default)] alias_add_limit: String,
    #[server(default)] alias_delete_limit: String,
    #[server(default)] total_limit: String,
) -> Result<(), AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::error::FieldError;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    use roster_core::OperationLimit;
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        let mut errors = Vec::new();
        let mut parse = |field: &str, input: &str| -> Option<i32> {
            match OperationLimit::parse(input) {
                Ok(limit) => limit.get().and_then(|v| i32::try_from(v).ok()),
                Err(e) => {
                    errors.push(FieldError::new(field, e));
                    None
                }
            }
        };
        let values = [
            parse("account_add_limit", &account_add_limit),
            parse("account_delete_limit", &account_delete_limit),
            parse("alias_add_limit", &alias_add_limit),
            parse("alias_delete_limit", &alias_delete_limit),
            parse("total_limit", &total_limit),
        ];
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        sqlx::query!(
            r#"insert into sync_settings (organization_id, domain_id, account_add_limit,
                   account_delete_limit, alias_add_limit, alias_delete_limit, total_limit)
               values ($1, $2, $3, $4, $5, $6, $7)
               on conflict (organization_id, domain_id) do update set
                   account_add_limit = excluded.account_add_limit,
                   account_delete_limit = excluded.account_delete_limit,
                   alias_add_limit = excluded.alias_add_limit,
                   alias_delete_limit = excluded.alias_delete_limit,
                   total_limit = excluded.total_limit"#,
            admin.organization_id,
            domain_id,
            values[0],
            values[1],
            values[2],
            values[3],
            values[4]
        )
        .execute(&pool)
        .await
        .or_internal("saving operation limits")?;
        tracing::info!(organization_id = %admin.organization_id, %domain_id, "operation limits saved");
        Ok(())
    })
    .await
}
