//! Run leases: which worker process owns a running run, and until when.
//!
//! [`super::start`] gives the run a lease (`sync_runs.lease_owner` = this worker's id,
//! `lease_expires_at` = now + the lease length). While the run works, [`hold`] renews it every
//! quarter of the length; every statement that ends the run or applies its changes matches only
//! `status = 'running' and lease_owner = <this worker>`. A worker that dies stops renewing, and
//! [`sweep_expired`] — run by every instance, every quarter of the length — ends its run as
//! failed, nothing changed. A worker whose renewal finds the lease gone (the sweep ended the
//! run, an operator did) stops the run's work at once and records nothing.

use super::{RunRef, RunSpec};
use anyhow::{Context, Result};
use sqlx::PgPool;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The default of `ROSTER_RUN_LEASE_SECS`.
pub const DEFAULT_LEASE_SECS: u64 = 60;

/// What a run whose worker stopped answering ends with.
pub const STOPPED_MESSAGE: &str =
    "Roster stopped while this sync was running. Nothing was changed; run it again.";

/// A worker process's identity as a lease holder, and how long its leases last.
#[derive(Debug, Clone)]
pub struct LeaseHolder {
    owner: Arc<str>,
    length: Duration,
}

impl LeaseHolder {
    /// A new holder for this process: host name, process id and a random part, so that an
    /// operator can tell from `sync_runs.lease_owner` which instance runs a run.
    pub fn new(length: Duration) -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "roster".to_owned());
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            owner: format!("{host}:{}:{}", std::process::id(), &random[..8]).into(),
            length: length.max(Duration::from_secs(1)),
        }
    }

    /// The id stored in `sync_runs.lease_owner`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// How long a lease lasts without renewal.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// How often the lease is renewed and expired leases are swept: a quarter of its length.
    pub fn period(&self) -> Duration {
        period_of(self.length)
    }

    /// The lease length in seconds, as SQL's `make_interval` takes it.
    pub(crate) fn seconds(&self) -> f64 {
        self.length.as_secs_f64()
    }
}

/// A quarter of a lease's length (at least 100 ms).
pub fn period_of(length: Duration) -> Duration {
    (length / 4).max(Duration::from_millis(100))
}

/// Renews the run's lease; `false` when this worker does not hold it any more.
pub async fn renew(pool: &PgPool, spec: &RunSpec) -> Result<bool> {
    let renewed = sqlx::query!(
        r#"update sync_runs set lease_expires_at = now() + make_interval(secs => $4)
           where organization_id = $1 and id = $2 and status = 'running' and lease_owner = $3"#,
        spec.run.organization_id,
        spec.run.run_id,
        spec.lease.owner(),
        spec.lease.seconds()
    )
    .execute(pool)
    .await
    .context("renewing a run's lease")?
    .rows_affected();
    Ok(renewed > 0)
}

/// Runs `work` (a claimed run's work) while renewing its lease every quarter of its length.
/// When a renewal finds the lease gone, `work` is dropped where it is — an open transaction
/// rolls back — the run's staging is cleared, and the result is `None`.
/// A renewal that fails (the database is briefly unreachable) is logged and tried again at the
/// next beat; if the lease expires meanwhile, the sweep ends the run and the next beat stops it.
pub async fn hold<F, T>(pool: &PgPool, spec: &RunSpec, work: F) -> Result<Option<T>>
where
    F: Future<Output = Result<T>>,
{
    let lost = async {
        let mut beat = tokio::time::interval(spec.lease.period());
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        beat.tick().await; // the first tick is immediate: the lease was just taken
        loop {
            beat.tick().await;
            match renew(pool, spec).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    tracing::warn!(run_id = %spec.run.run_id, error = ?error, "could not renew a run's lease; trying again");
                }
            }
        }
    };
    tokio::select! {
        done = work => done.map(Some),
        () = lost => {
            tracing::warn!(run_id = %spec.run.run_id, owner = spec.lease.owner(),
                "this worker lost the run's lease (the run was ended elsewhere); its work stops, nothing of it recorded");
            super::clear_scratch(pool, spec.run).await?;
            Ok(None)
        }
    }
}

/// Ends as failed every running run whose lease expired (its worker died or hung), clears its
/// staging and tells the progress streams. On every instance: one `UPDATE` decides which
/// instance ends a run. Returns how many were ended.
pub async fn sweep_expired(pool: &PgPool) -> Result<u64> {
    let swept = sqlx::query!(
        r#"update sync_runs set status = 'failed', phase = null, error = $1,
               summary = 'Failed: ' || $1, finished_at = now()
           where status = 'running' and lease_expires_at < now()
           returning organization_id, id, lease_owner"#,
        STOPPED_MESSAGE
    )
    .fetch_all(pool)
    .await
    .context("ending runs whose lease expired")?;
    for r in &swept {
        tracing::warn!(run_id = %r.id, organization_id = %r.organization_id, owner = ?r.lease_owner,
            "a sync run's lease expired (its worker stopped); marked failed, nothing changed");
        metrics::counter!(crate::ops::metrics::RUNS_LEASE_EXPIRED).increment(1);
        let run = RunRef {
            organization_id: r.organization_id,
            run_id: r.id,
        };
        super::after_swept(pool, run).await?;
    }
    Ok(swept.len() as u64)
}
