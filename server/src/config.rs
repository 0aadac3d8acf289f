//! Configuration from the environment, with defaults that work on a developer's machine.
//! Every variable is documented in README.md.

use anyhow::{Context, Result};
use app::ssr::limits::{Limits, DEFAULT_SIGN_INS_PER_MINUTE};
use app::ssr::secrets::SecretKey;
use roster_core::google::{GoogleClientSecret, GoogleConfig};
use roster_core::microsoft::{ClientSecret, MicrosoftConfig};
use roster_core::ownership::dns::DnsSettings;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;

#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: may hold a password, so it never appears in `Debug` output.
    pub database_url: String,
    /// `ROSTER_PUBLIC_URL`: the address admins use; `https://` turns on Secure cookies.
    pub public_url: String,
    /// `ROSTER_SESSION_HOURS`: how long a sign-in lasts (default 12).
    pub session_hours: i64,
    /// `ROSTER_DB_MAX_CONNECTIONS` (default 10).
    pub db_max_connections: u32,
    /// Roster's Microsoft 365 app registration; `None` when `ROSTER_MS_CLIENT_ID` is unset.
    pub microsoft: Option<MicrosoftConfig>,
    /// `ROSTER_SYNC_CONCURRENCY`: how many sync runs this instance works on at once (default 2).
    pub sync_concurrency: usize,
    /// `ROSTER_RETENTION_DAYS`: after how many days the worker deletes the changes of Test
    /// Sync and failed runs and finished queue jobs (default 90).
    pub retention_days: u32,
    /// `ROSTER_DNS_SERVER`: where domain-ownership TXT lookups go (default: the system's
    /// resolvers, from /etc/resolv.conf).
    pub dns: DnsSettings,
    /// `ROSTER_MAX_CONCURRENT_HASHES` (default: the number of CPUs), `ROSTER_LOGIN_RATE_PER_MINUTE`
    /// (default 120) and `ROSTER_TRUSTED_PROXY` (default none).
    pub limits: Limits,
    /// `ROSTER_RUN_LEASE_SECS`: how long a run's lease lasts without renewal (default 60).
    pub run_lease: std::time::Duration,
    /// `ROSTER_METRICS_TOKEN`: the bearer token `/metrics` requires (default: none).
    pub metrics_token: Option<crate::ops::MetricsToken>,
    /// `ROSTER_SMTP_URL`, `ROSTER_MAIL_FROM`, `ROSTER_SMTP_CA_FILE`, `ROSTER_MAIL_DIR`: where
    /// sync reports go.
    pub mail: crate::report::mailer::MailSettings,
    /// `ROSTER_SECRET_KEY`: seals LDAP passwords and Google grants at rest; unset: LDAP and
    /// Google Workspace sync are off.
    pub secret_key: Option<SecretKey>,
    /// Roster's Google OAuth client; `None` when `ROSTER_GOOGLE_CLIENT_ID` is unset.
    pub google: Option<GoogleConfig>,
}

