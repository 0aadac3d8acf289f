//! The mirror of a domain's directory (`directory_objects`, `directory_members`): each page of
//! a change round is written to it as it arrives, a few set-based statements per page.
//!
//! The mirror may run ahead of the saved resume state (a Test Sync, a failed or limit-stopped
//! run wrote its round but saved nothing): the next round replays those changes from the
//! saved state, and replaying a change onto a mirror that already has it changes nothing. So
//! the mirror is written as it is read, and only the resume state waits for an applied run.
//!
//! A group's "members include everyone in the directory" ([`ObjectPatch::includes_everyone`])
//! is stored with it (`directory_objects.includes_everyone`): a change of it touches the group
//! like any other property. So is a user's "archived in Google Workspace"
//! ([`ObjectPatch::archived`], `directory_objects.archived`).
//!
//! In a change round, every object touched — and every group that held an object removed —
//! goes into `sync_dirty`: what the run's plan covers ([`super::expand`] adds the lists that
//! contain them). A full round marks what it sees and ends by dropping the rest
//! ([`end_full_round`]).
//!
//! Every statement writes only while the run is `running` under this worker's lease, so a
//! worker that lost its run can't overwrite the mirror behind the one that took it over.

use std::collections::{BTreeSet, HashMap};

use super::RunSpec;
use anyhow::{Context, Result};
use roster_core::directory::{
    ChangePage, Collection, MirrorKind, MirrorObject, ObjectChange, ObjectPatch,
};
use serde::Serialize;
use sqlx::PgPool;

/// What one page says of one object, its changes in page order folded together.
enum Folded {
    Present {
        kind: MirrorKind,
        patches: Vec<ObjectPatch>,
        added: BTreeSet<String>,
        removed: BTreeSet<String>,
    },
    Removed,
}

/// A row of `directory_objects` as written.
#[derive(Serialize)]
struct ObjectRow<'a> {
    external_id: &'a str,
    kind: &'a str,
    display_name: Option<&'a str>,
    mail: Option<&'a str>,
    proxy_addresses: &'a [String],
    account_enabled: bool,
    guest: bool,
    mail_enabled: bool,
    security_enabled: bool,
    unified: bool,
    includes_everyone: bool,
    archived: bool,
    primary_address: Option<String>,
}

#[derive(Serialize)]
struct MemberRow<'a> {
    group_id: &'a str,
    member_id: &'a str,
}

