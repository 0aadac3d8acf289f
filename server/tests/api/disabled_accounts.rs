//! Accounts the directory disabled (Microsoft 365 `accountEnabled: false`) stay recipients — a
//! disabled shared mailbox still receives mail — and are marked disabled: synced so, disabled
//! and enabled again as one `account_update` that no add or delete limit stops, shown so by
//! the accounts list, the account's page, the run's changes and their CSV. Against the
//! Microsoft 365 emulator and a real Postgres.

#![allow(clippy::unwrap_used)]

use crate::helpers::generated_tenant;
use crate::sync_engine::{applied, directory, rules, setup, Setup, DOMAIN};
use app::api::list_members::ListPage;
use app::model::{AccountsPage, ChangeRow, Paged};
use roster_core::account::{DISABLED_DETAILS, DISABLED_IN_DIRECTORY, ENABLED_AGAIN};
use roster_core::sync::PlannedCounts;
use roster_core::{OperationLimit, OperationsLimits};
use roster_m365_emulator::model::User;
use roster_m365_emulator::RunningEmulator;
use sqlx::PgPool;
use uuid::Uuid;

fn at(local: &str) -> String {
    format!("{local}@{DOMAIN}")
}

fn oid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn user(n: u32, name: &str, local: &str, enabled: bool) -> User {
    serde_json::from_value(serde_json::json!({
        "id": oid(n),
        "displayName": name,
        "userPrincipalName": at(local),
        "mail": at(local),
        "proxyAddresses": [format!("SMTP:{}", at(local))],
        "accountEnabled": enabled,
    }))
    .unwrap()
}

/// A tenant with Adele (enabled) and the Support shared mailbox (disabled) in the domain.
async fn tenant() -> (RunningEmulator, String) {
    let (emu, id) = generated_tenant(0, 0, &[DOMAIN], 5).await;
    {
        let mut d = emu.state().directory_mut();
        let t = d.resolve_mut(&id).unwrap();
        t.add_user(user(1, "Adele Vance", "adele", true)).unwrap();
        t.add_user(user(2, "Support", "support", false)).unwrap();
    }
    (emu, id)
}

/// Sets user `n`'s `accountEnabled` in the emulator (logged for the next delta round).
fn set_enabled(emu: &RunningEmulator, tenant: &str, n: u32, enabled: bool) {
    let mut d = emu.state().directory_mut();
    let t = d.resolve_mut(tenant).unwrap();
    let mut u = t.users[&oid(n)].clone();
    u.account_enabled = enabled;
    t.update_user(u).unwrap();
}

/// Whether each synced account is enabled, by address.
async fn enabled(s: &Setup) -> Vec<(String, bool)> {
    sqlx::query_as("select address, enabled from accounts where domain_id = $1 order by address")
        .bind(s.domain)
        .fetch_all(&s.app.pool)
        .await
        .unwrap()
}

/// No account or alias may be added or deleted at all.
fn no_adds_or_deletes() -> OperationsLimits {
    let zero = OperationLimit::new(Some(0)).unwrap();
    OperationsLimits {
        account_add: zero,
        account_delete: zero,
        alias_add: zero,
        alias_delete: zero,
        total: zero,
    }
}

/// The run's changes as its page lists them.
async fn changes(s: &Setup, run: Uuid) -> Vec<ChangeRow> {
    let page: Paged<ChangeRow> = s
        .admin
        .ok(
            "list_run_changes",
            &[
                ("domain_id", &s.domain.to_string()),
                ("run_id", &run.to_string()),
                ("kind", ""),
                ("search", ""),
                ("page", "1"),
            ],
        )
        .await;
    page.rows
}

async fn csv(s: &Setup, run: Uuid) -> String {
    s.admin
        .get(&format!(
            "/domains/{}/sync/runs/{run}/changes.csv",
            s.domain
        ))
        .await
        .text()
        .await
        .unwrap()
}

async fn accounts(s: &Setup) -> AccountsPage {
    s.admin
        .ok("list_accounts", &[("domain_id", &s.domain.to_string())])
        .await
}

async fn account_page(s: &Setup, address: &str) -> ListPage {
    let id: Uuid = sqlx::query_scalar("select id from accounts where address = $1")
        .bind(address)
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    s.admin
        .ok(
            "get_list_members",
            &[
                ("domain_id", &s.domain.to_string()),
                ("account_id", &id.to_string()),
                ("page", "1"),
            ],
        )
        .await
}

