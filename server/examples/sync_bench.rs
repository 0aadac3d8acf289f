//! The sync benchmark of `./dev bench`: the Microsoft 365 emulator and the Roster server each
//! run as their own process, and this one drives them from outside as an admin would, so it
//! measures whatever the engine is.
//!
//! `cargo run --release -p roster-server --example sync_bench -- [--users N] [--groups M]`
//! with `DATABASE_URL` (a Postgres server; a scratch database is made and dropped),
//! `ROSTER_BENCH_SERVER_BIN` and `ROSTER_BENCH_EMULATOR_BIN` (release binaries) and, to put
//! the Email Accounts figures in the table, `ROSTER_BENCH_ACCOUNTS_JSON` (what
//! `accounts_bench` wrote). Default tenant: 100,000 users and 5,000 mail-enabled groups of
//! ~100 direct members, 20 ms added to every emulator response. In one run, side by side:
//! the fetch floor (a minimal delta client here), a full sync of an empty domain, a no-op
//! sync right after, and an incremental sync after 1 % of users and memberships changed.
//! Writes `BENCHMARKS.md` and `bench/results.json` at the workspace root (`ROSTER_BENCH_ROOT`),
//! and the processes' logs in its `.dev/bench/`.

#[path = "support/floor.rs"]
mod floor;
#[path = "support/mutate.rs"]
mod mutate;
#[path = "support/pgstats.rs"]
mod pgstats;
#[path = "support/processes.rs"]
mod processes;
#[path = "support/report.rs"]
mod report;
#[path = "support/scratch.rs"]
mod scratch;

use anyhow::{bail, Context, Result};
use processes::{ServerSetup, TenantShape, DOMAIN};
use report::{Phase, Results, RunPage};
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::ConnectOptions;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use uuid::Uuid;

const ADMIN: &str = "bench@bench.example";
const PASSWORD: &str = "benchmark password";

#[tokio::main]
async fn main() -> Result<()> {
    let mut shape = TenantShape {
        users: 100_000,
        groups: 5_000,
        members_per_group: 100,
        latency_ms: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || -> Result<usize> {
            Ok(args
                .next()
                .with_context(|| format!("{arg} needs a value"))?
                .parse()?)
        };
        match arg.as_str() {
            "--users" => shape.users = value()?,
            "--groups" => shape.groups = value()?,
            other => bail!("unknown argument {other} (known: --users N --groups M)"),
        }
    }
    let root = match std::env::var("ROSTER_BENCH_ROOT") {
        Ok(root) => PathBuf::from(root),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("workspace root")?
            .to_owned(),
    };
    let logs = root.join(".dev/bench");
    std::fs::create_dir_all(&logs)?;
    let bin = |var: &str, name: &str| -> PathBuf {
        std::env::var(var).map(PathBuf::from).unwrap_or_else(|_| {
            let target = std::env::var("CARGO_TARGET_DIR")
                .map_or_else(|_| root.join("target"), PathBuf::from);
            target.join("release").join(name)
        })
    };
    let server_bin = bin("ROSTER_BENCH_SERVER_BIN", "roster-server");
    let emulator_bin = bin("ROSTER_BENCH_EMULATOR_BIN", "m365-emulator");
    let accounts = match std::env::var("ROSTER_BENCH_ACCOUNTS_JSON") {
        Ok(path) => Some(
            serde_json::from_str(
                &std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?,
            )
            .with_context(|| format!("{path} is not accounts_bench's JSON"))?,
        ),
        Err(_) => None,
    };

    let started = Instant::now();
    let (emulator, base) = processes::start_emulator(&emulator_bin, &shape, &logs).await?;
    let http = reqwest::Client::new();
    let tenant = tenant_id(&http, &base).await?;
    println!(
        "emulator: {} users, {} groups generated and serving in {:.1} s",
        shape.users,
        shape.groups,
        started.elapsed().as_secs_f64()
    );
    let result = scratch::with_scratch_database("roster_sync_bench", |options| async move {
        let results = run(&shape, &base, &tenant, options, server_bin, logs, accounts).await?;
        results.write(&root)?;
        println!("{}", serde_json::to_string_pretty(&results.json())?);
        println!("wrote BENCHMARKS.md and bench/results.json");
        Ok(())
    })
    .await;
    emulator.stop().await?;
    result
}