impl Config {
    pub fn from_env() -> Result<Self> {
        let database_url = std::env::var("DATABASE_URL").context(
            "DATABASE_URL is not set: point it at a Postgres database, e.g. postgres://postgres@127.0.0.1:54329/roster (./dev run sets it up for you)",
        )?;
        let public_url = std::env::var("ROSTER_PUBLIC_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned())
            .trim_end_matches('/')
            .to_owned();
        if crate::security::origin::PublicOrigin::of(&public_url).is_none() {
            anyhow::bail!(
                "ROSTER_PUBLIC_URL must be an http:// or https:// URL, got {public_url:?}"
            );
        }
        let session_hours = parse_var("ROSTER_SESSION_HOURS", 12)?;
        let db_max_connections = parse_var("ROSTER_DB_MAX_CONNECTIONS", 10)?;
        Ok(Self {
            database_url,
            session_hours,
            db_max_connections,
            microsoft: microsoft_from_env()?,
            sync_concurrency: parse_var("ROSTER_SYNC_CONCURRENCY", 2)?,
            retention_days: retention_days(std::env::var("ROSTER_RETENTION_DAYS").ok().as_deref())?,
            dns: dns_from_env()?,
            limits: limits_from_env()?,
            run_lease: run_lease(std::env::var("ROSTER_RUN_LEASE_SECS").ok().as_deref())?,
            metrics_token: crate::ops::MetricsToken::parse(
                std::env::var("ROSTER_METRICS_TOKEN").ok().as_deref(),
            ),
            mail: crate::report::mailer::MailSettings::from_env()?,
            secret_key: secret_key(std::env::var("ROSTER_SECRET_KEY").ok().as_deref())?,
            google: google_from_env(&public_url)?,
            public_url,
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// `ROSTER_MS_CLIENT_ID` and `ROSTER_MS_CLIENT_SECRET` (both or neither), and the optional
/// `ROSTER_MS_LOGIN_URL` / `ROSTER_MS_GRAPH_URL` (national clouds, the emulator).
fn microsoft_from_env() -> Result<Option<MicrosoftConfig>> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let (id, secret) = match (var("ROSTER_MS_CLIENT_ID"), var("ROSTER_MS_CLIENT_SECRET")) {
        (None, None) => return Ok(None),
        (Some(id), Some(secret)) => (id, secret),
        (Some(_), None) => anyhow::bail!("ROSTER_MS_CLIENT_ID is set but ROSTER_MS_CLIENT_SECRET is not: set both, or neither to run without Microsoft 365"),
        (None, Some(_)) => anyhow::bail!("ROSTER_MS_CLIENT_SECRET is set but ROSTER_MS_CLIENT_ID is not: set both, or neither to run without Microsoft 365"),
    };
    let mut config = MicrosoftConfig::new(id, ClientSecret::new(secret));
    if let Some(url) = var("ROSTER_MS_LOGIN_URL") {
        config = config.with_login_url(url.trim_end_matches('/'));
    }
    if let Some(url) = var("ROSTER_MS_GRAPH_URL") {
        let url = url.trim_end_matches('/').to_owned();
        // The app-only scope follows the Graph of the cloud (GCC High: graph.microsoft.us).
        config = config.with_scope(format!("{url}/.default"));
        config = config.with_graph_url(url);
    }
    // Only for a Graph that answers under another name than its token audience, such as the
    // emulator, which stands in for the global cloud.
    if let Some(scope) = var("ROSTER_MS_SCOPE") {
        config = config.with_scope(scope);
    }
    Ok(Some(config))
}

/// `ROSTER_GOOGLE_CLIENT_ID` and `ROSTER_GOOGLE_CLIENT_SECRET` (both or neither), the optional
/// `ROSTER_GOOGLE_ACCOUNTS_URL` / `ROSTER_GOOGLE_OAUTH2_URL` / `ROSTER_GOOGLE_ADMIN_URL` (Google's
/// by default; the emulator's in development) and `ROSTER_GOOGLE_REQUESTS_PER_MINUTE` (this
/// instance's share of the Cloud project's 2,400 Directory API requests a minute).
fn google_from_env(public_url: &str) -> Result<Option<GoogleConfig>> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let (id, secret) = match (var("ROSTER_GOOGLE_CLIENT_ID"), var("ROSTER_GOOGLE_CLIENT_SECRET")) {
        (None, None) => return Ok(None),
        (Some(id), Some(secret)) => (id, secret),
        (Some(_), None) => anyhow::bail!("ROSTER_GOOGLE_CLIENT_ID is set but ROSTER_GOOGLE_CLIENT_SECRET is not: set both, or neither to run without Google Workspace"),
        (None, Some(_)) => anyhow::bail!("ROSTER_GOOGLE_CLIENT_SECRET is set but ROSTER_GOOGLE_CLIENT_ID is not: set both, or neither to run without Google Workspace"),
    };
    let redirect = format!(
        "{public_url}{}",
        app::ssr::google_grant::GOOGLE_CALLBACK_PATH
    );
    let mut config = GoogleConfig::new(id, GoogleClientSecret::new(secret), redirect);
    if let Some(url) = var("ROSTER_GOOGLE_ACCOUNTS_URL") {
        config = config.with_accounts_url(url.trim_end_matches('/'));
    }
    if let Some(url) = var("ROSTER_GOOGLE_OAUTH2_URL") {
        config = config.with_oauth2_url(url.trim_end_matches('/'));
    }
    if let Some(url) = var("ROSTER_GOOGLE_ADMIN_URL") {
        config = config.with_admin_url(url.trim_end_matches('/'));
    }
    if let Some(rpm) = var("ROSTER_GOOGLE_REQUESTS_PER_MINUTE") {
        let rpm: u32 = rpm
            .parse()
            .ok()
            .filter(|n| (1..=roster_core::google::PROJECT_QUOTA_PER_MINUTE).contains(n))
            .with_context(|| format!("ROSTER_GOOGLE_REQUESTS_PER_MINUTE must be a whole number from 1 to {}, got {rpm:?}", roster_core::google::PROJECT_QUOTA_PER_MINUTE))?;
        config = config.with_requests_per_minute(rpm);
    }
    Ok(Some(config))
}

/// `ROSTER_SECRET_KEY`: base64 of 32 random bytes (`openssl rand -base64 32`); unset or
/// empty: none.
fn secret_key(value: Option<&str>) -> Result<Option<SecretKey>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => SecretKey::from_base64(v)
            .map(Some)
            .map_err(anyhow::Error::new),
    }
}

/// Longest retention accepted: a hundred years.
const MAX_RETENTION_DAYS: u32 = 36_500;

/// `ROSTER_RETENTION_DAYS`: a whole number of days from 1 to 36,500; unset means 90.
fn retention_days(value: Option<&str>) -> Result<u32> {
    let Some(value) = value else {
        return Ok(90);
    };
    match value.trim().parse::<u32>() {
        Ok(days) if (1..=MAX_RETENTION_DAYS).contains(&days) => Ok(days),
        _ => anyhow::bail!(
            "ROSTER_RETENTION_DAYS must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, got {value:?}"
        ),
    }
}

/// `ROSTER_RUN_LEASE_SECS`: whole seconds from 2 to 3600; unset means 60.
fn run_lease(value: Option<&str>) -> Result<std::time::Duration> {
    let Some(value) = value else {
        return Ok(std::time::Duration::from_secs(
            crate::sync::lease::DEFAULT_LEASE_SECS,
        ));
    };
    match value.trim().parse::<u64>() {
        Ok(secs) if (2..=3600).contains(&secs) => Ok(std::time::Duration::from_secs(secs)),
        _ => anyhow::bail!(
            "ROSTER_RUN_LEASE_SECS must be a whole number of seconds from 2 to 3600, got {value:?}"
        ),
    }
}

/// `ROSTER_DNS_SERVER` (`ip:port`, or an IP for port 53); unset or empty: the system's.
fn dns_from_env() -> Result<DnsSettings> {
    match std::env::var("ROSTER_DNS_SERVER") {
        Ok(v) if !v.trim().is_empty() => Ok(DnsSettings {
            server: Some(DnsSettings::parse_server(&v).map_err(anyhow::Error::msg)?),
        }),
        _ => Ok(DnsSettings::default()),
    }
}

fn limits_from_env() -> Result<Limits> {
    let hashes: usize = parse_var(
        "ROSTER_MAX_CONCURRENT_HASHES",
        Limits::default_concurrent_hashes(),
    )?;
    if hashes == 0 {
        anyhow::bail!("ROSTER_MAX_CONCURRENT_HASHES must be at least 1");
    }
    let per_minute: u32 = parse_var("ROSTER_LOGIN_RATE_PER_MINUTE", DEFAULT_SIGN_INS_PER_MINUTE)?;
    let per_minute =
        NonZeroU32::new(per_minute).context("ROSTER_LOGIN_RATE_PER_MINUTE must be at least 1")?;
    let trusted_proxies =
        parse_trusted_proxies(&std::env::var("ROSTER_TRUSTED_PROXY").unwrap_or_default())?;
    Ok(Limits::new(hashes, per_minute, trusted_proxies))
}

/// `ROSTER_TRUSTED_PROXY`: IP addresses separated by commas (blank: none).
fn parse_trusted_proxies(value: &str) -> Result<Vec<IpAddr>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse().map_err(|_| {
                anyhow::anyhow!("ROSTER_TRUSTED_PROXY must be IP addresses separated by commas (the reverse proxy's address as Roster sees it, e.g. 127.0.0.1), got {v:?}")
            })
        })
        .collect()
}

