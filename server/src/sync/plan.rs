//! Plan: the staged directory against the domain's current synced recipients, as rows of
//! `sync_run_changes` (and `sync_run_warnings` for what is skipped). Set-based: a handful of
//! `INSERT … SELECT` statements whatever the size of the directory.
//!
//! Only accounts of this domain with this run's `source` are the sync's to change. An address
//! that belongs to anything else — a manual account, another domain's account, another
//! customer's — is a conflict: the directory's account (or alias) is skipped with a warning.
//!
//! An account is its directory object (`external_id`), not its address: an object whose
//! primary address changed is one `account_update` from the old address to the new
//! (`new_address`), its aliases and list members diffed against the same account — a rename,
//! not a delete and an add.

use super::expand::Scope;
use super::{RunRef, RunSpec};
use anyhow::{Context, Result};
use roster_core::account::{
    ARCHIVED_IN_GOOGLE, ARCHIVED_REMOVED, DISABLED_IN_DIRECTORY, ENABLED_AGAIN, EVERYONE_MEMBER,
    EVERYONE_REMOVED,
};
use roster_core::sync::{exceeded_limits, PlannedCounts};
use roster_core::OperationsLimits;
use sqlx::{PgPool, Postgres, Transaction};

/// How many accounts the sync owns in the domain now.
pub async fn synced_accounts(pool: &PgPool, spec: &RunSpec) -> Result<u64> {
    let n = sqlx::query_scalar!(
        r#"select count(*) as "n!" from accounts
           where organization_id = $1 and domain_id = $2 and source = $3"#,
        spec.run.organization_id,
        spec.domain_id,
        spec.source.as_str()
    )
    .fetch_one(pool)
    .await
    .context("counting synced accounts")?;
    Ok(u64::try_from(n)?)
}

/// How many of the sync's accounts in the domain are of objects the run's change round did
/// not touch.
pub async fn unchanged_accounts(pool: &PgPool, spec: &RunSpec) -> Result<u64> {
    let n = sqlx::query_scalar!(
        r#"select count(*) as "n!" from accounts a
           where a.organization_id = $1 and a.domain_id = $2 and a.source = $3
             and not exists (select 1 from sync_dirty d
                             where d.organization_id = $1 and d.run_id = $4
                               and d.external_id = a.external_id)"#,
        spec.run.organization_id,
        spec.domain_id,
        spec.source.as_str(),
        spec.run.run_id
    )
    .fetch_one(pool)
    .await
    .context("counting the accounts the changes leave alone")?;
    Ok(u64::try_from(n)?)
}

