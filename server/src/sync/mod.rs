//! The sync engine: makes a domain's synced recipients match its directory.
//!
//! A run goes through its phases in order — **read** (a change round of the connector into
//! the domain's mirror: what changed since the last applied run, or everything), **plan**
//! (the changed objects, or all of them, normalized from the mirror into `sync_staging`, then
//! compared with the current recipients into `sync_run_changes`), **check limits**, **apply**
//! (one transaction of set-based statements, which also saves where the next read resumes)
//! and **report** — and writes its phase and counts to `sync_runs` as it goes, so any server
//! instance can show its progress. A run whose read did not finish applies nothing.
//!
//! A run ends once: every statement that gives a run its ending (applied, planned, limit
//! exceeded, failed) matches only while the run is still `running` and its lease is this
//! worker's ([`lease`]). When it matches nothing, someone else ended the run first (the lease
//! or orphan sweep, an operator): the worker's own ending is dropped — for an apply, with its
//! whole transaction — and the run keeps the ending it has.

pub mod apply;
pub mod expand;
pub mod lease;
pub mod mirror;
pub mod ownership;
pub mod plan;
pub mod read;
pub mod resume;
pub mod retention;
pub mod stage;

use anyhow::{Context, Result};
use lease::LeaseHolder;
use roster_core::sync::{
    check_not_emptied, exceeded_limits, summary, LimitExceeded, PlannedCounts,
};
use roster_core::{
    Directory, DirectoryError, DomainRules, OperationsLimits, RunPhase, RunState, RunTrigger,
    SyncSource,
};
use sqlx::PgPool;
use std::time::Instant;
use uuid::Uuid;

/// From how many rows a table a run just filled gets fresh planner statistics before the
/// statements that join it (below, the planner's guess of a few rows is harmless).
pub(crate) const ANALYZE_FROM: u64 = 5_000;

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
    /// The directory the run reads; its accounts are the ones with this `accounts.source`.
    pub source: SyncSource,
    pub test: bool,
    /// The lease this worker took on the run when it claimed it.
    pub lease: LeaseHolder,
    /// When this worker claimed the run (for the run duration metric).
    pub started: Instant,
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
        /// Trying again later may succeed ([`DirectoryError::is_transient`]): a scheduled
        /// run is then retried ([`crate::schedule::retry`]).
        transient: bool,
    },
    /// Someone else ended the run while this worker was on it; this worker changed nothing
    /// and recorded nothing.
    EndedElsewhere,
}

/// Why a run could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("A sync of this domain is already queued or running.")]
    AlreadyActive,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What to queue.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub organization_id: Uuid,
    pub domain_id: Uuid,
    pub source: SyncSource,
    pub test: bool,
    /// The admin's email; `None` for the schedule.
    pub requested_by: Option<&'a str>,
    /// "Apply these changes" of a run kept at the Operations Limit.
    pub applies_run_id: Option<Uuid>,
}

/// Queues a run and its job in one transaction. At most one run per domain is queued or
/// running: the database's partial unique index decides, so two clicks (or two server
/// instances) start one run.
pub async fn enqueue(pool: &PgPool, new: &NewRun<'_>) -> Result<Uuid, EnqueueError> {
    let mut tx = pool
        .begin()
        .await
        .context("queueing a sync run")
        .map_err(EnqueueError::Other)?;
    let run_id = enqueue_in(&mut tx, new, 1)
        .await?
        .ok_or(EnqueueError::AlreadyActive)?;
    tx.commit()
        .await
        .context("queueing a sync run")
        .map_err(EnqueueError::Other)?;
    Ok(run_id)
}

