//! Incremental sync against the emulator's Graph delta queries and a real Postgres: a second
//! sync reads only what changed, what saves the resume point and what doesn't, when Roster
//! reads everything again, nested lists expanded from the mirror, and a property-style test
//! that random directory changes synced incrementally give what a full read gives.

#![allow(clippy::unwrap_used)]

use crate::sync_engine::{applied, directory, expected, rules, setup, tenant, Setup, DOMAIN};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use roster_core::sync::PlannedCounts;
use roster_core::{ExcludePatterns, OperationLimit, OperationsLimits};
use roster_m365_emulator::changes::RemovalReason;
use roster_m365_emulator::model::{Group, User};
use roster_m365_emulator::tenant::Tenant;
use roster_m365_emulator::{FaultConfig, RunningEmulator};
use roster_server::sync::Outcome;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// How the run read the directory: `full` or `changes`.
async fn read_kind(s: &Setup, run: Uuid) -> String {
    sqlx::query_scalar("select read_kind from sync_runs where id = $1")
        .bind(run)
        .fetch_one(&s.app.pool)
        .await
        .unwrap()
}

/// The saved resume point and when the last full round was.
async fn saved(s: &Setup) -> Option<(serde_json::Value, String)> {
    sqlx::query_as(
        "select resume, full_round_at::text from directory_sync_state where domain_id = $1",
    )
    .bind(s.domain)
    .fetch_optional(&s.app.pool)
    .await
    .unwrap()
}

async fn sync_run(s: &Setup, dir: &dyn roster_core::Directory) -> (Uuid, Outcome) {
    s.sync_with(dir, &rules(), &OperationsLimits::default(), false)
        .await
}

/// The run's page, as the admin's browser gets it.
async fn run_page(s: &Setup, run: Uuid) -> String {
    let url = format!("{}/domains/{}/sync/runs/{run}", s.app.address, s.domain);
    let response = s.admin.client.get(url).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.text().await.unwrap()
}

fn graph_requests(emu: &RunningEmulator) -> u64 {
    emu.state().counter_snapshot().graph
}

/// Edits the emulator's tenant.
fn edit<T>(emu: &RunningEmulator, id: &str, f: impl FnOnce(&mut Tenant) -> T) -> T {
    let mut d = emu.state().directory_mut();
    f(d.resolve_mut(id).unwrap())
}

fn new_user(id: &str, local: &str, aliases: &[&str]) -> User {
    let mut proxies = vec![format!("SMTP:{local}@{DOMAIN}")];
    proxies.extend(aliases.iter().map(|a| format!("smtp:{a}@{DOMAIN}")));
    serde_json::from_value(json!({
        "id": id,
        "displayName": format!("User {local}"),
        "userPrincipalName": format!("{local}@{DOMAIN}"),
        "mail": format!("{local}@{DOMAIN}"),
        "proxyAddresses": proxies,
    }))
    .unwrap()
}

fn new_list(id: &str, local: &str, mail_enabled: bool, members: &[&str]) -> Group {
    serde_json::from_value(json!({
        "id": id,
        "displayName": format!("List {local}"),
        "mail": if mail_enabled { Some(format!("{local}@{DOMAIN}")) } else { None },
        "proxyAddresses": if mail_enabled { vec![format!("SMTP:{local}@{DOMAIN}")] } else { vec![] },
        "mailEnabled": mail_enabled,
        "securityEnabled": !mail_enabled,
        "members": members,
    }))
    .unwrap()
}

/// Ids of users with a mailbox in the domain.
fn domain_users(emu: &RunningEmulator, id: &str) -> Vec<String> {
    edit(emu, id, |t| {
        t.users
            .values()
            .filter(|u| u.user_type == "Member")
            .filter(|u| u.mail.as_deref().is_some_and(|m| m.ends_with(DOMAIN)))
            .map(|u| u.id.clone())
            .collect()
    })
}

