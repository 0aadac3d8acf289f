//! Fetch: the connector's pages, normalized for the domain, streamed into `sync_staging` one
//! page at a time (one statement per page), with the progress written as it goes.

use super::{notify, RunRef};
use anyhow::{Context, Result};
use roster_core::directory::normalize_page;
use roster_core::{Directory, DomainRules};
use serde::Serialize;
use sqlx::PgPool;

#[derive(Serialize)]
struct StagedRow<'a> {
    address: &'a str,
    external_id: &'a str,
    kind: &'a str,
    display_name: &'a str,
    aliases: Vec<&'a str>,
    members: Vec<&'a str>,
}

/// Reads the whole directory into staging; returns how many accounts of the domain it held.
/// Any error leaves the run without a plan: nothing is applied.
pub async fn fetch(
    pool: &PgPool,
    directory: &dyn Directory,
    rules: &DomainRules,
    run: RunRef,
) -> Result<u64> {
    let mut pager = directory.pages();
    let mut objects: u64 = 0;
    let mut accounts: u64 = 0;
    let mut phase = "fetch_users";
    // Objects read before the first page of groups: the phase's own count starts there.
    let mut before_phase: u64 = 0;
    while let Some(page) = pager.next_page().await? {
        // Users come first, then groups: the phase follows what the pages hold.
        if phase == "fetch_users"
            && page
                .objects
                .iter()
                .any(|o| matches!(o.kind, roster_core::directory::ObjectKind::Group { .. }))
        {
            phase = "fetch_groups";
            before_phase = objects;
        }
        objects += page.objects.len() as u64;
        let normalized = normalize_page(&page, rules);
        accounts += normalized.len() as u64;
        let rows: Vec<StagedRow<'_>> = normalized
            .iter()
            .map(|a| StagedRow {
                address: a.address.as_str(),
                external_id: &a.external_id,
                kind: a.kind.as_str(),
                display_name: a.display_name.as_str(),
                aliases: a.aliases.iter().map(|x| x.as_str()).collect(),
                members: a.members.iter().map(|x| x.as_str()).collect(),
            })
            .collect();
        if !rows.is_empty() {
            // One statement per page; two objects claiming one address keep the first.
            sqlx::query!(
                r#"insert into sync_staging
                       (organization_id, run_id, address, external_id, kind, display_name, aliases, members)
                   select $1, $2, r.address, r.external_id, r.kind, r.display_name,
                          coalesce(r.aliases, '{}'), coalesce(r.members, '{}')
                   from jsonb_to_recordset($3) as r(address text, external_id text, kind text,
                        display_name text, aliases text[], members text[])
                   on conflict do nothing"#,
                run.organization_id,
                run.run_id,
                serde_json::to_value(&rows)?
            )
            .execute(pool)
            .await
            .context("staging a page of the directory")?;
        }
        sqlx::query!(
            r#"update sync_runs set phase = $3, objects_read = $4, accounts_read = $5,
                   progress_done = $6
               where organization_id = $1 and id = $2"#,
            run.organization_id,
            run.run_id,
            phase,
            i64::try_from(objects)?,
            i64::try_from(accounts)?,
            i64::try_from(objects - before_phase)?
        )
        .execute(pool)
        .await
        .context("recording fetch progress")?;
        notify(pool, run).await?;
    }
    Ok(accounts)
}

pub async fn clear_staging(pool: &PgPool, run: RunRef) -> Result<()> {
    sqlx::query!(
        "delete from sync_staging where organization_id = $1 and run_id = $2",
        run.organization_id,
        run.run_id
    )
    .execute(pool)
    .await
    .context("clearing a run's staging")?;
    Ok(())
}