fn parse_var<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} must be a whole number, got {v:?}")),
        Err(_) => Ok(default),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &"<redacted>")
            .field("public_url", &self.public_url)
            .field("session_hours", &self.session_hours)
            .field("db_max_connections", &self.db_max_connections)
            .field("microsoft", &self.microsoft)
            .field("google", &self.google)
            .field("sync_concurrency", &self.sync_concurrency)
            .field("retention_days", &self.retention_days)
            .field("dns", &self.dns)
            .field("limits", &self.limits)
            .field("run_lease", &self.run_lease)
            .field("metrics_token", &self.metrics_token)
            .field("mail", &self.mail)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn retention_days_default_to_90_and_must_be_a_positive_whole_number() {
        assert_eq!(retention_days(None).unwrap(), 90);
        assert_eq!(retention_days(Some("30")).unwrap(), 30);
        assert_eq!(retention_days(Some(" 1 ")).unwrap(), 1);
        assert_eq!(retention_days(Some("36500")).unwrap(), 36_500);
        for bad in ["0", "-5", "", "ninety", "1.5", "36501", "99999999999"] {
            let error = retention_days(Some(bad)).unwrap_err().to_string();
            assert!(
                error.starts_with(
                    "ROSTER_RETENTION_DAYS must be a whole number of days from 1 to 36500"
                ),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn run_lease_defaults_to_a_minute_and_must_be_sensible() {
        assert_eq!(run_lease(None).unwrap().as_secs(), 60);
        assert_eq!(run_lease(Some(" 6 ")).unwrap().as_secs(), 6);
        for bad in ["0", "1", "3601", "", "ten", "1.5"] {
            let error = run_lease(Some(bad)).unwrap_err().to_string();
            assert!(error.starts_with("ROSTER_RUN_LEASE_SECS"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_secret_key_is_optional_and_explained_when_wrong() {
        assert!(secret_key(None).unwrap().is_none());
        assert!(secret_key(Some("  ")).unwrap().is_none());
        let key = "cm9zdGVyLWRldi1zZWNyZXQta2V5LTMyLWJ5dGVzISE=";
        assert!(secret_key(Some(key)).unwrap().is_some());
        for bad in ["not base64!", "c2hvcnQ="] {
            let error = secret_key(Some(bad)).unwrap_err().to_string();
            assert!(error.contains("ROSTER_SECRET_KEY"), "{error}");
            assert!(error.contains("openssl rand -base64 32"), "{error}");
            assert!(!error.contains(bad), "{error}");
        }
    }

    #[test]
    fn trusted_proxies() {
        assert!(parse_trusted_proxies("").unwrap().is_empty());
        assert_eq!(
            parse_trusted_proxies(" 10.0.0.1, ::1 ").unwrap(),
            vec![
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse::<IpAddr>().unwrap()
            ]
        );
        let err = parse_trusted_proxies("10.0.0.0/8").unwrap_err().to_string();
        assert!(err.contains("ROSTER_TRUSTED_PROXY"), "{err}");
    }
}
