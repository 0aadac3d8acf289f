//! Plan: the staged directory against the domain's current synced recipients, as rows of
//! `sync_run_changes` (and `sync_run_warnings` for what is skipped). Set-based: a handful of
//! `INSERT … SELECT` statements whatever the size of the directory.
//!
//! Only accounts of this domain with this run's `source` are the sync's to change. An address
//! that belongs to anything else — a manual account, another domain's account, another
//! customer's — is a conflict: the directory's account (or alias) is skipped with a warning.

use super::{RunRef, RunSpec};
use anyhow::{Context, Result};
use super::expand::Scope;
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
        spec.source
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
        spec.source,
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
               address text primary key, external_id text, kind text, display_name text,
               aliases text[], members text[]) on commit drop"#,
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

    // The desired accounts: staged rows whose address is free or already the sync's own.
    sqlx::query(
        r#"insert into plan_desired
           select s.address, s.external_id, s.kind, s.display_name, s.aliases, s.members
           from sync_staging s
           where s.organization_id = $1 and s.run_id = $2
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
    .context("choosing the desired accounts")?;

    // Skipped accounts: whose address is someone else's.
    sqlx::query!(
        r#"insert into sync_run_warnings (organization_id, run_id, seq, kind, address, message)
           select $1, $2, row_number() over (order by s.address), 'address_conflict', s.address,
                  s.address || ' was not synced: it is already ' ||
                  case when a.organization_id <> $1 then 'in use by another customer of the service'
                       when a.domain_id = $3 and a.source = 'manual' then 'the address of a manual account of this domain'
                       when a.domain_id = $3 then 'the address of an account of this domain from another source (' || a.source || ')'
                       else 'the address of an account of ' || d.name end ||
                  case when a.organization_id = $1 and a.address <> s.address
                       then ' (an alias of ' || a.address || ')' else '' end || '.'
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
    sqlx::query(
        r#"insert into sync_run_warnings (organization_id, run_id, seq, kind, address, message)
           select $1, $2, (select coalesce(max(seq), 0) from sync_run_warnings where organization_id = $1 and run_id = $2)
                          + row_number() over (order by x.address, x.alias),
                  'alias_conflict', x.address,
                  'The alias ' || x.alias || ' of ' || x.address || ' was not synced: the address is already in use.'
           from (select p.address, unnest(p.aliases) as alias from plan_desired p) x
           where not exists (select 1 from plan_aliases k where k.alias = x.alias and k.address = x.address)"#
    )
    .bind(org)
    .bind(run)
    .execute(&mut *tx)
    .await
    .context("recording alias conflicts")?;

    insert_changes(&mut tx, spec, scope).await?;
    let counts = count(&mut tx, spec).await?;
    // Only a plan kept at the Operations Limit is ever applied later: only it needs the
    // (whole-domain) fingerprint.
    if !exceeded_limits(&counts, limits).is_empty() {
        let print = fingerprint(&mut tx, org, domain, source).await?;
        sqlx::query!(
            "update sync_runs set recipients_fingerprint = $3 where organization_id = $1 and id = $2",
            org,
            run,
            print
        )
        .execute(&mut *tx)
        .await
        .context("recording what the plan was made against")?;
    }
    tx.commit().await.context("committing the plan")?;
    Ok(counts)
}

async fn insert_changes(
    tx: &mut Transaction<'_, Postgres>,
    spec: &RunSpec,
    scope: Scope,
) -> Result<()> {
    let RunRef {
        organization_id: org,
        run_id: run,
    } = spec.run;
    sqlx::query(
        r#"insert into sync_run_changes
               (organization_id, run_id, seq, kind, address, item, before, after, new_display_name, new_kind)
           with cur as (
               select a.id, a.address, a.kind, coalesce(a.display_name, '') as display_name
               from accounts a
               where a.organization_id = $1 and a.domain_id = $3 and a.source = $4
                 and ($5 or a.external_id in (select d.external_id from sync_dirty d
                                              where d.organization_id = $1 and d.run_id = $2))
           ),
           cur_aliases as (
               select c.address, ad.address as alias
               from cur c join addresses ad on ad.organization_id = $1 and ad.account_id = c.id
               where not ad.is_primary
           ),
           cur_members as (
               select c.address, m.member
               from cur c join list_members m on m.organization_id = $1 and m.account_id = c.id
           ),
           desired_members as (
               select p.address, unnest(p.members) as member
               from plan_desired p where p.kind = 'distribution_list'
           ),
           changes as (
               select 1 as ord, 'account_delete' as kind, c.address, null::text as item,
                      c.display_name || ', ' || replace(c.kind, '_', ' ') as before, null::text as after,
                      null::text as new_display_name, null::text as new_kind
               from cur c where not exists (select 1 from plan_desired p where p.address = c.address)
               union all
               select 2, 'account_update', c.address, null,
                      c.display_name || ', ' || replace(c.kind, '_', ' '),
                      p.display_name || ', ' || replace(p.kind, '_', ' '),
                      p.display_name, p.kind
               from cur c join plan_desired p on p.address = c.address
               where p.display_name is distinct from c.display_name or p.kind <> c.kind
               union all
               select 3, 'account_add', p.address, null, null,
                      p.display_name || ', ' || replace(p.kind, '_', ' '),
                      p.display_name, p.kind
               from plan_desired p where not exists (select 1 from cur c where c.address = p.address)
               union all
               select 4, 'alias_delete', x.address, x.alias, x.alias, null, null, null
               from cur_aliases x
               where not exists (select 1 from plan_aliases k where k.address = x.address and k.alias = x.alias)
               union all
               select 5, 'alias_add', k.address, k.alias, null, k.alias, null, null
               from plan_aliases k
               where not exists (select 1 from cur_aliases x where x.address = k.address and x.alias = k.alias)
               union all
               select 6, 'member_remove', m.address, m.member, m.member, null, null, null
               from cur_members m
               where exists (select 1 from plan_desired p where p.address = m.address)
                 and not exists (select 1 from desired_members d where d.address = m.address and d.member = m.member)
               union all
               select 7, 'member_add', d.address, d.member, null, d.member, null, null
               from (select distinct address, member from desired_members) d
               where not exists (select 1 from cur_members m where m.address = d.address and m.member = d.member)
           )
           select $1, $2, row_number() over (order by ord, address, item), kind, address, item,
                  before, after, new_display_name, new_kind
           from changes"#
    )
    .bind(org)
    .bind(run)
    .bind(spec.domain_id)
    .bind(spec.source.as_str())
    .bind(scope == Scope::All)
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
               count(*) filter (where kind = 'account_update') as "accounts_updated!",
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
        aliases_added: n(row.aliases_added),
        aliases_deleted: n(row.aliases_deleted),
        lists_changed: n(row.lists_changed),
        members_added: n(row.members_added),
        members_removed: n(row.members_removed),
    })
}

/// A digest of the domain's synced recipients — accounts (address, kind, name), aliases and
/// list members — so a kept plan can tell whether they changed since it was made.
pub async fn fingerprint(
    conn: &mut sqlx::PgConnection,
    org: uuid::Uuid,
    domain: uuid::Uuid,
    source: &str,
) -> Result<String> {
    sqlx::query_scalar!(
        r#"select md5(coalesce(string_agg(x, E'\n' order by x), '')) as "print!" from (
               select 'a ' || a.address || ' ' || a.kind || ' ' || coalesce(a.display_name, '') as x
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