/// [`enqueue`] inside the caller's transaction (the scheduler claims its slots in the same
/// one), as attempt `attempt` of a scheduled sync (1 for every other run). `None` when the
/// domain already has a queued or running run: nothing was written.
pub async fn enqueue_in(
    conn: &mut sqlx::PgConnection,
    new: &NewRun<'_>,
    attempt: i16,
) -> Result<Option<Uuid>, EnqueueError> {
    let trigger = if new.requested_by.is_some() {
        RunTrigger::Manual
    } else {
        RunTrigger::Schedule
    };
    let inserted = sqlx::query_scalar!(
        r#"insert into sync_runs (organization_id, domain_id, source, test, trigger, requested_by, applies_run_id, attempt)
           values ($1, $2, $3, $4, $5, $6, $7, $8)
           on conflict (organization_id, domain_id) where status in ('queued', 'running') do nothing
           returning id"#,
        new.organization_id,
        new.domain_id,
        new.source.as_str(),
        new.test,
        trigger.as_str(),
        new.requested_by,
        new.applies_run_id,
        attempt
    )
    .fetch_optional(&mut *conn)
    .await
    .context("queueing a sync run")
    .map_err(EnqueueError::Other)?;
    let Some(run_id) = inserted else {
        return Ok(None);
    };
    crate::worker::push(
        conn,
        RunRef {
            organization_id: new.organization_id,
            run_id,
        },
    )
    .await
    .map_err(EnqueueError::Other)?;
    Ok(Some(run_id))
}

/// Runs a queued run to its end under `lease`, renewing it as it goes. Returns `None` when the
/// run is not queued (already taken by another worker, or finished): running it again is then
/// a no-op.
pub async fn run(
    pool: &PgPool,
    directory: &dyn Directory,
    rules: &DomainRules,
    limits: &OperationsLimits,
    run: RunRef,
    lease: &LeaseHolder,
) -> Result<Option<Outcome>> {
    let Some(spec) = start(pool, run, lease).await? else {
        return Ok(None);
    };
    let work = run_started(pool, directory, rules, limits, &spec);
    let outcome = lease::hold(pool, &spec, work).await?;
    Ok(Some(outcome.unwrap_or(Outcome::EndedElsewhere)))
}

/// Runs a run that [`start`] claimed.
pub async fn run_started(
    pool: &PgPool,
    directory: &dyn Directory,
    rules: &DomainRules,
    limits: &OperationsLimits,
    spec: &RunSpec,
) -> Result<Outcome> {
    let run = spec.run;
    let result = execute(pool, directory, rules, limits, spec).await;
    clear_scratch(pool, run).await?;
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => failure(run, &error),
    };
    conclude(pool, spec, outcome).await
}

/// Ends a claimed run as failed before it read anything (no connection, …).
pub async fn fail_started(pool: &PgPool, spec: &RunSpec, message: String) -> Result<Outcome> {
    let outcome = Outcome::Failed {
        message,
        code: None,
        transient: false,
    };
    conclude(pool, spec, outcome).await
}

/// Ends a claimed run as failed after an error outside its phases (its settings could not be
/// read, …): logged under a reference, nothing changed.
pub async fn fail_after_error(pool: &PgPool, spec: &RunSpec, error: &anyhow::Error) -> Result<()> {
    let outcome = failure(spec.run, error);
    clear_scratch(pool, spec.run).await?;
    conclude(pool, spec, outcome).await?;
    Ok(())
}

/// The admin's words for why a run failed; unexpected errors are logged under a reference.
fn failure(run: RunRef, error: &anyhow::Error) -> Outcome {
    let (message, code, transient) = match error.downcast_ref::<DirectoryError>() {
        Some(e) => (
            e.to_string(),
            e.microsoft_code().map(str::to_owned),
            e.is_transient(),
        ),
        None => match error.downcast_ref::<roster_core::sync::SyncRefusal>() {
            Some(refusal) => (refusal.to_string(), None, false),
            None => {
                let reference = Uuid::new_v4().simple().to_string()[..8].to_uppercase();
                tracing::error!(%reference, run_id = %run.run_id, error = ?error, "sync run failed");
                (
                    format!("Something went wrong inside Roster (reference {reference}). Nothing was changed."),
                    None,
                    false,
                )
            }
        },
    };
    tracing::warn!(run_id = %run.run_id, %message, "sync run failed");
    Outcome::Failed {
        message,
        code,
        transient,
    }
}