/// Writes the run's changes and warnings; returns their counts. With [`Scope::Changed`], only
/// the sync's accounts of the run's changed objects (`sync_dirty`) are compared with what was
/// staged for them; the others stand. A plan that goes beyond `limits` records a fingerprint
/// of the recipients it was made against, for "Apply these changes".
pub async fn plan(
    pool: &PgPool,
    spec: &RunSpec,
    scope: Scope,
    limits: &OperationsLimits,
    staged: u64,
) -> Result<PlannedCounts> {
    let mut tx = pool.begin().await.context("starting the plan")?;
    // One consistent view of the current recipients for the whole plan.
    sqlx::query("set transaction isolation level repeatable read")
        .execute(&mut *tx)
        .await
        .context("setting the plan's isolation")?;
    let RunRef {
        organization_id: org,
        run_id: run,
    } = spec.run;
    let (domain, source) = (spec.domain_id, spec.source.as_str());

    sqlx::query(
        r#"create temporary table plan_desired (
               address text primary key, external_id text unique, kind text, display_name text,
               enabled boolean, includes_everyone boolean, archived boolean, aliases text[],
               members text[])
               on commit drop"#,
    )
    .execute(&mut *tx)
    .await
    .context("creating the plan's tables")?;
    sqlx::query(
        "create temporary table plan_aliases (address text, alias text primary key) on commit drop",
    )
    .execute(&mut *tx)
    .await
    .context("creating the plan's tables")?;

    // The sync's current accounts, read once: everything below reads this table for them (a
    // plan restricted to some directory objects filters it and `plan_desired`, nothing else).
    sqlx::query(
        r#"create temporary table plan_current (
               id uuid primary key, external_id text unique, address text unique, kind text,
               display_name text, enabled boolean, includes_everyone boolean, archived boolean)
               on commit drop"#,
    )
    .execute(&mut *tx)
    .await
    .context("creating the plan's tables")?;
    sqlx::query(
        r#"insert into plan_current
           select a.id, a.external_id, a.address, a.kind, coalesce(a.display_name, ''), a.enabled,
                  a.includes_everyone, a.archived
           from accounts a
           where a.organization_id = $1 and a.domain_id = $2 and a.source = $3
             -- an incremental plan: only the accounts of the changed objects (and any
             -- account without an object id whose address was read)
             and ($4
                  or a.external_id in (select d.external_id from sync_dirty d
                                       where d.organization_id = $1 and d.run_id = $5)
                  or (a.external_id is null
                      and a.address in (select s.address from sync_staging s
                                        where s.organization_id = $1 and s.run_id = $5)))"#,
    )
    .bind(org)
    .bind(domain)
    .bind(source)
    .bind(scope == Scope::All)
    .bind(run)
    .execute(&mut *tx)
    .await
    .context("reading the synced accounts")?;
    if staged >= super::ANALYZE_FROM {
        // Just filled: without fresh statistics the planner takes it for empty and joins
        // row by row.
        analyze(&mut tx, "analyze sync_staging").await?;
    }

    // The desired accounts: staged rows whose address is free or already the sync's own. An
    // object read twice under two addresses (it changed while the directory was read) is
    // kept once, as its first address.
    sqlx::query(
        r#"insert into plan_desired
           select distinct on (s.external_id)
                  s.address, s.external_id, s.kind, s.display_name, s.enabled, s.includes_everyone,
                  s.archived, s.aliases, s.members
           from sync_staging s
           where s.organization_id = $1 and s.run_id = $2
             and not exists (
                 select 1 from addresses ad
                 join accounts a on a.organization_id = ad.organization_id and a.id = ad.account_id
                 where ad.address = s.address
                   and not (a.organization_id = $1 and a.domain_id = $3 and a.source = $4))
           order by s.external_id, s.address"#,
    )
    .bind(org)
    .bind(run)
    .bind(domain)
    .bind(source)
    .execute(&mut *tx)
    .await
    .context("choosing the desired accounts")?;
    // Temporary tables get no statistics but these.
    analyze(&mut tx, "analyze plan_current, plan_desired").await?;

    // Skipped accounts: whose address is someone else's.
    sqlx::query!(
        r#"insert into sync_run_warnings (organization_id, run_id, seq, kind, address, message, external_id)
           select $1, $2, row_number() over (order by s.address), 'address_conflict', s.address,
                  s.address || ' was not synced: it is already ' ||
                  case when a.organization_id <> $1 then 'in use by another customer of the service'
                       when a.domain_id = $3 and a.source = 'manual' then 'the address of a manual account of this domain'
                       when a.domain_id = $3 then 'the address of an account of this domain from another source (' || a.source || ')'
                       else 'the address of an account of ' || d.name end ||
                  case when a.organization_id = $1 and a.address <> s.address
                       then ' (an alias of ' || a.address || ')' else '' end || '.',
                  s.external_id
           from sync_staging s
           join addresses ad on ad.address = s.address
           join accounts a on a.organization_id = ad.organization_id and a.id = ad.account_id
           join domains d on d.organization_id = a.organization_id and d.id = a.domain_id
           where s.organization_id = $1 and s.run_id = $2
             and not (a.organization_id = $1 and a.domain_id = $3 and a.source = $4)"#,
        org,
        run,
        domain,
        source
    )
    .execute(&mut *tx)
    .await
    .context("recording address conflicts")?;

    // The desired aliases: free, or the sync's own, and not another desired account's address.
    sqlx::query(
        r#"insert into plan_aliases
           select distinct on (x.alias) x.address, x.alias
           from (select p.address, unnest(p.aliases) as alias from plan_desired p) x
           where not exists (select 1 from plan_desired o where o.address = x.alias)
             and not exists (
                 select 1 from addresses ad
                 join accounts a on a.organization_id = ad.organization_id and a.id = ad.account_id
                 where ad.address = x.alias
                   and not (a.organization_id = $1 and a.domain_id = $2 and a.source = $3))
           order by x.alias, x.address"#,
    )
    .bind(org)
    .bind(domain)
    .bind(source)
    .execute(&mut *tx)
    .await
    .context("choosing the desired aliases")?;
    analyze(&mut tx, "analyze plan_aliases").await?;
    sqlx::query(
        r#"insert into sync_run_warnings (organization_id, run_id, seq, kind, address, message, external_id)
           select $1, $2, (select coalesce(max(seq), 0) from sync_run_warnings where organization_id = $1 and run_id = $2)
                          + row_number() over (order by x.address, x.alias),
                  'alias_conflict', x.address,
                  'The alias ' || x.alias || ' of ' || x.address || ' was not synced: the address is already in use.',
                  x.external_id
           from (select p.address, p.external_id, unnest(p.aliases) as alias from plan_desired p) x
           where not exists (select 1 from plan_aliases k where k.alias = x.alias and k.address = x.address)"#
    )
    .bind(org)
    .bind(run)
    .execute(&mut *tx)
    .await
    .context("recording alias conflicts")?;

    sqlx::query(
        r#"insert into sync_run_warnings (organization_id, run_id, seq, kind, address, message, external_id)
           select $1, $2, (select coalesce(max(seq), 0) from sync_run_warnings where organization_id = $1 and run_id = $2)
                          + row_number() over (order by s.address),
                  'duplicate_object', s.address,
                  s.address || ' was not synced: the directory returned its object (id ' || s.external_id
                  || ') twice while it was read, also as ' || p.address || ', which was synced.',
                  s.external_id
           from sync_staging s
           join plan_desired p on p.external_id = s.external_id and p.address <> s.address
           where s.organization_id = $1 and s.run_id = $2
             -- one whose address is someone else's has its conflict warning already
             and not exists (
                 select 1 from addresses ad
                 join accounts a on a.organization_id = ad.organization_id and a.id = ad.account_id
                 where ad.address = s.address
                   and not (a.organization_id = $1 and a.domain_id = $3 and a.source = $4))"#,
    )
    .bind(org)
    .bind(run)
    .bind(domain)
    .bind(source)
    .execute(&mut *tx)
    .await
    .context("recording objects read twice")?;

    match_accounts(&mut tx, spec).await?;
    insert_changes(&mut tx, spec).await?;
    let counts = count(&mut tx, spec).await?;
    // Only a plan kept at the Operations Limit is ever applied later: only it needs the
    // (whole-domain) fingerprint.
    let print = if exceeded_limits(&counts, limits).is_empty() {
        None
    } else {
        Some(fingerprint(&mut tx, org, domain, source).await?)
    };
    tx.commit().await.context("committing the plan")?;
    // Written after the repeatable-read transaction: the lease renewal updates the run's row
    // meanwhile, and an update of it inside would fail as a serialization conflict.
    if let Some(print) = print {
        sqlx::query!(
            "update sync_runs set recipients_fingerprint = $3 where organization_id = $1 and id = $2",
            org,
            run,
            print
        )
        .execute(pool)
        .await
        .context("recording what the plan was made against")?;
    }
    Ok(counts)
}

