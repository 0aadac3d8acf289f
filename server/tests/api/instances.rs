//! Two real `roster-server` processes on one database, as operators run them behind a load
//! balancer: a run started through one is followed live through the other, and killing the
//! instance that runs it (SIGKILL) leaves the run failed within its lease, the recipients as
//! they were; the other instance then runs the domain's next scheduled slot.
//!
//! The binary is the one Cargo built for these tests, or `ROSTER_BIN`. Each instance's log is
//! kept under Cargo's test temp folder and printed when a test fails. Ports 3240–3249.
//! Built to be extended: [`Instance::start`] starts one more instance, [`wait_for_status`]
//! waits for a run's state.

#![allow(clippy::unwrap_used)]

use crate::helpers::{
    connect_to_tenant, generated_tenant, new_client, post, signed_in_client, MS_CLIENT_ID,
    MS_SECRET, PASSWORD,
};
use reqwest::StatusCode;
use roster_core::{EmailAddress, NewPassword, OrganizationName};
use roster_m365_emulator::{FaultConfig, RunningEmulator};
use roster_server::operator;
use sqlx::PgPool;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The lease of these tests' instances: short, so a killed instance's run ends soon.
pub const LEASE_SECS: u64 = 6;
/// How often these tests' instances look for due slots.
pub const SCHEDULER_TICK_SECS: u64 = 1;

/// What every instance shares: the database and the Microsoft 365 emulator.
pub struct Shared {
    pub database_url: String,
    pub emulator_url: String,
}

impl Shared {
    /// The test's fresh database (from its pool) and a running emulator.
    pub fn new(pool: &PgPool, emu: &RunningEmulator) -> Self {
        let options = pool.connect_options();
        Self {
            database_url: format!(
                "postgres://{}@{}:{}/{}",
                options.get_username(),
                options.get_host(),
                options.get_port(),
                options
                    .get_database()
                    .expect("the test database has a name")
            ),
            emulator_url: emu.base_url().to_owned(),
        }
    }
}

/// One `roster-server serve` process; killed (SIGKILL) when dropped.
pub struct Instance {
    pub name: &'static str,
    pub url: String,
    child: Child,
    log: PathBuf,
}

