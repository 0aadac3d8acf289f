//! Automatic Synchronization: the scheduler's claims under a fake clock, two schedulers racing,
//! skipped slots, catch-up, cancelling and rescheduling from the form, retries of transient
//! failures, and what the history and the domain pages show.

#![allow(clippy::unwrap_used)]

use crate::helpers::{
    generated_tenant, spawn_app_configured, Admin, TestApp, MS_CLIENT_ID, MS_SECRET,
};
use app::model::{DomainSummary, HistoryRow, Paged, SyncOverview, SyncSettings};
use chrono::{DateTime, TimeDelta, Utc};
use roster_core::microsoft::{ClientSecret, MicrosoftClient, MicrosoftConfig, RetryPolicy};
use roster_core::{
    next_slot, Clock, Directory, DomainName, DomainRules, FakeClock, OperationsLimits, SyncSchedule,
};
use roster_core::{RunState, SyncSource};
use roster_m365_emulator::{FaultConfig, RunningEmulator};
use roster_server::schedule::{self, Tick};
use roster_server::sync::{self, NewRun, Outcome, RunRef};
use roster_server::worker;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

const DOMAIN: &str = "fabrikam.example";

struct Setup {
    app: TestApp,
    admin: Admin,
    domain: Uuid,
}

/// An app without a worker (the tests run what the worker would) and one Office 365 domain.
async fn setup(pool: PgPool) -> Setup {
    let app = spawn_app_configured(pool, false, None, false).await;
    let admin = app.admin("Fabrikam").await;
    let domain = admin.create_domain(DOMAIN, "office365").await;
    Setup { app, admin, domain }
}

impl Setup {
    async fn save_auto(&self, enabled: bool, times_per_day: &str) {
        let id = self.domain.to_string();
        let mut form = vec![("domain_id", id.as_str()), ("times_per_day", times_per_day)];
        if enabled {
            form.push(("auto_sync_enabled", "on"));
        }
        self.admin.ok::<()>("save_auto_sync", &form).await;
    }

    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        sqlx::query_scalar::<_, Option<DateTime<Utc>>>(
            "select next_run_at from sync_settings where domain_id = $1",
        )
        .bind(self.domain)
        .fetch_one(&self.app.pool)
        .await
        .unwrap()
    }

    async fn make_due(&self, at: DateTime<Utc>) {
        schedule::make_due(&self.app.pool, self.admin.organization_id, self.domain, at)
            .await
            .unwrap();
    }

    /// (status, trigger, attempt) of every run, oldest first.
    async fn runs(&self) -> Vec<(Uuid, String, String, i16)> {
        sqlx::query_as(
            "select id, status, trigger, attempt from sync_runs where domain_id = $1 order by queued_at, id",
        )
        .bind(self.domain)
        .fetch_all(&self.app.pool)
        .await
        .unwrap()
    }

    async fn retry(&self) -> (Option<DateTime<Utc>>, Option<i16>) {
        sqlx::query_as("select retry_at, retry_attempt from sync_settings where domain_id = $1")
            .bind(self.domain)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    async fn settings(&self) -> SyncSettings {
        self.admin
            .ok(
                "get_sync_settings",
                &[("domain_id", &self.domain.to_string())],
            )
            .await
    }

    async fn history(&self) -> Paged<HistoryRow> {
        self.admin
            .ok(
                "list_sync_history",
                &[("domain_id", &self.domain.to_string()), ("page", "1")],
            )
            .await
    }
}

