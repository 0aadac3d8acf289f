//! A synced account is its directory object (`external_id`), not its address: a changed
//! primary address is one rename, a primary address and an alias swap, addresses move between
//! users in one run, and accounts synced before object ids were recorded are matched by
//! address and get theirs. Against the Microsoft 365 emulator and a real Postgres.

#![allow(clippy::unwrap_used)]

use crate::helpers::{connect_to_tenant, generated_tenant};
use crate::sync_engine::{applied, directory, lease, rules, setup, Setup, DOMAIN};
use app::model::{ChangeRow, Paged};
use roster_core::sync::PlannedCounts;
use roster_core::SyncSource;
use roster_core::{OperationLimit, OperationsLimits};
use roster_m365_emulator::model::{Group, User};
use roster_m365_emulator::tenant::Tenant;
use roster_m365_emulator::RunningEmulator;
use roster_server::sync::{self, NewRun, Outcome, RunRef};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

fn at(local: &str) -> String {
    format!("{local}@{DOMAIN}")
}

/// The directory object id of test object `n`.
fn oid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// User `n` with its primary address and aliases (local parts in the domain).
fn user(n: u32, name: &str, primary: &str, aliases: &[&str]) -> User {
    let mut proxies = vec![format!("SMTP:{}", at(primary))];
    proxies.extend(aliases.iter().map(|a| format!("smtp:{}", at(a))));
    serde_json::from_value(serde_json::json!({
        "id": oid(n),
        "displayName": name,
        "userPrincipalName": at(&format!("user{n}")),
        "mail": at(primary),
        "proxyAddresses": proxies,
    }))
    .unwrap()
}

