//! The sync engine against the Microsoft 365 emulator and a real Postgres: full syncs, re-runs
//! that write nothing, the Operations Limit, conflicts, Exclude Records and the guards.

#![allow(clippy::unwrap_used)]

use crate::helpers::{
    generated_tenant, spawn_app_configured, Admin, TestApp, MS_CLIENT_ID, MS_SECRET,
};
use roster_core::directory::collect_accounts;
use roster_core::microsoft::{
    ClientSecret, MicrosoftClient, MicrosoftConfig, MicrosoftDirectory, RetryPolicy,
};
use roster_core::sync::PlannedCounts;
use roster_core::SyncSource;
use roster_core::{
    Directory, DomainName, DomainRules, ExcludePatterns, OperationLimit, OperationsLimits,
};
use roster_m365_emulator::changes::RemovalReason;
use roster_m365_emulator::{FaultConfig, RunningEmulator};
use roster_server::sync::{self, EnqueueError, NewRun, Outcome, RunRef};
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::time::Duration;
use uuid::Uuid;

pub(crate) const DOMAIN: &str = "litware.example";

pub(crate) async fn tenant(users: usize, groups: usize) -> (RunningEmulator, String) {
    generated_tenant(users, groups, &[DOMAIN, "litware.net"], 7).await
}

pub(crate) fn directory(emu: &RunningEmulator, tenant: &str) -> MicrosoftDirectory {
    let config = MicrosoftConfig::new(MS_CLIENT_ID, ClientSecret::new(MS_SECRET))
        .with_login_url(emu.base_url())
        .with_graph_url(emu.base_url())
        .with_retry(RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
            max_total_wait: Duration::from_secs(20),
        });
    MicrosoftClient::new(config)
        .unwrap()
        .tenant(tenant)
        .unwrap()
}

/// A worker's lease of the default length.
pub fn lease() -> sync::lease::LeaseHolder {
    sync::lease::LeaseHolder::new(Duration::from_secs(sync::lease::DEFAULT_LEASE_SECS))
}

pub(crate) fn rules() -> DomainRules {
    DomainRules::new(DomainName::parse(DOMAIN).unwrap())
}

pub(crate) struct Setup {
    pub(crate) app: TestApp,
    pub(crate) admin: Admin,
    pub(crate) domain: Uuid,
}

pub(crate) async fn setup(pool: PgPool) -> Setup {
    // No worker: these tests run the engine themselves.
    let app = spawn_app_configured(pool, false, None, false).await;
    let admin = app.admin("Litware").await;
    let domain = admin.create_domain(DOMAIN, "office365").await;
    Setup { app, admin, domain }
}

impl Setup {
    pub(crate) async fn sync_with(
        &self,
        dir: &dyn Directory,
        rules: &DomainRules,
        limits: &OperationsLimits,
        test: bool,
    ) -> (Uuid, Outcome) {
        let org = self.admin.organization_id;
        let run_id = sync::enqueue(
            &self.app.pool,
            &NewRun {
                organization_id: org,
                domain_id: self.domain,
                source: SyncSource::Office365,
                test,
                requested_by: Some(&self.admin.email),
                applies_run_id: None,
            },
        )
        .await
        .unwrap();
        let run = RunRef {
            organization_id: org,
            run_id,
        };
        let outcome = sync::run(&self.app.pool, dir, rules, limits, run, &lease())
            .await
            .unwrap()
            .expect("the run was queued");
        (run_id, outcome)
    }

    pub(crate) async fn sync(&self, dir: &dyn Directory) -> Outcome {
        self.sync_with(dir, &rules(), &OperationsLimits::default(), false)
            .await
            .1
    }

