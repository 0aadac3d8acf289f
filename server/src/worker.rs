//! The sync worker: apalis jobs on Postgres, one per run. Every server instance runs a worker;
//! apalis hands each job to one of them, and the run row (`sync_runs`) is the truth about
//! where a run is.
//!
//! A job carries only the run's id. The worker loads what the run needs — the domain's
//! directory connection, Exclude Records and Operations Limit — when it starts, so a run
//! uses the settings of the moment it runs.

use crate::report::{self, mailer::Mailer, ReportJob};
use crate::sync::lease::{self, LeaseHolder};
use crate::sync::{self, EnqueueError, NewRun, RunRef, RunSpec};
use anyhow::{Context, Result};
use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage};
use app::ssr::connectors::{sync_page, Connectors};
use app::ssr::jobs::{StartFuture, StartSync, StartSyncError, SyncJobs};
use roster_core::{
    DomainName, DomainRules, ExcludePatterns, LimitKind, OperationLimit, OperationsLimits,
    RunState, ServerType,
};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;
use uuid::Uuid;

/// The apalis queue of sync runs.
pub const QUEUE: &str = "roster_sync";

/// An apalis job: run this sync run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SyncJob {
    pub organization_id: Uuid,
    pub run_id: Uuid,
}

/// Creates apalis's tables (schema `apalis`, its own migrations table).
pub async fn setup(pool: &PgPool) -> Result<()> {
    PostgresStorage::<()>::setup(pool)
        .await
        .context("setting up the job queue (apalis)")
}

/// Adds the job of a run, in the caller's transaction: the run and its job exist together.
pub async fn push(conn: &mut PgConnection, run: RunRef) -> Result<()> {
    let job = SyncJob {
        organization_id: run.organization_id,
        run_id: run.run_id,
    };
    // Failures of a run are recorded on the run itself; a job is retried only when Roster
    // could not even record that (the database went away).
    let task = TaskBuilder::new(serde_json::to_vec(&job)?)
        .max_attempts(3)
        .build();
    apalis_postgres::queries::push_tasks(conn, QUEUE, vec![task])
        .await
        .context("queueing the sync job")
}

/// Adds a report email's job, in the caller's transaction (with its `report_emails` row).
pub async fn push_report(conn: &mut PgConnection, job: ReportJob) -> Result<()> {
    // The job retries delivery itself (with delays, recorded on the row); apalis retries it
    // only when the database failed.
    let task = TaskBuilder::new(serde_json::to_vec(&job)?)
        .max_attempts(3)
        .build();
    apalis_postgres::queries::push_tasks(conn, report::QUEUE, vec![task])
        .await
        .context("queueing the report email job")
}

/// What a run needs besides the database.
#[derive(Clone)]
pub struct Engine {
    pub pool: PgPool,
    /// The connector registry: builds each run's directory from the domain's connection.
    pub connectors: Connectors,
    /// This worker's lease on the runs it claims (`ROSTER_RUN_LEASE_SECS`).
    pub lease: LeaseHolder,
}

/// [`SyncJobs`] for the server functions: queues through [`sync::enqueue`].
pub struct Queue {
    pub pool: PgPool,
}

impl SyncJobs for Queue {
    fn start(&self, request: StartSync) -> StartFuture<'_> {
        Box::pin(async move {
            let new = NewRun {
                organization_id: request.organization_id,
                domain_id: request.domain_id,
                source: request.source,
                test: request.test,
                requested_by: request.requested_by.as_deref(),
                applies_run_id: request.applies_run_id,
            };
            sync::enqueue(&self.pool, &new).await.map_err(|e| match e {
                EnqueueError::AlreadyActive => StartSyncError::AlreadyActive,
                EnqueueError::Other(e) => StartSyncError::Other(e),
            })
        })
    }
}

/// Runs one job to its end.
pub async fn perform(engine: &Engine, job: SyncJob) -> Result<()> {
    let run = RunRef {
        organization_id: job.organization_id,
        run_id: job.run_id,
    };
    let status = sqlx::query_scalar!(
        "select status from sync_runs where organization_id = $1 and id = $2",
        run.organization_id,
        run.run_id
    )
    .fetch_optional(&engine.pool)
    .await
    .context("loading the run")?;
    match status.as_deref().map(RunState::parse).transpose()? {
        Some(RunState::Queued) => {}
        // apalis gives a job back when its worker stopped answering: that worker died mid-run.
        Some(RunState::Running) => {
            sync::interrupted(&engine.pool, run).await?;
            return Ok(());
        }
        _ => return Ok(()),
    }
    let Some(spec) = sync::start(&engine.pool, run, &engine.lease).await? else {
        return Ok(());
    };
    let span = tracing::info_span!("sync_run", run_id = %run.run_id, domain_id = %spec.domain_id,
        organization_id = %run.organization_id, test = spec.test);
    // The lease is renewed while the run works; a lost lease stops the work (see sync::lease).
    let work = execute(engine, &spec);
    if let Err(error) = lease::hold(&engine.pool, &spec, work)
        .instrument(span)
        .await
    {
        // If even this fails (the database is gone), apalis retries the job, which then finds
        // the run `running` and ends it as interrupted.
        sync::fail_after_error(&engine.pool, &spec, &error).await?;
    }
    Ok(())
}

