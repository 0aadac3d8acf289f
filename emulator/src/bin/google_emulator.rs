//! `google-emulator`: runs the Google (OAuth 2.0 + Admin SDK Directory API) emulator until
//! Ctrl-C.

use clap::Parser;
use roster_m365_emulator::google::{self, GenerateSpec, GoogleConfig, WorkspaceFile};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Emulates Google's OAuth 2.0 web-server flow and the Directory API reads for Roster.
// No `Debug`: the struct holds the client secret.
#[derive(Parser)]
#[command(name = "google-emulator", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4020")]
    addr: SocketAddr,
    /// The OAuth client id of the one registered app.
    #[arg(long, env = "GOOGLE_EMULATOR_CLIENT_ID")]
    client_id: String,
    /// Its client secret (prefer the environment variable: command lines are visible).
    #[arg(long, env = "GOOGLE_EMULATOR_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// Registered redirect URIs (repeatable); none = any is accepted.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// `iss` of ID tokens: `google` (https://accounts.google.com) or `self` (the emulator's URL).
    #[arg(long, default_value = "google")]
    issuer: String,
    /// A Workspace file to load (repeatable). See README.md for the format.
    #[arg(long = "workspace-file")]
    workspace_files: Vec<PathBuf>,
    /// Generate a Workspace with this many users (default 50 when no file is given).
    #[arg(long)]
    users: Option<usize>,
    /// Groups of the generated Workspace (default 10).
    #[arg(long)]
    groups: Option<usize>,
    /// Domains of the generated Workspace, the first primary.
    #[arg(long, value_delimiter = ',')]
    domains: Vec<String>,
    /// Domain aliases of the generated Workspace's primary domain.
    #[arg(long, value_delimiter = ',')]
    domain_aliases: Vec<String>,
    /// Seed of the generated Workspace.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `expires_in` of access tokens, seconds.
    #[arg(long, default_value_t = 3599)]
    token_ttl: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let cli = Cli::parse();
    let mut config = GoogleConfig::new(cli.client_id, cli.client_secret);
    config.addr = cli.addr;
    config.redirect_uris = cli.redirect_uris;
    config.token_ttl = cli.token_ttl;
    config.issuer = match cli.issuer.as_str() {
        "google" => Some(google::state::GOOGLE_ISSUER.into()),
        "self" => None,
        other => anyhow::bail!("--issuer must be google or self, not {other}"),
    };
    for path in &cli.workspace_files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let file: WorkspaceFile =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        config = config.with_workspace(file);
    }
    if cli.workspace_files.is_empty() || cli.users.is_some() || cli.groups.is_some() {
        let mut spec = GenerateSpec {
            seed: cli.seed,
            ..Default::default()
        };
        spec.users = cli.users.unwrap_or(spec.users);
        spec.groups = cli.groups.unwrap_or(spec.groups);
        if !cli.domains.is_empty() {
            spec.domains = cli.domains;
        }
        if !cli.domain_aliases.is_empty() {
            spec.domain_aliases = cli.domain_aliases;
        }
        config = config.with_generated(spec);
    }
    let emu = google::spawn(config).await?;
    println!("Google emulator listening on {}", emu.base_url());
    for ws in emu.state().lock().workspaces.iter() {
        let admins: Vec<&str> = ws
            .users
            .values()
            .filter(|u| u.is_admin)
            .map(|u| u.primary_email.as_str())
            .collect();
        println!(
            "  Workspace {} ({}): {} users, {} groups, domains {}, admins {}",
            ws.customer_id,
            ws.primary_domain,
            ws.users.len(),
            ws.groups.len(),
            ws.domains().join(","),
            admins.join(",")
        );
    }
    tokio::signal::ctrl_c().await?;
    emu.shutdown().await
}
