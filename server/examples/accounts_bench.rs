//! How fast the Email Accounts page's server function is at 100,000 accounts.
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:54330/postgres cargo run --release -p roster-server --example accounts_bench`
//! (or `./dev bench`). Creates a scratch database, fills one domain with 100,000 accounts
//! (a third with an alias), serves the real app on a random port, and prints the time of the
//! first page, a deep page, a previous page and two searches, as a browser would ask for them.
//! With `ROSTER_BENCH_ACCOUNTS_JSON=<file>` it also writes them there (`sync_bench` puts them
//! in BENCHMARKS.md).

#[path = "support/scratch.rs"]
mod scratch;

use anyhow::Result;
use app::ssr::AppState;
use roster_core::{EmailAddress, NewPassword, OrganizationName};
use roster_server::{operator, startup};
use sqlx::postgres::PgConnectOptions;
use std::time::{Duration, Instant};

const ACCOUNTS: i64 = 100_000;
const ROUNDS: usize = 20;

#[tokio::main]
async fn main() -> Result<()> {
    scratch::with_scratch_database("roster_bench", run).await
}

async fn run(options: PgConnectOptions) -> Result<()> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    startup::migrate(&pool).await?;
    let email = "bench@bench.example";
    let password = "benchmark password";
    let org = operator::create_organization(
        &pool,
        &OrganizationName::parse("Bench").map_err(|e| anyhow::anyhow!("{e}"))?,
        &EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?,
        &NewPassword::parse(password).map_err(|e| anyhow::anyhow!("{e}"))?,
    )
    .await?;
    let domain: uuid::Uuid = sqlx::query_scalar(
        "insert into domains (organization_id, name, server_type) values ($1, 'bench.example', 'office365') returning id",
    )
    .bind(org.organization_id)
    .fetch_one(&pool)
    .await?;

    let started = Instant::now();
    sqlx::query(
        "with a as (
            insert into accounts (organization_id, domain_id, address, kind, source)
            select $1, $2, format('user%s@bench.example', lpad(n::text, 6, '0')), 'mailbox', 'office365'
            from generate_series(1, $3) n returning id, address)
         insert into addresses (address, organization_id, account_id, is_primary)
         select address, $1, id, true from a",
    )
    .bind(org.organization_id)
    .bind(domain)
    .bind(ACCOUNTS)
    .execute(&pool)
    .await?;
    sqlx::query(
        "insert into addresses (address, organization_id, account_id, is_primary)
         select replace(address, 'user', 'alias'), organization_id, id, false
         from accounts where domain_id = $1 and right(split_part(address, '@', 1), 1) in ('0', '3', '6')",
    )
    .bind(domain)
    .execute(&pool)
    .await?;
    sqlx::query("analyze").execute(&pool).await?;
    println!(
        "filled {ACCOUNTS} accounts in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}", listener.local_addr()?);
    let state = AppState {
        pool: pool.clone(),
        public_url: address.clone(),
        secure_cookies: false,
        session_ttl: chrono::Duration::hours(1),
        microsoft: None,
        syncs: std::sync::Arc::new(roster_server::worker::Queue { pool: pool.clone() }),
        progress: roster_server::progress::channel(),
        dns: Default::default(),
        stopping: tokio::sync::watch::channel(false).1,
        limits: app::ssr::limits::Limits::default(),
        secret_key: None,
        google: None,
    };
    let options = leptos::config::LeptosOptions::builder()
        .output_name("roster")
        .build();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(startup::serve(
        listener,
        startup::router(state, options),
        async {
            let _ = stopped.await;
        },
    ));

    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let login = client
        .post(format!("{address}/api/login"))
        .header("accept", "application/json")
        .form(&[("email", email), ("password", password)])
        .send()
        .await?;
    anyhow::ensure!(
        login.status().is_success(),
        "sign-in failed: {}",
        login.status()
    );

    let domain = domain.to_string();
    let mut figures = Vec::new();
    let cases: [(&str, Vec<(&str, &str)>); 5] = [
        ("first page", vec![]),
        (
            "deep page (after user090000)",
            vec![("after", "user090000@bench.example")],
        ),
        (
            "previous page (before user050000)",
            vec![("before", "user050000@bench.example")],
        ),
        ("search \"12345\" (address)", vec![("search", "12345")]),
        (
            "search \"alias0999\" (aliases)",
            vec![("search", "alias0999")],
        ),
    ];
    println!(
        "{:<38} {:>10} {:>10} {:>8}",
        "list_accounts, 50 rows", "median", "worst", "matches"
    );
    for (name, extra) in cases {
        let mut form = vec![("domain_id", domain.as_str())];
        form.extend(extra);
        let mut times = Vec::with_capacity(ROUNDS);
        let mut total = 0;
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let res = client
                .post(format!("{address}/api/list_accounts"))
                .header("accept", "application/json")
                .form(&form)
                .send()
                .await?;
            anyhow::ensure!(res.status().is_success(), "{name}: {}", res.status());
            let page: app::model::AccountsPage = res.json().await?;
            times.push(t.elapsed());
            total = page.total;
        }
        times.sort();
        println!(
            "{name:<38} {:>8.1}ms {:>8.1}ms {total:>8}",
            ms(times[ROUNDS / 2]),
            ms(times[ROUNDS - 1])
        );
        figures.push(serde_json::json!({
            "case": name,
            "median_ms": ms(times[ROUNDS / 2]),
            "worst_ms": ms(times[ROUNDS - 1]),
            "matches": total,
        }));
    }
    if let Ok(path) = std::env::var("ROSTER_BENCH_ACCOUNTS_JSON") {
        std::fs::write(&path, serde_json::to_string_pretty(&figures)?)?;
    }
    let _ = stop.send(());
    server.await??;
    pool.close().await;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
