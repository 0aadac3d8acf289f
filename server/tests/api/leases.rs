//! Run leases: a run belongs to the worker that claimed it while that worker renews its lease;
//! an expired lease is ended by the sweep, a worker that lost its lease changes nothing, and
//! the heartbeat keeps a long run alive.

#![allow(clippy::unwrap_used)]

use crate::helpers::{generated_tenant, spawn_app_configured, Admin, TestApp};
use roster_core::microsoft::{ClientSecret, MicrosoftClient, MicrosoftConfig, RetryPolicy};
use roster_core::SyncSource;
use roster_core::{Directory, DomainName, DomainRules, OperationsLimits};
use roster_m365_emulator::{FaultConfig, RunningEmulator};
use roster_server::sync::lease::{self, LeaseHolder, STOPPED_MESSAGE};
use roster_server::sync::{self, NewRun, Outcome, RunRef, RunSpec};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::time::{Duration, Instant};
use uuid::Uuid;

const DOMAIN: &str = "leases.example";

struct Setup {
    emu: RunningEmulator,
    tenant: String,
    app: TestApp,
    admin: Admin,
    domain: Uuid,
}

/// An organization with one Office 365 domain and a tenant of 150 users; no worker (the tests
/// drive the engine themselves).
async fn setup(pool: PgPool) -> Setup {
    let (emu, tenant) = generated_tenant(150, 10, &[DOMAIN], 5).await;
    let app = spawn_app_configured(pool, false, None, false).await;
    let admin = app.admin("Leases").await;
    let domain = admin.create_domain(DOMAIN, "office365").await;
    Setup {
        emu,
        tenant,
        app,
        admin,
        domain,
    }
}

fn holder(secs: u64) -> LeaseHolder {
    LeaseHolder::new(Duration::from_secs(secs))
}

