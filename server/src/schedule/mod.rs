//! Automatic Synchronization: the loop every server instance runs to start scheduled syncs.
//!
//! Each tick claims the domains whose slot (`sync_settings.next_run_at`) or retry
//! (`retry_at`) is due, in batches: one transaction selects them `for update skip locked`,
//! queues each one's run and job exactly as a Manual Sync does ([`sync::enqueue_in`], trigger
//! `schedule`), and moves `next_run_at` to the domain's next slot after now
//! ([`roster_core::schedule::next_slot`]). Another instance's tick skips the rows this one
//! holds and, once they commit, no longer finds them due: every slot runs once, whatever the
//! number of instances. A slot that was missed for a long time (every instance down) runs once,
//! then the domain is back on its grid. A domain whose previous run is still queued or running
//! gets a `skipped` row in its history instead of a second run.
//!
//! Time comes from a [`Clock`], so tests move it instead of waiting.

pub mod retry;

use crate::sync::{self, NewRun};
use anyhow::{Context, Result};
use app::ssr::connectors::source_of;
use chrono::{DateTime, Utc};
use roster_core::schedule::next_slot;
use roster_core::{Clock, ServerType, SyncSchedule, SyncSource};
use sqlx::PgPool;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Domains claimed per transaction.
pub const BATCH: i64 = 100;

/// What the history says of a skipped slot.
pub const SKIPPED: &str = "Skipped: the previous sync was still running.";

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Runs queued (slots and retries).
    pub queued: u64,
    /// Slots skipped because the domain's previous run was still queued or running.
    pub skipped: u64,
}

/// `ROSTER_SCHEDULER_TICK_SECS`: how often each instance looks for due domains, 1 to 3600
/// seconds; unset: 15.
pub fn tick_from_env() -> Result<Duration> {
    tick_every(std::env::var("ROSTER_SCHEDULER_TICK_SECS").ok().as_deref())
}

fn tick_every(value: Option<&str>) -> Result<Duration> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Duration::from_secs(15));
    };
    match value.parse::<u64>() {
        Ok(secs) if (1..=3600).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => anyhow::bail!(
            "ROSTER_SCHEDULER_TICK_SECS must be a whole number of seconds from 1 to 3600, got {value:?}"
        ),
    }
}

/// Runs [`tick`] every `every` until `shutdown` completes.
pub async fn run(
    pool: PgPool,
    clock: Arc<dyn Clock>,
    every: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    tracing::info!(every_secs = every.as_secs(), "scheduler started");
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticks.tick() => {
                match tick(&pool, clock.as_ref()).await {
                    Ok(t) if t != Tick::default() => {
                        tracing::info!(queued = t.queued, skipped = t.skipped, "scheduled syncs queued");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(error = ?error, "the scheduler's tick failed; the next one tries again"),
                }
            }
        }
    }
    tracing::info!("scheduler stopped");
}

/// Claims and queues every due domain, batch after batch, as of `clock.now()`.
pub async fn tick(pool: &PgPool, clock: &dyn Clock) -> Result<Tick> {
    let now = clock.now();
    let mut total = Tick::default();
    loop {
        let (batch, claimed) = claim_batch(pool, now).await?;
        total.queued += batch.queued;
        total.skipped += batch.skipped;
        if claimed < BATCH {
            return Ok(total);
        }
    }
}