/// Distribution list `n` with users `members` (their numbers).
fn list(n: u32, name: &str, primary: &str, members: &[u32]) -> Group {
    serde_json::from_value(serde_json::json!({
        "id": oid(n),
        "displayName": name,
        "mail": at(primary),
        "proxyAddresses": [format!("SMTP:{}", at(primary))],
        "groupTypes": [],
        "mailEnabled": true,
        "securityEnabled": false,
        "members": members.iter().map(|m| oid(*m)).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// A tenant with only these objects in the domain.
async fn tenant_with(edit: impl FnOnce(&mut Tenant)) -> (RunningEmulator, String) {
    let (emu, id) = generated_tenant(0, 0, &[DOMAIN], 3).await;
    change(&emu, &id, edit);
    (emu, id)
}

fn change(emu: &RunningEmulator, tenant: &str, edit: impl FnOnce(&mut Tenant)) {
    let mut d = emu.state().directory_mut();
    edit(d.resolve_mut(tenant).unwrap());
}

fn set<const N: usize>(locals: [&str; N]) -> BTreeSet<String> {
    locals.iter().map(|l| at(l)).collect()
}

/// A synced account as stored: its row id, primary address (checked against its primary
/// `addresses` row) and aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    id: Uuid,
    address: String,
    aliases: BTreeSet<String>,
}

/// A row of [`accounts`]: object id, row id, address, primary address row, aliases.
type AccountRow = (Option<String>, Uuid, String, Option<String>, Vec<String>);

/// The domain's synced accounts by object id (each has one).
async fn accounts(s: &Setup) -> BTreeMap<Option<String>, Stored> {
    let rows: Vec<AccountRow> = sqlx::query_as(
        r#"select a.external_id, a.id, a.address,
                  max(ad.address) filter (where ad.is_primary),
                  coalesce(array_agg(ad.address) filter (where not ad.is_primary), '{}')
           from accounts a left join addresses ad on ad.account_id = a.id
           where a.domain_id = $1 and a.source = 'office365'
           group by a.organization_id, a.id"#,
    )
    .bind(s.domain)
    .fetch_all(&s.app.pool)
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    for (external_id, id, address, primary, aliases) in rows {
        assert_eq!(primary.as_ref(), Some(&address), "the primary address row");
        let stored = Stored {
            id,
            address,
            aliases: aliases.into_iter().collect(),
        };
        assert!(
            out.insert(external_id.clone(), stored).is_none(),
            "two accounts of object {external_id:?}"
        );
    }
    out
}

async fn members(s: &Setup, list: &str) -> BTreeSet<String> {
    sqlx::query_scalar(
        "select m.member from list_members m join accounts a on a.id = m.account_id where a.address = $1",
    )
    .bind(list)
    .fetch_all(&s.app.pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// A run's account changes: (kind, address, new address).
async fn account_changes(s: &Setup, run: Uuid) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        r#"select kind, address, new_address from sync_run_changes
           where run_id = $1 and kind like 'account_%' order by seq"#,
    )
    .bind(run)
    .fetch_all(&s.app.pool)
    .await
    .unwrap()
}

/// As if the domain's accounts were synced before object ids were recorded (and so before
/// Roster kept a mirror of the directory: the next sync reads everything).
async fn forget_object_ids(s: &Setup) {
    sqlx::query("update accounts set external_id = null where domain_id = $1")
        .bind(s.domain)
        .execute(&s.app.pool)
        .await
        .unwrap();
    for forget in [
        "delete from directory_sync_state where domain_id = $1",
        "delete from directory_members where domain_id = $1",
        "delete from directory_objects where domain_id = $1",
    ] {
        sqlx::query(forget)
            .bind(s.domain)
            .execute(&s.app.pool)
            .await
            .unwrap();
    }
}

/// Each synced account's object id and row id, sorted.
async fn ids(s: &Setup) -> Vec<(Option<String>, Uuid)> {
    let mut ids: Vec<(Option<String>, Uuid)> =
        sqlx::query_as("select external_id, id from accounts where domain_id = $1")
            .bind(s.domain)
            .fetch_all(&s.app.pool)
            .await
            .unwrap();
    ids.sort();
    ids
}

fn zero_limits() -> OperationsLimits {
    let zero = OperationLimit::new(Some(0)).unwrap();
    OperationsLimits {
        account_add: zero,
        account_delete: zero,
        alias_add: zero,
        alias_delete: zero,
        total: zero,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_changed_primary_address_is_one_rename_that_no_add_or_delete_limit_stops(pool: PgPool) {
    let (emu, tenant) = tenant_with(|t| {
        t.add_user(user(1, "Adele Vance", "adele", &["av"]))
            .unwrap();
        t.add_user(user(2, "Bob Kelly", "bob", &[])).unwrap();
        t.add_group(list(3, "Team", "team", &[1, 2])).unwrap();
    })
    .await;
    let s = setup(pool).await;
    let dir = directory(&emu, &tenant);
    assert_eq!(applied(&s.sync(&dir).await).accounts_added, 3);
    let before = accounts(&s).await;
    assert_eq!(before.len(), 3, "{before:?}");
    let adele = before[&Some(oid(1))].clone();
    assert_eq!(
        (adele.address.as_str(), &adele.aliases),
        (at("adele").as_str(), &set(["av"]))
    );

    change(&emu, &tenant, |t| {
        t.update_user(user(1, "Adele Vance", "adele.vance", &["av"]))
            .unwrap()
    });
    // Every limit at zero: a rename is no add, delete or alias change.
    let (run, outcome) = s.sync_with(&dir, &rules(), &zero_limits(), false).await;
    assert_eq!(
        applied(&outcome),
        PlannedCounts {
            accounts_renamed: 1,
            lists_changed: 1,
            members_added: 1,
            members_removed: 1,
            ..PlannedCounts::default()
        }
    );
    let after = accounts(&s).await;
    assert_eq!(
        after[&Some(oid(1))],
        Stored {
            id: adele.id,
            address: at("adele.vance"),
            aliases: set(["av"]),
        },
        "the same account, renamed, its alias kept"
    );
    assert_eq!(after[&Some(oid(2))], before[&Some(oid(2))]);
    assert_eq!(
        members(&s, &at("team")).await,
        set(["adele.vance", "bob"]),
        "the list's members follow the new address"
    );
    assert_eq!(
        account_changes(&s, run).await,
        vec![(
            "account_update".to_owned(),
            at("adele"),
            Some(at("adele.vance"))
        )]
    );
    let summary: String = sqlx::query_scalar("select summary from sync_runs where id = $1")
        .bind(run)
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert!(summary.contains("1 account renamed"), "{summary}");

    // The run page and its CSV show a rename, from the old address to the new.
    let page: Paged<ChangeRow> = s
        .admin
        .ok(
            "list_run_changes",
            &[
                ("domain_id", &s.domain.to_string()),
                ("run_id", &run.to_string()),
                ("kind", "account_update"),
                ("search", "adele.vance"),
                ("page", "1"),
            ],
        )
        .await;
    assert_eq!(page.total, 1);
    assert_eq!(page.rows[0].label(), "Account renamed");
    assert_eq!(
        page.rows[0].address_text(),
        format!("{} → {}", at("adele"), at("adele.vance"))
    );
    let csv = s
        .admin
        .get(&format!(
            "/domains/{}/sync/runs/{run}/changes.csv",
            s.domain
        ))
        .await
        .text()
        .await
        .unwrap();
    let line = format!(
        "Account renamed,{},,\"Adele Vance, mailbox\",\"Adele Vance, mailbox\",{}",
        at("adele"),
        at("adele.vance")
    );
    assert!(csv.lines().any(|l| l == line), "{csv}");

    assert_eq!(applied(&s.sync(&dir).await), PlannedCounts::default());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_primary_address_and_an_alias_swap(pool: PgPool) {
    let (emu, tenant) = tenant_with(|t| {
        t.add_user(user(1, "Pat", "pat", &["alex"])).unwrap();
        t.add_group(list(2, "Everyone", "everyone", &[1])).unwrap();
    })
    .await;
    let s = setup(pool).await;
    let dir = directory(&emu, &tenant);
    applied(&s.sync(&dir).await);
    let pat = accounts(&s).await[&Some(oid(1))].clone();

    change(&emu, &tenant, |t| {
        t.update_user(user(1, "Pat", "alex", &["pat"])).unwrap()
    });
    let (run, outcome) = s
        .sync_with(&dir, &rules(), &OperationsLimits::default(), false)
        .await;
    assert_eq!(
        applied(&outcome),
        PlannedCounts {
            accounts_renamed: 1,
            aliases_added: 1,
            aliases_deleted: 1,
            lists_changed: 1,
            members_added: 1,
            members_removed: 1,
            ..PlannedCounts::default()
        }
    );
    assert_eq!(
        accounts(&s).await[&Some(oid(1))],
        Stored {
            id: pat.id,
            address: at("alex"),
            aliases: set(["pat"]),
        }
    );
    assert_eq!(members(&s, &at("everyone")).await, set(["alex"]));
    assert_eq!(
        account_changes(&s, run).await,
        vec![("account_update".to_owned(), at("pat"), Some(at("alex")))]
    );
    assert_eq!(applied(&s.sync(&dir).await), PlannedCounts::default());
}

#[sqlx::test(migrations = "../migrations")]
async fn addresses_move_between_users_in_one_run(pool: PgPool) {
    let (emu, tenant) = tenant_with(|t| {
        t.add_user(user(1, "One", "one", &["x"])).unwrap();
        t.add_user(user(2, "Two", "two", &[])).unwrap();
        t.add_user(user(3, "Three", "three", &["three.alias"]))
            .unwrap();
        t.add_user(user(4, "Four", "four", &[])).unwrap();
        t.add_user(user(5, "Five", "five", &[])).unwrap();
        t.add_group(list(6, "All", "all", &[1, 2, 4, 5])).unwrap();
    })
    .await;
    let s = setup(pool).await;
    let dir = directory(&emu, &tenant);
    applied(&s.sync(&dir).await);
    let before = accounts(&s).await;

    change(&emu, &tenant, |t| {
        // User 1 is renamed and loses its alias; user 2 gains both: the alias of one user and
        // the primary address of another become aliases of a third.
        t.update_user(user(1, "One", "one.new", &[])).unwrap();
        t.update_user(user(2, "Two", "two", &["x", "one"])).unwrap();
        // Users 4 and 5 swap their primary addresses.
        t.update_user(user(4, "Four", "four.tmp", &[])).unwrap();
        t.update_user(user(5, "Five", "four", &[])).unwrap();
        t.update_user(user(4, "Four", "five", &[])).unwrap();
        // User 3 leaves; a new user 7 takes its addresses.
        t.delete_user(
            &oid(3),
            roster_m365_emulator::changes::RemovalReason::Deleted,
        )
        .unwrap();
        t.add_user(user(7, "Seven", "three", &["three.alias"]))
            .unwrap();
    });
    let (run, outcome) = s
        .sync_with(&dir, &rules(), &OperationsLimits::default(), false)
        .await;
    assert_eq!(
        applied(&outcome),
        PlannedCounts {
            accounts_added: 1,
            accounts_deleted: 1,
            accounts_renamed: 3,
            aliases_added: 3,
            aliases_deleted: 2,
            lists_changed: 1,
            members_added: 1,
            members_removed: 1,
            ..PlannedCounts::default()
        }
    );
    let after = accounts(&s).await;
    let kept = |n: u32, address: &str, aliases: BTreeSet<String>| Stored {
        id: before[&Some(oid(n))].id,
        address: at(address),
        aliases,
    };
    assert_eq!(after[&Some(oid(1))], kept(1, "one.new", set([])));
    assert_eq!(after[&Some(oid(2))], kept(2, "two", set(["one", "x"])));
    assert_eq!(after[&Some(oid(4))], kept(4, "five", set([])));
    assert_eq!(after[&Some(oid(5))], kept(5, "four", set([])));
    assert!(!after.contains_key(&Some(oid(3))));
    let seven = &after[&Some(oid(7))];
    assert_ne!(
        seven.id,
        before[&Some(oid(3))].id,
        "another object: another account"
    );
    assert_eq!(
        (seven.address.as_str(), &seven.aliases),
        (at("three").as_str(), &set(["three.alias"]))
    );
    assert_eq!(
        members(&s, &at("all")).await,
        set(["one.new", "two", "four", "five"])
    );
    let changes = account_changes(&s, run).await;
    for (old, new) in [("one", "one.new"), ("four", "five"), ("five", "four")] {
        assert!(
            changes.contains(&("account_update".to_owned(), at(old), Some(at(new)))),
            "{changes:?}"
        );
    }
    assert_eq!(applied(&s.sync(&dir).await), PlannedCounts::default());
}

#[sqlx::test(migrations = "../migrations")]
async fn accounts_synced_without_object_ids_are_matched_by_address_and_get_them(pool: PgPool) {
    let (emu, tenant) = tenant_with(|t| {
        t.add_user(user(1, "Ann", "ann", &[])).unwrap();
        t.add_user(user(2, "Ben", "ben", &["b"])).unwrap();
    })
    .await;
    let s = setup(pool).await;
    let dir = directory(&emu, &tenant);
    applied(&s.sync(&dir).await);
    let synced = accounts(&s).await;
    let all_recorded = synced
        .iter()
        .map(|(external_id, a)| (external_id.clone(), a.id))
        .collect::<Vec<_>>();
    forget_object_ids(&s).await;
    let unrecorded = || {
        let mut v: Vec<(Option<String>, Uuid)> = synced.values().map(|a| (None, a.id)).collect();
        v.sort();
        v
    };

    // A Test Sync matches them and changes nothing, not even their object ids.
    let (_, planned) = s
        .sync_with(&dir, &rules(), &OperationsLimits::default(), true)
        .await;
    assert_eq!(planned, Outcome::Planned(PlannedCounts::default()));
    assert_eq!(ids(&s).await, unrecorded());

    // A plan kept at the Operations Limit (a new user) matches them too…
    change(&emu, &tenant, |t| {
        t.add_user(user(3, "Cy", "cy", &[])).unwrap()
    });
    let (kept, outcome) = s.sync_with(&dir, &rules(), &zero_limits(), false).await;
    let Outcome::LimitExceeded(counts, _) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        counts,
        PlannedCounts {
            accounts_added: 1,
            ..PlannedCounts::default()
        }
    );
    assert_eq!(ids(&s).await, unrecorded());

    // …and applying it ("Apply these changes", as the worker runs it for the domain's tenant)
    // records their object ids, and the new account's.
    let org = s.admin.organization_id;
    connect_to_tenant(&s.app.pool, org, s.domain, DOMAIN, &tenant, &s.admin.email).await;
    let kept_run = RunRef {
        organization_id: org,
        run_id: kept,
    };
    sync::record_tenant(&s.app.pool, kept_run, &tenant)
        .await
        .unwrap();
    let applying = sync::enqueue(
        &s.app.pool,
        &NewRun {
            organization_id: org,
            domain_id: s.domain,
            source: SyncSource::Office365,
            test: false,
            requested_by: Some(&s.admin.email),
            applies_run_id: Some(kept),
        },
    )
    .await
    .unwrap();
    let spec = sync::start(
        &s.app.pool,
        RunRef {
            organization_id: org,
            run_id: applying,
        },
        &lease(),
    )
    .await
    .unwrap()
    .unwrap();
    sync::record_tenant(&s.app.pool, spec.run, &tenant)
        .await
        .unwrap();
    let outcome = sync::apply_kept(&s.app.pool, &spec, kept).await.unwrap();
    assert_eq!(applied(&outcome), counts);
    let now = accounts(&s).await;
    assert_eq!(now.len(), 3);
    for (external_id, a) in &synced {
        assert_eq!(
            now[external_id].id, a.id,
            "{external_id:?}: the same account"
        );
    }
    assert!(now.contains_key(&Some(oid(3))));
    let left: i64 = sqlx::query_scalar("select count(*) from sync_run_identities")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "an apply consumes the object ids it records");

    // A plain sync records them as well.
    forget_object_ids(&s).await;
    assert_eq!(applied(&s.sync(&dir).await), PlannedCounts::default());
    let mut expected = all_recorded.clone();
    expected.push((Some(oid(3)), now[&Some(oid(3))].id));
    expected.sort();
    assert_eq!(ids(&s).await, expected);

    // From then on an account is its object: a changed address is a rename.
    change(&emu, &tenant, |t| {
        t.update_user(user(2, "Ben", "benjamin", &["b"])).unwrap()
    });
    assert_eq!(
        applied(&s.sync(&dir).await),
        PlannedCounts {
            accounts_renamed: 1,
            ..PlannedCounts::default()
        }
    );
    assert_eq!(
        accounts(&s).await[&Some(oid(2))],
        Stored {
            id: synced[&Some(oid(2))].id,
            address: at("benjamin"),
            aliases: set(["b"]),
        }
    );
}