/// "Apply these changes": applies the plan another run kept at the Operations Limit, if the
/// domain is still connected to the tenant it was read from and the recipients are still
/// exactly what it was made against. A plan not applied leaves nothing on this run.
pub async fn apply_kept(pool: &PgPool, spec: &RunSpec, kept_run_id: Uuid) -> Result<Outcome> {
    let run = spec.run;
    let refuse = |message: &str| Outcome::Failed {
        message: message.to_owned(),
        code: None,
        transient: false,
    };
    let result: Result<Outcome> = async {
        let kept = sqlx::query!(
            r#"select status, test, counts, recipients_fingerprint, domain_id, tenant_id
               from sync_runs where organization_id = $1 and id = $2"#,
            run.organization_id,
            kept_run_id
        )
        .fetch_optional(pool)
        .await
        .context("loading the kept plan")?;
        let Some(kept) = kept else {
            return Ok(refuse("The plan to apply no longer exists."));
        };
        let (Some(counts), Some(print)) = (kept.counts, kept.recipients_fingerprint) else {
            return Ok(refuse("That run kept no plan to apply."));
        };
        if RunState::parse(&kept.status)? != RunState::LimitExceeded
            || kept.test
            || kept.domain_id != spec.domain_id
        {
            return Ok(refuse(
                "Only a sync stopped by the Operations Limit can be applied.",
            ));
        }
        let counts: PlannedCounts =
            serde_json::from_value(counts).context("reading the kept counts")?;
        set_phase(pool, run, RunPhase::Apply).await?;
        // The kept plan becomes this run's, so its page lists what was applied.
        sqlx::query!(
            r#"insert into sync_run_changes (organization_id, run_id, seq, kind, address, item, before, after,
                   new_display_name, new_kind, new_address, external_id, new_enabled, new_includes_everyone,
                   new_archived)
               select organization_id, $2, seq, kind, address, item, before, after, new_display_name, new_kind,
                   new_address, external_id, new_enabled, new_includes_everyone, new_archived
               from sync_run_changes where organization_id = $1 and run_id = $3"#,
            run.organization_id,
            run.run_id,
            kept_run_id
        )
        .execute(pool)
        .await
        .context("copying the kept plan")?;
        sqlx::query!(
            r#"insert into sync_run_warnings (organization_id, run_id, seq, kind, address, message, external_id)
               select organization_id, $2, seq, kind, address, message, external_id
               from sync_run_warnings where organization_id = $1 and run_id = $3"#,
            run.organization_id,
            run.run_id,
            kept_run_id
        )
        .execute(pool)
        .await
        .context("copying the kept warnings")?;
        let kept_plan = apply::KeptPlan {
            fingerprint: &print,
            tenant_id: kept.tenant_id.as_deref(),
            run_id: kept_run_id,
        };
        Ok(match apply::apply(pool, spec, counts, Some(kept_plan), None).await? {
            apply::Applied::Done => Outcome::Applied(counts),
            apply::Applied::Refused(message) => refuse(message),
            apply::Applied::EndedElsewhere => Outcome::EndedElsewhere,
        })
    }
    .await;
    let outcome = result.unwrap_or_else(|error| failure(run, &error));
    if !matches!(outcome, Outcome::Applied(_)) {
        // Nothing of the kept plan was applied: this run keeps none of it.
        sqlx::query!(
            "delete from sync_run_changes where organization_id = $1 and run_id = $2",
            run.organization_id,
            run.run_id
        )
        .execute(pool)
        .await
        .context("dropping the plan that was not applied")?;
        sqlx::query!(
            "delete from sync_run_warnings where organization_id = $1 and run_id = $2",
            run.organization_id,
            run.run_id
        )
        .execute(pool)
        .await
        .context("dropping the warnings of the plan that was not applied")?;
    }
    conclude(pool, spec, outcome).await
}

