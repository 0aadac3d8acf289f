//! The sync engine: makes a domain's synced recipients match its directory.
//!
//! A run goes through its phases in order — **fetch** (the connector's pages, normalized, into
//! `sync_staging`), **plan** (staging against the current recipients, into
//! `sync_run_changes`), **check limits**, **apply** (one transaction of set-based statements)
//! and **report** — and writes its phase and counts to `sync_runs` as it goes, so any server
//! instance can show its progress. A run whose fetch did not finish applies nothing.

mod apply;
mod fetch;
mod plan;

use anyhow::{Context, Result};
use roster_core::sync::{
    check_not_emptied, exceeded_limits, summary, LimitExceeded, PlannedCounts,
};
use roster_core::{Directory, DirectoryError, DomainRules, OperationsLimits};
use sqlx::PgPool;
use uuid::Uuid;

/// Which run, of which domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRef {
    pub organization_id: Uuid,
    pub run_id: Uuid,
}

/// What a run was asked to do, as stored in `sync_runs`.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub run: RunRef,
    pub domain_id: Uuid,
    /// `accounts.source` of the accounts this connector owns (`office365`).
    pub source: String,
    pub test: bool,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Test Sync: planned, nothing applied.
    Planned(PlannedCounts),
    Applied(PlannedCounts),
    /// Nothing applied; the plan is kept for inspection.
    LimitExceeded(PlannedCounts, Vec<LimitExceeded>),
    Failed {
        message: String,
        code: Option<String>,
    },
}

/// Why a run could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("A sync of this domain is already queued or running.")]
    AlreadyActive,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Queues a run. At most one run per domain is queued or running: the database's partial
/// unique index decides, so two clicks (or two server instances) start one run.
pub async fn enqueue(
    pool: &PgPool,
    organization_id: Uuid,
    domain_id: Uuid,
    source: &str,
    test: bool,
    requested_by: Option<&str>,
) -> Result<Uuid, EnqueueError> {
    let trigger = if requested_by.is_some() {
        "manual"
    } else {
        "schedule"
    };
    let inserted = sqlx::query_scalar!(
        r#"insert into sync_runs (organization_id, domain_id, source, test, trigger, requested_by)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (organization_id, domain_id) where status in ('queued', 'running') do nothing
           returning id"#,
        organization_id,
        domain_id,
        source,
        test,
        trigger,
        requested_by
    )
    .fetch_optional(pool)
    .await
    .context("queueing a sync run")
    .map_err(EnqueueError::Other)?;
    inserted.ok_or(EnqueueError::AlreadyActive)
}

/// Runs a queued run to its end. Returns `None` when the run is not queued (already taken by
/// another worker, or finished): running it again is then a no-op.
pub async fn run(
    pool: &PgPool,
    directory: &dyn Directory,
    rules: &DomainRules,
    limits: &OperationsLimits,
    run: RunRef,
) -> Result<Option<Outcome>> {
    let Some(spec) = start(pool, run).await? else {
        return Ok(None);
    };
    let result = execute(pool, directory, rules, limits, &spec).await;
    fetch::clear_staging(pool, run).await?;
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            let (message, code) = match error.downcast_ref::<DirectoryError>() {
                Some(e) => (e.to_string(), e.microsoft_code().map(str::to_owned)),
                None => match error.downcast_ref::<roster_core::sync::SyncRefusal>() {
                    Some(refusal) => (refusal.to_string(), None),
                    None => {
                        let reference = Uuid::new_v4().simple().to_string()[..8].to_uppercase();
                        tracing::error!(%reference, error = ?error, "sync run failed");
                        (
                            format!("Something went wrong inside Roster (reference {reference}). Nothing was changed."),
                            None,
                        )
                    }
                },
            };
            tracing::warn!(run_id = %run.run_id, %message, "sync run failed");
            Outcome::Failed { message, code }
        }
    };
    finish(pool, run, &outcome).await?;
    Ok(Some(outcome))
}