    /// Every recipient row of the domain (an account's disabled flag too) with its row
    /// version: a write changes the `xmin`.
    pub(crate) async fn snapshot(&self) -> BTreeSet<(String, String)> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            r#"select 'account ' || a.address || ' ' || a.kind || ' ' || coalesce(a.display_name, '')
                      || case when a.enabled then '' else ' (disabled)' end, a.xmin::text
               from accounts a where a.domain_id = $1
               union all
               select 'address ' || ad.address || ' ' || ad.is_primary, ad.xmin::text
               from addresses ad join accounts a on a.id = ad.account_id where a.domain_id = $1
               union all
               select 'member ' || a.address || ' ' || m.member, m.xmin::text
               from list_members m join accounts a on a.id = m.account_id where a.domain_id = $1"#,
        )
        .bind(self.domain)
        .fetch_all(&self.app.pool)
        .await
        .unwrap();
        rows.into_iter().collect()
    }

    pub(crate) async fn stored(&self) -> BTreeSet<String> {
        self.snapshot().await.into_iter().map(|(r, _)| r).collect()
    }

    pub(crate) async fn run_row(&self, run_id: Uuid) -> (String, Option<String>) {
        sqlx::query_as("select status, summary from sync_runs where id = $1")
            .bind(run_id)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }
}

/// What the directory holds for the domain, as Roster should store it.
pub(crate) async fn expected(dir: &MicrosoftDirectory, rules: &DomainRules) -> BTreeSet<String> {
    let mut rows = BTreeSet::new();
    for a in collect_accounts(&mut dir.pager(), rules).await.unwrap() {
        rows.insert(format!(
            "account {} {} {}{}",
            a.address,
            a.kind.as_str(),
            a.display_name,
            if a.enabled { "" } else { " (disabled)" }
        ));
        rows.insert(format!("address {} true", a.address));
        for alias in &a.aliases {
            rows.insert(format!("address {alias} false"));
        }
        for m in &a.members {
            rows.insert(format!("member {} {m}", a.address));
        }
    }
    rows
}