/// Refreshes the planner's statistics of tables just filled in this transaction (it sees its
/// own rows).
async fn analyze(tx: &mut Transaction<'_, Postgres>, statement: &'static str) -> Result<()> {
    sqlx::query(statement)
        .execute(&mut **tx)
        .await
        .with_context(|| format!("running {statement}"))?;
    Ok(())
}

/// Pairs each current account with the desired account of the same directory object
/// (`plan_match`): by `external_id`, or — for accounts synced before Roster recorded object
/// ids — by address, if no account has that object's id. Those get their object id recorded
/// by the apply (`sync_run_identities`, unless the run is a Test Sync). A current account left unpaired is deleted; a
/// desired one left unpaired is added.
async fn match_accounts(tx: &mut Transaction<'_, Postgres>, spec: &RunSpec) -> Result<()> {
    sqlx::query(
        r#"create temporary table plan_match (
               id uuid primary key, address text unique) on commit drop"#,
    )
    .execute(&mut **tx)
    .await
    .context("creating the plan's tables")?;
    sqlx::query(
        r#"insert into plan_match
           select c.id, p.address from plan_current c join plan_desired p on p.external_id = c.external_id"#,
    )
    .execute(&mut **tx)
    .await
    .context("matching accounts by object id")?;
    sqlx::query(
        r#"insert into plan_match
           select c.id, p.address from plan_current c join plan_desired p on p.address = c.address
           where c.external_id is null
             and not exists (select 1 from plan_match m where m.address = p.address)"#,
    )
    .execute(&mut **tx)
    .await
    .context("matching accounts without an object id by address")?;
    analyze(tx, "analyze plan_match").await?;
    if spec.test {
        // Nothing of a Test Sync is applied.
        return Ok(());
    }
    sqlx::query(
        r#"insert into sync_run_identities (organization_id, run_id, address, external_id)
           select $1, $2, c.address, p.external_id
           from plan_current c
           join plan_match m on m.id = c.id
           join plan_desired p on p.address = m.address
           where c.external_id is null"#,
    )
    .bind(spec.run.organization_id)
    .bind(spec.run.run_id)
    .execute(&mut **tx)
    .await
    .context("recording the object ids of accounts matched by address")?;
    Ok(())
}

