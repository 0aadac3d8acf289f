//! Retries of scheduled syncs: a scheduled run that failed for a passing reason (network,
//! Microsoft 365 unavailable, throttling beyond the run's own retries —
//! [`roster_core::DirectoryError::is_transient`]) is tried again after a backoff
//! ([`roster_core::schedule::RETRY_BACKOFF`]), at most [`MAX_ATTEMPTS`] attempts in all. A
//! permanent failure (consent revoked, Operations Limit, configuration, ownership) waits for
//! an admin and the next slot. The retry is a due time on the domain's `sync_settings`
//! (`retry_at`, `retry_attempt`) that the scheduler claims like a slot.

use crate::sync::{Outcome, RunRef};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use roster_core::schedule::{retry_after, MAX_ATTEMPTS};
use roster_core::RunTrigger;
use sqlx::PgPool;

/// After a run ended: schedules the next attempt of a scheduled run that failed transiently.
pub async fn after_end(
    pool: &PgPool,
    run: RunRef,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<()> {
    let Outcome::Failed {
        transient: true, ..
    } = outcome
    else {
        return Ok(());
    };
    let row = sqlx::query!(
        "select domain_id, trigger, attempt from sync_runs where organization_id = $1 and id = $2",
        run.organization_id,
        run.run_id
    )
    .fetch_one(pool)
    .await
    .context("loading the failed run")?;
    if RunTrigger::parse(&row.trigger)? != RunTrigger::Schedule {
        return Ok(());
    }
    let attempt = u8::try_from(row.attempt).unwrap_or(MAX_ATTEMPTS);
    let Some(at) = retry_after(attempt, now) else {
        tracing::warn!(run_id = %run.run_id, attempt, "scheduled sync failed on its last attempt; the next slot tries again");
        return Ok(());
    };
    // Only while Automatic Synchronization is still on (turning it off cancels retries too).
    let scheduled = sqlx::query!(
        r#"update sync_settings set retry_at = $3, retry_attempt = $4
           where organization_id = $1 and domain_id = $2 and auto_sync_enabled"#,
        run.organization_id,
        row.domain_id,
        at,
        i16::from(attempt + 1)
    )
    .execute(pool)
    .await
    .context("scheduling the retry of a scheduled sync")?
    .rows_affected();
    if scheduled > 0 {
        tracing::info!(run_id = %run.run_id, attempt = attempt + 1, retry_at = %at, "scheduled sync failed transiently; retry scheduled");
    }
    Ok(())
}