impl Instance {
    /// Starts an instance on `port` and waits until `/readyz` answers 200.
    pub async fn start(name: &'static str, port: u16, shared: &Shared) -> Self {
        let bin = std::env::var("ROSTER_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_roster-server").to_owned());
        let url = format!("http://127.0.0.1:{port}");
        let log =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("instance-{name}-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &shared.database_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("LEPTOS_SITE_PKG_DIR", "pkg")
            .env("LEPTOS_OUTPUT_NAME", "roster")
            .env("LEPTOS_ENV", "DEV")
            .env("ROSTER_PUBLIC_URL", &url)
            .env("ROSTER_MS_CLIENT_ID", MS_CLIENT_ID)
            .env("ROSTER_MS_CLIENT_SECRET", MS_SECRET)
            .env("ROSTER_MS_LOGIN_URL", &shared.emulator_url)
            .env("ROSTER_MS_GRAPH_URL", &shared.emulator_url)
            .env("ROSTER_MS_SCOPE", "https://graph.microsoft.com/.default")
            .env("ROSTER_RUN_LEASE_SECS", LEASE_SECS.to_string())
            .env(
                "ROSTER_SCHEDULER_TICK_SECS",
                SCHEDULER_TICK_SECS.to_string(),
            )
            .env("ROSTER_DB_MAX_CONNECTIONS", "5")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut instance = Self {
            name,
            url,
            child,
            log,
        };
        let client = new_client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = client.get(format!("{}/readyz", instance.url)).send().await {
                if res.status() == StatusCode::OK {
                    break;
                }
            }
            if let Ok(Some(status)) = instance.child.try_wait() {
                panic!(
                    "instance {name} exited ({status}):\n{}",
                    instance.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "instance {name} not ready in 60 s:\n{}",
                instance.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        instance
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the process ends at once, whatever it was doing.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- log of instance {} ----\n{}",
                self.name,
                self.log_text()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An admin signed in over HTTP; the session is in the database, so the same cookie works on
/// every instance.
pub struct Browser {
    pub client: reqwest::Client,
    pub organization_id: Uuid,
}

impl Browser {
    pub async fn sign_in(pool: &PgPool, instance: &Instance) -> Self {
        let email = format!("admin-{}@instances.example", Uuid::new_v4().simple());
        let created = operator::create_organization(
            pool,
            &OrganizationName::parse("Instances").unwrap(),
            &EmailAddress::parse(&email).unwrap(),
            &NewPassword::parse(PASSWORD).unwrap(),
        )
        .await
        .unwrap();
        let client = signed_in_client(&instance.url, &email).await;
        Self {
            client,
            organization_id: created.organization_id,
        }
    }

    /// Calls a server function on `instance`; it must succeed.
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        instance: &Instance,
        name: &str,
        form: &[(&str, &str)],
    ) -> T {
        let res = post(&self.client, &instance.url, name, form).await;
        let status = res.status();
        let body = res.text().await.unwrap();
        assert!(
            status.is_success(),
            "{name} on {}: {status} {body}",
            instance.name
        );
        serde_json::from_str(&body).unwrap()
    }

    /// The domain's live progress stream, served by `instance`.
    pub async fn follow(&self, instance: &Instance, domain: Uuid) -> Events {
        let res = self
            .client
            .get(format!("{}/domains/{domain}/sync/events", instance.url))
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        Events {
            res,
            buffer: String::new(),
        }
    }
}

/// A Server-Sent Events stream of a domain's latest run.
pub struct Events {
    res: reqwest::Response,
    buffer: String,
}

impl Events {
    /// The next event's data, or `None` when none came within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                    return Some(serde_json::from_str(data).unwrap());
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk())
                .await
                .ok()?;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk.ok()??));
        }
    }
}

