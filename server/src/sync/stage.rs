//! Staging: the accounts a plan compares with the current recipients, per run, in the
//! unlogged `sync_staging` (scratch data, cleared when the run ends).

use super::RunRef;
use anyhow::{Context, Result};
use roster_core::DirectoryAccount;
use serde::Serialize;
use sqlx::PgPool;

#[derive(Serialize)]
struct StagedRow<'a> {
    address: &'a str,
    external_id: &'a str,
    kind: &'a str,
    display_name: &'a str,
    enabled: bool,
    includes_everyone: bool,
    archived: bool,
    aliases: Vec<&'a str>,
    members: Vec<&'a str>,
}

/// Writes accounts to the run's staging, one statement; returns how many it wrote. Two
/// objects claiming one address keep the first.
pub async fn stage(pool: &PgPool, run: RunRef, accounts: &[DirectoryAccount]) -> Result<u64> {
    if accounts.is_empty() {
        return Ok(0);
    }
    let rows: Vec<StagedRow<'_>> = accounts
        .iter()
        .map(|a| StagedRow {
            address: a.address.as_str(),
            external_id: &a.external_id,
            kind: a.kind.as_str(),
            display_name: a.display_name.as_str(),
            enabled: a.enabled,
            includes_everyone: a.includes_everyone,
            archived: a.archived,
            aliases: a.aliases.iter().map(|x| x.as_str()).collect(),
            members: a.members.iter().map(|x| x.as_str()).collect(),
        })
        .collect();
    sqlx::query!(
        r#"insert into sync_staging
               (organization_id, run_id, address, external_id, kind, display_name, enabled,
                includes_everyone, archived, aliases, members)
           select $1, $2, r.address, r.external_id, r.kind, r.display_name, r.enabled,
                  coalesce(r.includes_everyone, false), coalesce(r.archived, false),
                  coalesce(r.aliases, '{}'), coalesce(r.members, '{}')
           from jsonb_to_recordset($3) as r(address text, external_id text, kind text,
                display_name text, enabled boolean, includes_everyone boolean, archived boolean,
                aliases text[],
                members text[])
           on conflict do nothing"#,
        run.organization_id,
        run.run_id,
        serde_json::to_value(&rows)?
    )
    .execute(pool)
    .await
    .context("staging accounts")?;
    Ok(accounts.len() as u64)
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