/// Writes one page of a round to the mirror; `full` for a full round. Returns how many
/// objects the page held.
pub async fn write_page(
    pool: &PgPool,
    spec: &RunSpec,
    full: bool,
    page: ChangePage,
) -> Result<usize> {
    let objects = page.changes.len();
    // In a full round only a group comes back (its next chunk of members): others need no
    // read of what the round already wrote.
    let may_repeat = !full || page.collection == Collection::Groups;
    // Fold the page per object (an object may appear more than once), in page order.
    let mut order: Vec<String> = Vec::new();
    let mut folded: HashMap<String, Folded> = HashMap::new();
    for change in page.changes {
        match change {
            ObjectChange::Removed { external_id } => {
                if !folded.contains_key(&external_id) {
                    order.push(external_id.clone());
                }
                folded.insert(external_id, Folded::Removed);
            }
            ObjectChange::Present {
                external_id,
                kind,
                patch,
                members_added,
                members_removed,
            } => {
                let entry = match folded.get_mut(&external_id) {
                    Some(Folded::Present { .. }) => folded.get_mut(&external_id),
                    // New, or back after a removal in the same page.
                    _ => {
                        if !folded.contains_key(&external_id) {
                            order.push(external_id.clone());
                        }
                        folded.insert(
                            external_id.clone(),
                            Folded::Present {
                                kind,
                                patches: Vec::new(),
                                added: BTreeSet::new(),
                                removed: BTreeSet::new(),
                            },
                        );
                        folded.get_mut(&external_id)
                    }
                };
                if let Some(Folded::Present {
                    patches,
                    added,
                    removed,
                    ..
                }) = entry
                {
                    patches.push(patch);
                    for m in members_added {
                        removed.remove(&m);
                        added.insert(m);
                    }
                    for m in members_removed {
                        added.remove(&m);
                        removed.insert(m);
                    }
                }
            }
        }
    }
    let present: Vec<&str> = order
        .iter()
        .filter(|id| matches!(folded.get(*id), Some(Folded::Present { .. })))
        .map(String::as_str)
        .collect();
    let gone: Vec<&str> = order
        .iter()
        .filter(|id| matches!(folded.get(*id), Some(Folded::Removed)))
        .map(String::as_str)
        .collect();

    let base = if may_repeat {
        current(pool, spec, full, &present).await?
    } else {
        HashMap::new()
    };
    let mut merged: Vec<MirrorObject> = Vec::with_capacity(present.len());
    let mut members_added: Vec<MemberRow<'_>> = Vec::new();
    let mut members_removed: Vec<MemberRow<'_>> = Vec::new();
    for id in &present {
        let Some(Folded::Present {
            kind,
            patches,
            added,
            removed,
        }) = folded.get(*id)
        else {
            continue;
        };
        let mut object = base
            .get(*id)
            .filter(|o| o.kind == *kind)
            .cloned()
            .unwrap_or_else(|| MirrorObject::new((*id).to_owned(), *kind));
        for patch in patches {
            object.apply(patch);
        }
        merged.push(object);
        members_added.extend(added.iter().map(|m| MemberRow {
            group_id: id,
            member_id: m,
        }));
        members_removed.extend(removed.iter().map(|m| MemberRow {
            group_id: id,
            member_id: m,
        }));
    }
    let rows: Vec<ObjectRow<'_>> = merged
        .iter()
        .map(|o| ObjectRow {
            external_id: &o.external_id,
            kind: o.kind.as_str(),
            display_name: o.display_name.as_deref(),
            mail: o.mail.as_deref(),
            proxy_addresses: &o.proxy_addresses,
            account_enabled: o.account_enabled,
            guest: o.guest,
            mail_enabled: o.mail_enabled,
            security_enabled: o.security_enabled,
            unified: o.unified,
            includes_everyone: o.includes_everyone,
            archived: o.archived,
            primary_address: o.primary_address().map(|a| a.as_str().to_owned()),
        })
        .collect();

    let (org, run, domain) = (spec.run.organization_id, spec.run.run_id, spec.domain_id);
    let owner = spec.lease.owner();
    let seen = full.then_some(run);
    let mut tx = pool.begin().await.context("starting to mirror a page")?;
    if !gone.is_empty() {
        if !full {
            // The lists that held a removed object change too.
            sqlx::query!(
                r#"insert into sync_dirty (organization_id, run_id, external_id)
                   select $1, $2, m.group_id from directory_members m
                   where m.organization_id = $1 and m.domain_id = $3 and m.member_id = any($4)
                   on conflict do nothing"#,
                org,
                run,
                domain,
                &gone as &[&str]
            )
            .execute(&mut *tx)
            .await
            .context("noting the lists of removed objects")?;
        }
        sqlx::query!(
            r#"delete from directory_members m
               where m.organization_id = $1 and m.domain_id = $2
                 and (m.member_id = any($3) or m.group_id = any($3))
                 and exists (select 1 from sync_runs r where r.organization_id = $1 and r.id = $4
                             and r.status = 'running' and r.lease_owner = $5)"#,
            org,
            domain,
            &gone as &[&str],
            run,
            owner
        )
        .execute(&mut *tx)
        .await
        .context("removing the memberships of removed objects")?;
        sqlx::query!(
            r#"delete from directory_objects o
               where o.organization_id = $1 and o.domain_id = $2 and o.external_id = any($3)
                 and exists (select 1 from sync_runs r where r.organization_id = $1 and r.id = $4
                             and r.status = 'running' and r.lease_owner = $5)"#,
            org,
            domain,
            &gone as &[&str],
            run,
            owner
        )
        .execute(&mut *tx)
        .await
        .context("removing objects from the mirror")?;
    }
    if !rows.is_empty() {
        sqlx::query!(
            r#"insert into directory_objects (organization_id, domain_id, external_id, kind, display_name,
                   mail, proxy_addresses, account_enabled, guest, mail_enabled, security_enabled, unified,
                   includes_everyone, archived, primary_address, seen_run_id)
               select $1, $2, r.external_id, r.kind, r.display_name, r.mail, coalesce(r.proxy_addresses, '{}'),
                      r.account_enabled, r.guest, r.mail_enabled, r.security_enabled, r.unified,
                      r.includes_everyone, r.archived, r.primary_address, $4
               from jsonb_to_recordset($3) as r(external_id text, kind text, display_name text, mail text,
                    proxy_addresses text[], account_enabled boolean, guest boolean, mail_enabled boolean,
                    security_enabled boolean, unified boolean, includes_everyone boolean, archived boolean, primary_address text)
               where exists (select 1 from sync_runs x where x.organization_id = $1 and x.id = $5
                             and x.status = 'running' and x.lease_owner = $6)
               on conflict (organization_id, domain_id, external_id) do update set
                   kind = excluded.kind, display_name = excluded.display_name, mail = excluded.mail,
                   proxy_addresses = excluded.proxy_addresses, account_enabled = excluded.account_enabled,
                   guest = excluded.guest, mail_enabled = excluded.mail_enabled,
                   security_enabled = excluded.security_enabled, unified = excluded.unified,
                   includes_everyone = excluded.includes_everyone, archived = excluded.archived,
                   primary_address = excluded.primary_address,
                   seen_run_id = coalesce(excluded.seen_run_id, directory_objects.seen_run_id)"#,
            org,
            domain,
            serde_json::to_value(&rows)?,
            seen,
            run,
            owner
        )
        .execute(&mut *tx)
        .await
        .context("mirroring objects")?;
    }
    if !members_removed.is_empty() {
        sqlx::query!(
            r#"delete from directory_members m
               using jsonb_to_recordset($3) as r(group_id text, member_id text)
               where m.organization_id = $1 and m.domain_id = $2
                 and m.group_id = r.group_id and m.member_id = r.member_id
                 and exists (select 1 from sync_runs x where x.organization_id = $1 and x.id = $4
                             and x.status = 'running' and x.lease_owner = $5)"#,
            org,
            domain,
            serde_json::to_value(&members_removed)?,
            run,
            owner
        )
        .execute(&mut *tx)
        .await
        .context("mirroring removed memberships")?;
    }
    if !members_added.is_empty() {
        sqlx::query!(
            r#"insert into directory_members (organization_id, domain_id, group_id, member_id, seen_run_id)
               select $1, $2, r.group_id, r.member_id, $4
               from jsonb_to_recordset($3) as r(group_id text, member_id text)
               where exists (select 1 from sync_runs x where x.organization_id = $1 and x.id = $5
                             and x.status = 'running' and x.lease_owner = $6)
               on conflict (organization_id, domain_id, group_id, member_id) do update
                   set seen_run_id = coalesce(excluded.seen_run_id, directory_members.seen_run_id)"#,
            org,
            domain,
            serde_json::to_value(&members_added)?,
            seen,
            run,
            owner
        )
        .execute(&mut *tx)
        .await
        .context("mirroring added memberships")?;
    }
    if !full {
        let touched: Vec<&str> = present.iter().chain(gone.iter()).copied().collect();
        sqlx::query!(
            r#"insert into sync_dirty (organization_id, run_id, external_id)
               select $1, $2, unnest($3::text[])
               on conflict do nothing"#,
            org,
            run,
            &touched as &[&str]
        )
        .execute(&mut *tx)
        .await
        .context("noting the changed objects")?;
    }
    tx.commit().await.context("mirroring a page")?;
    Ok(objects)
}

