//! Sync reports by email. When a run ends ([`queue_after_run`], called where a run's ending is
//! recorded), a report is queued — a `report_emails` row and an apalis job on [`QUEUE`], in one
//! transaction — if [`roster_core::report::report_wanted`] says so. The report worker
//! ([`crate::worker::run_reports`]) then composes it ([`roster_core::report::compose`]) and
//! sends it ([`mailer::Mailer`]), retrying with growing delays; each attempt is recorded on
//! the row, which the run's page reads. Nothing here can fail a sync: a report that can't be
//! queued or sent is logged and shown, the run keeps its ending.

pub mod mailer;

use crate::sync::RunRef;
use anyhow::{Context, Result};
use mailer::Mailer;
use roster_core::report::{
    compose, report_wanted, ReportChange, ReportOutcome, RunReport, REPORT_MAX_CHANGES,
    REPORT_MAX_WARNINGS,
};
use roster_core::sync::{LimitExceeded, PlannedCounts};
use roster_core::{ChangeKind, RunState, RunTrigger};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// The apalis queue of report emails.
pub const QUEUE: &str = "roster_report";

/// An apalis job: send this run's report.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ReportJob {
    pub organization_id: Uuid,
    pub run_id: Uuid,
}

/// Queues the report of a run that has just ended, if it gets one. Never fails: an error is
/// logged (the run's ending stands either way).
pub async fn queue_after_run(pool: &PgPool, run: RunRef) {
    if let Err(error) = queue(pool, run).await {
        tracing::error!(run_id = %run.run_id, organization_id = %run.organization_id, error = ?error,
            "could not queue the sync report email");
    }
}

/// Queues the report (row and job in one transaction); `true` when one was queued. A run that
/// has a report row already gets no second one.
pub async fn queue(pool: &PgPool, run: RunRef) -> Result<bool> {
    let mut tx = pool.begin().await.context("queueing a sync report")?;
    let row = sqlx::query!(
        r#"select r.trigger, r.test, s.notifications_enabled as "notifications_enabled?",
                  s.notification_recipients as "recipients?"
           from sync_runs r
           left join sync_settings s on s.organization_id = r.organization_id and s.domain_id = r.domain_id
           where r.organization_id = $1 and r.id = $2
             and r.status in ('applied', 'limit_exceeded', 'failed', 'planned')"#,
        run.organization_id,
        run.run_id
    )
    .fetch_optional(&mut *tx)
    .await
    .context("loading the run's notification settings")?;
    let Some(row) = row else {
        return Ok(false);
    };
    let recipients = row.recipients.unwrap_or_default();
    let trigger = RunTrigger::parse(&row.trigger)?;
    if !report_wanted(
        trigger,
        row.test,
        row.notifications_enabled.unwrap_or(false),
        !recipients.is_empty(),
    ) {
        return Ok(false);
    }
    let inserted = sqlx::query_scalar!(
        r#"insert into report_emails (organization_id, run_id, recipients) values ($1, $2, $3)
           on conflict (organization_id, run_id) do nothing
           returning run_id"#,
        run.organization_id,
        run.run_id,
        &recipients
    )
    .fetch_optional(&mut *tx)
    .await
    .context("recording the sync report")?;
    if inserted.is_none() {
        return Ok(false);
    }
    crate::worker::push_report(
        &mut tx,
        ReportJob {
            organization_id: run.organization_id,
            run_id: run.run_id,
        },
    )
    .await?;
    tx.commit().await.context("queueing a sync report")?;
    Ok(true)
}

/// How one job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Failed,
    /// Not queued (sent already, failed for good, or no such report).
    Nothing,
}

