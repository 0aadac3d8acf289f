//! Apply: a run's planned changes in one transaction, all or nothing, with one set-based
//! statement per kind of change — alias and account deletes first, then renames, then adds —
//! so that an address that moves (an alias becoming another account's, a primary address
//! becoming an alias of the same or another account, two accounts swapping addresses) is
//! free by the time it is added again.
//!
//! The transaction commits only with the run's own `running` → `applied` update, made under
//! this worker's lease: a run that someone else ended meanwhile (the lease or orphan sweep, an
//! operator) or whose lease another worker holds applies nothing.

use super::RunSpec;
use anyhow::{Context, Result};
use roster_core::sync::{summary, PlannedCounts};
use sqlx::PgPool;

/// Refusal of a kept plan whose recipients moved on since it was made.
pub const RECIPIENTS_CHANGED: &str = "Not applied: this domain's recipients changed since the plan was made (another sync ran, accounts were edited, or an address the plan adds now belongs to another account). Nothing was changed. Run Manual Sync to plan again.";
/// Refusal of a run whose plan adds an address that was taken while it ran.
pub const ADDRESS_TAKEN_DURING_RUN: &str = "Not applied: an address this sync adds became another account's while it ran. Nothing was changed. Run the sync again; it will skip that address with a warning.";
/// Refusal of a kept plan read from another directory than the domain's connection now.
pub const TENANT_CHANGED: &str = "Not applied: the domain is now connected to another Microsoft 365 tenant or LDAP directory than the one this plan was read from. Nothing was changed. Run Manual Sync to plan again.";
/// Refusal of a kept plan whose run did not record the directory it connected to.
pub const NOT_CONNECTED: &str = "Not applied: this domain is no longer connected to its directory. Nothing was changed. Set up the connection on the domain's sync page, then run Manual Sync.";
/// Refusal of a kept plan made before runs recorded their directory.
pub const TENANT_UNKNOWN: &str = "Not applied: this plan was made before Roster recorded which directory a plan was read from, so it can't be checked. Nothing was changed. Run Manual Sync to plan again.";

/// What a kept plan ("Apply these changes") was made against.
#[derive(Debug, Clone, Copy)]
pub struct KeptPlan<'a> {
    /// `sync_runs.recipients_fingerprint` of the run that kept it.
    pub fingerprint: &'a str,
    /// `sync_runs.tenant_id` of the run that kept it: the identity of the directory it read.
    pub tenant_id: Option<&'a str>,
    /// The run that kept it: the object ids its plan matched by address are recorded.
    pub run_id: uuid::Uuid,
}

/// How an apply ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Committed, with the run marked applied.
    Done,
    /// Nothing applied, for this reason (in the admin's words).
    Refused(&'static str),
    /// The run was no longer `running` when its outcome was to be recorded: someone else ended
    /// it. Nothing applied, and the run keeps the ending it has.
    EndedElsewhere,
}

/// Whether a statement failed because an address it adds is already taken (the one reason an
/// apply's insert can fail that is the recipients' doing, not Roster's).
fn address_taken(error: &sqlx::Error) -> bool {
    matches!(
        error.as_database_error().and_then(|e| e.constraint()),
        Some("addresses_pkey" | "accounts_address_key")
    )
}