/// One transaction: up to [`BATCH`] due domains claimed, queued (or skipped) and moved to
/// their next slot. Returns what it did and how many domains it claimed.
async fn claim_batch(pool: &PgPool, now: DateTime<Utc>) -> Result<(Tick, i64)> {
    let mut tx = pool.begin().await.context("claiming due domains")?;
    let due = sqlx::query!(
        r#"select s.organization_id, s.domain_id, s.auto_sync_enabled, s.times_per_day,
                  s.next_run_at, s.retry_at, s.retry_attempt, s.due_at as "due_at!", d.server_type
           from sync_settings s
           join domains d on d.organization_id = s.organization_id and d.id = s.domain_id
           where s.due_at <= $1
           order by s.due_at
           limit $2
           for update of s skip locked"#,
        now,
        BATCH
    )
    .fetch_all(&mut *tx)
    .await
    .context("claiming due domains")?;
    let claimed = i64::try_from(due.len()).unwrap_or(i64::MAX);
    let mut tick = Tick::default();
    let mut lags = Vec::with_capacity(due.len());
    let (mut orgs, mut domains, mut nexts) = (Vec::new(), Vec::new(), Vec::new());
    for d in due {
        orgs.push(d.organization_id);
        domains.push(d.domain_id);
        if !d.auto_sync_enabled {
            // Turned off behind the form's back (the form clears both): nothing runs.
            nexts.push(None);
            continue;
        }
        let slot_due = d.next_run_at.is_some_and(|at| at <= now);
        // A slot that comes while a retry waits replaces it: a fresh first attempt.
        let attempt = match (slot_due, d.retry_attempt) {
            (false, Some(attempt)) => attempt,
            _ => 1,
        };
        let next = if slot_due {
            let schedule = u8::try_from(d.times_per_day)
                .ok()
                .and_then(|n| SyncSchedule::new(n).ok())
                .unwrap_or_default();
            Some(next_slot(d.domain_id, schedule, now))
        } else {
            d.next_run_at
        };
        nexts.push(next);
        lags.push((now - d.due_at).to_std().unwrap_or_default());
        // The directory the domain's server type syncs from (the connector registry's rule).
        let Some(source) = ServerType::parse(&d.server_type).ok().and_then(source_of) else {
            tracing::warn!(organization_id = %d.organization_id, domain_id = %d.domain_id,
                server_type = %d.server_type, "scheduled sync not queued: the domain's server type has no directory connector");
            continue;
        };
        let new = NewRun {
            organization_id: d.organization_id,
            domain_id: d.domain_id,
            source,
            test: false,
            requested_by: None,
            applies_run_id: None,
        };
        match sync::enqueue_in(&mut tx, &new, attempt)
            .await
            .map_err(|e| anyhow::anyhow!(e))?
        {
            Some(run_id) => {
                tracing::info!(organization_id = %d.organization_id, domain_id = %d.domain_id,
                    %run_id, attempt, "scheduled sync queued");
                tick.queued += 1;
            }
            None => {
                skip(&mut tx, d.organization_id, d.domain_id, source, attempt).await?;
                tick.skipped += 1;
            }
        }
    }
    sqlx::query!(
        r#"update sync_settings s
           set next_run_at = u.next_run_at, retry_at = null, retry_attempt = null
           from unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) as u(organization_id, domain_id, next_run_at)
           where s.organization_id = u.organization_id and s.domain_id = u.domain_id"#,
        &orgs,
        &domains,
        &nexts as &[Option<DateTime<Utc>>]
    )
    .execute(&mut *tx)
    .await
    .context("moving claimed domains to their next slot")?;
    tx.commit().await.context("claiming due domains")?;
    for lag in lags {
        metrics::histogram!("roster_scheduler_lag_seconds").record(lag.as_secs_f64());
    }
    metrics::counter!("roster_scheduled_runs_total").increment(tick.queued);
    Ok((tick, claimed))
}

/// Records a skipped slot in the domain's history.
async fn skip(
    conn: &mut sqlx::PgConnection,
    organization_id: Uuid,
    domain_id: Uuid,
    source: SyncSource,
    attempt: i16,
) -> Result<()> {
    sqlx::query!(
        r#"insert into sync_runs (organization_id, domain_id, source, test, trigger, status, attempt,
               summary, finished_at)
           values ($1, $2, $5, false, 'schedule', 'skipped', $3, $4, now())"#,
        organization_id,
        domain_id,
        attempt,
        SKIPPED,
        source.as_str()
    )
    .execute(&mut *conn)
    .await
    .context("recording a skipped slot")?;
    tracing::info!(%organization_id, %domain_id, "scheduled sync skipped: the previous one is still running");
    Ok(())
}

/// Makes a domain due now, as if its slot had come: for tests and operators
/// (`update sync_settings set next_run_at = now() where …` does the same).
pub async fn make_due(
    pool: &PgPool,
    organization_id: Uuid,
    domain_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        "update sync_settings set next_run_at = $3 where organization_id = $1 and domain_id = $2",
        organization_id,
        domain_id,
        at
    )
    .execute(pool)
    .await
    .context("making a domain due")?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tick_defaults_to_15_seconds_and_refuses_nonsense() {
        assert_eq!(tick_every(None).unwrap(), Duration::from_secs(15));
        assert_eq!(tick_every(Some("")).unwrap(), Duration::from_secs(15));
        assert_eq!(tick_every(Some(" 5 ")).unwrap(), Duration::from_secs(5));
        for bad in ["0", "-1", "1.5", "soon", "3601"] {
            let error = tick_every(Some(bad)).unwrap_err().to_string();
            assert!(error.contains("ROSTER_SCHEDULER_TICK_SECS"), "{error}");
        }
    }
}