/// Sends a queued report, retrying after each of the mailer's delays; records every attempt.
/// `Err` only when the database fails (apalis then retries the job, which continues from the
/// attempts recorded).
pub async fn send(pool: &PgPool, mailer: &Mailer, job: ReportJob) -> Result<Delivery> {
    let row = sqlx::query!(
        "select recipients, attempts from report_emails where organization_id = $1 and run_id = $2 and status = 'queued'",
        job.organization_id,
        job.run_id
    )
    .fetch_optional(pool)
    .await
    .context("loading the report to send")?;
    let Some(row) = row else {
        return Ok(Delivery::Nothing);
    };
    let Some(report) = load_report(pool, &mailer.public_url, job).await? else {
        return Ok(Delivery::Nothing);
    };
    let composed = compose(&report);
    let mut attempts = usize::try_from(row.attempts).unwrap_or(0);
    loop {
        let result = mailer.send(&row.recipients, &composed).await;
        attempts += 1;
        let attempts_i32 = i32::try_from(attempts).unwrap_or(i32::MAX);
        match result {
            Ok(()) => {
                sqlx::query!(
                    r#"update report_emails set status = 'sent', attempts = $3, sent_at = now(), last_error = null
                       where organization_id = $1 and run_id = $2"#,
                    job.organization_id,
                    job.run_id,
                    attempts_i32
                )
                .execute(pool)
                .await
                .context("recording a sent report")?;
                metrics::counter!("roster_emails_total", "result" => "sent").increment(1);
                tracing::info!(run_id = %job.run_id, attempts, recipients = row.recipients.len(), "sync report sent");
                return Ok(Delivery::Sent);
            }
            Err(error) => {
                let last_error = format!("{error:#}");
                let give_up = attempts >= mailer.max_attempts();
                sqlx::query!(
                    r#"update report_emails set attempts = $3, last_error = $4,
                           status = case when $5 then 'failed' else status end
                       where organization_id = $1 and run_id = $2"#,
                    job.organization_id,
                    job.run_id,
                    attempts_i32,
                    last_error,
                    give_up
                )
                .execute(pool)
                .await
                .context("recording a report that could not be sent")?;
                if give_up {
                    metrics::counter!("roster_emails_total", "result" => "failed").increment(1);
                    tracing::error!(run_id = %job.run_id, attempts, error = %last_error,
                        "the sync report could not be sent; giving up");
                    return Ok(Delivery::Failed);
                }
                let delay = mailer
                    .retry_delays
                    .get(attempts - 1)
                    .copied()
                    .unwrap_or_default();
                tracing::warn!(run_id = %job.run_id, attempts, error = %last_error, retry_in = ?delay,
                    "the sync report could not be sent; retrying");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// What the report says, read from the run as it ended; `None` if the run is gone.
async fn load_report(pool: &PgPool, public_url: &str, job: ReportJob) -> Result<Option<RunReport>> {
    let org = job.organization_id;
    let run = sqlx::query!(
        r#"select r.domain_id, d.name as domain, r.status, r.counts, r.exceeded, r.error, r.error_code
           from sync_runs r join domains d on d.organization_id = r.organization_id and d.id = r.domain_id
           where r.organization_id = $1 and r.id = $2"#,
        org,
        job.run_id
    )
    .fetch_optional(pool)
    .await
    .context("loading the run to report")?;
    let Some(run) = run else {
        return Ok(None);
    };
    let counts: PlannedCounts = run
        .counts
        .and_then(|c| serde_json::from_value(c).ok())
        .unwrap_or_default();
    let outcome = match RunState::parse(&run.status)? {
        RunState::Applied => ReportOutcome::Applied(counts),
        RunState::Planned => ReportOutcome::Planned(counts),
        RunState::LimitExceeded => {
            let exceeded: Vec<LimitExceeded> = run
                .exceeded
                .and_then(|e| serde_json::from_value(e).ok())
                .unwrap_or_default();
            ReportOutcome::LimitExceeded(counts, exceeded)
        }
        _ => ReportOutcome::Failed {
            message: run
                .error
                .unwrap_or_else(|| "The sync did not finish.".to_owned()),
            code: run.error_code,
        },
    };
    // The first rows of each list, each row with the list's full count (the window is
    // counted before the limit).
    let warnings = sqlx::query!(
        r#"select message, count(*) over () as "total!" from sync_run_warnings
           where organization_id = $1 and run_id = $2 order by seq limit $3"#,
        org,
        job.run_id,
        REPORT_MAX_WARNINGS as i64
    )
    .fetch_all(pool)
    .await
    .context("loading the run's warnings")?;
    let warnings_total = warnings.first().map_or(0, |w| w.total);
    let warnings = warnings.into_iter().map(|w| w.message).collect();
    let changes = sqlx::query!(
        r#"select kind, address, item, before, after, new_address, count(*) over () as "total!"
           from sync_run_changes
           where organization_id = $1 and run_id = $2 order by seq limit $3"#,
        org,
        job.run_id,
        REPORT_MAX_CHANGES as i64
    )
    .fetch_all(pool)
    .await
    .context("loading the run's changes")?;
    let changes_total = changes.first().map_or(0, |c| c.total);
    let changes = changes
        .into_iter()
        .map(|c| {
            Ok(ReportChange {
                kind: ChangeKind::parse(&c.kind)?,
                address: c.address,
                item: c.item,
                before: c.before,
                after: c.after,
                new_address: c.new_address,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Some(RunReport {
        domain: run.domain,
        outcome,
        warnings,
        warnings_total: u64::try_from(warnings_total).unwrap_or(0),
        changes,
        changes_total: u64::try_from(changes_total).unwrap_or(0),
        run_url: format!(
            "{public_url}/domains/{}/sync/runs/{}",
            run.domain_id, job.run_id
        ),
    }))
}