/// Waits until the run's status is `status`; returns how long that took.
pub async fn wait_for_status(pool: &PgPool, run: Uuid, status: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let now: String = sqlx::query_scalar("select status from sync_runs where id = $1")
            .bind(run)
            .fetch_one(pool)
            .await
            .unwrap();
        if now == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "run {run} is still {now:?}, not {status:?}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const DOMAIN: &str = "instances.example";

/// Connects the organization's new domain to the emulator's tenant (the consent flow itself is
/// tested in `microsoft.rs`).
async fn connected_domain(pool: &PgPool, browser: &Browser, a: &Instance, tenant: &str) -> Uuid {
    let domain: Uuid = browser
        .call(
            a,
            "create_domain",
            &[("name", DOMAIN), ("server_type", "office365")],
        )
        .await;
    connect_to_tenant(
        pool,
        browser.organization_id,
        domain,
        DOMAIN,
        tenant,
        "consent@instances.example",
    )
    .await;
    domain
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_is_followed_from_another_instance_and_fails_within_its_lease_when_its_instance_dies(
    pool: PgPool,
) {
    // Every request to Microsoft takes 3 s; the users (three pages of 999, after the token and
    // their delta link) are the longest chain of the round: the run lasts some fifteen seconds.
    let (emu, tenant) = generated_tenant(2500, 10, &[DOMAIN], 21).await;
    emu.state().set_faults(FaultConfig {
        latency_ms: 3000,
        ..FaultConfig::default()
    });
    let shared = Shared::new(&pool, &emu);
    let mut a = Instance::start("A", 3240, &shared).await;
    let browser = Browser::sign_in(&pool, &a).await;
    let domain = connected_domain(&pool, &browser, &a, &tenant).await;

    let domain_text = domain.to_string();
    let run: Uuid = browser
        .call(
            &a,
            "start_sync",
            &[("domain_id", &domain_text), ("mode", "manual")],
        )
        .await;
    wait_for_status(&pool, run, "running", Duration::from_secs(30)).await;
    let owner: String = sqlx::query_scalar("select lease_owner from sync_runs where id = $1")
        .bind(run)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        owner.contains(&format!(":{}:", a.pid())),
        "A runs it: {owner}"
    );

    // B starts while A's run goes on, and streams its progress.
    let b = Instance::start("B", 3241, &shared).await;
    let mut events = browser.follow(&b, domain).await;
    let first = events
        .next(Duration::from_secs(10))
        .await
        .expect("B sends the run at once");
    assert_eq!(first["id"], run.to_string(), "{first}");
    assert_eq!(first["status"], "running", "{first}");
    let live = events
        .next(Duration::from_secs(20))
        .await
        .expect("B streams the progress A makes");
    assert_eq!(live["status"], "running", "{live}");
    assert_ne!(live, first, "a later state of the run");

    a.kill();
    let killed = Instant::now();
    let failed_after = wait_for_status(
        &pool,
        run,
        "failed",
        Duration::from_secs(LEASE_SECS * 2 + 5),
    )
    .await;
    println!(
        "kill to failed: {:.1} s (lease {LEASE_SECS} s, sweep every {:.1} s)",
        failed_after.as_secs_f64(),
        LEASE_SECS as f64 / 4.0
    );
    let error: Option<String> = sqlx::query_scalar("select error from sync_runs where id = $1")
        .bind(run)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        error.as_deref(),
        Some("Roster stopped while this sync was running. Nothing was changed; run it again.")
    );
    // B's stream shows the ending too.
    let mut ended = None;
    while let Some(event) = events.next(Duration::from_secs(5)).await {
        if event["status"] == "failed" {
            ended = Some(event);
            break;
        }
    }
    assert!(ended.is_some(), "B streamed the failed run");
    assert!(killed.elapsed() < Duration::from_secs(LEASE_SECS * 2 + 10));

    // The recipients are as they were: none, and nothing left staged.
    let accounts: i64 = sqlx::query_scalar("select count(*) from accounts where domain_id = $1")
        .bind(domain)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(accounts, 0);
    let staged: i64 = sqlx::query_scalar("select count(*) from sync_staging where run_id = $1")
        .bind(run)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(staged, 0);

    // B runs the domain's next scheduled slot: Auto Sync on (saved through B), the slot made
    // due now; B's scheduler claims it and B's worker applies it.
    emu.state().set_faults(FaultConfig::default());
    let _: () = browser
        .call(
            &b,
            "save_auto_sync",
            &[
                ("domain_id", &domain_text),
                ("auto_sync_enabled", "on"),
                ("times_per_day", "1"),
            ],
        )
        .await;
    let slot = chrono::Utc::now();
    roster_server::schedule::make_due(&pool, browser.organization_id, domain, slot)
        .await
        .unwrap();
    let claimed = Instant::now();
    let next = loop {
        let scheduled: Option<Uuid> = sqlx::query_scalar(
            "select id from sync_runs where domain_id = $1 and trigger = 'schedule' and status <> 'skipped'",
        )
        .bind(domain)
        .fetch_optional(&pool)
        .await
        .unwrap();
        if let Some(id) = scheduled {
            break id;
        }
        assert!(
            claimed.elapsed() < Duration::from_secs(30),
            "B's scheduler did not queue the due slot:\n{}",
            b.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    wait_for_status(&pool, next, "applied", Duration::from_secs(60)).await;
    let (owner, started_at): (Option<String>, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("select lease_owner, started_at from sync_runs where id = $1")
            .bind(next)
            .fetch_one(&pool)
            .await
            .unwrap();
    let owner = owner.unwrap_or_default();
    assert!(
        owner.contains(&format!(":{}:", b.pid())),
        "B ran the scheduled slot: {owner}"
    );
    println!(
        "slot to run start on B: {} ms (scheduler tick {SCHEDULER_TICK_SECS} s)",
        (started_at - slot).num_milliseconds()
    );
    let accounts: i64 = sqlx::query_scalar("select count(*) from accounts where domain_id = $1")
        .bind(domain)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        accounts > 0,
        "the scheduled run applied the tenant's accounts"
    );
}