/// The changes, by matched account. Each row's `address` is the account's address when the
/// apply comes to it: the current one for account deletes, updates (and renames, whose
/// `new_address` is the desired one) and alias deletes, which are applied first; the desired
/// one for adds of accounts and aliases and for list members, applied after the renames.
///
/// An account is described as "name, kind", with ", disabled in the directory" when the
/// directory disabled it; one the directory enables again says so after the change. A flag that
/// changes alone is an `account_update` like a changed name: never an add or a delete.
///
/// A list whose members include everyone in the organization is described with ", members:
/// everyone in the organization"; when that goes, the after text says it was removed. That
/// flag changing is an `account_update` of the list too (not a member change: no member row
/// stands for everyone).
///
/// A user Google Workspace archived (still a recipient: Google accepts its mail) is described
/// with ", archived in Google Workspace"; when the mark goes, the after text says it is no
/// longer archived. That flag changing alone is one `account_update` too.
async fn insert_changes(tx: &mut Transaction<'_, Postgres>, spec: &RunSpec) -> Result<()> {
    let RunRef {
        organization_id: org,
        run_id: run,
    } = spec.run;
    sqlx::query(
        r#"insert into sync_run_changes
               (organization_id, run_id, seq, kind, address, item, before, after, new_display_name,
                new_kind, new_address, external_id, new_enabled, new_includes_everyone, new_archived)
           with matched as (
               select c.id, c.address as old_address, c.kind as old_kind,
                      c.display_name as old_display_name, c.enabled as old_enabled,
                      c.includes_everyone as old_everyone, c.archived as old_archived,
                      p.address, p.kind, p.display_name, p.enabled, p.includes_everyone as everyone,
                      p.archived
               from plan_current c
               join plan_match m on m.id = c.id
               join plan_desired p on p.address = m.address
           ),
           cur_aliases as (
               select c.id, c.address, ad.address as alias
               from plan_current c join addresses ad on ad.organization_id = $1 and ad.account_id = c.id
               where not ad.is_primary
           ),
           -- by the list's desired address
           cur_members as (
               select x.address, m.member
               from matched x join list_members m on m.organization_id = $1 and m.account_id = x.id
           ),
           desired_members as (
               select p.address, unnest(p.members) as member
               from plan_desired p where p.kind = 'distribution_list'
           ),
           changes as (
               select 1 as ord, 'account_delete' as kind, c.address, null::text as item,
                      c.display_name || ', ' || replace(c.kind, '_', ' ')
                          || case when not c.enabled then ', ' || $3 else '' end
                          || case when c.includes_everyone then ', ' || $5 else '' end
                          || case when c.archived then ', ' || $7 else '' end as before,
                      null::text as after,
                      null::text as new_display_name, null::text as new_kind,
                      null::text as new_address, null::text as external_id, null::boolean as new_enabled,
                      null::boolean as new_includes_everyone, null::boolean as new_archived
               from plan_current c where not exists (select 1 from plan_match m where m.id = c.id)
               union all
               select 2, 'account_update', x.old_address, null,
                      x.old_display_name || ', ' || replace(x.old_kind, '_', ' ')
                          || case when not x.old_enabled then ', ' || $3 else '' end
                          || case when x.old_everyone then ', ' || $5 else '' end
                          || case when x.old_archived then ', ' || $7 else '' end,
                      x.display_name || ', ' || replace(x.kind, '_', ' ')
                          || case when not x.enabled then ', ' || $3
                                  when not x.old_enabled then ', ' || $4 else '' end
                          || case when x.everyone then ', ' || $5
                                  when x.old_everyone then ', ' || $6 else '' end
                          || case when x.archived then ', ' || $7
                                  when x.old_archived then ', ' || $8 else '' end,
                      x.display_name, x.kind,
                      case when x.address <> x.old_address then x.address end, null, x.enabled,
                      x.everyone, x.archived
               from matched x
               where x.address <> x.old_address
                  or x.display_name is distinct from x.old_display_name or x.kind <> x.old_kind
                  or x.enabled <> x.old_enabled or x.everyone <> x.old_everyone
                  or x.archived <> x.old_archived
               union all
               select 3, 'account_add', p.address, null, null,
                      p.display_name || ', ' || replace(p.kind, '_', ' ')
                          || case when not p.enabled then ', ' || $3 else '' end
                          || case when p.includes_everyone then ', ' || $5 else '' end
                          || case when p.archived then ', ' || $7 else '' end,
                      p.display_name, p.kind, null, p.external_id, p.enabled, p.includes_everyone,
                      p.archived
               from plan_desired p where not exists (select 1 from plan_match m where m.address = p.address)
               union all
               select 4, 'alias_delete', x.address, x.alias, x.alias, null, null, null, null, null, null, null, null
               from cur_aliases x
               where not exists (
                   select 1 from plan_match m join plan_aliases k on k.address = m.address
                   where m.id = x.id and k.alias = x.alias)
               union all
               select 5, 'alias_add', k.address, k.alias, null, k.alias, null, null, null, null, null, null, null
               from plan_aliases k
               where not exists (
                   select 1 from plan_match m join cur_aliases x on x.id = m.id
                   where m.address = k.address and x.alias = k.alias)
               union all
               select 6, 'member_remove', m.address, m.member, m.member, null, null, null, null, null, null, null, null
               from cur_members m
               where not exists (select 1 from desired_members d where d.address = m.address and d.member = m.member)
               union all
               select 7, 'member_add', d.address, d.member, null, d.member, null, null, null, null, null, null, null
               from (select distinct address, member from desired_members) d
               where not exists (select 1 from cur_members m where m.address = d.address and m.member = d.member)
           )
           select $1, $2, row_number() over (order by ord, address, item), kind, address, item,
                  before, after, new_display_name, new_kind, new_address, external_id, new_enabled,
                  new_includes_everyone, new_archived
           from changes"#
    )
    .bind(org)
    .bind(run)
    .bind(DISABLED_IN_DIRECTORY)
    .bind(ENABLED_AGAIN)
    .bind(EVERYONE_MEMBER)
    .bind(EVERYONE_REMOVED)
    .bind(ARCHIVED_IN_GOOGLE)
    .bind(ARCHIVED_REMOVED)
    .execute(&mut **tx)
    .await
    .context("planning the changes")?;
    Ok(())
}

