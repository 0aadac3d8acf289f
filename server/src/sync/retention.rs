//! Retention: what the worker's sweep deletes once it is older than `ROSTER_RETENTION_DAYS`.
//!
//! - The changes and warnings of runs that applied nothing and never can: Test Sync runs and
//!   failed runs, and the object ids their plans matched by address (`sync_run_identities`,
//!   which an apply consumes). Their row — the summary, counts, error — stays forever.
//! - Finished apalis jobs of the sync and report email queues (`Done`, `Killed`, or `Failed`
//!   with no attempt left); a run's truth is its `sync_runs` row, not its job.
//!
//! What stays whatever its age: every run row; the changes of applied runs (the history of
//! what changed in the recipients); plans kept at the Operations Limit, which "Apply these
//! changes" may still apply (it refuses them once the recipients moved on).
//!
//! Deletes are set-based in bounded batches, each its own short statement that skips rows
//! another instance is deleting, so a large backlog never holds locks for long.

use anyhow::{Context, Result};
use sqlx::PgPool;
use std::future::Future;

/// Rows per delete statement.
const BATCH: i64 = 5_000;

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub changes: u64,
    pub warnings: u64,
    pub identities: u64,
    pub jobs: u64,
}

/// Deletes what is older than `days` days (see the module's doc).
pub async fn sweep(pool: &PgPool, days: u32) -> Result<Swept> {
    let days = i32::try_from(days).context("the retention period")?;
    let changes = in_batches(|| async {
        let deleted = sqlx::query!(
            r#"with doomed as (
                   select c.organization_id, c.run_id, c.seq
                   from sync_runs r
                   join sync_run_changes c on c.organization_id = r.organization_id and c.run_id = r.id
                   where (r.test or r.status = 'failed')
                     and r.finished_at < now() - make_interval(days => $1)
                   limit $2
                   for update of c skip locked)
               delete from sync_run_changes c using doomed d
               where c.organization_id = d.organization_id and c.run_id = d.run_id and c.seq = d.seq"#,
            days,
            BATCH
        )
        .execute(pool)
        .await
        .context("deleting old changes of Test Sync and failed runs")?;
        Ok(deleted.rows_affected())
    })
    .await?;
    let warnings = in_batches(|| async {
        let deleted = sqlx::query!(
            r#"with doomed as (
                   select w.organization_id, w.run_id, w.seq
                   from sync_runs r
                   join sync_run_warnings w on w.organization_id = r.organization_id and w.run_id = r.id
                   where (r.test or r.status = 'failed')
                     and r.finished_at < now() - make_interval(days => $1)
                   limit $2
                   for update of w skip locked)
               delete from sync_run_warnings w using doomed d
               where w.organization_id = d.organization_id and w.run_id = d.run_id and w.seq = d.seq"#,
            days,
            BATCH
        )
        .execute(pool)
        .await
        .context("deleting old warnings of Test Sync and failed runs")?;
        Ok(deleted.rows_affected())
    })
    .await?;
    let identities = in_batches(|| async {
        let deleted = sqlx::query!(
            r#"with doomed as (
                   select i.organization_id, i.run_id, i.address
                   from sync_runs r
                   join sync_run_identities i on i.organization_id = r.organization_id and i.run_id = r.id
                   where (r.test or r.status = 'failed')
                     and r.finished_at < now() - make_interval(days => $1)
                   limit $2
                   for update of i skip locked)
               delete from sync_run_identities i using doomed d
               where i.organization_id = d.organization_id and i.run_id = d.run_id and i.address = d.address"#,
            days,
            BATCH
        )
        .execute(pool)
        .await
        .context("deleting old matched object ids of Test Sync and failed runs")?;
        Ok(deleted.rows_affected())
    })
    .await?;
    let jobs = in_batches(|| async {
        // `done_at` is set when apalis records a job's result; a job ended otherwise has none,
        // and then counts from when it was to run.
        let deleted = sqlx::query!(
            r#"delete from apalis.jobs where id in (
                   select id from apalis.jobs
                   where job_type = any($1)
                     and (status in ('Done', 'Killed') or (status = 'Failed' and attempts >= max_attempts))
                     and coalesce(done_at, run_at) < now() - make_interval(days => $2)
                   limit $3
                   for update skip locked)"#,
            &[
                crate::worker::QUEUE.to_owned(),
                crate::report::QUEUE.to_owned()
            ][..],
            days,
            BATCH
        )
        .execute(pool)
        .await
        .context("deleting old finished sync and report jobs")?;
        Ok(deleted.rows_affected())
    })
    .await?;
    let swept = Swept {
        changes,
        warnings,
        identities,
        jobs,
    };
    if swept != Swept::default() {
        tracing::info!(?swept, days, "deleted what is past the retention period");
    }
    Ok(swept)
}

/// Runs `delete` (one bounded statement) until a batch comes back short; returns the total.
async fn in_batches<F, Fut>(mut delete: F) -> Result<u64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64>>,
{
    let mut total = 0;
    loop {
        let n = delete().await?;
        total += n;
        if n < BATCH.unsigned_abs() {
            return Ok(total);
        }
    }
}