impl Setup {
    fn directory(&self) -> impl Directory {
        let config = MicrosoftConfig::new(
            crate::helpers::MS_CLIENT_ID,
            ClientSecret::new(crate::helpers::MS_SECRET),
        )
        .with_login_url(self.emu.base_url())
        .with_graph_url(self.emu.base_url())
        .with_retry(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
            max_total_wait: Duration::from_secs(5),
        });
        MicrosoftClient::new(config)
            .unwrap()
            .tenant(&self.tenant)
            .unwrap()
    }

    fn rules(&self) -> DomainRules {
        DomainRules::new(DomainName::parse(DOMAIN).unwrap())
    }

    async fn enqueue_for(&self, domain: Uuid, test: bool) -> RunRef {
        let run_id = sync::enqueue(
            &self.app.pool,
            &NewRun {
                organization_id: self.admin.organization_id,
                domain_id: domain,
                source: SyncSource::Office365,
                test,
                requested_by: Some(&self.admin.email),
                applies_run_id: None,
            },
        )
        .await
        .unwrap();
        RunRef {
            organization_id: self.admin.organization_id,
            run_id,
        }
    }

    async fn claim(&self, test: bool, lease: &LeaseHolder) -> RunSpec {
        let run = self.enqueue_for(self.domain, test).await;
        sync::start(&self.app.pool, run, lease)
            .await
            .unwrap()
            .expect("the run was queued")
    }

    async fn row(&self, run: RunRef) -> (String, Option<String>, Option<String>) {
        sqlx::query_as("select status, error, lease_owner from sync_runs where id = $1")
            .bind(run.run_id)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    async fn accounts(&self) -> i64 {
        sqlx::query_scalar("select count(*) from accounts where domain_id = $1")
            .bind(self.domain)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    async fn staged(&self, run: RunRef) -> i64 {
        sqlx::query_scalar("select count(*) from sync_staging where run_id = $1")
            .bind(run.run_id)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    async fn take_lease(&self, run: RunRef, owner: &str) {
        sqlx::query("update sync_runs set lease_owner = $2 where id = $1")
            .bind(run.run_id)
            .bind(owner)
            .execute(&self.app.pool)
            .await
            .unwrap();
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn start_gives_the_run_this_workers_lease(pool: PgPool) {
    let s = setup(pool).await;
    let mine = holder(60);
    let spec = s.claim(false, &mine).await;
    let (owner, left): (Option<String>, f64) = sqlx::query_as(
        "select lease_owner, extract(epoch from lease_expires_at - now())::float8 from sync_runs where id = $1",
    )
    .bind(spec.run.run_id)
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(owner.as_deref(), Some(mine.owner()));
    assert!(
        owner
            .unwrap()
            .contains(&format!(":{}:", std::process::id())),
        "the owner names the process"
    );
    assert!((55.0..=60.5).contains(&left), "{left}");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_expired_lease_is_ended_by_the_sweep(pool: PgPool) {
    let s = setup(pool).await;
    let other_domain = s
        .admin
        .create_domain("other-leases.example", "office365")
        .await;
    let dead = s.claim(false, &holder(60)).await;
    let alive_run = s.enqueue_for(other_domain, false).await;
    sync::start(&s.app.pool, alive_run, &holder(60))
        .await
        .unwrap()
        .unwrap();
    // The dead worker had staged part of its directory.
    sqlx::query(
        "insert into sync_staging (organization_id, run_id, address, external_id, kind, display_name)
         values ($1, $2, 'a@leases.example', 'x', 'user', 'A')",
    )
    .bind(dead.run.organization_id)
    .bind(dead.run.run_id)
    .execute(&s.app.pool)
    .await
    .unwrap();
    let mut listener = PgListener::connect_with(&s.app.pool).await.unwrap();
    listener.listen("sync_progress").await.unwrap();

    // A live lease is left alone.
    assert_eq!(lease::sweep_expired(&s.app.pool).await.unwrap(), 0);
    assert_eq!(s.row(dead.run).await.0, "running");

    sqlx::query(
        "update sync_runs set lease_expires_at = now() - interval '1 second' where id = $1",
    )
    .bind(dead.run.run_id)
    .execute(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(lease::sweep_expired(&s.app.pool).await.unwrap(), 1);
    let (status, error, _) = s.row(dead.run).await;
    assert_eq!(
        (status.as_str(), error.as_deref()),
        ("failed", Some(STOPPED_MESSAGE))
    );
    assert_eq!(s.staged(dead.run).await, 0, "its staging is cleared");
    let note = tokio::time::timeout(Duration::from_secs(5), listener.recv())
        .await
        .expect("progress was notified")
        .unwrap();
    assert_eq!(
        note.payload(),
        format!("{}:{}", dead.run.organization_id, dead.run.run_id)
    );
    // The other run keeps running, and a second sweep finds nothing.
    assert_eq!(s.row(alive_run).await.0, "running");
    assert_eq!(lease::sweep_expired(&s.app.pool).await.unwrap(), 0);

    // The dead worker, should it come back, can't end the run again.
    let outcome = sync::fail_started(&s.app.pool, &dead, "late".into())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::EndedElsewhere);
    assert_eq!(s.row(dead.run).await.1.as_deref(), Some(STOPPED_MESSAGE));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_worker_whose_lease_was_taken_cannot_end_or_apply_the_run(pool: PgPool) {
    let s = setup(pool).await;
    let dir = s.directory();
    let limits = OperationsLimits::default();

    // Taken before it ends: Test Sync's "planned", a failure.
    let spec = s.claim(true, &holder(60)).await;
    s.take_lease(spec.run, "another-worker").await;
    let outcome = sync::run_started(&s.app.pool, &dir, &s.rules(), &limits, &spec)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::EndedElsewhere);
    let (status, _, owner) = s.row(spec.run).await;
    assert_eq!(
        (status.as_str(), owner.as_deref()),
        ("running", Some("another-worker"))
    );
    let outcome = sync::fail_started(&s.app.pool, &spec, "nope".into())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::EndedElsewhere);
    assert_eq!(s.row(spec.run).await.0, "running");
    sqlx::query("update sync_runs set status = 'failed' where id = $1")
        .bind(spec.run.run_id)
        .execute(&s.app.pool)
        .await
        .unwrap();

    // Taken while it applies: the apply's transaction (changes written) rolls back whole.
    sqlx::query(
        r#"create function take_lease() returns trigger language plpgsql as $$
           begin new.lease_owner := 'another-worker'; return new; end $$"#,
    )
    .execute(&s.app.pool)
    .await
    .unwrap();
    sqlx::query(
        "create trigger take_lease before update on sync_runs for each row
         when (new.status = 'running' and new.phase = 'apply') execute function take_lease()",
    )
    .execute(&s.app.pool)
    .await
    .unwrap();
    let spec = s.claim(false, &holder(60)).await;
    let outcome = sync::run_started(&s.app.pool, &dir, &s.rules(), &limits, &spec)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::EndedElsewhere);
    assert_eq!(s.accounts().await, 0, "nothing applied");
    let (status, _, owner) = s.row(spec.run).await;
    assert_eq!(
        (status.as_str(), owner.as_deref()),
        ("running", Some("another-worker"))
    );

    // The same run under its own lease applies.
    sqlx::query("drop trigger take_lease on sync_runs")
        .execute(&s.app.pool)
        .await
        .unwrap();
    sqlx::query("update sync_runs set status = 'failed' where id = $1")
        .bind(spec.run.run_id)
        .execute(&s.app.pool)
        .await
        .unwrap();
    let spec = s.claim(false, &holder(60)).await;
    let outcome = sync::run_started(&s.app.pool, &dir, &s.rules(), &limits, &spec)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Applied(_)), "{outcome:?}");
    assert!(s.accounts().await > 100);
}

/// Sweeps expired leases every 100 ms until `done`, as every instance does.
fn sweeper(pool: PgPool, done: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut swept = 0;
        let mut done = done;
        loop {
            swept += lease::sweep_expired(&pool).await.unwrap();
            tokio::select! {
                _ = done.wait_for(|d| *d) => return swept,
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    })
}

#[sqlx::test(migrations = "../migrations")]
async fn the_heartbeat_keeps_a_long_run_alive_past_the_lease_length(pool: PgPool) {
    let s = setup(pool).await;
    let dir = s.directory();
    // Every request to Microsoft takes two seconds (the token, then each collection's two
    // requests, side by side): the run lasts well beyond its 2 s lease.
    s.emu.state().set_faults(FaultConfig {
        latency_ms: 2000,
        ..FaultConfig::default()
    });
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let sweeps = sweeper(s.app.pool.clone(), done_rx);
    let run = s.enqueue_for(s.domain, false).await;
    let started = Instant::now();
    let outcome = sync::run(
        &s.app.pool,
        &dir,
        &s.rules(),
        &OperationsLimits::default(),
        run,
        &holder(2),
    )
    .await
    .unwrap()
    .unwrap();
    let took = started.elapsed();
    done_tx.send(true).unwrap();
    assert_eq!(sweeps.await.unwrap(), 0, "no lease expired");
    assert!(
        took > Duration::from_secs(4),
        "the run outlived two leases ({took:?})"
    );
    assert!(matches!(outcome, Outcome::Applied(_)), "{outcome:?}");
    assert_eq!(s.row(run).await.0, "applied");
    assert!(s.accounts().await > 100);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_worker_whose_heartbeat_finds_the_lease_gone_stops_the_run(pool: PgPool) {
    let s = setup(pool).await;
    let dir = s.directory();
    s.emu.state().set_faults(FaultConfig {
        latency_ms: 400,
        ..FaultConfig::default()
    });
    let run = s.enqueue_for(s.domain, false).await;
    let pool = s.app.pool.clone();
    // An operator ends the run a moment after it started.
    let ender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sqlx::query(
            "update sync_runs set status = 'failed', error = 'Ended by an operator.' where id = $1",
        )
        .bind(run.run_id)
        .execute(&pool)
        .await
        .unwrap();
    });
    let started = Instant::now();
    let outcome = sync::run(
        &s.app.pool,
        &dir,
        &s.rules(),
        &OperationsLimits::default(),
        run,
        &holder(2),
    )
    .await
    .unwrap()
    .unwrap();
    ender.await.unwrap();
    assert_eq!(outcome, Outcome::EndedElsewhere);
    // Stopped at the first heartbeat after the ending (every 500 ms), not at the end of the
    // run's work (some 5 s of requests).
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(s.accounts().await, 0);
    assert_eq!(s.staged(run).await, 0);
    assert_eq!(s.row(run).await.1.as_deref(), Some("Ended by an operator."));
}