async fn jobs(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from apalis.jobs where job_type = $1")
        .bind(worker::QUEUE)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn four_a_day() -> SyncSchedule {
    SyncSchedule::new(4).unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_due_domain_is_claimed_once_at_its_slot_with_a_fake_clock(pool: PgPool) {
    let s = setup(pool).await;
    let saved_at = Utc::now();
    s.save_auto(true, "4").await;
    let slot = s.next_run_at().await.expect("enabling sets the next slot");
    assert!(slot > saved_at && slot <= saved_at + TimeDelta::hours(6) + TimeDelta::seconds(5));
    assert_eq!(
        slot,
        next_slot(s.domain, four_a_day(), slot - TimeDelta::seconds(1))
    );

    // Before the slot: nothing.
    let clock = FakeClock::new(slot - TimeDelta::seconds(1));
    assert_eq!(
        schedule::tick(&s.app.pool, &clock).await.unwrap(),
        Tick::default()
    );
    assert!(s.runs().await.is_empty());

    // At the slot: one run, triggered by the schedule, with its job; next slot 6 hours on.
    clock.set(slot);
    let tick = schedule::tick(&s.app.pool, &clock).await.unwrap();
    assert_eq!(
        tick,
        Tick {
            queued: 1,
            skipped: 0
        }
    );
    let runs = s.runs().await;
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].1.as_str(), runs[0].2.as_str(), runs[0].3),
        ("queued", "schedule", 1)
    );
    assert_eq!(jobs(&s.app.pool).await, 1);
    assert_eq!(s.next_run_at().await, Some(slot + TimeDelta::hours(6)));

    // The same instant again: nothing more.
    assert_eq!(
        schedule::tick(&s.app.pool, &clock).await.unwrap(),
        Tick::default()
    );
    assert_eq!(s.runs().await.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn two_schedulers_racing_over_200_due_domains_queue_200_runs(pool: PgPool) {
    let s = setup(pool).await;
    let org = s.admin.organization_id;
    sqlx::query(
        r#"insert into domains (organization_id, name, server_type)
           select $1, 'race-' || i || '.example', 'office365' from generate_series(1, 199) i"#,
    )
    .bind(org)
    .execute(&s.app.pool)
    .await
    .unwrap();
    let now = Utc::now();
    sqlx::query(
        r#"insert into sync_settings (organization_id, domain_id, auto_sync_enabled, times_per_day, next_run_at)
           select organization_id, id, true, 4, $2 - interval '1 minute' from domains where organization_id = $1
           on conflict (organization_id, domain_id) do update
               set auto_sync_enabled = true, times_per_day = 4, next_run_at = excluded.next_run_at"#,
    )
    .bind(org)
    .bind(now)
    .execute(&s.app.pool)
    .await
    .unwrap();
    let clock = std::sync::Arc::new(FakeClock::new(now));
    // Two "instances", each ticking a few times, concurrently on the same database.
    let instance = |pool: PgPool, clock: std::sync::Arc<FakeClock>| async move {
        let mut total = Tick::default();
        for _ in 0..3 {
            let t = schedule::tick(&pool, clock.as_ref()).await.unwrap();
            total.queued += t.queued;
            total.skipped += t.skipped;
        }
        total
    };
    let (a, b) = tokio::join!(
        tokio::spawn(instance(s.app.pool.clone(), clock.clone())),
        tokio::spawn(instance(s.app.pool.clone(), clock.clone()))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.queued + b.queued, 200, "{a:?} {b:?}");
    assert_eq!(a.skipped + b.skipped, 0);
    let (runs, domains): (i64, i64) = sqlx::query_as(
        "select count(*), count(distinct domain_id) from sync_runs where organization_id = $1 and trigger = 'schedule'",
    )
    .bind(org)
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert_eq!((runs, domains), (200, 200));
    assert_eq!(jobs(&s.app.pool).await, 200);
    let still_due: i64 =
        sqlx::query_scalar("select count(*) from sync_settings where next_run_at <= $1")
            .bind(now)
            .fetch_one(&s.app.pool)
            .await
            .unwrap();
    assert_eq!(still_due, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_slot_while_a_run_is_active_is_skipped_and_says_so(pool: PgPool) {
    let s = setup(pool).await;
    s.save_auto(true, "2").await;
    let active = sync::enqueue(
        &s.app.pool,
        &NewRun {
            organization_id: s.admin.organization_id,
            domain_id: s.domain,
            source: SyncSource::Office365,
            test: false,
            requested_by: Some(&s.admin.email),
            applies_run_id: None,
        },
    )
    .await
    .unwrap();
    let now = Utc::now();
    s.make_due(now - TimeDelta::seconds(1)).await;
    let tick = schedule::tick(&s.app.pool, &FakeClock::new(now))
        .await
        .unwrap();
    assert_eq!(
        tick,
        Tick {
            queued: 0,
            skipped: 1
        }
    );
    let runs = s.runs().await;
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0].0, runs[0].1.as_str()), (active, "queued"));
    assert_eq!(
        (runs[1].1.as_str(), runs[1].2.as_str()),
        ("skipped", "schedule")
    );
    assert_eq!(jobs(&s.app.pool).await, 1, "no second job");
    // The history says so; the page still follows the active run; the domain moved on.
    let history = s.history().await;
    assert_eq!(history.rows[0].summary, schedule::SKIPPED);
    assert_eq!(history.rows[0].synced_by(), "Schedule");
    let overview: SyncOverview = s
        .admin
        .ok("get_sync_overview", &[("domain_id", &s.domain.to_string())])
        .await;
    assert_eq!(overview.latest.unwrap().id, active);
    assert_eq!(
        s.next_run_at().await,
        Some(next_slot(s.domain, SyncSchedule::new(2).unwrap(), now))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_long_gap_catches_up_with_one_run_then_follows_the_grid(pool: PgPool) {
    let s = setup(pool).await;
    s.save_auto(true, "4").await;
    let now = Utc::now();
    // Every instance was down for a day and more: 4+ slots missed.
    s.make_due(now - TimeDelta::hours(25)).await;
    let clock = FakeClock::new(now);
    assert_eq!(
        schedule::tick(&s.app.pool, &clock).await.unwrap(),
        Tick {
            queued: 1,
            skipped: 0
        }
    );
    let next = s.next_run_at().await.unwrap();
    assert_eq!(next, next_slot(s.domain, four_a_day(), now));
    assert!(next > now && next <= now + TimeDelta::hours(6));
    assert_eq!(
        schedule::tick(&s.app.pool, &clock).await.unwrap(),
        Tick::default()
    );
    assert_eq!(s.runs().await.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn turning_off_cancels_and_changing_times_per_day_reschedules(pool: PgPool) {
    let s = setup(pool).await;
    s.save_auto(true, "1").await;
    let first = s.next_run_at().await.unwrap();
    assert_eq!(s.settings().await.next_run_at, Some(first));

    // Saved again unchanged (other fields may change): the slot stays.
    let marker = first + TimeDelta::minutes(7);
    s.make_due(marker).await;
    s.save_auto(true, "1").await;
    assert_eq!(s.next_run_at().await, Some(marker));

    // N changed: rescheduled from now on the new grid.
    let before = Utc::now();
    s.save_auto(true, "4").await;
    let rescheduled = s.next_run_at().await.unwrap();
    assert_ne!(rescheduled, marker);
    assert!(rescheduled > before && rescheduled <= Utc::now() + TimeDelta::hours(6));
    assert_eq!(
        rescheduled,
        next_slot(s.domain, four_a_day(), rescheduled - TimeDelta::hours(6))
    );

    // Off: no next slot, nothing runs however late it gets.
    s.save_auto(false, "4").await;
    assert_eq!(s.next_run_at().await, None);
    assert_eq!(s.settings().await.next_run_at, None);
    let later = FakeClock::new(Utc::now() + TimeDelta::days(3));
    assert_eq!(
        schedule::tick(&s.app.pool, &later).await.unwrap(),
        Tick::default()
    );
    assert!(s.runs().await.is_empty());
    // A slot left behind while off (not by the form) runs nothing and is cleared.
    s.make_due(Utc::now()).await;
    assert_eq!(
        schedule::tick(&s.app.pool, &later).await.unwrap(),
        Tick::default()
    );
    assert!(s.runs().await.is_empty());
    assert_eq!(s.next_run_at().await, None);
}

fn impatient(emu: &RunningEmulator, tenant: &str, secret: &str) -> impl Directory {
    let config = MicrosoftConfig::new(MS_CLIENT_ID, ClientSecret::new(secret))
        .with_login_url(emu.base_url())
        .with_graph_url(emu.base_url())
        .with_retry(RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_total_wait: Duration::from_millis(50),
        });
    MicrosoftClient::new(config)
        .unwrap()
        .tenant(tenant)
        .unwrap()
}

/// Runs the domain's queued run as the worker would, with `directory`.
async fn run_queued(s: &Setup, directory: &dyn Directory) -> Outcome {
    let (run_id, ..) = s.runs().await.pop().unwrap();
    let rules = DomainRules::new(DomainName::parse(DOMAIN).unwrap());
    let run = RunRef {
        organization_id: s.admin.organization_id,
        run_id,
    };
    sync::run(
        &s.app.pool,
        directory,
        &rules,
        &OperationsLimits::default(),
        run,
        &crate::sync_engine::lease(),
    )
    .await
    .unwrap()
    .expect("the run was queued")
}

#[sqlx::test(migrations = "../migrations")]
async fn a_transient_failure_is_retried_up_to_three_attempts_then_stops(pool: PgPool) {
    let (emu, tenant) = generated_tenant(20, 2, &[DOMAIN], 3).await;
    let s = setup(pool).await;
    s.save_auto(true, "1").await;
    // Microsoft 365 throttles everything, longer than a run waits.
    emu.state().set_faults(FaultConfig {
        throttle_probability: 1.0,
        retry_after: "0.01".into(),
        ..FaultConfig::default()
    });
    let dir = impatient(&emu, &tenant, MS_SECRET);
    let clock = FakeClock::new(Utc::now());
    s.make_due(clock.now()).await;
    for attempt in 1..=3i16 {
        assert_eq!(
            schedule::tick(&s.app.pool, &clock).await.unwrap(),
            Tick {
                queued: 1,
                skipped: 0
            },
            "attempt {attempt}"
        );
        if attempt == 1 {
            // Tomorrow's slot stays out of the way of the retries.
            s.make_due(clock.now() + TimeDelta::days(1)).await;
        }
        let run = s.runs().await.pop().unwrap();
        assert_eq!((run.2.as_str(), run.3), ("schedule", attempt));
        let outcome = run_queued(&s, &dir).await;
        assert!(
            matches!(
                outcome,
                Outcome::Failed {
                    transient: true,
                    ..
                }
            ),
            "{outcome:?}"
        );
        let failed_at = Utc::now();
        let (retry_at, retry_attempt) = s.retry().await;
        if attempt < 3 {
            let backoff =
                roster_core::schedule::RETRY_BACKOFF[usize::try_from(attempt).unwrap() - 1];
            let retry_at = retry_at.expect("a retry is scheduled");
            assert!(
                retry_at <= failed_at + backoff
                    && retry_at > failed_at + backoff - TimeDelta::seconds(30)
            );
            assert_eq!(retry_attempt, Some(attempt + 1));
            // Not before its time…
            clock.set(retry_at - TimeDelta::seconds(1));
            assert_eq!(
                schedule::tick(&s.app.pool, &clock).await.unwrap(),
                Tick::default()
            );
            // …and then at it (the fake clock skips the wait).
            clock.set(retry_at);
        } else {
            assert_eq!((retry_at, retry_attempt), (None, None), "no fourth attempt");
        }
    }
    clock.advance(TimeDelta::hours(2));
    assert_eq!(
        schedule::tick(&s.app.pool, &clock).await.unwrap(),
        Tick::default()
    );
    assert_eq!(s.runs().await.len(), 3);

    // The history says which attempt each was, on the API and on the page.
    let history = s.history().await;
    let synced_by: Vec<String> = history.rows.iter().map(HistoryRow::synced_by).collect();
    assert_eq!(
        synced_by,
        [
            "Schedule, attempt 3 of 3",
            "Schedule, attempt 2 of 3",
            "Schedule"
        ]
    );
    let page = s
        .admin
        .get(&format!("/domains/{}/sync/office365", s.domain))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Schedule, attempt 2 of 3"), "{page}");
    assert!(
        page.contains("Scheduled sync failed"),
        "the sync page says it failed"
    );

    // The Domains page and the domain's settings flag it, until a sync ends well.
    let domains: Vec<DomainSummary> = s.admin.ok("list_domains", &[]).await;
    let alert = domains[0]
        .schedule_alert
        .clone()
        .expect("flagged on Domains");
    assert!(!alert.limit_exceeded);
    assert_eq!(alert.label(), "Scheduled sync failed");
    assert!(s.settings().await.schedule_alert.is_some());
    emu.state().set_faults(FaultConfig::default());
    let manual = sync::enqueue(
        &s.app.pool,
        &NewRun {
            organization_id: s.admin.organization_id,
            domain_id: s.domain,
            source: SyncSource::Office365,
            test: false,
            requested_by: Some(&s.admin.email),
            applies_run_id: None,
        },
    )
    .await
    .unwrap();
    let outcome = run_queued(&s, &dir).await;
    assert!(matches!(outcome, Outcome::Applied(_)), "{outcome:?}");
    assert_eq!(s.runs().await.last().unwrap().0, manual);
    let domains: Vec<DomainSummary> = s.admin.ok("list_domains", &[]).await;
    assert_eq!(domains[0].schedule_alert, None);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_permanent_failure_and_a_manual_failure_are_not_retried(pool: PgPool) {
    let (emu, tenant) = generated_tenant(5, 1, &[DOMAIN], 4).await;
    let s = setup(pool).await;
    s.save_auto(true, "1").await;
    let clock = FakeClock::new(Utc::now());
    s.make_due(clock.now()).await;
    schedule::tick(&s.app.pool, &clock).await.unwrap();
    // A wrong client secret: an admin has to fix it; trying again can't help.
    let refused = impatient(&emu, &tenant, "not-the-secret");
    let outcome = run_queued(&s, &refused).await;
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                transient: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(s.retry().await, (None, None));

    // A Manual Sync that fails transiently is the admin's to run again.
    emu.state().set_faults(FaultConfig {
        throttle_probability: 1.0,
        retry_after: "0.01".into(),
        ..FaultConfig::default()
    });
    sync::enqueue(
        &s.app.pool,
        &NewRun {
            organization_id: s.admin.organization_id,
            domain_id: s.domain,
            source: SyncSource::Office365,
            test: false,
            requested_by: Some(&s.admin.email),
            applies_run_id: None,
        },
    )
    .await
    .unwrap();
    let outcome = run_queued(&s, &impatient(&emu, &tenant, MS_SECRET)).await;
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                transient: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(s.retry().await, (None, None));
    // An hour later (past both retry delays, 5 and 15 minutes) nothing is queued — unless the
    // domain's next slot comes sooner: it can fall anywhere in the day (its offset comes from
    // the domain's id), so stop just before it.
    let next = s.next_run_at().await.expect("the next slot stays set");
    let later = (clock.now() + TimeDelta::hours(1)).min(next - TimeDelta::seconds(1));
    clock.advance(later - clock.now());
    assert_eq!(
        schedule::tick(&s.app.pool, &clock).await.unwrap(),
        Tick::default()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_scheduled_run_of_an_unconnected_domain_fails_with_the_usual_message(pool: PgPool) {
    let s = setup(pool).await;
    s.save_auto(true, "1").await;
    let clock = FakeClock::new(Utc::now());
    s.make_due(clock.now()).await;
    schedule::tick(&s.app.pool, &clock).await.unwrap();
    let (run_id, ..) = s.runs().await.pop().unwrap();
    let engine = worker::Engine {
        pool: s.app.pool.clone(),
        connectors: app::ssr::connectors::Connectors {
            microsoft: Some(
                MicrosoftClient::new(crate::helpers::microsoft_config("http://127.0.0.1:9"))
                    .unwrap(),
            ),
            secret_key: None,
            google: None,
        },
        lease: crate::sync_engine::lease(),
    };
    worker::perform(
        &engine,
        worker::SyncJob {
            organization_id: s.admin.organization_id,
            run_id,
        },
    )
    .await
    .unwrap();
    let history = s.history().await;
    assert_eq!(history.rows[0].status, RunState::Failed);
    assert_eq!(history.rows[0].synced_by(), "Schedule");
    assert!(
        history.rows[0]
            .summary
            .contains("not connected to Microsoft 365"),
        "{}",
        history.rows[0].summary
    );
    assert_eq!(
        s.retry().await,
        (None, None),
        "not retried: an admin must connect it"
    );
    let settings = s.settings().await;
    assert!(settings.schedule_alert.is_some());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_scheduler_loop_and_the_worker_start_a_due_slot_within_seconds(pool: PgPool) {
    // The real worker and the real loop (system clock, 1-second ticks).
    let app = spawn_app_configured(pool, false, None, true).await;
    let admin = app.admin("Fabrikam").await;
    let domain = admin.create_domain(DOMAIN, "office365").await;
    let mut listener = sqlx::postgres::PgListener::connect_with(&app.pool)
        .await
        .unwrap();
    listener.listen("sync_progress").await.unwrap();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(schedule::run(
        app.pool.clone(),
        std::sync::Arc::new(roster_core::SystemClock),
        Duration::from_secs(1),
        async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        },
    ));
    let slot = Utc::now();
    sqlx::query(
        "update sync_settings set auto_sync_enabled = true, times_per_day = 4, next_run_at = $2 where domain_id = $1",
    )
    .bind(domain)
    .bind(slot)
    .execute(&app.pool)
    .await
    .unwrap();
    // The worker's progress notifications: the run started, then ended (not connected).
    let started_at = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            listener.recv().await.unwrap();
            let started: Option<(Option<DateTime<Utc>>, String)> = sqlx::query_as(
                "select started_at, status from sync_runs where domain_id = $1 and trigger = 'schedule'",
            )
            .bind(domain)
            .fetch_optional(&app.pool)
            .await
            .unwrap();
            if let Some((Some(at), _)) = started {
                return at;
            }
        }
    })
    .await
    .expect("the scheduled run started");
    let _ = stop_tx.send(true);
    scheduler.await.unwrap();
    let lag = started_at - slot;
    eprintln!("slot to run start: {} ms", lag.num_milliseconds());
    assert!(
        lag >= TimeDelta::zero() && lag < TimeDelta::seconds(10),
        "{lag}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_scheduled_run_whose_instance_stopped_is_retried_and_a_manual_one_is_not(pool: PgPool) {
    let s = setup(pool).await;
    s.save_auto(true, "1").await;
    let clock = FakeClock::new(Utc::now());
    s.make_due(clock.now()).await;
    schedule::tick(&s.app.pool, &clock).await.unwrap();
    let (run_id, ..) = s.runs().await.pop().unwrap();
    let run = RunRef {
        organization_id: s.admin.organization_id,
        run_id,
    };
    // A worker claims it, then its instance dies: the lease runs out and the sweep ends it.
    sync::start(&s.app.pool, run, &crate::sync_engine::lease())
        .await
        .unwrap()
        .unwrap();
    let expire =
        "update sync_runs set lease_expires_at = now() - interval '1 second' where id = $1";
    sqlx::query(expire)
        .bind(run_id)
        .execute(&s.app.pool)
        .await
        .unwrap();
    let before = Utc::now();
    assert_eq!(sync::lease::sweep_expired(&s.app.pool).await.unwrap(), 1);
    let (retry_at, attempt) = s.retry().await;
    let retry_at = retry_at.expect("a stopped scheduled run is retried");
    assert_eq!(attempt, Some(2));
    assert!(retry_at >= before + roster_core::schedule::RETRY_BACKOFF[0] - TimeDelta::seconds(1));

    // A Manual Sync stopped the same way waits for the admin.
    sqlx::query(
        "update sync_settings set retry_at = null, retry_attempt = null where domain_id = $1",
    )
    .bind(s.domain)
    .execute(&s.app.pool)
    .await
    .unwrap();
    let manual = sync::enqueue(
        &s.app.pool,
        &NewRun {
            organization_id: s.admin.organization_id,
            domain_id: s.domain,
            source: SyncSource::Office365,
            test: false,
            requested_by: Some("admin@fabrikam.example"),
            applies_run_id: None,
        },
    )
    .await
    .unwrap();
    let manual = RunRef {
        organization_id: s.admin.organization_id,
        run_id: manual,
    };
    sync::start(&s.app.pool, manual, &crate::sync_engine::lease())
        .await
        .unwrap()
        .unwrap();
    sqlx::query(expire)
        .bind(manual.run_id)
        .execute(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(sync::lease::sweep_expired(&s.app.pool).await.unwrap(), 1);
    assert_eq!(s.retry().await, (None, None));
}