async fn execute(engine: &Engine, spec: &RunSpec) -> Result<()> {
    let pool = &engine.pool;
    let server_type = sqlx::query_scalar!(
        "select server_type from domains where organization_id = $1 and id = $2",
        spec.run.organization_id,
        spec.domain_id
    )
    .fetch_one(pool)
    .await
    .context("loading the domain's server type")?;
    let server_type = ServerType::parse(&server_type).context("the stored server type")?;
    let connection = match engine
        .connectors
        .connect(pool, spec.run.organization_id, spec.domain_id, server_type)
        .await?
    {
        Ok(connection) => connection,
        Err(unavailable) => {
            sync::fail_started(pool, spec, unavailable.message()).await?;
            return Ok(());
        }
    };
    let directory = connection.directory.as_ref();
    sync::record_tenant(pool, spec.run, &directory.identity()).await?;
    // Every run, "Apply these changes" and scheduled runs too: the domain must still be
    // proven to be the customer's (by its directory, or else by its DNS record).
    if let Some(refusal) = sync::ownership::check_before_run(pool, directory, spec).await? {
        sync::fail_started(pool, spec, refusal).await?;
        return Ok(());
    }
    let kept = sqlx::query_scalar!(
        "select applies_run_id from sync_runs where organization_id = $1 and id = $2",
        spec.run.organization_id,
        spec.run.run_id
    )
    .fetch_one(pool)
    .await
    .context("loading the run")?;
    if let Some(kept) = kept {
        sync::apply_kept(pool, spec, kept).await?;
        return Ok(());
    }
    let page = sync_page(connection.source);
    let settings = match load_settings(pool, spec, page).await? {
        Ok(settings) => settings,
        Err(message) => {
            sync::fail_started(pool, spec, message).await?;
            return Ok(());
        }
    };
    tracing::info!(source = connection.source.as_str(), directory = %directory.identity(), "sync run started");
    let outcome =
        sync::run_started(pool, directory, &settings.rules, &settings.limits, spec).await?;
    tracing::info!(?outcome, "sync run ended");
    Ok(())
}

struct Settings {
    rules: DomainRules,
    limits: OperationsLimits,
}

/// The domain's Exclude Records and Operations Limit; `Err` with the admin's words when the
/// stored settings can't be used.
/// `page` names the domain's sync page, where the admin corrects them.
async fn load_settings(
    pool: &PgPool,
    spec: &RunSpec,
    page: &str,
) -> Result<Result<Settings, String>> {
    let row = sqlx::query!(
        r#"select d.name, s.exclude_patterns as "exclude_patterns?",
                  s.account_add_limit, s.account_delete_limit, s.alias_add_limit,
                  s.alias_delete_limit, s.total_limit
           from domains d
           left join sync_settings s on s.organization_id = d.organization_id and s.domain_id = d.id
           where d.organization_id = $1 and d.id = $2"#,
        spec.run.organization_id,
        spec.domain_id
    )
    .fetch_one(pool)
    .await
    .context("loading the domain's sync settings")?;
    let domain = DomainName::parse(&row.name).context("the stored domain name")?;
    let exclude = row.exclude_patterns.unwrap_or_default().join("\n");
    let exclude = match ExcludePatterns::parse_lines(&exclude) {
        Ok(e) => e,
        Err(e) => {
            return Ok(Err(format!(
                "The Exclude Records setting can't be used ({e}). Correct it on the {page} page."
            )))
        }
    };
    // A stored limit the form could never have saved is not "no limit": the run fails closed.
    let mut limits = OperationsLimits::default();
    for (kind, stored) in [
        (LimitKind::AccountAdd, row.account_add_limit),
        (LimitKind::AccountDelete, row.account_delete_limit),
        (LimitKind::AliasAdd, row.alias_add_limit),
        (LimitKind::AliasDelete, row.alias_delete_limit),
        (LimitKind::Total, row.total_limit),
    ] {
        match OperationLimit::from_stored(stored) {
            Ok(limit) => limits.set(kind, limit),
            Err(error) => {
                let reference = Uuid::new_v4().simple().to_string()[..8].to_uppercase();
                tracing::error!(%reference, run_id = %spec.run.run_id, limit = kind.field_name(),
                    ?stored, %error, "a stored Operations Limit can't be used; the run fails closed");
                return Ok(Err(format!(
                    "The Operations Limit setting can't be used ({}: {error}). Nothing was changed. Save the Operations Limit again on the {page} page (reference {reference}).",
                    kind.label()
                )));
            }
        }
    }
    Ok(Ok(Settings {
        rules: DomainRules::new(domain).with_exclude(exclude),
        limits,
    }))
}