/// Applies the changes recorded for `spec`'s run. With `kept`, first checks in the same
/// transaction that this run read the plan's directory (tenant) and that the recipients
/// are still what the plan was made against. Either way, an address the plan adds that now
/// belongs to anything but this sync refuses the whole apply.
/// With `save`, also saves where the next read of the directory resumes, in the same
/// transaction.
pub async fn apply(
    pool: &PgPool,
    spec: &RunSpec,
    counts: PlannedCounts,
    kept: Option<KeptPlan<'_>>,
    save: Option<&super::resume::Save>,
) -> Result<Applied> {
    let org = spec.run.organization_id;
    let run = spec.run.run_id;
    let domain = spec.domain_id;
    let source = spec.source.as_str();
    // The run whose plan matched accounts by address (`sync_run_identities`).
    let planned_by = kept.map_or(run, |k| k.run_id);
    let clock = std::time::Instant::now();
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
    if let Some(kept) = kept {
        // The directory this run connected to (recorded at its start from the connection the
        // registry built): the plan must have been read from the same one.
        let directory_now = sqlx::query_scalar!(
            "select tenant_id from sync_runs where organization_id = $1 and id = $2",
            org,
            run
        )
        .fetch_one(&mut *tx)
        .await
        .context("loading the run's directory")?;
        match (directory_now.as_deref(), kept.tenant_id) {
            (None, _) => return Ok(Applied::Refused(NOT_CONNECTED)),
            (Some(_), None) => return Ok(Applied::Refused(TENANT_UNKNOWN)),
            (Some(now), Some(then)) if now != then => return Ok(Applied::Refused(TENANT_CHANGED)),
            _ => {}
        }
        let now = super::plan::fingerprint(&mut tx, org, domain, source).await?;
        if now != kept.fingerprint {
            return Ok(Applied::Refused(RECIPIENTS_CHANGED));
        }
    }
    let refusal = if kept.is_some() {
        RECIPIENTS_CHANGED
    } else {
        ADDRESS_TAKEN_DURING_RUN
    };
    let large = counts.total_changes() >= super::ANALYZE_FROM;
    if large {
        // The plan's rows were just written: fresh statistics keep the joins below set-based.
        sqlx::query("analyze sync_run_changes")
            .execute(&mut *tx)
            .await
            .context("refreshing the statistics of the planned changes")?;
    }
    // The plan skipped addresses that were someone else's when it was made; one taken since (a
    // manual account added meanwhile, say) is not the sync's to take.
    let taken = sqlx::query_scalar!(
        r#"select exists (
               select 1 from sync_run_changes c
               join addresses ad on ad.address = case c.kind when 'account_add' then c.address
                                                             when 'account_update' then c.new_address
                                                             else c.item end
               join accounts a on a.organization_id = ad.organization_id and a.id = ad.account_id
               where c.organization_id = $1 and c.run_id = $2
                 and c.kind in ('account_add', 'account_update', 'alias_add')
                 and not (a.organization_id = $1 and a.domain_id = $3 and a.source = $4)
           ) as "taken!""#,
        org,
        run,
        domain,
        source
    )
    .fetch_one(&mut *tx)
    .await
    .context("checking the addresses to add are free")?;
    if taken {
        return Ok(Applied::Refused(refusal));
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
        r#"update accounts a set display_name = c.new_display_name, kind = c.new_kind,
               enabled = coalesce(c.new_enabled, a.enabled),
               includes_everyone = coalesce(c.new_includes_everyone, a.includes_everyone),
               archived = coalesce(c.new_archived, a.archived)
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

    if let Err(e) = rename(&mut tx, spec).await {
        return match e.downcast_ref::<sqlx::Error>() {
            Some(e) if address_taken(e) => Ok(Applied::Refused(refusal)),
            _ => Err(e),
        };
    }

    let added = sqlx::query!(
        r#"with added as (
               insert into accounts (organization_id, domain_id, address, kind, source, display_name,
                                     external_id, enabled, includes_everyone, archived)
               select $1, $3, c.address, c.new_kind, $4, c.new_display_name, c.external_id,
                      coalesce(c.new_enabled, true), coalesce(c.new_includes_everyone, false),
                      coalesce(c.new_archived, false)
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
    .await;
    match added {
        Err(e) if address_taken(&e) => return Ok(Applied::Refused(refusal)),
        other => other.context("adding accounts")?,
    };
    if large {
        // The aliases and list members below join the accounts just added (this transaction
        // sees them, and so does its ANALYZE).
        sqlx::query("analyze accounts, addresses")
            .execute(&mut *tx)
            .await
            .context("refreshing the statistics of the accounts")?;
    }

    // Accounts synced before object ids were recorded, matched by address: their object id.
    sqlx::query!(
        r#"update accounts a set external_id = i.external_id
           from sync_run_identities i
           where i.organization_id = $1 and i.run_id = $2
             and a.organization_id = $1 and a.domain_id = $3 and a.source = $4
             and a.address = i.address and a.external_id is null"#,
        org,
        planned_by,
        domain,
        source
    )
    .execute(&mut *tx)
    .await
    .context("recording the object ids of accounts synced without one")?;
    sqlx::query!(
        "delete from sync_run_identities where organization_id = $1 and run_id = $2",
        org,
        planned_by
    )
    .execute(&mut *tx)
    .await
    .context("recording the object ids of accounts synced without one")?;

    let added = sqlx::query!(
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
    .await;
    match added {
        Err(e) if address_taken(&e) => return Ok(Applied::Refused(refusal)),
        other => other.context("adding aliases")?,
    };

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
    if let Some(save) = save {
        super::resume::save(&mut tx, spec, save).await?;
    }
    // The run's outcome commits with its changes: a crash can't leave one without the other.
    // Only a run still `running` under this worker's lease ends here; one ended meanwhile by
    // someone else (or whose lease is no longer this worker's) rolls back.
    let ended = sqlx::query!(
        r#"update sync_runs set status = 'applied', phase = null, counts = $3, summary = $4,
               progress_done = progress_total, finished_at = now()
           where organization_id = $1 and id = $2 and status = 'running' and lease_owner = $5"#,
        org,
        run,
        serde_json::to_value(counts)?,
        summary(&counts),
        spec.lease.owner()
    )
    .execute(&mut *tx)
    .await
    .context("recording the run as applied")?
    .rows_affected();
    if ended == 0 {
        tx.rollback().await.context("rolling back the changes")?;
        tracing::warn!(run_id = %run, %domain, "the run was ended by someone else before its changes were applied; nothing applied");
        return Ok(Applied::EndedElsewhere);
    }
    tracing::info!(run_id = %run, %domain, ?counts, apply_ms = clock.elapsed().as_millis() as u64, "sync applied");
    tx.commit().await.context("committing the changes")?;
    Ok(Applied::Done)
}

/// The prefix an account's address has for a moment while it is renamed (no address parses
/// with a `:`), so that two accounts can swap addresses: `accounts.address` is unique at every
/// statement, not at commit.
const RENAMING: &str = "renaming:";

/// Gives renamed accounts (`account_update` rows with a `new_address`) their new primary
/// address: the old primary address row goes (an alias add may bring it back, to this
/// account or another), the account takes the new address, and the new row is primary.
/// The new address must be free by then: the alias and account deletes ran first.
async fn rename(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, spec: &RunSpec) -> Result<()> {
    let org = spec.run.organization_id;
    let run = spec.run.run_id;
    let (domain, source) = (spec.domain_id, spec.source.as_str());
    sqlx::query!(
        r#"delete from addresses ad
           using sync_run_changes c, accounts a
           where c.organization_id = $1 and c.run_id = $2 and c.kind = 'account_update'
             and c.new_address is not null
             and a.organization_id = $1 and a.domain_id = $3 and a.source = $4 and a.address = c.address
             and ad.address = c.address and ad.organization_id = $1 and ad.account_id = a.id
             and ad.is_primary"#,
        org,
        run,
        domain,
        source
    )
    .execute(&mut **tx)
    .await
    .context("freeing the old addresses of renamed accounts")?;
    sqlx::query!(
        r#"update accounts a set address = $5 || c.new_address
           from sync_run_changes c
           where c.organization_id = $1 and c.run_id = $2 and c.kind = 'account_update'
             and c.new_address is not null
             and a.organization_id = $1 and a.domain_id = $3 and a.source = $4 and a.address = c.address"#,
        org,
        run,
        domain,
        source,
        RENAMING
    )
    .execute(&mut **tx)
    .await
    .context("renaming accounts")?;
    sqlx::query!(
        r#"with renamed as (
               update accounts a set address = substr(a.address, length($4) + 1)
               where a.organization_id = $1 and a.domain_id = $2 and a.source = $3
                 and starts_with(a.address, $4)
               returning a.id, a.address
           )
           insert into addresses (address, organization_id, account_id, is_primary)
           select address, $1, id, true from renamed"#,
        org,
        domain,
        source,
        RENAMING
    )
    .execute(&mut **tx)
    .await
    .context("renaming accounts")?;
    Ok(())
}