/// A run left `running` by a worker that died: its changes were never committed (a run's
/// outcome commits with them), so it ends as failed with nothing changed.
pub async fn interrupted(pool: &PgPool, run: RunRef) -> Result<bool> {
    let updated = sqlx::query!(
        r#"update sync_runs set status = 'failed', phase = null,
               summary = 'Failed: ' || $3, error = $3, finished_at = now()
           where organization_id = $1 and id = $2 and status = 'running'"#,
        run.organization_id,
        run.run_id,
        lease::STOPPED_MESSAGE
    )
    .execute(pool)
    .await
    .context("ending an interrupted run")?
    .rows_affected();
    if updated > 0 {
        tracing::warn!(run_id = %run.run_id, "a sync run was interrupted; marked failed");
        after_swept(pool, run).await?;
    } else {
        clear_scratch(pool, run).await?;
    }
    Ok(updated > 0)
}

/// What follows the ending of a run that its worker could not end (its instance stopped, or
/// its job was lost), once the run is marked failed: its staging is cleared, the progress
/// streams told, and — like after any passing failure — a scheduled run is tried again; the
/// report is queued. Retry and report errors are logged: the ending stands.
pub(crate) async fn after_swept(pool: &PgPool, run: RunRef) -> Result<()> {
    metrics::counter!(crate::ops::metrics::RUNS_FINISHED, "outcome" => RunState::Failed.as_str())
        .increment(1);
    clear_scratch(pool, run).await?;
    notify(pool, run).await?;
    let stopped = Outcome::Failed {
        message: lease::STOPPED_MESSAGE.to_owned(),
        code: None,
        transient: true,
    };
    if let Err(error) =
        crate::schedule::retry::after_end(pool, run, &stopped, chrono::Utc::now()).await
    {
        tracing::error!(run_id = %run.run_id, error = ?error, "could not schedule the retry of a stopped run");
    }
    crate::report::queue_after_run(pool, run).await;
    Ok(())
}

/// Ends runs that are queued or running with no job left to run them (apalis gave up on the
/// job after its retries, say, or it was removed): otherwise the domain could never sync
/// again. Returns how many were ended.
pub async fn sweep_orphans(pool: &PgPool) -> Result<u64> {
    let message = "This sync was lost by Roster's job queue before it could finish. Nothing was changed; run it again.";
    let swept = sqlx::query!(
        r#"update sync_runs r set status = 'failed', phase = null, error = $1,
               summary = 'Failed: ' || $1, finished_at = now()
           where r.status in ('queued', 'running')
             and r.queued_at < now() - interval '2 minutes'
             and not exists (
                 select 1 from apalis.jobs j
                 where j.job_type = $2 and j.status in ('Pending', 'Queued', 'Running')
                   and convert_from(j.job, 'UTF8')::jsonb ->> 'run_id' = r.id::text)
           returning r.organization_id, r.id"#,
        message,
        crate::worker::QUEUE
    )
    .fetch_all(pool)
    .await
    .context("ending runs without a job")?;
    for r in &swept {
        tracing::warn!(run_id = %r.id, organization_id = %r.organization_id, "a sync run had no job left; marked failed");
        let run = RunRef {
            organization_id: r.organization_id,
            run_id: r.id,
        };
        after_swept(pool, run).await?;
    }
    Ok(swept.len() as u64)
}

/// Records the directory the run reads ([`roster_core::Directory::identity`]; for Microsoft
/// 365 the tenant id): "Apply these changes" of a plan it keeps checks the domain is still
/// connected to it.
pub async fn record_tenant(pool: &PgPool, run: RunRef, tenant_id: &str) -> Result<()> {
    sqlx::query!(
        "update sync_runs set tenant_id = $3 where organization_id = $1 and id = $2",
        run.organization_id,
        run.run_id,
        tenant_id
    )
    .execute(pool)
    .await
    .context("recording the run's tenant")?;
    Ok(())
}

