//! The two processes the sync benchmark drives from outside: the Microsoft 365 emulator and
//! the Roster server, each its own OS process so the server's memory (VmHWM) is its own.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub const CLIENT_ID: &str = "00000000-0000-4000-8000-00000000e365";
pub const CLIENT_SECRET: &str = "roster-bench-secret";

/// A port free right now on 127.0.0.1 (the process started next binds it).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A child process with its log file; stopped (SIGTERM, then SIGKILL) by [`Proc::stop`].
pub struct Proc {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> Result<Self> {
        let out =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        cmd.stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting the {name}"))?;
        Ok(Self { child, name, log })
    }

    pub fn pid(&self) -> Result<u32> {
        self.child.id().context("the process has ended")
    }

    /// Peak resident memory of the process so far (`VmHWM` of /proc/<pid>/status), in MB.
    pub fn peak_rss_mb(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .context("no VmHWM line")?
            .parse()?;
        Ok(kb / 1024.0)
    }

    /// Waits until `url` answers 2xx; fails as soon as the process ends (its log's tail).
    pub async fn wait_ready(
        &mut self,
        client: &reqwest::Client,
        url: &str,
        timeout: Duration,
    ) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Ok(res) = client.get(url).send().await {
                if res.status().is_success() {
                    return Ok(());
                }
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the {} exited ({status}) before it served:\n{}",
                    self.name,
                    tail(&self.log)
                );
            }
            if started.elapsed() > timeout {
                bail!(
                    "the {} did not serve {url} within {timeout:?}:\n{}",
                    self.name,
                    tail(&self.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM (a graceful stop, as an operator's), SIGKILL after 60 s.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
            if tokio::time::timeout(Duration::from_secs(60), self.child.wait())
                .await
                .is_err()
            {
                self.child.kill().await?;
            }
        }
        Ok(())
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The generated tenant's shape and the emulator's added latency.
pub struct TenantShape {
    pub users: usize,
    pub groups: usize,
    pub members_per_group: usize,
    pub latency_ms: u64,
}

pub const DOMAIN: &str = "bench.example";
pub const OTHER_DOMAIN: &str = "bench.net";

/// Starts the emulator binary with a generated, consented tenant; returns it and its base URL.
pub async fn start_emulator(
    bin: &Path,
    shape: &TenantShape,
    logs: &Path,
) -> Result<(Proc, String)> {
    let port = free_port()?;
    let mut cmd = Command::new(bin);
    cmd.env("M365_EMULATOR_CLIENT_ID", CLIENT_ID)
        .env("M365_EMULATOR_CLIENT_SECRET", CLIENT_SECRET)
        .env("RUST_LOG", "warn")
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(["--users", &shape.users.to_string()])
        .args(["--groups", &shape.groups.to_string()])
        .args(["--domains", &format!("{DOMAIN},{OTHER_DOMAIN}")])
        .args([
            "--seed",
            "42",
            "--consented",
            "--mail-enabled-groups",
            "--max-aliases",
            "2",
        ])
        .args(["--members-per-group", &shape.members_per_group.to_string()])
        .args(["--latency-ms", &shape.latency_ms.to_string()]);
    let mut proc = Proc::spawn("emulator", cmd, logs.join("emulator.log"))?;
    let base = format!("http://127.0.0.1:{port}");
    proc.wait_ready(
        &reqwest::Client::new(),
        &format!("{base}/_emulator/tenants"),
        Duration::from_secs(300),
    )
    .await?;
    Ok((proc, base))
}

/// Where and how the Roster server processes run.
pub struct ServerSetup {
    pub bin: PathBuf,
    pub database_url: String,
    pub emulator: String,
    pub logs: PathBuf,
}

impl ServerSetup {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("DATABASE_URL", &self.database_url)
            .env("ROSTER_MS_CLIENT_ID", CLIENT_ID)
            .env("ROSTER_MS_CLIENT_SECRET", CLIENT_SECRET)
            .env("ROSTER_MS_LOGIN_URL", &self.emulator)
            .env("ROSTER_MS_GRAPH_URL", &self.emulator)
            .env("ROSTER_MS_SCOPE", "https://graph.microsoft.com/.default")
            .env("ROSTER_MAIL_DIR", self.logs.join("mail"))
            // The default lease (60 s, renewed every 15 s), as in production; and each run's
            // timings (read, expand, plan, apply) in the server's log.
            .env(
                "RUST_LOG",
                std::env::var("ROSTER_BENCH_SERVER_LOG")
                    .unwrap_or_else(|_| "warn,roster_server::sync=info".into()),
            );
        cmd
    }

    /// `roster-server create-org` (which also applies the migrations).
    pub async fn create_org(&self, email: &str, password: &str) -> Result<()> {
        let out = self
            .command()
            .args(["create-org", "--name", "Bench", "--admin-email", email])
            .env("ROSTER_ADMIN_PASSWORD", password)
            .output()
            .await?;
        if !out.status.success() {
            bail!(
                "create-org failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Starts a fresh server process and waits until it serves; returns it and its URL.
    pub async fn start(&self, label: &str) -> Result<(Proc, String)> {
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let mut cmd = self.command();
        cmd.env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_OUTPUT_NAME", "roster")
            .env("LEPTOS_SITE_ROOT", self.logs.join("site"))
            .env("LEPTOS_SITE_PKG_DIR", "pkg")
            .env("LEPTOS_ENV", "PROD")
            .env("ROSTER_PUBLIC_URL", &url);
        let mut proc = Proc::spawn("server", cmd, self.logs.join(format!("server-{label}.log")))?;
        proc.wait_ready(
            &reqwest::Client::new(),
            &format!("{url}/login"),
            Duration::from_secs(120),
        )
        .await?;
        Ok((proc, url))
    }
}