#[sqlx::test(migrations = "../migrations")]
async fn a_disabled_user_is_kept_as_a_disabled_account_and_follows_the_directory(pool: PgPool) {
    let (emu, tenant) = tenant().await;
    let s = setup(pool).await;
    let dir = directory(&emu, &tenant);

    // Synced disabled: added like any account, its add says so.
    let (run, outcome) = s
        .sync_with(&dir, &rules(), &OperationsLimits::default(), false)
        .await;
    assert_eq!(applied(&outcome).accounts_added, 2);
    assert_eq!(
        enabled(&s).await,
        vec![(at("adele"), true), (at("support"), false)]
    );
    let added: Vec<(String, Option<String>)> = changes(&s, run)
        .await
        .into_iter()
        .map(|c| (c.address, c.after))
        .collect();
    assert_eq!(
        added,
        vec![
            (at("adele"), Some("Adele Vance, mailbox".to_owned())),
            (
                at("support"),
                Some(format!("Support, mailbox, {DISABLED_IN_DIRECTORY}"))
            ),
        ]
    );

    // The accounts list and the account's page report the flag.
    let list = accounts(&s).await;
    let flags: Vec<(&str, bool)> = list
        .rows
        .iter()
        .map(|r| (r.address.as_str(), r.enabled))
        .collect();
    assert_eq!(
        flags,
        vec![
            (at("adele").as_str(), true),
            (at("support").as_str(), false)
        ]
    );
    assert!(!account_page(&s, &at("support")).await.enabled);
    assert!(account_page(&s, &at("adele")).await.enabled);
    let page = s
        .admin
        .get(&format!("/domains/{}/accounts", s.domain))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("badge neutral").count(), 1, "{page}");
    let support = sqlx::query_scalar::<_, Uuid>("select id from accounts where address = $1")
        .bind(at("support"))
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    let details = |id: Uuid| {
        let s = &s;
        async move {
            s.admin
                .get(&format!("/domains/{}/accounts/{id}", s.domain))
                .await
                .text()
                .await
                .unwrap()
        }
    };
    assert!(details(support).await.contains(DISABLED_DETAILS));

    // Nothing changed: nothing planned.
    assert_eq!(applied(&s.sync(&dir).await), PlannedCounts::default());

    // Adele is disabled: one account update, which no add or delete limit stops.
    set_enabled(&emu, &tenant, 1, false);
    let (run, outcome) = s
        .sync_with(&dir, &rules(), &no_adds_or_deletes(), false)
        .await;
    assert_eq!(
        applied(&outcome),
        PlannedCounts {
            accounts_updated: 1,
            ..PlannedCounts::default()
        }
    );
    let rows = changes(&s, run).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].label(), "Account changed");
    assert_eq!(rows[0].address, at("adele"));
    assert_eq!(rows[0].before.as_deref(), Some("Adele Vance, mailbox"));
    assert_eq!(
        rows[0].after.as_deref(),
        Some(format!("Adele Vance, mailbox, {DISABLED_IN_DIRECTORY}").as_str())
    );
    let line = format!(
        "Account changed,{},,\"Adele Vance, mailbox\",\"Adele Vance, mailbox, {DISABLED_IN_DIRECTORY}\",",
        at("adele")
    );
    let text = csv(&s, run).await;
    assert!(text.lines().any(|l| l == line), "{text}");
    assert_eq!(
        enabled(&s).await,
        vec![(at("adele"), false), (at("support"), false)]
    );
    let (_, summary) = s.run_row(run).await;
    assert_eq!(summary.as_deref(), Some("1 account updated"));

    // Enabled again: one update back, the same addresses all along.
    set_enabled(&emu, &tenant, 1, true);
    let (run, outcome) = s
        .sync_with(&dir, &rules(), &no_adds_or_deletes(), false)
        .await;
    assert_eq!(applied(&outcome).accounts_updated, 1);
    let rows = changes(&s, run).await;
    assert_eq!(
        rows[0].before.as_deref(),
        Some(format!("Adele Vance, mailbox, {DISABLED_IN_DIRECTORY}").as_str())
    );
    assert_eq!(
        rows[0].after.as_deref(),
        Some(format!("Adele Vance, mailbox, {ENABLED_AGAIN}").as_str())
    );
    assert_eq!(
        enabled(&s).await,
        vec![(at("adele"), true), (at("support"), false)]
    );
    assert!(account_page(&s, &at("adele")).await.enabled);
    assert_eq!(applied(&s.sync(&dir).await), PlannedCounts::default());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_test_sync_plans_the_flag_and_changes_nothing(pool: PgPool) {
    let (emu, tenant) = tenant().await;
    let s = setup(pool).await;
    let dir = directory(&emu, &tenant);
    applied(&s.sync(&dir).await);
    set_enabled(&emu, &tenant, 2, true);
    let (run, outcome) = s
        .sync_with(&dir, &rules(), &OperationsLimits::default(), true)
        .await;
    let roster_server::sync::Outcome::Planned(planned) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(planned.accounts_updated, 1);
    assert_eq!(
        changes(&s, run).await[0].after.as_deref(),
        Some(format!("Support, mailbox, {ENABLED_AGAIN}").as_str())
    );
    assert_eq!(
        enabled(&s).await,
        vec![(at("adele"), true), (at("support"), false)],
        "a Test Sync applied the flag"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn accounts_synced_before_the_flag_existed_get_it_at_the_next_sync(pool: PgPool) {
    let (emu, tenant) = tenant().await;
    let s = setup(pool).await;
    let dir = directory(&emu, &tenant);
    applied(&s.sync(&dir).await);
    // As migration 16 leaves a domain synced before it: every account enabled, and the rules
    // fingerprint cleared so that the next plan covers every mirrored object.
    sqlx::query("update accounts set enabled = true where domain_id = $1")
        .bind(s.domain)
        .execute(&s.app.pool)
        .await
        .unwrap();
    sqlx::query("update directory_sync_state set rules_fingerprint = ''")
        .execute(&s.app.pool)
        .await
        .unwrap();
    let counts = applied(&s.sync(&dir).await);
    assert_eq!(
        counts,
        PlannedCounts {
            accounts_updated: 1,
            ..PlannedCounts::default()
        }
    );
    assert_eq!(
        enabled(&s).await,
        vec![(at("adele"), true), (at("support"), false)]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn manual_accounts_are_enabled(pool: PgPool) {
    let s = setup(pool).await;
    let row: app::model::AccountRow = s
        .admin
        .ok(
            "add_account",
            &[
                ("domain_id", &s.domain.to_string()),
                ("local_part", "info"),
                ("kind", "mailbox"),
            ],
        )
        .await;
    assert!(row.enabled);
    assert!(accounts(&s).await.rows.iter().all(|r| r.enabled));
    assert!(account_page(&s, &at("info")).await.enabled);
}