async fn handle(job: SyncJob, engine: Data<Engine>) -> Result<(), BoxDynError> {
    perform(&engine, job).await.map_err(|error| {
        tracing::error!(run_id = %job.run_id, error = ?error, "sync job failed; apalis retries it");
        error.into()
    })
}

/// Runs the worker until `shutdown` completes; runs in progress then get `grace` to finish
/// (a run cut off is given back by apalis and ends as "interrupted", with nothing changed).
/// Its sweep deletes what is older than `retention_days` ([`sync::retention`]).
pub async fn run(
    engine: Engine,
    concurrency: usize,
    retention_days: u32,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let config = Config::default()
        .queue(QUEUE)
        .heartbeat_interval(Duration::from_secs(10))
        .missed_heartbeats(6);
    let storage = PostgresStorage::<SyncJob>::new(&engine.pool).with_config(config);
    let name = format!("sync-{}", Uuid::new_v4().simple());
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let lease_sweeper = tokio::spawn(sweep_expired_leases(
        engine.pool.clone(),
        engine.lease.period(),
        done_rx.clone(),
    ));
    let sweeper = tokio::spawn(sweep_every_minute(
        engine.pool.clone(),
        retention_days,
        done_rx,
    ));
    let monitored = Monitor::new()
        .register(move |_| {
            WorkerBuilder::new(name.clone())
                .backend(storage.clone().with_pubsub())
                .data(engine.clone())
                .concurrency(concurrency)
                .parallelize(tokio::spawn)
                .build(handle)
        })
        .should_restart(|_, _| true)
        .shutdown_timeout(grace)
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await
        .context("running the sync worker");
    let _ = done_tx.send(true);
    let _ = sweeper.await;
    let _ = lease_sweeper.await;
    monitored
}

/// Runs [`lease::sweep_expired`] now and every `period` (a quarter of the lease) until `done`,
/// so a run whose worker died ends failed within about a lease and a quarter.
async fn sweep_expired_leases(
    pool: PgPool,
    period: Duration,
    mut done: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = lease::sweep_expired(&pool).await {
            tracing::warn!(error = ?error, "could not check for sync runs whose lease expired");
        }
        tokio::select! {
            _ = done.wait_for(|d| *d) => return,
            () = tokio::time::sleep(period) => {}
        }
    }
}

/// What the report worker needs.
#[derive(Clone)]
struct ReportEngine {
    pool: PgPool,
    mailer: Arc<Mailer>,
}

async fn handle_report(job: ReportJob, engine: Data<ReportEngine>) -> Result<(), BoxDynError> {
    report::send(&engine.pool, &engine.mailer, job)
        .await
        .map(|_| ())
        .map_err(|error| {
            tracing::error!(run_id = %job.run_id, error = ?error, "report email job failed; apalis retries it");
            error.into()
        })
}

/// Runs the report email worker (queue [`report::QUEUE`]) until `shutdown` completes: beside
/// the sync worker, on every instance; apalis hands each report to one of them.
pub async fn run_reports(
    pool: PgPool,
    mailer: Arc<Mailer>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let config = Config::default()
        .queue(report::QUEUE)
        .heartbeat_interval(Duration::from_secs(10))
        .missed_heartbeats(6);
    let storage = PostgresStorage::<ReportJob>::new(&pool).with_config(config);
    let name = format!("report-{}", Uuid::new_v4().simple());
    let engine = ReportEngine { pool, mailer };
    Monitor::new()
        .register(move |_| {
            WorkerBuilder::new(name.clone())
                .backend(storage.clone().with_pubsub())
                .data(engine.clone())
                .concurrency(4)
                .parallelize(tokio::spawn)
                .build(handle_report)
        })
        .should_restart(|_, _| true)
        .shutdown_timeout(Duration::from_secs(5))
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await
        .context("running the report email worker")
}

/// Runs [`sync::sweep_orphans`] and the retention sweep ([`sync::retention::sweep`]) now and
/// every minute until `done`; on every instance, which is harmless: one `UPDATE` decides, and
/// the deletes skip rows another instance is deleting.
async fn sweep_every_minute(
    pool: PgPool,
    retention_days: u32,
    mut done: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = sync::sweep_orphans(&pool).await {
            tracing::warn!(error = ?error, "could not check for sync runs without a job");
        }
        if let Err(error) = sync::retention::sweep(&pool, retention_days).await {
            tracing::warn!(error = ?error, "could not delete what is past the retention period");
        }
        tokio::select! {
            _ = done.wait_for(|d| *d) => return,
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
    }
}
