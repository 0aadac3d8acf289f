//! Sync runs: Manual Sync and Test Sync, the latest run (its live progress comes from
//! `ssr::sync_events`), Sync History, a run's page with its changes, and "Apply these changes".
//! The runs themselves are jobs of the server's worker (`AppState.syncs`).

use crate::error::AppError;
use crate::model::{ChangeRow, HistoryRow, Paged, RunDetail, SyncOverview};
use leptos::prelude::*;
use uuid::Uuid;

/// Rows per page of Sync History and of a run's changes.
pub const HISTORY_PER_PAGE: u32 = 20;
pub const CHANGES_PER_PAGE: u32 = 50;

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::error::AppError;
    use crate::model::RunStatus;
    use crate::ssr::OrInternal;
    use roster_core::{RunPhase, RunState};
    use sqlx::PgPool;
    use uuid::Uuid;

    /// A run's stored status and phase; an unknown word is an internal error.
    pub fn state(
        status: &str,
        phase: Option<&str>,
    ) -> Result<(RunState, Option<RunPhase>), AppError> {
        let status = RunState::parse(status).or_internal("reading a sync run")?;
        let phase = phase
            .map(RunPhase::parse)
            .transpose()
            .or_internal("reading a sync run")?;
        Ok((status, phase))
    }

    /// The domain's latest run (the active one, if any: it is the newest).
    pub async fn latest_run(
        pool: &PgPool,
        org: Uuid,
        domain_id: Uuid,
    ) -> Result<Option<RunStatus>, AppError> {
        let row = sqlx::query!(
            r#"select id, status, phase, test, progress_done, progress_total, objects_read,
                      accounts_read, summary, queued_at, finished_at
               from sync_runs where organization_id = $1 and domain_id = $2 and status <> 'skipped'
               order by queued_at desc, id desc limit 1"#,
            org,
            domain_id
        )
        .fetch_optional(pool)
        .await
        .or_internal("loading the latest sync run")?;
        let Some(r) = row else {
            return Ok(None);
        };
        let (status, phase) = state(&r.status, r.phase.as_deref())?;
        Ok(Some(RunStatus {
            id: r.id,
            status,
            phase,
            test: r.test,
            progress_done: r.progress_done,
            progress_total: r.progress_total,
            objects_read: r.objects_read,
            accounts_read: r.accounts_read,
            summary: r.summary,
            queued_at: r.queued_at,
            finished_at: r.finished_at,
        }))
    }

    /// The alert of a domain's last ended run: a scheduled one that failed or stopped at the
    /// Operations Limit.
    pub fn schedule_alert(
        run_id: Uuid,
        status: &str,
        trigger: &str,
        finished_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<crate::model::ScheduleAlert>, AppError> {
        let (status, _) = state(status, None)?;
        let trigger = roster_core::RunTrigger::parse(trigger).or_internal("reading a sync run")?;
        Ok(match trigger {
            roster_core::RunTrigger::Schedule => {
                crate::model::ScheduleAlert::of(run_id, status, finished_at)
            }
            roster_core::RunTrigger::Manual => None,
        })
    }

    /// `NotFound` unless the run is of this domain of the organization.
    pub async fn ensure_run(
        pool: &sqlx::PgPool,
        org: Uuid,
        domain_id: Uuid,
        run_id: Uuid,
    ) -> Result<(), AppError> {
        sqlx::query_scalar!(
            "select id from sync_runs where organization_id = $1 and domain_id = $2 and id = $3",
            org,
            domain_id,
            run_id
        )
        .fetch_optional(pool)
        .await
        .or_internal("loading a sync run")?
        .map(|_| ())
        .ok_or(AppError::NotFound)
    }

    /// Whether a run ended with a plan that "Apply these changes" may apply: stopped by the
    /// Operations Limit, and not a Test Sync.
    pub fn keeps_plan(status: RunState, test: bool) -> bool {
        status == RunState::LimitExceeded && !test
    }

    /// The run that applied (or is applying) the plan kept by `run_id`, if any.
    pub async fn applied_by(
        pool: &PgPool,
        org: Uuid,
        run_id: Uuid,
    ) -> Result<Option<Uuid>, AppError> {
        sqlx::query_scalar!(
            r#"select id from sync_runs
               where organization_id = $1 and applies_run_id = $2
                 and status in ('queued', 'running', 'applied')
               order by queued_at desc limit 1"#,
            org,
            run_id
        )
        .fetch_optional(pool)
        .await
        .or_internal("looking for the run that applied a plan")
    }

    /// Turns the queue's answer into the admin's.
    pub fn started(
        result: Result<Uuid, crate::ssr::jobs::StartSyncError>,
    ) -> Result<Uuid, AppError> {
        use crate::ssr::jobs::StartSyncError;
        match result {
            Ok(id) => Ok(id),
            Err(StartSyncError::AlreadyActive) => Err(AppError::Conflict(
                "A sync of this domain is already queued or running. Wait for it to finish; its progress is shown on this page.".to_owned(),
            )),
            Err(StartSyncError::Other(e)) => Err(crate::ssr::internal(e)),
        }
    }
}

