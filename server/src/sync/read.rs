//! Read: one change round of the connector — everything, or what changed since the saved
//! resume state — written page by page to the domain's mirror, with the progress recorded as
//! it goes. When the directory no longer accepts the saved state (Graph's delta token
//! expired or was invalidated), the round starts over as a full round within the same run.

use super::{mirror, notify, RunSpec};
use anyhow::{Context, Result};
use roster_core::directory::{Collection, ResumeState};
use roster_core::sync::ReadKind;
use roster_core::{Directory, DirectoryError, RunPhase};
use sqlx::PgPool;

/// What a round read.
#[derive(Debug)]
pub struct Round {
    /// A full round: the mirror now holds exactly what the directory held.
    pub full: bool,
    /// Where the next round resumes, once this run's changes are applied.
    pub resume_after: Option<ResumeState>,
    /// Objects the round reported.
    pub objects: u64,
}

/// Reads a round into the mirror: a change round from `resume`, or a full round without.
pub async fn read(
    pool: &PgPool,
    directory: &dyn Directory,
    spec: &RunSpec,
    resume: Option<ResumeState>,
) -> Result<Round> {
    match read_round(pool, directory, spec, resume.as_ref()).await {
        Err(error)
            if resume.is_some()
                && error
                    .downcast_ref::<DirectoryError>()
                    .is_some_and(DirectoryError::is_sync_state_lost) =>
        {
            tracing::info!(run_id = %spec.run.run_id, "the directory no longer accepts the saved delta state; reading everything");
            // What the broken round wrote is harmless (the full round rewrites the mirror),
            // and its list of changed objects no longer matters: the plan will cover all.
            mirror::clear_dirty(pool, spec.run).await?;
            read_round(pool, directory, spec, None).await
        }
        other => other,
    }
}

async fn read_round(
    pool: &PgPool,
    directory: &dyn Directory,
    spec: &RunSpec,
    resume: Option<&ResumeState>,
) -> Result<Round> {
    let full = resume.is_none();
    let run = spec.run;
    sqlx::query!(
        "update sync_runs set read_kind = $3, phase = 'fetch_users', objects_read = 0, progress_done = 0 where organization_id = $1 and id = $2",
        run.organization_id,
        run.run_id,
        if full {
            ReadKind::Full
        } else {
            ReadKind::Changes
        }
        .as_str()
    )
    .execute(pool)
    .await
    .context("recording how the run reads")?;
    let mut pager = directory.changes(resume);
    let mut objects: u64 = 0;
    // Users and the other collections (lists, contacts) are read side by side; the phase
    // shows users until the first page of lists, then lists, each with its own count.
    let (mut users, mut others) = (0u64, 0u64);
    let mut phase = RunPhase::FetchUsers;
    let started = std::time::Instant::now();
    let mut writing = std::time::Duration::ZERO;
    let mut next = pager.next_page().await?;
    while let Some(page) = next {
        let collection = page.collection;
        if collection != Collection::Users {
            phase = RunPhase::FetchGroups;
        }
        // The next page is fetched while this one is written: the directory's latency and
        // Postgres's writes overlap.
        let (written, following) = tokio::join!(
            async {
                let clock = std::time::Instant::now();
                let written = mirror::write_page(pool, spec, full, page).await;
                writing += clock.elapsed();
                written
            },
            pager.next_page()
        );
        let written = written? as u64;
        objects += written;
        if collection == Collection::Users {
            users += written;
        } else {
            others += written;
        }
        let done = if phase == RunPhase::FetchUsers {
            users
        } else {
            others
        };
        sqlx::query!(
            r#"update sync_runs set phase = $3, objects_read = $4, progress_done = $5
               where organization_id = $1 and id = $2"#,
            run.organization_id,
            run.run_id,
            phase.as_str(),
            i64::try_from(objects)?,
            i64::try_from(done)?
        )
        .execute(pool)
        .await
        .context("recording read progress")?;
        notify(pool, run).await?;
        next = following?;
    }
    if full {
        mirror::end_full_round(pool, spec).await?;
    }
    if objects >= super::ANALYZE_FROM {
        // The expansion of lists joins what was just written: with stale statistics (a first
        // sync finds the tables empty) the planner walks the memberships row by row.
        sqlx::query("analyze directory_objects, directory_members")
            .execute(pool)
            .await
            .context("refreshing the mirror's statistics")?;
    }
    tracing::info!(run_id = %run.run_id, full, objects, round_ms = started.elapsed().as_millis() as u64,
        mirror_writes_ms = writing.as_millis() as u64, "directory read");
    Ok(Round {
        full,
        resume_after: pager.resume_state(),
        objects,
    })
}