pub(crate) fn applied(outcome: &Outcome) -> PlannedCounts {
    match outcome {
        Outcome::Applied(c) => *c,
        other => panic!("expected an applied run, got {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_full_sync_stores_the_directory_and_a_rerun_writes_nothing(pool: PgPool) {
    let (emu, id) = tenant(3000, 150).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    let want = expected(&dir, &rules()).await;
    assert!(want.len() > 3000, "a realistic tenant: {} rows", want.len());

    let counts = applied(&s.sync(&dir).await);
    assert!(
        counts.accounts_added > 1000 && counts.aliases_added > 100,
        "{counts:?}"
    );
    assert!(counts.members_added > 0, "{counts:?}");
    assert_eq!(s.stored().await, want);

    let before = s.snapshot().await;
    let (run_id, again) = s
        .sync_with(&dir, &rules(), &OperationsLimits::default(), false)
        .await;
    assert_eq!(applied(&again), PlannedCounts::default());
    assert_eq!(
        s.snapshot().await,
        before,
        "a re-run rewrote recipient rows"
    );
    assert_eq!(
        s.run_row(run_id).await,
        ("applied".to_owned(), Some("No changes".to_owned()))
    );
    let staged: i64 = sqlx::query_scalar("select count(*) from sync_staging")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(staged, 0, "staging is cleared after a run");
}

#[sqlx::test(migrations = "../migrations")]
async fn changes_in_the_directory_are_followed(pool: PgPool) {
    let (emu, id) = tenant(300, 20).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    s.sync(&dir).await;

    // Delete a few users and rename one, through the emulator.
    let users: Vec<String> = emu
        .state()
        .directory()
        .resolve(&id)
        .unwrap()
        .users
        .keys()
        .take(5)
        .cloned()
        .collect();
    {
        let mut d = emu.state().directory_mut();
        let t = d.resolve_mut(&id).unwrap();
        for u in &users[..4] {
            t.delete_user(u, RemovalReason::Deleted).unwrap();
        }
    }
    let counts = applied(&s.sync(&dir).await);
    assert!(counts.accounts_deleted <= 4, "{counts:?}");
    assert_eq!(s.stored().await, expected(&dir, &rules()).await);
}

#[sqlx::test(migrations = "../migrations")]
async fn each_limit_stops_the_run_and_nothing_is_applied(pool: PgPool) {
    let (emu, id) = tenant(200, 10).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    let zero = OperationLimit::new(Some(0)).unwrap();
    let cases = [
        (
            OperationsLimits {
                account_add: zero,
                ..OperationsLimits::default()
            },
            "Email Accounts – Add Limit: ",
        ),
        (
            OperationsLimits {
                alias_add: zero,
                ..OperationsLimits::default()
            },
            "Aliases – Add Limit: ",
        ),
        (
            OperationsLimits {
                total: OperationLimit::new(Some(5)).unwrap(),
                ..OperationsLimits::default()
            },
            "Total Operations – Limit: ",
        ),
    ];
    for (limits, label) in cases {
        let (run_id, outcome) = s.sync_with(&dir, &rules(), &limits, false).await;
        assert!(matches!(outcome, Outcome::LimitExceeded(..)), "{outcome:?}");
        let (status, summary) = s.run_row(run_id).await;
        assert_eq!(status, "limit_exceeded");
        let summary = summary.unwrap();
        assert!(summary.starts_with("Limit exceeded: "), "{summary}");
        assert!(summary.contains(label), "{summary}");
        assert!(summary.contains(" planned, limit "), "{summary}");
        assert!(s.stored().await.is_empty(), "nothing applied");
        let kept: i64 =
            sqlx::query_scalar("select count(*) from sync_run_changes where run_id = $1")
                .bind(run_id)
                .fetch_one(&s.app.pool)
                .await
                .unwrap();
        assert!(kept > 0, "the planned changes are kept for inspection");
    }

    // The delete limits, once there is something to delete.
    s.sync(&dir).await;
    let synced = s.stored().await;
    {
        let mut d = emu.state().directory_mut();
        let t = d.resolve_mut(&id).unwrap();
        let ids: Vec<String> = t.users.keys().take(40).cloned().collect();
        for u in ids {
            t.delete_user(&u, RemovalReason::Deleted).unwrap();
        }
    }
    for (limits, label) in [
        (
            OperationsLimits {
                account_delete: zero,
                ..OperationsLimits::default()
            },
            "Email Accounts – Delete Limit: ",
        ),
        (
            OperationsLimits {
                alias_delete: zero,
                ..OperationsLimits::default()
            },
            "Aliases – Delete Limit: ",
        ),
    ] {
        let (run_id, outcome) = s.sync_with(&dir, &rules(), &limits, false).await;
        assert!(matches!(outcome, Outcome::LimitExceeded(..)), "{outcome:?}");
        assert!(s.run_row(run_id).await.1.unwrap().contains(label));
        assert_eq!(s.stored().await, synced, "nothing applied");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn test_sync_plans_and_changes_nothing(pool: PgPool) {
    let (emu, id) = tenant(200, 10).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    let (run_id, outcome) = s
        .sync_with(&dir, &rules(), &OperationsLimits::default(), true)
        .await;
    let Outcome::Planned(counts) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(counts.accounts_added > 0);
    assert!(s.stored().await.is_empty());
    let (status, summary) = s.run_row(run_id).await;
    assert_eq!(status, "planned");
    assert!(summary.unwrap().starts_with('+'));
}

#[sqlx::test(migrations = "../migrations")]
async fn an_address_owned_elsewhere_is_skipped_with_a_warning(pool: PgPool) {
    let (emu, id) = tenant(100, 5).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    let want = expected(&dir, &rules()).await;
    let taken = want
        .iter()
        .find_map(|r| {
            r.strip_prefix("address ")
                .and_then(|r| r.strip_suffix(" true"))
        })
        .unwrap()
        .to_owned();
    let local = taken.split('@').next().unwrap();
    let _: serde_json::Value = s
        .admin
        .ok(
            "add_account",
            &[
                ("domain_id", &s.domain.to_string()),
                ("local_part", local),
                ("kind", "mailbox"),
            ],
        )
        .await;
    let (run_id, outcome) = s
        .sync_with(&dir, &rules(), &OperationsLimits::default(), false)
        .await;
    applied(&outcome);
    let warnings: Vec<String> =
        sqlx::query_scalar("select message from sync_run_warnings where run_id = $1")
            .bind(run_id)
            .fetch_all(&s.app.pool)
            .await
            .unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&taken) && w.contains("manual account")),
        "{warnings:?}"
    );
    let source: String = sqlx::query_scalar("select source from accounts where address = $1")
        .bind(&taken)
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(source, "manual", "the manual account is untouched");
    let synced: i64 = sqlx::query_scalar(
        "select count(*) from accounts where domain_id = $1 and source = 'office365'",
    )
    .bind(s.domain)
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert!(synced > 10, "the rest of the run proceeded");

    // Once the manual account is gone, the next sync — a change round with nothing changed
    // in the directory — adds the skipped one.
    let manual: uuid::Uuid = sqlx::query_scalar("select id from accounts where address = $1")
        .bind(&taken)
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    s.admin
        .ok::<()>(
            "delete_account",
            &[
                ("domain_id", &s.domain.to_string()),
                ("account_id", &manual.to_string()),
            ],
        )
        .await;
    let counts = applied(&s.sync(&dir).await);
    assert_eq!(counts.accounts_added, 1, "{counts:?}");
    assert_eq!(s.stored().await, want);
}

#[sqlx::test(migrations = "../migrations")]
async fn exclude_records_keep_addresses_out(pool: PgPool) {
    let (emu, id) = tenant(200, 10).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    let rules = rules().with_exclude(ExcludePatterns::parse_lines("a*@litware.example").unwrap());
    s.sync_with(&dir, &rules, &OperationsLimits::default(), false)
        .await;
    let stored = s.stored().await;
    assert!(!stored.is_empty());
    assert!(
        !stored
            .iter()
            .any(|r| r.starts_with("address a") && r.contains("@litware.example")),
        "an excluded address was synced"
    );
    assert_eq!(stored, expected(&dir, &rules).await);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_second_request_while_one_is_queued_starts_nothing(pool: PgPool) {
    let s = setup(pool).await;
    let org = s.admin.organization_id;
    let new = NewRun {
        organization_id: org,
        domain_id: s.domain,
        source: SyncSource::Office365,
        test: false,
        requested_by: Some("a@b.example"),
        applies_run_id: None,
    };
    let enqueue = || sync::enqueue(&s.app.pool, &new);
    let (first, second) = tokio::join!(enqueue(), enqueue());
    let ok = [&first, &second].iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{first:?} {second:?}");
    assert!(matches!(
        first.err().or(second.err()),
        Some(EnqueueError::AlreadyActive)
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_fetch_or_an_empty_directory_changes_nothing(pool: PgPool) {
    let (emu, id) = tenant(200, 10).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    s.sync(&dir).await;
    let before = s.snapshot().await;

    // Throttled beyond the retry budget: failed, nothing applied or deleted.
    emu.state().set_faults(FaultConfig {
        throttle_probability: 1.0,
        retry_after: "0.01".into(),
        ..FaultConfig::default()
    });
    let impatient = {
        let config = MicrosoftConfig::new(MS_CLIENT_ID, ClientSecret::new(MS_SECRET))
            .with_login_url(emu.base_url())
            .with_graph_url(emu.base_url())
            .with_retry(RetryPolicy {
                max_retries: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                max_total_wait: Duration::from_millis(100),
            });
        MicrosoftClient::new(config).unwrap().tenant(&id).unwrap()
    };
    let outcome = s.sync(&impatient).await;
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
    assert_eq!(s.snapshot().await, before);
    emu.state().set_faults(FaultConfig::default());

    // A directory with nothing for the domain: refused, nothing deleted.
    {
        let mut d = emu.state().directory_mut();
        let t = d.resolve_mut(&id).unwrap();
        let users: Vec<String> = t.users.keys().cloned().collect();
        for u in users {
            t.delete_user(&u, RemovalReason::Deleted).unwrap();
        }
        let groups: Vec<String> = t.groups.keys().cloned().collect();
        for g in groups {
            t.delete_group(&g, RemovalReason::Deleted).unwrap();
        }
    }
    match s.sync(&dir).await {
        Outcome::Failed { message, .. } => {
            assert!(message.contains("Nothing was deleted"), "{message}")
        }
        other => panic!("expected the empty-directory guard, got {other:?}"),
    }
    assert_eq!(s.snapshot().await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_throttling_storm_ends_like_a_calm_run(pool: PgPool) {
    let (emu, id) = tenant(1500, 60).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    emu.state().set_faults(FaultConfig {
        throttle_every: 3,
        retry_after: "0.01".into(),
        ..FaultConfig::default()
    });
    applied(&s.sync(&dir).await);
    emu.state().set_faults(FaultConfig::default());
    assert_eq!(s.stored().await, expected(&dir, &rules()).await);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_apply_that_fails_midway_leaves_the_recipients_as_they_were(pool: PgPool) {
    let (emu, id) = tenant(300, 20).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    applied(&s.sync(&dir).await);
    let before = s.snapshot().await;

    // The directory changes (five mailboxes leave); the apply then fails at its list members
    // statement, after accounts and aliases were already written inside the transaction.
    {
        let mut d = emu.state().directory_mut();
        let t = d.resolve_mut(&id).unwrap();
        let leaving: Vec<String> = t
            .users
            .values()
            .filter(|u| u.mail.as_deref().is_some_and(|m| m.ends_with(DOMAIN)))
            .take(5)
            .map(|u| u.id.clone())
            .collect();
        assert_eq!(leaving.len(), 5);
        for u in leaving {
            t.delete_user(&u, RemovalReason::Deleted).unwrap();
        }
    }
    sqlx::query(
        r#"create function refuse_members() returns trigger language plpgsql as
           $$ begin raise exception 'the disk is full'; end $$"#,
    )
    .execute(&s.app.pool)
    .await
    .unwrap();
    sqlx::query(
        "create trigger refuse_members before insert or delete on list_members for each statement execute function refuse_members()",
    )
    .execute(&s.app.pool)
    .await
    .unwrap();
    let outcome = s.sync(&dir).await;
    assert!(
        matches!(&outcome, Outcome::Failed { message, .. } if message.contains("Nothing was changed")),
        "{outcome:?}"
    );
    assert_eq!(
        s.snapshot().await,
        before,
        "a failed apply left part of its changes"
    );

    sqlx::query("drop trigger refuse_members on list_members")
        .execute(&s.app.pool)
        .await
        .unwrap();
    // The failed run saved no resume point: the next one reads the same changes again.
    let counts = applied(&s.sync(&dir).await);
    assert_eq!(counts.accounts_deleted, 5, "{counts:?}");
    assert_eq!(s.stored().await, expected(&dir, &rules()).await);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_waiting_for_its_job_is_never_swept(pool: PgPool) {
    let s = setup(pool).await;
    let new = NewRun {
        organization_id: s.admin.organization_id,
        domain_id: s.domain,
        source: SyncSource::Office365,
        test: false,
        requested_by: Some("a@b.example"),
        applies_run_id: None,
    };
    // No worker here: the job stays pending, however long.
    let run = sync::enqueue(&s.app.pool, &new).await.unwrap();
    sqlx::query("update sync_runs set queued_at = now() - interval '2 hours', updated_at = now() - interval '2 hours' where id = $1")
        .bind(run)
        .execute(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(sync::sweep_orphans(&s.app.pool).await.unwrap(), 0);
    assert_eq!(s.run_row(run).await.0, "queued");
    // Once apalis has given up on the job, the run is ended.
    sqlx::query("update apalis.jobs set status = 'Killed'")
        .execute(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(sync::sweep_orphans(&s.app.pool).await.unwrap(), 1);
    assert_eq!(s.run_row(run).await.0, "failed");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_ended_behind_the_workers_back_keeps_its_ending_and_applies_nothing(pool: PgPool) {
    let (emu, id) = tenant(150, 10).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    // As the worker records the phase, someone else (the orphan sweep, an operator) ends the
    // run as failed.
    sqlx::query(
        r#"create function end_run_elsewhere() returns trigger language plpgsql as $$
           begin
               new.status := 'failed'; new.phase := null; new.finished_at := now();
               new.error := 'Ended by an operator.'; new.summary := 'Failed: Ended by an operator.';
               return new;
           end $$"#,
    )
    .execute(&s.app.pool)
    .await
    .unwrap();
    let zero = OperationLimit::new(Some(0)).unwrap();
    let stopped_at_limit = OperationsLimits {
        account_add: zero,
        ..OperationsLimits::default()
    };
    // Ended before it applies (the apply's own ending finds it failed), before it ends
    // planned (Test Sync), before it ends at the limit.
    for (phase, limits, test) in [
        ("apply", OperationsLimits::default(), false),
        ("check_limits", OperationsLimits::default(), true),
        ("check_limits", stopped_at_limit, false),
    ] {
        sqlx::query("drop trigger if exists end_run_elsewhere on sync_runs")
            .execute(&s.app.pool)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "create trigger end_run_elsewhere before update on sync_runs for each row
             when (new.status = 'running' and new.phase = '{phase}') execute function end_run_elsewhere()"
        )))
        .execute(&s.app.pool)
        .await
        .unwrap();
        let (run_id, outcome) = s.sync_with(&dir, &rules(), &limits, test).await;
        assert_eq!(outcome, Outcome::EndedElsewhere, "{phase} {test}");
        assert!(s.stored().await.is_empty(), "nothing applied");
        let (status, summary) = s.run_row(run_id).await;
        assert_eq!(
            (status.as_str(), summary.as_deref()),
            ("failed", Some("Failed: Ended by an operator.")),
            "{phase} {test}"
        );
        let (error, exceeded): (Option<String>, Option<serde_json::Value>) =
            sqlx::query_as("select error, exceeded from sync_runs where id = $1")
                .bind(run_id)
                .fetch_one(&s.app.pool)
                .await
                .unwrap();
        assert_eq!(error.as_deref(), Some("Ended by an operator."));
        assert_eq!(exceeded, None);
    }
    sqlx::query("drop trigger end_run_elsewhere on sync_runs")
        .execute(&s.app.pool)
        .await
        .unwrap();
    applied(&s.sync(&dir).await);
    assert_eq!(s.stored().await, expected(&dir, &rules()).await);
}

#[sqlx::test(migrations = "../migrations")]
async fn retention_deletes_old_test_sync_details_and_finished_jobs_and_keeps_every_summary(
    pool: PgPool,
) {
    let (emu, id) = tenant(60, 4).await;
    let s = setup(pool).await;
    let dir = directory(&emu, &id);
    let db = &s.app.pool;
    let none = OperationsLimits::default();
    let (old_test, _) = s.sync_with(&dir, &rules(), &none, true).await;
    let (recent_test, _) = s.sync_with(&dir, &rules(), &none, true).await;
    let zero = OperationsLimits {
        account_add: OperationLimit::new(Some(0)).unwrap(),
        ..OperationsLimits::default()
    };
    let (old_kept, _) = s.sync_with(&dir, &rules(), &zero, false).await;
    let (old_applied, _) = s.sync_with(&dir, &rules(), &none, false).await;
    // A failed run with a plan bigger than one delete batch, and warnings.
    let old_failed: Uuid = sqlx::query_scalar(
        r#"insert into sync_runs (organization_id, domain_id, source, trigger, status, summary, finished_at)
           values ($1, $2, 'office365', 'schedule', 'failed', 'Failed: the disk is full', now())
           returning id"#,
    )
    .bind(s.admin.organization_id)
    .bind(s.domain)
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query(
        r#"insert into sync_run_changes (organization_id, run_id, seq, kind, address)
           select $1, $2, n, 'account_add', 'u' || n || '@litware.example' from generate_series(1, 12000) n"#,
    )
    .bind(s.admin.organization_id)
    .bind(old_failed)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        r#"insert into sync_run_warnings (organization_id, run_id, seq, kind, address, message)
           select $1, $2, n, 'address_conflict', 'w' || n || '@litware.example', 'skipped'
           from generate_series(1, 3) n"#,
    )
    .bind(s.admin.organization_id)
    .bind(old_failed)
    .execute(db)
    .await
    .unwrap();
    let count = |table: &'static str, run: Uuid| async move {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} where run_id = $1"
        )))
        .bind(run)
        .fetch_one(db)
        .await
        .unwrap()
    };
    let before_test = count("sync_run_changes", old_test).await;
    let before_test_warnings = count("sync_run_warnings", old_test).await;
    assert!(before_test > 0 && count("sync_run_changes", recent_test).await > 0);
    assert!(count("sync_run_changes", old_kept).await > 0);
    assert!(count("sync_run_changes", old_applied).await > 0);

    // Everything but the recent Test Sync finished 91 days ago.
    sqlx::query("update sync_runs set finished_at = now() - interval '91 days' where id <> $1")
        .bind(recent_test)
        .execute(db)
        .await
        .unwrap();
    // Jobs: the engine ran these runs itself, so their jobs are still pending. Give them the
    // states apalis leaves: finished long ago (done, killed, out of attempts), finished
    // recently, failed with attempts left, pending.
    let job_of = |run: Uuid| async move {
        sqlx::query_scalar::<_, String>(
            "select id from apalis.jobs where convert_from(job, 'UTF8')::jsonb ->> 'run_id' = $1",
        )
        .bind(run.to_string())
        .fetch_one(db)
        .await
        .unwrap()
    };
    let set_job = |job: String, status: &'static str, attempts: i32, age_days: i32| async move {
        sqlx::query(
            r#"update apalis.jobs set status = $2, attempts = $3, max_attempts = 3,
                   done_at = now() - make_interval(days => $4), run_at = now() - make_interval(days => $4)
               where id = $1"#,
        )
        .bind(job)
        .bind(status)
        .bind(attempts)
        .bind(age_days)
        .execute(db)
        .await
        .unwrap();
    };
    let done_old = job_of(old_test).await;
    let killed_old = job_of(old_kept).await;
    let out_of_attempts_old = job_of(old_applied).await;
    let done_recent = job_of(recent_test).await;
    set_job(done_old.clone(), "Done", 1, 91).await;
    set_job(killed_old.clone(), "Killed", 1, 91).await;
    set_job(out_of_attempts_old.clone(), "Failed", 3, 91).await;
    set_job(done_recent.clone(), "Done", 1, 89).await;
    // Two more old jobs that must stay: one with attempts left, one still pending.
    for (status, attempts) in [("Failed", 1), ("Pending", 0)] {
        let run = sync::enqueue(
            db,
            &NewRun {
                organization_id: s.admin.organization_id,
                domain_id: s.domain,
                source: SyncSource::Office365,
                test: true,
                requested_by: Some("a@b.example"),
                applies_run_id: None,
            },
        )
        .await
        .unwrap();
        set_job(job_of(run).await, status, attempts, 91).await;
        sqlx::query("update sync_runs set status = 'failed', finished_at = now() where id = $1")
            .bind(run)
            .execute(db)
            .await
            .unwrap();
    }
    let runs_before: Vec<(Uuid, Option<String>)> =
        sqlx::query_as("select id, summary from sync_runs order by id")
            .fetch_all(db)
            .await
            .unwrap();

    let swept = sync::retention::sweep(db, 90).await.unwrap();
    assert_eq!(
        swept,
        sync::retention::Swept {
            changes: u64::try_from(before_test).unwrap() + 12_000,
            warnings: 3 + u64::try_from(before_test_warnings).unwrap(),
            identities: 0,
            jobs: 3,
        }
    );
    // Old Test Sync and failed runs lose their details; recent ones, plans kept at the limit
    // and applied runs' changes (the history of what changed) stay.
    assert_eq!(count("sync_run_changes", old_test).await, 0);
    assert_eq!(count("sync_run_changes", old_failed).await, 0);
    assert_eq!(count("sync_run_warnings", old_failed).await, 0);
    assert!(count("sync_run_changes", recent_test).await > 0);
    assert!(count("sync_run_changes", old_kept).await > 0);
    assert!(count("sync_run_changes", old_applied).await > 0);
    // Every run and its summary stays.
    let runs_after: Vec<(Uuid, Option<String>)> =
        sqlx::query_as("select id, summary from sync_runs order by id")
            .fetch_all(db)
            .await
            .unwrap();
    assert_eq!(runs_after, runs_before);
    let jobs: BTreeSet<String> = sqlx::query_scalar("select id from apalis.jobs")
        .fetch_all(db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(jobs.len(), 3, "{jobs:?}");
    assert!(jobs.contains(&done_recent));
    for gone in [&done_old, &killed_old, &out_of_attempts_old] {
        assert!(!jobs.contains(gone));
    }
    // A second sweep finds nothing left to do.
    assert_eq!(
        sync::retention::sweep(db, 90).await.unwrap(),
        sync::retention::Swept::default()
    );
}