/// Claims a queued run for this worker and gives it the worker's lease.
pub async fn start(pool: &PgPool, run: RunRef, lease: &LeaseHolder) -> Result<Option<RunSpec>> {
    let row = sqlx::query!(
        r#"update sync_runs set status = 'running', phase = 'fetch_users', started_at = now(),
               lease_owner = $3, lease_expires_at = now() + make_interval(secs => $4)
           where organization_id = $1 and id = $2 and status = 'queued'
           returning domain_id, source, test"#,
        run.organization_id,
        run.run_id,
        lease.owner(),
        lease.seconds()
    )
    .fetch_optional(pool)
    .await
    .context("starting a sync run")?;
    if row.is_some() {
        metrics::counter!(crate::ops::metrics::RUNS_STARTED).increment(1);
        notify(pool, run).await?;
    }
    row.map(|r| {
        Ok(RunSpec {
            run,
            domain_id: r.domain_id,
            source: SyncSource::parse(&r.source)?,
            test: r.test,
            lease: lease.clone(),
            started: Instant::now(),
        })
    })
    .transpose()
}

async fn execute(
    pool: &PgPool,
    directory: &dyn Directory,
    rules: &DomainRules,
    limits: &OperationsLimits,
    spec: &RunSpec,
) -> Result<Outcome> {
    let identity = directory.identity();
    let start = resume::start(pool, spec, &identity, rules).await?;
    let clock = Instant::now();
    let round = read::read(pool, directory, spec, start.resume).await?;
    let read_ms = clock.elapsed().as_millis() as u64;
    let scope = if round.full || start.plan_all {
        expand::Scope::All
    } else {
        expand::Scope::Changed
    };
    set_phase(pool, spec.run, RunPhase::Plan).await?;
    if scope == expand::Scope::Changed {
        expand::retry_skipped(pool, spec).await?;
        expand::close_over_lists(pool, spec).await?;
    }
    let accounts_read = expand::stage_from_mirror(pool, spec, rules, scope).await?;
    let expand_ms = clock.elapsed().as_millis() as u64 - read_ms;
    sqlx::query!(
        "update sync_runs set accounts_read = $3 where organization_id = $1 and id = $2",
        spec.run.organization_id,
        spec.run.run_id,
        i64::try_from(accounts_read)?
    )
    .execute(pool)
    .await
    .context("recording the accounts read")?;
    notify(pool, spec.run).await?;
    // A directory that suddenly holds nothing for the domain is refused, not synced: after a
    // change round, what it would hold is the unchanged accounts plus the changed ones read.
    let synced_now = plan::synced_accounts(pool, spec).await?;
    let would_hold = match scope {
        expand::Scope::All => accounts_read,
        expand::Scope::Changed => plan::unchanged_accounts(pool, spec).await? + accounts_read,
    };
    check_not_emptied(would_hold, synced_now)?;
    let counts = plan::plan(pool, spec, scope, limits, accounts_read).await?;
    let plan_ms = clock.elapsed().as_millis() as u64 - read_ms - expand_ms;
    // Where a run's time goes, for operators tuning a large domain.
    tracing::info!(run_id = %spec.run.run_id, full = round.full, ?scope, objects = round.objects,
        accounts = accounts_read, read_ms, expand_ms, plan_ms, "sync read and planned");
    set_phase(pool, spec.run, RunPhase::CheckLimits).await?;
    let exceeded = exceeded_limits(&counts, limits);
    if !exceeded.is_empty() {
        sqlx::query!(
            "update sync_runs set exceeded = $3 where organization_id = $1 and id = $2 and status = 'running' and lease_owner = $4",
            spec.run.organization_id,
            spec.run.run_id,
            serde_json::to_value(&exceeded)?,
            spec.lease.owner()
        )
        .execute(pool)
        .await
        .context("recording exceeded limits")?;
        return Ok(Outcome::LimitExceeded(counts, exceeded));
    }
    if spec.test {
        return Ok(Outcome::Planned(counts));
    }
    set_phase(pool, spec.run, RunPhase::Apply).await?;
    let save = round.resume_after.map(|resume| resume::Save {
        directory: identity,
        resume,
        rules: rules.clone(),
        full: round.full,
    });
    Ok(
        match apply::apply(pool, spec, counts, None, save.as_ref()).await? {
            apply::Applied::Done => Outcome::Applied(counts),
            apply::Applied::Refused(message) => Outcome::Failed {
                message: message.to_owned(),
                code: None,
                transient: false,
            },
            apply::Applied::EndedElsewhere => Outcome::EndedElsewhere,
        },
    )
}

