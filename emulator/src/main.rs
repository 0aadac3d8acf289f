//! `m365-emulator`: runs the Microsoft 365 emulator until Ctrl-C.

use clap::Parser;
use roster_m365_emulator::{EmulatorConfig, FaultConfig, GenerateSpec, TenantFile};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Emulates the Microsoft identity platform and Graph directory reads for Roster.
// No `Debug`: the struct holds the client secret.
#[derive(Parser)]
#[command(name = "m365-emulator", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4010")]
    addr: SocketAddr,
    /// Also serve the test DNS server (TXT records set through `/_emulator/dns/…`) here, UDP
    /// and TCP, e.g. 127.0.0.1:4053.
    #[arg(long)]
    dns_addr: Option<SocketAddr>,
    /// The application (client) id of the one registered app.
    #[arg(long, env = "M365_EMULATOR_CLIENT_ID")]
    client_id: String,
    /// Its client secret (prefer the environment variable: command lines are visible).
    #[arg(long, env = "M365_EMULATOR_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// A tenant file to load (repeatable). See README.md for the format.
    #[arg(long = "tenant-file")]
    tenant_files: Vec<PathBuf>,
    /// Generate a tenant with this many users (default 50 when no tenant file is given).
    #[arg(long)]
    users: Option<usize>,
    /// Groups of the generated tenant (default 10).
    #[arg(long)]
    groups: Option<usize>,
    /// Custom domains of the generated tenant, the first one default.
    #[arg(long, value_delimiter = ',')]
    domains: Vec<String>,
    /// Seed of the generated tenant: same seed, same tenant.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Grant admin consent in the generated tenant from the start.
    #[arg(long)]
    consented: bool,
    /// Average direct members per generated group (default: mostly small groups, 2–400).
    #[arg(long)]
    members_per_group: Option<usize>,
    /// Make every generated group mail-enabled (default: a quarter are security groups
    /// without mail).
    #[arg(long)]
    mail_enabled_groups: bool,
    /// People of the generated tenant get 0 to N extra aliases (at most 4), numbered when
    /// taken (default: 0–3, dropped when taken).
    #[arg(long)]
    max_aliases: Option<usize>,
    /// Lifetime of access tokens in seconds (`expires_in`).
    #[arg(long, default_value_t = 3599)]
    token_ttl: u64,
    /// Accept admin consent requests at once, without the consent page.
    #[arg(long)]
    auto_consent: bool,
    /// Registered redirect URI (repeatable); none means any is accepted.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Application permission granted by consent (repeatable); default: the Roster set.
    #[arg(long = "permission")]
    permissions: Vec<String>,
    /// Answer every Nth Graph request with 429.
    #[arg(long, default_value_t = 0)]
    throttle_every: u64,
    /// Retry-After of those 429s, in seconds (fractions allowed).
    #[arg(long, default_value = "2.128")]
    retry_after: String,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = config_from(Cli::parse())?;
    let emulator = roster_m365_emulator::spawn(config).await?;
    let base = emulator.base_url().to_string();
    println!("m365-emulator listening on {base}");
    println!("  consent: {base}/{{tenant}}/v2.0/adminconsent   token: {base}/{{tenant}}/oauth2/v2.0/token");
    println!("  graph:   {base}/v1.0/   control: {base}/_emulator/");
    if let Some(dns) = emulator.dns_addr() {
        println!("  dns:     {dns} (TXT records from {base}/_emulator/dns/{{name}})");
    }
    for t in emulator.state().summaries() {
        println!(
            "tenant {} \"{}\" domains {} — {} users, {} groups, {} contacts, consented: {}, admin: {}",
            t.id,
            t.display_name,
            t.verified_domains.join(", "),
            t.users,
            t.groups,
            t.contacts,
            t.consented,
            t.admins.first().map(String::as_str).unwrap_or("-")
        );
    }
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await
}

/// Turns the command line into an emulator config (reading the tenant files).
fn config_from(cli: Cli) -> anyhow::Result<EmulatorConfig> {
    let mut config = EmulatorConfig::new(cli.client_id, cli.client_secret);
    config.addr = cli.addr;
    config.dns_addr = cli.dns_addr;
    config.token_ttl = Duration::from_secs(cli.token_ttl);
    config.auto_consent = cli.auto_consent;
    config.redirect_uris = cli.redirect_uris;
    if !cli.permissions.is_empty() {
        config.permissions = cli.permissions;
    }
    config.faults = FaultConfig {
        throttle_every: cli.throttle_every,
        retry_after: cli.retry_after,
        latency_ms: cli.latency_ms,
        ..FaultConfig::default()
    };
    for path in &cli.tenant_files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let file: TenantFile = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a tenant file: {e}", path.display()))?;
        config.tenant_files.push(file);
    }
    let wants_generated = cli.users.is_some() || cli.groups.is_some() || !cli.domains.is_empty();
    if wants_generated || cli.tenant_files.is_empty() {
        let defaults = GenerateSpec::default();
        config.generate.push(GenerateSpec {
            users: cli.users.unwrap_or(defaults.users),
            groups: cli.groups.unwrap_or(defaults.groups),
            domains: if cli.domains.is_empty() {
                defaults.domains
            } else {
                cli.domains
            },
            seed: cli.seed,
            consented: cli.consented,
            members_per_group: cli.members_per_group,
            mail_enabled_groups: cli.mail_enabled_groups,
            max_aliases: cli.max_aliases,
            ..defaults
        });
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn documented_command_line_parses() {
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/contoso.json");
        let cli = Cli::try_parse_from([
            "m365-emulator",
            "--addr",
            "127.0.0.1:4010",
            "--client-id",
            "app",
            "--client-secret",
            "s",
            "--tenant-file",
            fixture,
            "--users",
            "20",
            "--groups",
            "3",
            "--domains",
            "a.example,b.example",
            "--seed",
            "4",
            "--token-ttl",
            "60",
            "--auto-consent",
            "--members-per-group",
            "100",
            "--mail-enabled-groups",
            "--max-aliases",
            "2",
        ])
        .unwrap();
        let config = config_from(cli).unwrap();
        assert_eq!(config.tenant_files.len(), 1);
        assert_eq!(config.generate[0].domains, vec!["a.example", "b.example"]);
        assert_eq!(config.token_ttl, Duration::from_secs(60));
        assert!(config.auto_consent);
        assert_eq!(config.generate[0].members_per_group, Some(100));
        assert!(config.generate[0].mail_enabled_groups);
        assert_eq!(config.generate[0].max_aliases, Some(2));
        assert!(!format!("{config:?}").contains("\"s\""));
    }
}