#[sqlx::test(migrations = "../migrations")]
async fn a_second_sync_reads_only_what_changed(pool: PgPool) {
    let (emu, id) = tenant(2000, 100).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    let (first, outcome) = sync_run(&s, &dir).await;
    applied(&outcome);
    assert_eq!(read_kind(&s, first).await, "full");
    assert!(
        saved(&s).await.is_some(),
        "an applied run saves its resume point"
    );

    // Nothing changed: three delta requests, nothing written.
    let before = s.snapshot().await;
    emu.state().reset_counters();
    let (again, outcome) = sync_run(&s, &dir).await;
    assert_eq!(applied(&outcome), PlannedCounts::default());
    assert_eq!(read_kind(&s, again).await, "changes");
    assert_eq!(graph_requests(&emu), 3, "one request per delta link");
    assert_eq!(
        s.snapshot().await,
        before,
        "a no-op sync wrote recipient rows"
    );
    assert!(run_page(&s, first).await.contains("The whole directory"));
    assert!(run_page(&s, again)
        .await
        .contains("Only what changed since the last sync"));

    // A few changes: a new user, a user gone, a list member gone.
    let users = domain_users(&emu, &id);
    let list_with_member = edit(&emu, &id, |t| {
        t.add_user(new_user(
            "00000000-0000-4000-8000-0000000000a1",
            "newcomer",
            &["nc"],
        ))
        .unwrap();
        t.delete_user(&users[0], RemovalReason::Deleted).unwrap();
        let (gid, member) = t
            .groups
            .values()
            .filter(|g| g.mail_enabled && g.mail.as_deref().is_some_and(|m| m.ends_with(DOMAIN)))
            .find_map(|g| {
                g.members
                    .iter()
                    .find(|m| t.users.contains_key(*m))
                    .map(|m| (g.id.clone(), m.clone()))
            })
            .unwrap();
        t.remove_member(&gid, &member).unwrap();
        gid
    });
    emu.state().reset_counters();
    let (third, outcome) = sync_run(&s, &dir).await;
    let counts = applied(&outcome);
    assert_eq!(read_kind(&s, third).await, "changes");
    assert!(
        graph_requests(&emu) <= 6,
        "{} requests",
        graph_requests(&emu)
    );
    assert_eq!(counts.accounts_added, 1, "{counts:?}");
    assert_eq!(counts.accounts_deleted, 1, "{counts:?}");
    assert!(counts.members_removed >= 1, "{counts:?}");
    assert!(!list_with_member.is_empty());
    assert_eq!(s.stored().await, expected(&dir, &rules()).await);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_test_sync_or_a_run_stopped_at_a_limit_saves_no_resume_point(pool: PgPool) {
    let (emu, id) = tenant(300, 20).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    applied(&sync_run(&s, &dir).await.1);
    let synced = s.stored().await;
    let point = saved(&s).await.unwrap();
    let users = domain_users(&emu, &id);
    edit(&emu, &id, |t| {
        for u in &users[..3] {
            t.delete_user(u, RemovalReason::Deleted).unwrap();
        }
    });

    let (_, outcome) = s
        .sync_with(&dir, &rules(), &OperationsLimits::default(), true)
        .await;
    let Outcome::Planned(planned) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(planned.accounts_deleted, 3, "{planned:?}");
    assert_eq!(
        saved(&s).await.unwrap(),
        point,
        "a Test Sync moved the resume point"
    );

    let limits = OperationsLimits {
        account_delete: OperationLimit::new(Some(0)).unwrap(),
        ..OperationsLimits::default()
    };
    let (_, outcome) = s.sync_with(&dir, &rules(), &limits, false).await;
    assert!(matches!(outcome, Outcome::LimitExceeded(..)), "{outcome:?}");
    assert_eq!(saved(&s).await.unwrap(), point);
    assert_eq!(s.stored().await, synced, "nothing applied");

    // The next run reads the same changes again, and applies them.
    let (run, outcome) = sync_run(&s, &dir).await;
    assert_eq!(applied(&outcome).accounts_deleted, 3);
    assert_eq!(read_kind(&s, run).await, "changes");
    assert_ne!(saved(&s).await.unwrap().0, point.0, "an applied run saves");
    assert_eq!(s.stored().await, expected(&dir, &rules()).await);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_expired_delta_token_reads_everything_again(pool: PgPool) {
    let (emu, id) = tenant(300, 20).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    applied(&sync_run(&s, &dir).await.1);
    for status in [410, 400] {
        emu.state().set_faults(FaultConfig {
            delta_token_error_status: status,
            ..FaultConfig::default()
        });
        let users = domain_users(&emu, &id);
        edit(&emu, &id, |t| {
            t.delete_user(&users[0], RemovalReason::Deleted).unwrap();
            t.changes.invalidate_tokens();
        });
        let (run, outcome) = sync_run(&s, &dir).await;
        assert_eq!(applied(&outcome).accounts_deleted, 1, "{status}");
        assert_eq!(read_kind(&s, run).await, "full", "{status}");
        assert_eq!(s.stored().await, expected(&dir, &rules()).await);
        // And the run after resumes from the new links.
        let (run, outcome) = sync_run(&s, &dir).await;
        assert_eq!(applied(&outcome), PlannedCounts::default());
        assert_eq!(read_kind(&s, run).await, "changes");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn everything_is_read_again_once_a_week(pool: PgPool) {
    let (emu, id) = tenant(200, 10).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    applied(&sync_run(&s, &dir).await.1);
    sqlx::query("update directory_sync_state set full_round_at = now() - interval '8 days'")
        .execute(&s.app.pool)
        .await
        .unwrap();
    let (run, outcome) = sync_run(&s, &dir).await;
    assert_eq!(applied(&outcome), PlannedCounts::default());
    assert_eq!(read_kind(&s, run).await, "full");
    let recent: bool = sqlx::query_scalar(
        "select full_round_at > now() - interval '1 minute' from directory_sync_state",
    )
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert!(recent);
    let (run, _) = sync_run(&s, &dir).await;
    assert_eq!(read_kind(&s, run).await, "changes");
}

#[sqlx::test(migrations = "../migrations")]
async fn new_exclude_records_apply_to_every_account_without_a_full_read(pool: PgPool) {
    let (emu, id) = tenant(300, 20).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    applied(&sync_run(&s, &dir).await.1);
    let excluding =
        rules().with_exclude(ExcludePatterns::parse_lines("a*@litware.example").unwrap());
    let (run, outcome) = s
        .sync_with(&dir, &excluding, &OperationsLimits::default(), false)
        .await;
    let counts = applied(&outcome);
    assert!(counts.accounts_deleted > 0, "{counts:?}");
    assert_eq!(read_kind(&s, run).await, "changes");
    assert_eq!(s.stored().await, expected(&dir, &excluding).await);
    // Under the same rules, the next run has nothing to do.
    let (_, outcome) = s
        .sync_with(&dir, &excluding, &OperationsLimits::default(), false)
        .await;
    assert_eq!(applied(&outcome), PlannedCounts::default());
}

#[sqlx::test(migrations = "../migrations")]
async fn nested_lists_with_a_cycle_are_expanded_from_the_mirror(pool: PgPool) {
    let (emu, id) = tenant(30, 0).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    let (a, b, c) = (
        "00000000-0000-4000-8000-00000000aaaa",
        "00000000-0000-4000-8000-00000000bbbb",
        "00000000-0000-4000-8000-00000000cccc",
    );
    let users = domain_users(&emu, &id);
    edit(&emu, &id, |t| {
        // A (list) ⊃ B (security group, no mail) ⊃ C (list) ⊃ A.
        t.add_group(new_list(a, "list-a", true, &[users[0].as_str()]))
            .unwrap();
        t.add_group(new_list(b, "group-b", false, &[users[1].as_str()]))
            .unwrap();
        t.add_group(new_list(c, "list-c", true, &[users[2].as_str()]))
            .unwrap();
        t.add_member(a, b).unwrap();
        t.add_member(b, c).unwrap();
        t.add_member(c, a).unwrap();
    });
    applied(&sync_run(&s, &dir).await.1);
    let want = expected(&dir, &rules()).await;
    assert_eq!(s.stored().await, want);
    let members_of_a = want
        .iter()
        .filter(|r| r.starts_with(&format!("member list-a@{DOMAIN} ")))
        .count();
    assert_eq!(members_of_a, 3, "{want:?}");

    // A new member of B reaches both lists through the nesting, in a change round.
    edit(&emu, &id, |t| t.add_member(b, &users[3]).unwrap());
    let (run, outcome) = sync_run(&s, &dir).await;
    let counts = applied(&outcome);
    assert_eq!(read_kind(&s, run).await, "changes");
    assert_eq!(counts.members_added, 2, "{counts:?}");
    assert_eq!(s.stored().await, expected(&dir, &rules()).await);
}

/// One random edit of the directory, of the kinds a real one sees.
fn random_edit(t: &mut Tenant, rng: &mut StdRng, serial: &mut u32) {
    *serial += 1;
    let n = *serial;
    let users: Vec<String> = t
        .users
        .values()
        .filter(|u| u.user_type == "Member")
        .map(|u| u.id.clone())
        .collect();
    let groups: Vec<String> = t.groups.keys().cloned().collect();
    match rng.gen_range(0..10) {
        // A new user with an alias.
        0 => {
            let id = format!("00000000-0000-4000-9000-{n:012}");
            let local = format!("new{n}");
            let alias = format!("alias{n}");
            t.add_user(new_user(&id, &local, &[alias.as_str()]))
                .unwrap();
        }
        // A user leaves.
        1 => {
            if let Some(u) = users.choose(rng) {
                t.delete_user(u, RemovalReason::Deleted).unwrap();
            }
        }
        // A rename: a new primary address, the old one kept as an alias (or dropped).
        2 => {
            if let Some(u) = users.choose(rng) {
                let mut user = t.users[u].clone();
                let local = format!("renamed{n}");
                let keep_old = rng.gen_bool(0.5);
                let mut proxies: Vec<String> = user
                    .proxy_addresses
                    .iter()
                    .filter(|p| !p.starts_with("SMTP:"))
                    .cloned()
                    .collect();
                if keep_old {
                    if let Some(old) = &user.mail {
                        proxies.push(format!("smtp:{old}"));
                    }
                }
                proxies.insert(0, format!("SMTP:{local}@{DOMAIN}"));
                user.mail = Some(format!("{local}@{DOMAIN}"));
                user.proxy_addresses = proxies;
                user.display_name = Some(format!("Renamed {n}"));
                t.update_user(user).unwrap();
            }
        }
        // An alias added or removed.
        3 => {
            if let Some(u) = users.choose(rng) {
                let mut user = t.users[u].clone();
                let aliases: Vec<usize> = (0..user.proxy_addresses.len())
                    .filter(|i| user.proxy_addresses[*i].starts_with("smtp:"))
                    .collect();
                if let (Some(i), true) = (aliases.choose(rng), rng.gen_bool(0.5)) {
                    user.proxy_addresses.remove(*i);
                } else {
                    user.proxy_addresses.push(format!("smtp:extra{n}@{DOMAIN}"));
                }
                t.update_user(user).unwrap();
            }
        }
        // Membership: a user joins or leaves a group.
        4 | 5 => {
            if let (Some(g), Some(u)) = (groups.choose(rng), users.choose(rng)) {
                if t.groups[g].members.contains(u) {
                    t.remove_member(g, u).unwrap();
                } else {
                    t.add_member(g, u).unwrap();
                }
            }
        }
        // Nesting: a group joins or leaves another.
        6 => {
            if let (Some(g), Some(h)) = (groups.choose(rng), groups.choose(rng)) {
                if g != h {
                    if t.groups[g].members.contains(h) {
                        t.remove_member(g, h).unwrap();
                    } else {
                        t.add_member(g, h).unwrap();
                    }
                }
            }
        }
        // A new list with a few members.
        7 => {
            let id = format!("00000000-0000-4000-a000-{n:012}");
            let members: Vec<&str> = users.choose_multiple(rng, 3).map(String::as_str).collect();
            t.add_group(new_list(&id, &format!("list{n}"), true, &members))
                .unwrap();
        }
        // A user is disabled, or enabled again.
        8 => {
            if let Some(u) = users.choose(rng) {
                let mut user = t.users[u].clone();
                user.account_enabled = !user.account_enabled;
                t.update_user(user).unwrap();
            }
        }
        // A list is deleted.
        _ => {
            if let Some(g) = groups.choose(rng) {
                t.delete_group(g, RemovalReason::Deleted).unwrap();
            }
        }
    }
}

/// Property-style: several rounds of random adds, deletes, renames, alias edits, accounts
/// disabled and enabled again, membership and nesting changes; after each, the incremental
/// sync leaves exactly the recipients a full read of the directory gives (through the other
/// Graph path: lists and transitiveMembers).
#[sqlx::test(migrations = "../migrations")]
async fn random_changes_synced_incrementally_equal_a_full_read(pool: PgPool) {
    let (emu, id) = tenant(400, 40).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    applied(&sync_run(&s, &dir).await.1);
    let mut rng = StdRng::seed_from_u64(20261203);
    let mut serial = 0;
    for round in 0..8 {
        let edits = rng.gen_range(5..40);
        edit(&emu, &id, |t| {
            for _ in 0..edits {
                random_edit(t, &mut rng, &mut serial);
            }
        });
        let (run, outcome) = sync_run(&s, &dir).await;
        applied(&outcome);
        assert_eq!(read_kind(&s, run).await, "changes", "round {round}");
        assert_eq!(
            s.stored().await,
            expected(&dir, &rules()).await,
            "round {round}: the incremental sync differs from a full read"
        );
        // And the engine's own full read, planned against what the change rounds left,
        // finds nothing to change (a Test Sync: it saves nothing).
        let last_full: String =
            sqlx::query_scalar("select full_round_at::text from directory_sync_state")
                .fetch_one(&s.app.pool)
                .await
                .unwrap();
        sqlx::query("update directory_sync_state set full_round_at = now() - interval '8 days'")
            .execute(&s.app.pool)
            .await
            .unwrap();
        let (run, outcome) = s
            .sync_with(&dir, &rules(), &OperationsLimits::default(), true)
            .await;
        assert_eq!(read_kind(&s, run).await, "full");
        assert!(
            matches!(outcome, Outcome::Planned(c) if c == PlannedCounts::default()),
            "round {round}: a full read would change {outcome:?}"
        );
        sqlx::query("update directory_sync_state set full_round_at = $1::timestamptz")
            .bind(last_full)
            .execute(&s.app.pool)
            .await
            .unwrap();
    }
}
