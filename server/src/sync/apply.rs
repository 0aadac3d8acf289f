//! Apply: a run's planned changes in one transaction, all or nothing, with one set-based
//! statement per kind of change — alias and account deletes first, so that an address that
//! moves (an alias becoming another account's, a primary address becoming an alias) is free
//! by the time it is added again.

use super::RunSpec;
use anyhow::{Context, Result};
use roster_core::sync::{summary, PlannedCounts};
use sqlx::PgPool;

/// Applies the changes recorded for `spec`'s run. With `expected_fingerprint`, first checks in
/// the same transaction that the recipients are still what the plan was made against, and
/// returns `Ok(false)` (nothing applied) when they are not.
pub async fn apply(
    pool: &PgPool,
    spec: &RunSpec,
    counts: PlannedCounts,
    expected_fingerprint: Option<&str>,
) -> Result<bool> {
    let org = spec.run.organization_id;
    let run = spec.run.run_id;
    let domain = spec.domain_id;
    let source = spec.source.as_str();
    let mut tx = pool.begin().await.context("starting to apply")?;
    // Nothing else changes this domain's synced recipients while we apply (manual edits of
    // them are refused, and only one run per domain is active): the lock makes it certain.
    sqlx::query!(
        "select id from domains where organization_id = $1 and id = $2 for update",
        org,
        domain
    )
    .fetch_optional(&mut *tx)
    .await
    .context("locking the domain")?;
    if let Some(expected) = expected_fingerprint {
        let now = super::plan::fingerprint(&mut tx, org, domain, source).await?;
        if now != expected {
            return Ok(false);
        }
    }
    sqlx::query!(
        "update sync_runs set progress_done = 0, progress_total = $3 where organization_id = $1 and id = $2",
        org,
        run,
        i64::try_from(counts.total_changes())?
    )
    .execute(pool)
    .await
    .context("recording the apply's size")?;
    super::notify(pool, spec.run).await?;

    sqlx::query!(
        r#"delete from addresses ad
           using sync_run_changes c, accounts a
           where c.organization_id = $1 and c.run_id = $2 and c.kind = 'alias_delete'
             and a.organization_id = $1 and a.domain_id = $3 and a.source = $4 and a.address = c.address
             and ad.address = c.item and ad.organization_id = $1 and ad.account_id = a.id
             and not ad.is_primary"#,
        org,
        run,
        domain,
        source
    )
    .execute(&mut *tx)
    .await
    .context("deleting aliases")?;

    // Their addresses and list members go with them (on delete cascade).
    sqlx::query!(
        r#"delete from accounts a
           using sync_run_changes c
           where c.organization_id = $1 and c.run_id = $2 and c.kind = 'account_delete'
             and a.organization_id = $1 and a.domain_id = $3 and a.source = $4 and a.address = c.address"#,
        org,
        run,
        domain,
        source
    )
    .execute(&mut *tx)
    .await
    .context("deleting accounts")?;

    sqlx::query!(
        r#"update accounts a set display_name = c.new_display_name, kind = c.new_kind
           from sync_run_changes c
           where c.organization_id = $1 and c.run_id = $2 and c.kind = 'account_update'
             and a.organization_id = $1 and a.domain_id = $3 and a.source = $4 and a.address = c.address"#,
        org,
        run,
        domain,
        source
    )
    .execute(&mut *tx)
    .await
    .context("updating accounts")?;

    sqlx::query!(
        r#"with added as (
               insert into accounts (organization_id, domain_id, address, kind, source, display_name)
               select $1, $3, c.address, c.new_kind, $4, c.new_display_name
               from sync_run_changes c
               where c.organization_id = $1 and c.run_id = $2 and c.kind = 'account_add'
               returning id, address
           )
           insert into addresses (address, organization_id, account_id, is_primary)
           select address, $1, id, true from added"#,
        org,
        run,
        domain,
        source
    )
    .execute(&mut *tx)
    .await
    .context("adding accounts")?;

    sqlx::query!(
        r#"insert into addresses (address, organization_id, account_id, is_primary)
           select c.item, $1, a.id, false
           from sync_run_changes c
           join accounts a on a.organization_id = $1 and a.domain_id = $3 and a.source = $4
                          and a.address = c.address
           where c.organization_id = $1 and c.run_id = $2 and c.kind = 'alias_add'"#,
        org,
        run,
        domain,
        source
    )
    .execute(&mut *tx)
    .await
    .context("adding aliases")?;

    sqlx::query!(
        r#"delete from list_members m
           using sync_run_changes c, accounts a
           where c.organization_id = $1 and c.run_id = $2 and c.kind = 'member_remove'
             and a.organization_id = $1 and a.domain_id = $3 and a.source = $4 and a.address = c.address
             and m.organization_id = $1 and m.account_id = a.id and m.member = c.item"#,
        org,
        run,
        domain,
        source
    )
    .execute(&mut *tx)
    .await
    .context("removing list members")?;

    sqlx::query!(
        r#"insert into list_members (organization_id, account_id, member)
           select $1, a.id, c.item
           from sync_run_changes c
           join accounts a on a.organization_id = $1 and a.domain_id = $3 and a.source = $4
                          and a.address = c.address
           where c.organization_id = $1 and c.run_id = $2 and c.kind = 'member_add'"#,
        org,
        run,
        domain,
        source
    )
    .execute(&mut *tx)
    .await
    .context("adding list members")?;

    // The domain's "last sync", even when nothing changed (recipients rows stay untouched).
    sqlx::query!(
        "update domains set last_synced_at = now() where organization_id = $1 and id = $2",
        org,
        domain
    )
    .execute(&mut *tx)
    .await
    .context("recording the sync time")?;
    // The run's outcome commits with its changes: a crash can't leave one without the other.
    sqlx::query!(
        r#"update sync_runs set status = 'applied', phase = null, counts = $3, summary = $4,
               progress_done = progress_total, finished_at = now()
           where organization_id = $1 and id = $2"#,
        org,
        run,
        serde_json::to_value(counts)?,
        summary(&counts)
    )
    .execute(&mut *tx)
    .await
    .context("recording the run as applied")?;
    tracing::info!(run_id = %run, %domain, ?counts, "sync applied");
    tx.commit().await.context("committing the changes")?;
    Ok(true)
}