#[server(endpoint = "get_sync_overview")]
pub async fn get_sync_overview(domain_id: Uuid) -> Result<SyncOverview, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::connectors::Unavailable;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let domain = load_domain(&pool, admin.organization_id, domain_id).await?;
        let available = req
            .state
            .connectors()
            .connect(&pool, admin.organization_id, domain_id, domain.server_type)
            .await
            .or_internal("loading the domain's directory connection")?
            .map(|_| ());
        Ok(SyncOverview {
            configured: !matches!(
                available,
                Err(Unavailable::NotConfigured(_) | Unavailable::NotSynced(_))
            ),
            connected: available.is_ok(),
            unavailable: available.err().map(|u| u.message()),
            ownership_verified: crate::api::ownership::ssr::load(
                &pool,
                admin.organization_id,
                domain_id,
            )
            .await?
            .verified(),
            latest: ssr::latest_run(&pool, admin.organization_id, domain_id).await?,
        })
    })
    .await
}

/// Manual Sync (`mode` = `manual`) or Test Sync (`test`): queues a run of the domain.
#[server(endpoint = "start_sync")]
pub async fn start_sync(domain_id: Uuid, mode: String) -> Result<Uuid, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::jobs::StartSync;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let domain = load_domain(&pool, admin.organization_id, domain_id).await?;
        let test = match mode.as_str() {
            "manual" => false,
            "test" => true,
            _ => return Err(AppError::invalid("mode", "Choose Manual Sync or Test Sync.")),
        };
        // The registry says whether this domain's directory can be read at all.
        let connection = req
            .state
            .connectors()
            .connect(&pool, admin.organization_id, domain_id, domain.server_type)
            .await
            .or_internal("loading the domain's directory connection")?
            .map_err(|unavailable| unavailable.into_app_error())?;
        crate::api::ownership::ssr::require_proven(&pool, admin.organization_id, domain_id).await?;
        let run_id = ssr::started(
            req.state
                .syncs
                .start(StartSync {
                    organization_id: admin.organization_id,
                    domain_id,
                    source: connection.source,
                    test,
                    requested_by: Some(admin.email.clone()),
                    applies_run_id: None,
                })
                .await,
        )?;
        tracing::info!(organization_id = %admin.organization_id, %domain_id, %run_id, test, admin = %admin.email, "sync queued");
        Ok(run_id)
    })
    .await
}

/// Sync History, newest first.
#[server(endpoint = "list_sync_history")]
pub async fn list_sync_history(domain_id: Uuid, page: u32) -> Result<Paged<HistoryRow>, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        let page = page.max(1);
        let total = sqlx::query_scalar!(
            r#"select count(*) as "n!" from sync_runs where organization_id = $1 and domain_id = $2"#,
            admin.organization_id,
            domain_id
        )
        .fetch_one(&pool)
        .await
        .or_internal("counting sync runs")?;
        let rows = sqlx::query!(
            r#"select id, queued_at, requested_by, attempt, test, status, summary
               from sync_runs where organization_id = $1 and domain_id = $2
               order by queued_at desc, id desc
               limit $3 offset $4"#,
            admin.organization_id,
            domain_id,
            i64::from(HISTORY_PER_PAGE),
            i64::from(page - 1) * i64::from(HISTORY_PER_PAGE)
        )
        .fetch_all(&pool)
        .await
        .or_internal("listing sync runs")?;
        Ok(Paged {
            rows: rows
                .into_iter()
                .map(|r| {
                    let status = roster_core::RunState::parse(&r.status)
                        .or_internal("reading a sync run")?;
                    Ok(HistoryRow {
                        id: r.id,
                        queued_at: r.queued_at,
                        requested_by: r.requested_by,
                        attempt: r.attempt,
                        test: r.test,
                        summary: r
                            .summary
                            .unwrap_or_else(|| status.label(r.test).to_owned() + "…"),
                        status,
                    })
                })
                .collect::<Result<_, AppError>>()?,
            page,
            per_page: HISTORY_PER_PAGE,
            total,
        })
    })
    .await
}

