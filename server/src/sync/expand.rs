//! From the mirror to staging: the objects a plan covers, normalized for the domain with
//! their lists' members expanded from the mirrored direct memberships (nested groups
//! followed by a recursive query whose `union` stops at cycles), written to `sync_staging`
//! in pages — the same rows the plan always read.
//!
//! A list includes everyone in the directory (Google's `CUSTOMER` member) when it or any group
//! nested in it, at any depth, says so (`directory_objects.includes_everyone`): found by the
//! same recursive query, and staged as the list's flag — never as member rows. A nested
//! group's change reaches the lists that contain it like any change ([`close_over_lists`]).
//!
//! A plan covers either every mirrored object ([`Scope::All`]: a full round, or rules that
//! changed) or only the run's changed objects and the lists that contain them, however deep
//! ([`Scope::Changed`]).

use super::{stage, RunSpec};
use anyhow::{Context, Result};
use roster_core::directory::{
    normalize, DirectoryMember, MemberKind, MirrorKind, MirrorObject, ObjectKind,
};
use roster_core::{DomainRules, EmailAddress};
use std::collections::{HashMap, HashSet};

/// Which objects a plan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Changed,
}

/// Objects normalized per page.
const PAGE: i64 = 2_000;

/// A mirrored object as read to be planned.
struct Row {
    external_id: String,
    kind: String,
    display_name: Option<String>,
    mail: Option<String>,
    proxy_addresses: Vec<String>,
    account_enabled: bool,
    guest: bool,
    mail_enabled: bool,
    security_enabled: bool,
    unified: bool,
    includes_everyone: bool,
    archived: bool,
}

/// Adds to the run's changed objects those the domain's last applied sync skipped with a
/// warning (an address in the way — a manual account, another domain's — may be free now).
pub async fn retry_skipped(pool: &sqlx::PgPool, spec: &RunSpec) -> Result<u64> {
    let added = sqlx::query!(
        r#"insert into sync_dirty (organization_id, run_id, external_id)
           select distinct $1::uuid, $2::uuid, w.external_id from sync_run_warnings w
           where w.organization_id = $1 and w.external_id is not null
             and w.run_id = (select r.id from sync_runs r
                             where r.organization_id = $1 and r.domain_id = $3
                               and r.status = 'applied'
                             order by r.queued_at desc limit 1)
           on conflict do nothing"#,
        spec.run.organization_id,
        spec.run.run_id,
        spec.domain_id
    )
    .execute(pool)
    .await
    .context("planning again what the last sync skipped")?
    .rows_affected();
    Ok(added)
}

/// Adds to the run's changed objects every group that contains one, at any depth.
pub async fn close_over_lists(pool: &sqlx::PgPool, spec: &RunSpec) -> Result<u64> {
    let added = sqlx::query!(
        r#"insert into sync_dirty (organization_id, run_id, external_id)
           with recursive up(id) as (
               select d.external_id from sync_dirty d
               where d.organization_id = $1 and d.run_id = $2
               union
               select m.group_id from directory_members m join up on m.member_id = up.id
               where m.organization_id = $1 and m.domain_id = $3
           )
           select $1, $2, id from up
           on conflict do nothing"#,
        spec.run.organization_id,
        spec.run.run_id,
        spec.domain_id
    )
    .execute(pool)
    .await
    .context("finding the lists that contain the changed objects")?
    .rows_affected();
    Ok(added)
}