async fn count(tx: &mut Transaction<'_, Postgres>, spec: &RunSpec) -> Result<PlannedCounts> {
    let row = sqlx::query!(
        r#"select
               count(*) filter (where kind = 'account_add') as "accounts_added!",
               count(*) filter (where kind = 'account_delete') as "accounts_deleted!",
               count(*) filter (where kind = 'account_update' and new_address is null) as "accounts_updated!",
               count(*) filter (where kind = 'account_update' and new_address is not null) as "accounts_renamed!",
               count(*) filter (where kind = 'alias_add') as "aliases_added!",
               count(*) filter (where kind = 'alias_delete') as "aliases_deleted!",
               count(distinct address) filter (where kind in ('member_add', 'member_remove')) as "lists_changed!",
               count(*) filter (where kind = 'member_add') as "members_added!",
               count(*) filter (where kind = 'member_remove') as "members_removed!"
           from sync_run_changes where organization_id = $1 and run_id = $2"#,
        spec.run.organization_id,
        spec.run.run_id
    )
    .fetch_one(&mut **tx)
    .await
    .context("counting the planned changes")?;
    let n = |v: i64| u64::try_from(v).unwrap_or_default();
    Ok(PlannedCounts {
        accounts_added: n(row.accounts_added),
        accounts_deleted: n(row.accounts_deleted),
        accounts_updated: n(row.accounts_updated),
        accounts_renamed: n(row.accounts_renamed),
        aliases_added: n(row.aliases_added),
        aliases_deleted: n(row.aliases_deleted),
        lists_changed: n(row.lists_changed),
        members_added: n(row.members_added),
        members_removed: n(row.members_removed),
    })
}

