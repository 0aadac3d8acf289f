//! How long a sync of a 100,000-user tenant takes, and how much memory it needs.
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:54330/postgres cargo run --release -p roster-server --example sync_bench [users]`
//! (or `./dev bench`). Starts the Microsoft 365 emulator in-process with a generated tenant,
//! creates a scratch database, and runs the real engine three times: the first full sync, an
//! immediate re-run (nothing changes, nothing is written), and a Test Sync after 1% of the users
//! left the directory. Prints each run's time, the Graph requests it made and the process's
//! peak memory — the emulator's in-memory tenant included, so the growth over the first
//! line is what syncing costs (figures, not pass/fail).

#[path = "support/scratch.rs"]
mod scratch;

use anyhow::{Context, Result};
use roster_core::microsoft::{ClientSecret, MicrosoftClient, MicrosoftConfig};
use roster_core::{
    DomainName, DomainRules, EmailAddress, NewPassword, OperationsLimits, OrganizationName,
};
use roster_m365_emulator::changes::RemovalReason;
use roster_m365_emulator::{spawn, EmulatorConfig, GenerateSpec};
use roster_server::sync::{self, NewRun, Outcome, RunRef};
use roster_server::{operator, startup};
use sqlx::postgres::PgConnectOptions;
use std::time::Instant;

const CLIENT_ID: &str = "00000000-0000-4000-8000-00000000e365";
const SECRET: &str = "bench-secret";
const DOMAIN: &str = "bench.example";

#[tokio::main]
async fn main() -> Result<()> {
    let users: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()
        .context("the number of users")?
        .unwrap_or(100_000);
    scratch::with_scratch_database("roster_sync_bench", |options| run(options, users)).await
}

async fn run(options: PgConnectOptions, users: usize) -> Result<()> {
    let started = Instant::now();
    let emulator = spawn(
        EmulatorConfig::new(CLIENT_ID, SECRET).with_generated(GenerateSpec {
            users,
            groups: users / 100,
            domains: vec![DOMAIN.into(), "bench.net".into()],
            seed: 42,
            consented: true,
            ..GenerateSpec::default()
        }),
    )
    .await?;
    let tenant = emulator.state().summaries()[0].id.clone();
    println!(
        "generated a tenant of {users} users and {} groups in {:.1} s; the process (emulator included) then used {:.0} MB",
        users / 100,
        started.elapsed().as_secs_f64(),
        peak_mb()
    );

    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    startup::migrate(&pool).await?;
    let org = operator::create_organization(
        &pool,
        &OrganizationName::parse("Bench").map_err(|e| anyhow::anyhow!("{e}"))?,
        &EmailAddress::parse("bench@bench.example").map_err(|e| anyhow::anyhow!("{e}"))?,
        &NewPassword::parse("benchmark password").map_err(|e| anyhow::anyhow!("{e}"))?,
    )
    .await?
    .organization_id;
    let domain: uuid::Uuid = sqlx::query_scalar(
        "insert into domains (organization_id, name, server_type) values ($1, $2, 'office365') returning id",
    )
    .bind(org)
    .bind(DOMAIN)
    .fetch_one(&pool)
    .await?;
    let directory = MicrosoftClient::new(
        MicrosoftConfig::new(CLIENT_ID, ClientSecret::new(SECRET))
            .with_login_url(emulator.base_url())
            .with_graph_url(emulator.base_url()),
    )?
    .tenant(&tenant)?;
    let rules = DomainRules::new(DomainName::parse(DOMAIN).map_err(|e| anyhow::anyhow!("{e}"))?);
    let limits = OperationsLimits::default();

    println!(
        "{:<34} {:>9} {:>10} {:>9}  outcome",
        "run", "seconds", "Graph req", "peak MB"
    );
    let once = |label: &'static str, test: bool| {
        let (pool, directory, rules) = (&pool, &directory, &rules);
        let emulator = &emulator;
        async move {
            emulator.state().reset_counters();
            let started = Instant::now();
            let run_id = sync::enqueue(
                pool,
                &NewRun {
                    organization_id: org,
                    domain_id: domain,
                    source: "office365",
                    test,
                    requested_by: Some("bench@bench.example"),
                    applies_run_id: None,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let outcome = sync::run(
                pool,
                directory,
                rules,
                &limits,
                RunRef {
                    organization_id: org,
                    run_id,
                },
                &sync::lease::LeaseHolder::new(std::time::Duration::from_secs(
                    sync::lease::DEFAULT_LEASE_SECS,
                )),
            )
            .await?
            .context("the run was not queued")?;
            let summary = match &outcome {
                Outcome::Applied(c) | Outcome::Planned(c) => roster_core::sync::summary(c),
                other => format!("{other:?}"),
            };
            println!(
                "{label:<34} {:>9.1} {:>10} {:>9.0}  {summary}",
                started.elapsed().as_secs_f64(),
                emulator.state().counters().graph,
                peak_mb()
            );
            anyhow::Ok(())
        }
    };
    once("full sync", false).await?;
    once("re-run, nothing changed", false).await?;
    remove_users(&emulator, users / 100)?;
    once("Test Sync after 1% left", true).await?;
    let accounts: i64 = sqlx::query_scalar("select count(*) from accounts")
        .fetch_one(&pool)
        .await?;
    println!("{accounts} accounts stored");
    pool.close().await;
    Ok(())
}

/// Deletes `n` users from the emulator's tenant, as if they left the company.
fn remove_users(emulator: &roster_m365_emulator::RunningEmulator, n: usize) -> Result<()> {
    let tenant = emulator.state().summaries()[0].id.clone();
    let mut directory = emulator.state().directory_mut();
    let t = directory.resolve_mut(&tenant).context("the tenant")?;
    let ids: Vec<String> = t.users.keys().take(n).cloned().collect();
    for id in ids {
        t.delete_user(&id, RemovalReason::Deleted)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    Ok(())
}

/// The process's peak resident memory (VmHWM), in MB.
fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