async fn start(pool: &PgPool, run: RunRef) -> Result<Option<RunSpec>> {
    let row = sqlx::query!(
        r#"update sync_runs set status = 'running', phase = 'fetch_users', started_at = now()
           where organization_id = $1 and id = $2 and status = 'queued'
           returning domain_id, source, test"#,
        run.organization_id,
        run.run_id
    )
    .fetch_optional(pool)
    .await
    .context("starting a sync run")?;
    Ok(row.map(|r| RunSpec {
        run,
        domain_id: r.domain_id,
        source: r.source,
        test: r.test,
    }))
}

async fn execute(
    pool: &PgPool,
    directory: &dyn Directory,
    rules: &DomainRules,
    limits: &OperationsLimits,
    spec: &RunSpec,
) -> Result<Outcome> {
    let accounts_read = fetch::fetch(pool, directory, rules, spec.run).await?;
    let synced_now = plan::synced_accounts(pool, spec).await?;
    check_not_emptied(accounts_read, synced_now)?;
    set_phase(pool, spec.run, "plan").await?;
    let counts = plan::plan(pool, spec).await?;
    set_phase(pool, spec.run, "check_limits").await?;
    let exceeded = exceeded_limits(&counts, limits);
    if !exceeded.is_empty() {
        sqlx::query!(
            "update sync_runs set exceeded = $3 where organization_id = $1 and id = $2",
            spec.run.organization_id,
            spec.run.run_id,
            serde_json::to_value(&exceeded)?
        )
        .execute(pool)
        .await
        .context("recording exceeded limits")?;
        return Ok(Outcome::LimitExceeded(counts, exceeded));
    }
    if spec.test {
        return Ok(Outcome::Planned(counts));
    }
    set_phase(pool, spec.run, "apply").await?;
    apply::apply(pool, spec, counts).await?;
    Ok(Outcome::Applied(counts))
}

async fn set_phase(pool: &PgPool, run: RunRef, phase: &str) -> Result<()> {
    sqlx::query!(
        "update sync_runs set phase = $3, progress_done = 0, progress_total = null where organization_id = $1 and id = $2",
        run.organization_id,
        run.run_id,
        phase
    )
    .execute(pool)
    .await
    .context("recording a run's phase")?;
    notify(pool, run).await
}

/// Tells listeners (the progress stream of every server instance) that a run moved on.
pub(crate) async fn notify(pool: &PgPool, run: RunRef) -> Result<()> {
    sqlx::query!(
        "select pg_notify('sync_progress', $1)",
        format!("{}:{}", run.organization_id, run.run_id)
    )
    .execute(pool)
    .await
    .context("notifying progress")?;
    Ok(())
}

async fn finish(pool: &PgPool, run: RunRef, outcome: &Outcome) -> Result<()> {
    let (status, counts, text, error, code) = match outcome {
        Outcome::Planned(c) => ("planned", Some(c), summary(c), None, None),
        Outcome::Applied(c) => ("applied", Some(c), summary(c), None, None),
        Outcome::LimitExceeded(c, exceeded) => (
            "limit_exceeded",
            Some(c),
            format!(
                "Limit exceeded: {}",
                exceeded
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            None,
            None,
        ),
        Outcome::Failed { message, code } => (
            "failed",
            None,
            format!("Failed: {message}"),
            Some(message.as_str()),
            code.as_deref(),
        ),
    };
    let counts = counts.map(serde_json::to_value).transpose()?;
    sqlx::query!(
        r#"update sync_runs set status = $3, phase = null, counts = coalesce($4, counts),
               summary = $5, error = $6, error_code = $7, finished_at = now()
           where organization_id = $1 and id = $2"#,
        run.organization_id,
        run.run_id,
        status,
        counts,
        text,
        error,
        code
    )
    .execute(pool)
    .await
    .context("finishing a sync run")?;
    notify(pool, run).await
}