async fn run(
    shape: &TenantShape,
    base: &str,
    tenant: &str,
    options: PgConnectOptions,
    server_bin: PathBuf,
    logs: PathBuf,
    accounts: Option<Vec<report::AccountsCase>>,
) -> Result<Results> {
    let http = reqwest::Client::new();
    let floor = floor::delta(&http, base, tenant).await?;
    println!(
        "fetch floor: {:.1} s, {} requests; users {} ({} SMTP addresses), groups {} ({} memberships)",
        floor.seconds,
        floor.users.requests + floor.groups.requests,
        floor.users.objects,
        floor.users.smtp_addresses,
        floor.groups.objects,
        floor.groups.memberships
    );
    let listing = floor::listing(&http, base, tenant).await?;
    println!(
        "users by /users?$top=999, groups by delta: {:.1} s, {} requests",
        listing.seconds,
        listing.users.requests + listing.groups.requests
    );

    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone())
        .await?;
    let setup = ServerSetup {
        bin: server_bin,
        database_url: options.to_url_lossy().to_string(),
        emulator: base.to_owned(),
        logs,
    };
    setup.create_org(ADMIN, PASSWORD).await?;
    let admin = reqwest::Client::builder().cookie_store(true).build()?;

    let (server, url) = setup.start("full").await?;
    sign_in(&admin, &url).await?;
    let domain: Uuid = call(
        &admin,
        &url,
        "create_domain",
        &[("name", DOMAIN), ("server_type", "office365")],
    )
    .await?;
    connect(&pool, domain, DOMAIN, tenant).await?;
    let before = pgstats::settled(&pool).await?;
    let (full, full_run) = sync(&admin, &url, &pool, base, domain, &server).await?;
    let run_page = run_page(&admin, &url, &pool, domain, full_run).await?;
    server.stop().await?;
    let full = finish(full, &pool, before).await?;
    print_phase("full sync", &full);

    let resync = phase(&setup, &admin, &pool, base, domain, "resync").await?;
    print_phase("no-op sync", &resync);

    let changed = mutate::one_percent(&http, base, tenant).await?;
    println!("changed: {changed:?}");
    let delta = phase(&setup, &admin, &pool, base, domain, "delta").await?;
    print_phase("incremental sync", &delta);
    pool.close().await;

    Ok(Results {
        users: shape.users,
        groups: shape.groups,
        latency_ms: shape.latency_ms,
        floor,
        listing,
        full,
        resync,
        delta,
        changed,
        run_page,
        accounts,
    })
}

/// A sync in a fresh server process, its rows read once that process stopped.
async fn phase(
    setup: &ServerSetup,
    admin: &reqwest::Client,
    pool: &PgPool,
    base: &str,
    domain: Uuid,
    label: &str,
) -> Result<Phase> {
    let before = pgstats::settled(pool).await?;
    let (server, url) = setup.start(label).await?;
    sign_in(admin, &url).await?;
    let (phase, _) = sync(admin, &url, pool, base, domain, &server).await?;
    server.stop().await?;
    finish(phase, pool, before).await
}

async fn finish(mut phase: Phase, pool: &PgPool, before: pgstats::Written) -> Result<Phase> {
    phase.written = pgstats::settled(pool).await?.since(&before);
    Ok(phase)
}

fn print_phase(name: &str, p: &Phase) {
    println!(
        "{name}: {:.1} s, {} Graph requests, peak RSS {:.0} MB, {} changes; {}",
        p.seconds, p.requests, p.peak_rss_mb, p.changes, p.summary
    );
}