#[server(endpoint = "get_sync_run")]
pub async fn get_sync_run(domain_id: Uuid, run_id: Uuid) -> Result<RunDetail, AppError> {
    use crate::model::{RunStatus, WarningRow};
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    use roster_core::sync::{LimitExceeded, PlannedCounts};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let org = admin.organization_id;
        let r = sqlx::query!(
            r#"select r.id, r.status, r.phase, r.test, r.progress_done, r.progress_total,
                      r.objects_read, r.accounts_read, r.summary, r.queued_at, r.started_at,
                      r.finished_at, r.requested_by, r.attempt, r.counts, r.exceeded, r.error,
                      r.error_code, r.applies_run_id, r.read_kind
               from sync_runs r
               where r.organization_id = $1 and r.domain_id = $2 and r.id = $3"#,
            org,
            domain_id,
            run_id
        )
        .fetch_optional(&pool)
        .await
        .or_internal("loading a sync run")?
        .ok_or(AppError::NotFound)?;
        let warnings_total = sqlx::query_scalar!(
            r#"select count(*) as "n!" from sync_run_warnings where organization_id = $1 and run_id = $2"#,
            org,
            run_id
        )
        .fetch_one(&pool)
        .await
        .or_internal("counting a run's warnings")?;
        let warnings = sqlx::query_as!(
            WarningRow,
            r#"select kind, address, message from sync_run_warnings
               where organization_id = $1 and run_id = $2 order by seq limit 200"#,
            org,
            run_id
        )
        .fetch_all(&pool)
        .await
        .or_internal("listing a run's warnings")?;
        let counts: Option<PlannedCounts> =
            r.counts.and_then(|c| serde_json::from_value(c).ok());
        let exceeded: Vec<LimitExceeded> = r
            .exceeded
            .and_then(|c| serde_json::from_value(c).ok())
            .unwrap_or_default();
        let report = sqlx::query_as!(
            crate::model::ReportEmail,
            r#"select status, recipients, attempts, sent_at from report_emails
               where organization_id = $1 and run_id = $2"#,
            org,
            run_id
        )
        .fetch_optional(&pool)
        .await
        .or_internal("loading a run's report email")?;
        let applied_by_run_id = ssr::applied_by(&pool, org, run_id).await?;
        let (status, phase) = ssr::state(&r.status, r.phase.as_deref())?;
        let can_apply = ssr::keeps_plan(status, r.test) && applied_by_run_id.is_none();
        Ok(RunDetail {
            run: RunStatus {
                id: r.id,
                status,
                phase,
                test: r.test,
                progress_done: r.progress_done,
                progress_total: r.progress_total,
                objects_read: r.objects_read,
                accounts_read: r.accounts_read,
                summary: r.summary,
                queued_at: r.queued_at,
                finished_at: r.finished_at,
            },
            domain_id,
            requested_by: r.requested_by,
            attempt: r.attempt,
            started_at: r.started_at,
            read_kind: r
                .read_kind
                .as_deref()
                .map(roster_core::sync::ReadKind::parse)
                .transpose()
                .or_internal("reading how a run read the directory")?,
            counts,
            exceeded: exceeded.iter().map(ToString::to_string).collect(),
            error: r.error,
            error_code: r.error_code,
            warnings,
            warnings_total,
            applies_run_id: r.applies_run_id,
            applied_by_run_id,
            can_apply,
            report,
        })
    })
    .await
}