/// Normalizes the objects in `scope` into staging; returns how many accounts it staged.
pub async fn stage_from_mirror(
    pool: &sqlx::PgPool,
    spec: &RunSpec,
    rules: &DomainRules,
    scope: Scope,
) -> Result<u64> {
    let (org, run, domain) = (spec.run.organization_id, spec.run.run_id, spec.domain_id);
    let mut after = String::new();
    let mut staged = 0u64;
    let (mut reading, mut expanding, mut staging) = Default::default();
    let time =
        |total: &mut std::time::Duration, since: std::time::Instant| *total += since.elapsed();
    loop {
        let clock = std::time::Instant::now();
        // Only objects that may become accounts: users that are not guests, lists. A change
        // round's plan starts from its (few) changed objects, not from the whole mirror.
        let rows: Vec<Row> = match scope {
            Scope::All => sqlx::query_as!(
                Row,
                r#"select o.external_id, o.kind, o.display_name, o.mail, o.proxy_addresses,
                          o.account_enabled, o.guest, o.mail_enabled, o.security_enabled, o.unified,
                          o.includes_everyone, o.archived
                   from directory_objects o
                   where o.organization_id = $1 and o.domain_id = $2 and o.external_id > $3
                     and ((o.kind = 'user' and not o.guest) or (o.kind = 'group' and o.mail_enabled))
                   order by o.external_id
                   limit $4"#,
                org,
                domain,
                after,
                PAGE
            )
            .fetch_all(pool)
            .await,
            Scope::Changed => sqlx::query_as!(
                Row,
                r#"select o.external_id, o.kind, o.display_name, o.mail, o.proxy_addresses,
                          o.account_enabled, o.guest, o.mail_enabled, o.security_enabled, o.unified,
                          o.includes_everyone, o.archived
                   from sync_dirty d
                   join directory_objects o on o.organization_id = d.organization_id
                        and o.domain_id = $2 and o.external_id = d.external_id
                   where d.organization_id = $1 and d.run_id = $5 and d.external_id > $3
                     and ((o.kind = 'user' and not o.guest) or (o.kind = 'group' and o.mail_enabled))
                   order by d.external_id
                   limit $4"#,
                org,
                domain,
                after,
                PAGE,
                run
            )
            .fetch_all(pool)
            .await,
        }
        .context("reading mirrored objects to plan")?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.external_id.clone();
        let objects: Vec<MirrorObject> = rows
            .into_iter()
            .filter_map(|r| {
                Some(MirrorObject {
                    kind: MirrorKind::parse(&r.kind)?,
                    external_id: r.external_id,
                    display_name: r.display_name,
                    mail: r.mail,
                    proxy_addresses: r.proxy_addresses,
                    account_enabled: r.account_enabled,
                    guest: r.guest,
                    mail_enabled: r.mail_enabled,
                    security_enabled: r.security_enabled,
                    unified: r.unified,
                    includes_everyone: r.includes_everyone,
                    archived: r.archived,
                })
            })
            .collect();
        // Lists: only those with an account in the domain need their members.
        let lists: Vec<&str> = objects
            .iter()
            .filter(|o| o.kind == MirrorKind::Group)
            .filter(|o| normalize(&o.to_object(Vec::new()), rules).is_some())
            .map(|o| o.external_id.as_str())
            .collect();
        time(&mut reading, clock);
        let clock = std::time::Instant::now();
        let (mut members, everyone) = list_members(pool, spec, &lists).await?;
        time(&mut expanding, clock);
        let clock = std::time::Instant::now();
        let accounts: Vec<_> = objects
            .iter()
            .filter_map(|o| {
                let of_list = members.remove(&o.external_id).unwrap_or_default();
                let mut object = o.to_object(of_list);
                if let ObjectKind::Group {
                    includes_everyone, ..
                } = &mut object.kind
                {
                    // Its own flag, or a nested group's.
                    *includes_everyone |= everyone.contains(&o.external_id);
                }
                normalize(&object, rules)
            })
            .collect();
        staged += stage::stage(pool, spec.run, &accounts).await?;
        time(&mut staging, clock);
    }
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    tracing::info!(run_id = %run, ?scope, staged, reading_ms = ms(reading), expanding_ms = ms(expanding),
        normalizing_and_staging_ms = ms(staging), "planned objects staged");
    Ok(staged)
}

/// The transitive members with an address (users and contacts) of each of `lists`, and
/// those of `lists` that nest (at any depth) a group whose members include everyone.
async fn list_members(
    pool: &sqlx::PgPool,
    spec: &RunSpec,
    lists: &[&str],
) -> Result<(HashMap<String, Vec<DirectoryMember>>, HashSet<String>)> {
    let mut members: HashMap<String, Vec<DirectoryMember>> = HashMap::new();
    let mut everyone: HashSet<String> = HashSet::new();
    if lists.is_empty() {
        return Ok((members, everyone));
    }
    // A page's expansion is many small index joins: compiling it (JIT, which its estimated
    // cost triggers) takes longer than running it, page after page.
    let mut tx = pool.begin().await.context("expanding list members")?;
    sqlx::query("set local jit = off")
        .execute(&mut *tx)
        .await
        .context("expanding list members")?;
    let rows = sqlx::query!(
        r#"with recursive reach(root, id) as (
               select m.group_id, m.member_id from directory_members m
               where m.organization_id = $1 and m.domain_id = $2 and m.group_id = any($3)
               union
               select r.root, m.member_id from reach r
               join directory_members m on m.organization_id = $1 and m.domain_id = $2
                                       and m.group_id = r.id
           )
           select r.root as "root!", o.external_id, o.kind, o.primary_address as address
           from reach r
           join directory_objects o on o.organization_id = $1 and o.domain_id = $2 and o.external_id = r.id
           where (o.kind in ('user', 'contact') and o.primary_address is not null)
              or (o.kind = 'group' and o.includes_everyone)"#,
        spec.run.organization_id,
        spec.domain_id,
        lists as &[&str]
    )
    .fetch_all(&mut *tx)
    .await
    .context("expanding list members")?;
    tx.commit().await.context("expanding list members")?;
    for r in rows {
        if r.kind == "group" {
            everyone.insert(r.root);
            continue;
        }
        let Some(Ok(address)) = r.address.as_deref().map(EmailAddress::parse) else {
            continue;
        };
        let kind = match r.kind.as_str() {
            "contact" => MemberKind::Contact,
            _ => MemberKind::User,
        };
        members.entry(r.root).or_default().push(DirectoryMember {
            external_id: r.external_id,
            kind,
            address: Some(address),
        });
    }
    Ok((members, everyone))
}
