//! `roster-server`: serves Roster, or runs an operator command.

use anyhow::{Context, Result};
use app::ssr::{AppState, MicrosoftSetup};
use clap::{Parser, Subcommand};
use roster_core::microsoft::MicrosoftClient;
use roster_core::{EmailAddress, NewPassword, OrganizationName};
use roster_server::{config::Config, operator, startup, telemetry, worker};

#[derive(Parser)]
#[command(
    name = "roster-server",
    about = "Roster: directory sync for an email filter"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Create an organization and its first admin. The password is read from
    /// ROSTER_ADMIN_PASSWORD, or from the first line of standard input.
    CreateOrg {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
    },
    /// Set a new password for an admin, end their sessions and lift any sign-in lock-out.
    /// The password is read from ROSTER_ADMIN_PASSWORD, or from the first line of standard
    /// input; with --generate a random one is made and printed.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        generate: bool,
    },
    /// Create a demo organization and admin if there is no organization yet, and print its
    /// login (only that once).
    SeedDemo,
}

#[tokio::main]
async fn main() -> Result<()> {
    telemetry::init()?;
    let cli = Cli::parse();
    let config = Config::from_env()?;
    let scheduler_tick = roster_server::schedule::tick_from_env()?;
    let pool = startup::connect(&config.database_url, config.db_max_connections).await?;
    startup::migrate(&pool).await?;

    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            println!("migrations applied");
        }
        Command::CreateOrg { name, admin_email } => {
            let name = OrganizationName::parse(&name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let email =
                EmailAddress::parse(&admin_email).map_err(|e| anyhow::anyhow!("--admin-email: {e}"))?;
            let password = read_password()?;
            let created = operator::create_organization(&pool, &name, &email, &password).await?;
            println!(
                "created organization {} ({}) with admin {}",
                name.as_str(),
                created.organization_id,
                email
            );
        }
        Command::ResetPassword { email, generate } => {
            let email =
                EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let (password, shown) = if generate {
                let plain = operator::generate_password();
                let parsed =
                    NewPassword::parse(&plain).map_err(|e| anyhow::anyhow!("password: {e}"))?;
                (parsed, Some(plain))
            } else {
                (read_password()?, None)
            };
            let reset = operator::reset_password(&pool, &email, &password).await?;
            println!(
                "password of {email} reset; {} sign-in session(s) ended",
                reset.sessions_ended
            );
            if let Some(plain) = shown {
                println!("  email:    {email}\n  password: {plain}");
            }
        }
        Command::SeedDemo => match operator::seed_demo(&pool).await? {
            Some((email, password)) => {
                println!("Demo login (shown only this once):\n  email:    {email}\n  password: {password}");
            }
            None => println!("Demo data exists already; sign in with the login printed the first time (lost it? `./dev run --reset-demo-password`)."),
        },
        Command::Serve => {
            let leptos_options = leptos::config::get_configuration(None)
                .context("reading the Leptos configuration (run through cargo-leptos, or set LEPTOS_* variables)")?
                .leptos_options;
            let addr = leptos_options.site_addr;
            let microsoft = match config.microsoft.clone() {
                Some(ms) => {
                    let client = MicrosoftClient::new(ms)
                        .context("the Microsoft 365 settings (ROSTER_MS_LOGIN_URL / ROSTER_MS_GRAPH_URL)")?;
                    let setup = MicrosoftSetup {
                        client,
                        public_url: config.public_url.clone(),
                    };
                    tracing::info!(
                        login_url = %setup.client.config().login_url,
                        graph_url = %setup.client.config().graph_url,
                        redirect_uri = %setup.redirect_uri(),
                        "Microsoft 365 connection configured"
                    );
                    Some(setup)
                }
                None => {
                    tracing::warn!("Microsoft 365 is not configured (ROSTER_MS_CLIENT_ID / ROSTER_MS_CLIENT_SECRET): domains can't be connected");
                    None
                }
            };
            let google = match config.google.clone() {
                Some(g) => {
                    let client = roster_core::google::GoogleClient::new(g).context(
                        "the Google Workspace settings (ROSTER_GOOGLE_*_URL)",
                    )?;
                    let c = client.config();
                    tracing::info!(
                        accounts_url = %c.accounts_url,
                        oauth2_url = %c.oauth2_url,
                        admin_url = %c.admin_url,
                        redirect_uri = %c.redirect_url,
                        requests_per_minute = c.requests_per_minute,
                        "Google Workspace connection configured"
                    );
                    if config.secret_key.is_none() {
                        tracing::warn!("Google Workspace is configured but ROSTER_SECRET_KEY is not: grants can't be stored, so Google Workspace sync is off");
                    }
                    Some(client)
                }
                None => {
                    tracing::warn!("Google Workspace is not configured (ROSTER_GOOGLE_CLIENT_ID / ROSTER_GOOGLE_CLIENT_SECRET): domains can't be connected");
                    None
                }
            };
            // One signal stops everything: HTTP stops taking requests, the worker lets its
            // runs finish (up to a grace period), the progress listener closes.
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let progress = roster_server::progress::channel();
            let state = AppState {
                pool: pool.clone(),
                public_url: config.public_url.clone(),
                secure_cookies: config.secure_cookies(),
                session_ttl: chrono::Duration::hours(config.session_hours),
                microsoft: microsoft.clone(),
                syncs: std::sync::Arc::new(worker::Queue { pool: pool.clone() }),
                progress: progress.clone(),
                dns: config.dns,
                stopping: stop_rx.clone(),
                limits: config.limits.clone(),
                secret_key: config.secret_key.clone(),
                google: google.clone(),
            };
            let router = startup::router_with(state, leptos_options, config.metrics_token.clone());
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            tracing::info!("Roster is listening on http://{addr} (public URL {})", config.public_url);

            let stopped = move || {
                let mut rx = stop_rx.clone();
                async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                }
            };
            tokio::spawn(async move {
                startup::shutdown_signal().await;
                let _ = stop_tx.send(true);
            });
            // Before anything starts: a mail setting that can't work stops the start.
            let mailer = roster_server::report::mailer::Mailer::new(&config.mail, &config.public_url)?;
            tracing::info!("{}", mailer.describe());
            let engine = worker::Engine {
                pool: pool.clone(),
                connectors: app::ssr::connectors::Connectors {
                    microsoft: microsoft.map(|m| m.client),
                    secret_key: config.secret_key.clone(),
                    google,
                },
                lease: roster_server::sync::lease::LeaseHolder::new(config.run_lease),
            };
            let worker = tokio::spawn(worker::run(
                engine,
                config.sync_concurrency,
                config.retention_days,
                std::time::Duration::from_secs(25),
                stopped(),
            ));
            let scheduler = tokio::spawn(roster_server::schedule::run(
                pool.clone(),
                std::sync::Arc::new(roster_core::SystemClock),
                scheduler_tick,
                stopped(),
            ));
            let reports = tokio::spawn(worker::run_reports(
                pool.clone(),
                std::sync::Arc::new(mailer),
                stopped(),
            ));
            let forwarder = tokio::spawn(roster_server::progress::forward(
                pool.clone(),
                progress,
                stopped(),
            ));
            startup::serve(listener, router, stopped()).await?;
            if let Err(error) = worker.await.context("the sync worker panicked")? {
                tracing::error!(error = ?error, "the sync worker stopped with an error");
            }
            let _ = scheduler.await;
            if let Err(error) = reports.await.context("the report email worker panicked")? {
                tracing::error!(error = ?error, "the report email worker stopped with an error");
            }
            let _ = forwarder.await;
            pool.close().await;
        }
    }
    Ok(())
}

/// The new password of `create-org` and `reset-password`: ROSTER_ADMIN_PASSWORD, or the first
/// line of standard input.
fn read_password() -> Result<NewPassword> {
    let password = match std::env::var("ROSTER_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    NewPassword::parse(&password).map_err(|e| anyhow::anyhow!("password: {e}"))
}