/// The mirrored state of `ids` to apply a page's patches to. In a full round only what this
/// round already wrote counts (a group whose members span pages); older state is replaced.
async fn current(
    pool: &PgPool,
    spec: &RunSpec,
    full: bool,
    ids: &[&str],
) -> Result<HashMap<String, MirrorObject>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        r#"select external_id, kind, display_name, mail, proxy_addresses, account_enabled, guest,
                  mail_enabled, security_enabled, unified, includes_everyone, archived
           from directory_objects
           where organization_id = $1 and domain_id = $2 and external_id = any($3)
             and (not $4 or seen_run_id = $5)"#,
        spec.run.organization_id,
        spec.domain_id,
        ids as &[&str],
        full,
        spec.run.run_id
    )
    .fetch_all(pool)
    .await
    .context("reading mirrored objects")?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let kind = MirrorKind::parse(&r.kind)?;
            Some((
                r.external_id.clone(),
                MirrorObject {
                    external_id: r.external_id,
                    kind,
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
                },
            ))
        })
        .collect())
}

/// Ends a full round read to its end: what it did not see is no longer in the directory.
pub async fn end_full_round(pool: &PgPool, spec: &RunSpec) -> Result<()> {
    let (org, run, domain) = (spec.run.organization_id, spec.run.run_id, spec.domain_id);
    let owner = spec.lease.owner();
    let mut tx = pool.begin().await.context("ending a full round")?;
    sqlx::query!(
        r#"delete from directory_members m
           where m.organization_id = $1 and m.domain_id = $2 and m.seen_run_id is distinct from $3
             and exists (select 1 from sync_runs x where x.organization_id = $1 and x.id = $3
                         and x.status = 'running' and x.lease_owner = $4)"#,
        org,
        domain,
        run,
        owner
    )
    .execute(&mut *tx)
    .await
    .context("dropping memberships no longer in the directory")?;
    sqlx::query!(
        r#"delete from directory_objects o
           where o.organization_id = $1 and o.domain_id = $2 and o.seen_run_id is distinct from $3
             and exists (select 1 from sync_runs x where x.organization_id = $1 and x.id = $3
                         and x.status = 'running' and x.lease_owner = $4)"#,
        org,
        domain,
        run,
        owner
    )
    .execute(&mut *tx)
    .await
    .context("dropping objects no longer in the directory")?;
    tx.commit().await.context("ending a full round")?;
    Ok(())
}

/// Forgets a run's changed objects (its plan is made, or it failed).
pub async fn clear_dirty(pool: &PgPool, spec_run: super::RunRef) -> Result<()> {
    sqlx::query!(
        "delete from sync_dirty where organization_id = $1 and run_id = $2",
        spec_run.organization_id,
        spec_run.run_id
    )
    .execute(pool)
    .await
    .context("clearing a run's changed objects")?;
    Ok(())
}