/// Clears a run's scratch data: its staging and its list of changed objects.
pub(crate) async fn clear_scratch(pool: &PgPool, run: RunRef) -> Result<()> {
    stage::clear_staging(pool, run).await?;
    mirror::clear_dirty(pool, run).await
}

async fn set_phase(pool: &PgPool, run: RunRef, phase: RunPhase) -> Result<()> {
    sqlx::query!(
        "update sync_runs set phase = $3, progress_done = 0, progress_total = null where organization_id = $1 and id = $2",
        run.organization_id,
        run.run_id,
        phase.as_str()
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

/// Records how a run ended, unless it was ended already; returns the outcome that holds.
async fn conclude(pool: &PgPool, spec: &RunSpec, outcome: Outcome) -> Result<Outcome> {
    if !finish(pool, spec, &outcome).await? {
        return Ok(Outcome::EndedElsewhere);
    }
    crate::ops::metrics::run_finished(&outcome, spec.started.elapsed());
    // The ending stands whatever follows: a retry that can't be scheduled is logged.
    if let Err(error) =
        crate::schedule::retry::after_end(pool, spec.run, &outcome, chrono::Utc::now()).await
    {
        tracing::error!(run_id = %spec.run.run_id, error = ?error, "could not schedule the retry of a failed scheduled sync");
    }
    // Right after the ending is recorded: the report email, if the run gets one.
    crate::report::queue_after_run(pool, spec.run).await;
    Ok(outcome)
}

/// Gives a `running` run its ending. `false` when the run was not `running` under this
/// worker's lease any more (someone else ended it): nothing is written, and the ending it has
/// stays.
async fn finish(pool: &PgPool, spec: &RunSpec, outcome: &Outcome) -> Result<bool> {
    let run = spec.run;
    let (status, counts, text, error, code) = match outcome {
        // An apply that found the run ended wrote nothing; neither does this.
        Outcome::EndedElsewhere => return Ok(false),
        Outcome::Planned(c) => (RunState::Planned, Some(c), summary(c), None, None),
        Outcome::Applied(_) => {
            // The apply's own transaction recorded it, with the changes (only if `running`).
            notify(pool, run).await?;
            return Ok(true);
        }
        Outcome::LimitExceeded(c, exceeded) => (
            RunState::LimitExceeded,
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
        Outcome::Failed { message, code, .. } => (
            RunState::Failed,
            None,
            format!("Failed: {message}"),
            Some(message.as_str()),
            code.as_deref(),
        ),
    };
    let counts = counts.map(serde_json::to_value).transpose()?;
    let ended = sqlx::query!(
        r#"update sync_runs set status = $3, phase = null, counts = coalesce($4, counts),
               summary = $5, error = $6, error_code = $7, finished_at = now()
           where organization_id = $1 and id = $2 and status = 'running' and lease_owner = $8"#,
        run.organization_id,
        run.run_id,
        status.as_str(),
        counts,
        text,
        error,
        code,
        spec.lease.owner()
    )
    .execute(pool)
    .await
    .context("finishing a sync run")?
    .rows_affected();
    if ended == 0 {
        tracing::warn!(run_id = %run.run_id, status = status.as_str(), "the run was ended by someone else first; its own ending is dropped");
        return Ok(false);
    }
    notify(pool, run).await?;
    Ok(true)
}