/// A run's changes, filtered by kind (empty: all) and address (substring), a page at a time.
#[server(endpoint = "list_run_changes")]
pub async fn list_run_changes(
    domain_id: Uuid,
    run_id: Uuid,
    kind: String,
    search: String,
    page: u32,
) -> Result<Paged<ChangeRow>, AppError> {
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let org = admin.organization_id;
        ssr::ensure_run(&pool, org, domain_id, run_id).await?;
        let kind = normalize_kind(&kind)?.map(roster_core::ChangeKind::as_str);
        let search = search.trim().to_lowercase();
        let page = page.max(1);
        let total = sqlx::query_scalar!(
            r#"select count(*) as "n!" from sync_run_changes
               where organization_id = $1 and run_id = $2
                 and ($3::text is null or kind = $3)
                 and ($4 = '' or strpos(address, $4) > 0 or strpos(coalesce(item, ''), $4) > 0
                      or strpos(coalesce(new_address, ''), $4) > 0)"#,
            org,
            run_id,
            kind,
            search
        )
        .fetch_one(&pool)
        .await
        .or_internal("counting a run's changes")?;
        let rows = sqlx::query!(
            r#"select kind, address, item, before, after, new_address from sync_run_changes
               where organization_id = $1 and run_id = $2
                 and ($3::text is null or kind = $3)
                 and ($4 = '' or strpos(address, $4) > 0 or strpos(coalesce(item, ''), $4) > 0
                      or strpos(coalesce(new_address, ''), $4) > 0)
               order by seq limit $5 offset $6"#,
            org,
            run_id,
            kind,
            search,
            i64::from(CHANGES_PER_PAGE),
            i64::from(page - 1) * i64::from(CHANGES_PER_PAGE)
        )
        .fetch_all(&pool)
        .await
        .or_internal("listing a run's changes")?
        .into_iter()
        .map(|r| {
            Ok(ChangeRow {
                kind: roster_core::ChangeKind::parse(&r.kind)
                    .or_internal("reading a run's changes")?,
                address: r.address,
                item: r.item,
                before: r.before,
                after: r.after,
                new_address: r.new_address,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
        Ok(Paged {
            rows,
            page,
            per_page: CHANGES_PER_PAGE,
            total,
        })
    })
    .await
}

/// "Apply these changes" of a run stopped by the Operations Limit: queues a run that applies
/// the kept plan if the recipients did not change since (the worker checks).
#[server(endpoint = "apply_kept_plan")]
pub async fn apply_kept_plan(domain_id: Uuid, run_id: Uuid) -> Result<Uuid, AppError> {
    use crate::ssr::jobs::StartSync;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let org = admin.organization_id;
        let kept = sqlx::query!(
            "select status, test, source from sync_runs where organization_id = $1 and domain_id = $2 and id = $3",
            org,
            domain_id,
            run_id
        )
        .fetch_optional(&pool)
        .await
        .or_internal("loading a sync run")?
        .ok_or(AppError::NotFound)?;
        let status = roster_core::RunState::parse(&kept.status).or_internal("reading a sync run")?;
        if !ssr::keeps_plan(status, kept.test) {
            return Err(AppError::Conflict(
                "Only a sync stopped by the Operations Limit can be applied from its page.".to_owned(),
            ));
        }
        crate::api::ownership::ssr::require_proven(&pool, org, domain_id).await?;
        if ssr::applied_by(&pool, org, run_id).await?.is_some() {
            return Err(AppError::Conflict(
                "These changes have been applied already (or are being applied).".to_owned(),
            ));
        }
        let new_run = ssr::started(
            req.state
                .syncs
                .start(StartSync {
                    organization_id: org,
                    domain_id,
                    source: roster_core::SyncSource::parse(&kept.source)
                        .or_internal("reading a sync run")?,
                    test: false,
                    requested_by: Some(admin.email.clone()),
                    applies_run_id: Some(run_id),
                })
                .await,
        )?;
        tracing::info!(organization_id = %org, %domain_id, kept_run_id = %run_id, run_id = %new_run, admin = %admin.email, "kept plan queued to apply");
        Ok(new_run)
    })
    .await
}

/// The change-kind filter: empty means all; anything else must be a known kind.
pub fn normalize_kind(kind: &str) -> Result<Option<roster_core::ChangeKind>, AppError> {
    let kind = kind.trim();
    if kind.is_empty() {
        return Ok(None);
    }
    roster_core::ChangeKind::parse(kind)
        .map(Some)
        .map_err(|_| AppError::invalid("kind", "Choose a kind of change from the list."))
}