/// Manual Sync through the server function, then waits for the run's row to end.
async fn sync(
    admin: &reqwest::Client,
    url: &str,
    pool: &PgPool,
    base: &str,
    domain: Uuid,
    server: &processes::Proc,
) -> Result<(Phase, Uuid)> {
    let http = reqwest::Client::new();
    http.post(format!("{base}/_emulator/counters/reset"))
        .send()
        .await?
        .error_for_status()?;
    let started = Instant::now();
    let run: Uuid = call(
        admin,
        url,
        "start_sync",
        &[("domain_id", &domain.to_string()), ("mode", "manual")],
    )
    .await?;
    let (status, error, summary) = loop {
        let (status, error, summary): (String, Option<String>, Option<String>) =
            sqlx::query_as("select status, error, summary from sync_runs where id = $1")
                .bind(run)
                .fetch_one(pool)
                .await?;
        if status != "queued" && status != "running" {
            break (status, error, summary);
        }
        if started.elapsed() > Duration::from_secs(4 * 3600) {
            bail!("run {run} did not end in four hours");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_mb = server.peak_rss_mb()?;
    if status != "applied" {
        bail!("run {run} ended {status}: {}", error.unwrap_or_default());
    }
    let counters: serde_json::Value = http
        .get(format!("{base}/_emulator/counters"))
        .send()
        .await?
        .json()
        .await?;
    let changes: i64 =
        sqlx::query_scalar("select count(*) from sync_run_changes where run_id = $1")
            .bind(run)
            .fetch_one(pool)
            .await?;
    Ok((
        Phase {
            seconds,
            requests: counters["graph"].as_u64().unwrap_or_default(),
            peak_rss_mb,
            written: pgstats::Written::default(),
            changes,
            summary: summary.unwrap_or_default(),
        },
        run,
    ))
}

/// Opens the full sync's run page as a browser would: once cold, then ten times.
async fn run_page(
    admin: &reqwest::Client,
    url: &str,
    pool: &PgPool,
    domain: Uuid,
    run: Uuid,
) -> Result<RunPage> {
    let changes: i64 =
        sqlx::query_scalar("select count(*) from sync_run_changes where run_id = $1")
            .bind(run)
            .fetch_one(pool)
            .await?;
    let page = format!("{url}/domains/{domain}/sync/runs/{run}");
    let mut times = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        let res = admin
            .get(&page)
            .header("accept", "text/html")
            .send()
            .await?;
        let status = res.status();
        let body = res.text().await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if !status.is_success() || body.len() < 1000 {
            bail!("the run page answered {status} ({} bytes)", body.len());
        }
    }
    let first_ms = times[0];
    let mut warm = times[1..].to_vec();
    warm.sort_by(f64::total_cmp);
    Ok(RunPage {
        changes,
        first_ms,
        median_ms: warm[warm.len() / 2],
        worst_ms: warm[warm.len() - 1],
    })
}

async fn tenant_id(http: &reqwest::Client, base: &str) -> Result<String> {
    let tenants: serde_json::Value = http
        .get(format!("{base}/_emulator/tenants"))
        .send()
        .await?
        .json()
        .await?;
    Ok(tenants[0]["id"]
        .as_str()
        .context("the emulator has no tenant")?
        .to_owned())
}

async fn sign_in(admin: &reqwest::Client, url: &str) -> Result<()> {
    let res = admin
        .post(format!("{url}/api/login"))
        .header("accept", "application/json")
        .form(&[("email", ADMIN), ("password", PASSWORD)])
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("sign-in failed: {} {}", res.status(), res.text().await?);
    }
    Ok(())
}

/// Calls a server function as the hydrated app does; its JSON answer.
async fn call<T: serde::de::DeserializeOwned>(
    admin: &reqwest::Client,
    url: &str,
    name: &str,
    form: &[(&str, &str)],
) -> Result<T> {
    let res = admin
        .post(format!("{url}/api/{name}"))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await?;
    let status = res.status();
    let body = res.text().await?;
    if !status.is_success() {
        bail!("{name}: {status} {body}");
    }
    serde_json::from_str(&body).with_context(|| format!("{name} answered {body}"))
}

/// The domain's connection to the emulator's tenant, as the consent flow would store it
/// (the flow itself is tested elsewhere); the tenant listing the domain proves ownership.
async fn connect(pool: &PgPool, domain: Uuid, name: &str, tenant: &str) -> Result<()> {
    sqlx::query(
        "insert into microsoft_connections (organization_id, domain_id, tenant_id, tenant_name,
                tenant_domains, domain_verified, granted_by_email)
         select organization_id, id, $2, 'Bench', array[$3], true, $4 from domains where id = $1",
    )
    .bind(domain)
    .bind(tenant)
    .bind(name)
    .bind(ADMIN)
    .execute(pool)
    .await?;
    Ok(())
}