/// A digest of the domain's synced recipients — accounts (address, kind, name, object id,
/// disabled or not),
/// aliases and list members — so a kept plan can tell whether they changed since it was made.
/// The object id counts because the plan pairs accounts by it; an account without one adds
/// nothing, so digests made before object ids were recorded still match (and an enabled
/// account adds nothing for its flag, so digests made before it existed match too; likewise a
/// list's "everyone in the organization", which adds ` everyone` only when set, and an
/// account's "archived in Google Workspace", which adds ` archived` only when set).
pub async fn fingerprint(
    conn: &mut sqlx::PgConnection,
    org: uuid::Uuid,
    domain: uuid::Uuid,
    source: &str,
) -> Result<String> {
    sqlx::query_scalar!(
        r#"select md5(coalesce(string_agg(x, E'\n' order by x), '')) as "print!" from (
               select 'a ' || a.address || ' ' || a.kind || ' ' || coalesce(a.display_name, '')
                      || coalesce(' #' || a.external_id, '')
                      || case when a.enabled then '' else ' disabled' end
                      || case when a.includes_everyone then ' everyone' else '' end
                      || case when a.archived then ' archived' else '' end as x
               from accounts a
               where a.organization_id = $1 and a.domain_id = $2 and a.source = $3
               union all
               select 'd ' || a.address || ' ' || ad.address
               from accounts a
               join addresses ad on ad.organization_id = a.organization_id and ad.account_id = a.id
               where a.organization_id = $1 and a.domain_id = $2 and a.source = $3 and not ad.is_primary
               union all
               select 'm ' || a.address || ' ' || m.member
               from accounts a
               join list_members m on m.organization_id = a.organization_id and m.account_id = a.id
               where a.organization_id = $1 and a.domain_id = $2 and a.source = $3
           ) t"#,
        org,
        domain,
        source
    )
    .fetch_one(&mut *conn)
    .await
    .context("fingerprinting the synced recipients")
}
