//! Outgoing mail (lettre): SMTP from `ROSTER_SMTP_URL` — `smtp://host:port`,
//! `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://…` (implicit TLS), over
//! rustls with ring, trusting `ROSTER_SMTP_CA_FILE` besides the public roots — or, when it is
//! unset, `.eml` files in `ROSTER_MAIL_DIR` (lettre's file transport): never a silent drop.
//!
//! The SMTP password is in the URL: [`MailSettings`]'s `Debug` and every log line show the URL
//! with the password replaced.

use anyhow::{Context, Result};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use roster_core::report::ComposedReport;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Where reports go, from the environment.
#[derive(Clone)]
pub struct MailSettings {
    /// `ROSTER_SMTP_URL`; `None`: the file transport.
    pub smtp_url: Option<String>,
    /// `ROSTER_MAIL_FROM` (default `Roster <roster@localhost>`).
    pub from: Mailbox,
    /// `ROSTER_SMTP_CA_FILE`: a PEM certificate (or several) to trust for the SMTP server.
    pub ca_file: Option<PathBuf>,
    /// `ROSTER_MAIL_DIR` (default `.dev/mail` under the working directory): the file transport's
    /// folder.
    pub mail_dir: PathBuf,
    /// How long to wait before each retry of a report that could not be sent; one attempt more
    /// than delays. Default: 1, 5 and 30 minutes.
    pub retry_delays: Vec<Duration>,
}

pub const DEFAULT_FROM: &str = "Roster <roster@localhost>";

impl MailSettings {
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let from = var("ROSTER_MAIL_FROM").unwrap_or_else(|| DEFAULT_FROM.to_owned());
        let from: Mailbox = from.parse().map_err(|_| {
            anyhow::anyhow!("ROSTER_MAIL_FROM must be an email address, optionally with a name (Roster <roster@example.com>), got {from:?}")
        })?;
        let settings = Self {
            smtp_url: var("ROSTER_SMTP_URL"),
            from,
            ca_file: var("ROSTER_SMTP_CA_FILE").map(PathBuf::from),
            mail_dir: var("ROSTER_MAIL_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".dev/mail")),
            retry_delays: vec![
                Duration::from_secs(60),
                Duration::from_secs(5 * 60),
                Duration::from_secs(30 * 60),
            ],
        };
        // Refuse a URL lettre can't use at start, not at the first report.
        if let Some(url) = &settings.smtp_url {
            smtp_transport(url, settings.ca_file.as_ref())?;
        }
        Ok(settings)
    }

    /// The file transport into `dir` (tests, and the default).
    pub fn files(dir: impl Into<PathBuf>) -> Self {
        Self {
            smtp_url: None,
            from: DEFAULT_FROM.parse().expect("a valid default sender"),
            ca_file: None,
            mail_dir: dir.into(),
            retry_delays: vec![Duration::from_millis(10), Duration::from_millis(10)],
        }
    }
}

/// `smtp://user:***@host:587?tls=required`: the URL with its password hidden.
pub fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<not a URL>".to_owned(),
    }
}

impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_deref().map(redacted_url))
            .field("from", &self.from.to_string())
            .field("ca_file", &self.ca_file)
            .field("mail_dir", &self.mail_dir)
            .field("retry_delays", &self.retry_delays)
            .finish()
    }
}

fn smtp_transport(
    url: &str,
    ca_file: Option<&PathBuf>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    let shown = redacted_url(url);
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
        anyhow::anyhow!("ROSTER_SMTP_URL can't be used ({e}): expected smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://user:pass@host, got {shown}")
    })?;
    if let Some(ca_file) = ca_file {
        let pem = std::fs::read(ca_file)
            .with_context(|| format!("reading ROSTER_SMTP_CA_FILE {}", ca_file.display()))?;
        let certificate = Certificate::from_pem(&pem).map_err(|e| {
            anyhow::anyhow!(
                "ROSTER_SMTP_CA_FILE {} is not a PEM certificate: {e}",
                ca_file.display()
            )
        })?;
        let parsed = url::Url::parse(url).context("ROSTER_SMTP_URL")?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let params = TlsParameters::builder(host)
            .add_root_certificate(certificate)
            .build_rustls()
            .map_err(|e| anyhow::anyhow!("the TLS settings of ROSTER_SMTP_URL: {e}"))?;
        let mode = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        builder = match (parsed.scheme(), mode.as_deref()) {
            ("smtps", _) => builder.tls(Tls::Wrapper(params)),
            (_, Some("required")) => builder.tls(Tls::Required(params)),
            (_, Some("opportunistic")) => builder.tls(Tls::Opportunistic(params)),
            _ => anyhow::bail!("ROSTER_SMTP_CA_FILE is set but ROSTER_SMTP_URL uses no TLS ({shown}): add ?tls=required, or use smtps://"),
        };
    }
    Ok(builder.timeout(Some(Duration::from_secs(30))).build())
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Sends composed reports.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// `ROSTER_PUBLIC_URL`, for the run's link.
    pub public_url: String,
    pub retry_delays: Vec<Duration>,
    /// What [`Mailer::describe`] says.
    description: String,
}

impl Mailer {
    /// Builds the transport (creating the file transport's folder) and says where mail goes.
    pub fn new(settings: &MailSettings, public_url: &str) -> Result<Self> {
        let (transport, description) = match &settings.smtp_url {
            Some(url) => (
                Transport::Smtp(smtp_transport(url, settings.ca_file.as_ref())?),
                format!("reports are emailed through {}", redacted_url(url)),
            ),
            None => {
                std::fs::create_dir_all(&settings.mail_dir).with_context(|| {
                    format!("creating ROSTER_MAIL_DIR {}", settings.mail_dir.display())
                })?;
                let dir = settings
                    .mail_dir
                    .canonicalize()
                    .unwrap_or_else(|_| settings.mail_dir.clone());
                (
                    Transport::Files(AsyncFileTransport::new(&dir)),
                    format!(
                        "ROSTER_SMTP_URL is not set: reports are kept as .eml files in {} (not emailed)",
                        dir.display()
                    ),
                )
            }
        };
        Ok(Self {
            transport,
            from: settings.from.clone(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            retry_delays: settings.retry_delays.clone(),
            description,
        })
    }

    /// Where mail goes, for the start-up log (no password).
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// How many times a report is tried in all.
    pub fn max_attempts(&self) -> usize {
        self.retry_delays.len() + 1
    }

    /// One message to all `recipients`, multipart/alternative (plain text and HTML).
    pub async fn send(&self, recipients: &[String], report: &ComposedReport) -> Result<()> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(report.subject.clone());
        for r in recipients {
            let to: Mailbox = r
                .parse()
                .with_context(|| format!("a notification recipient ({r}) is not an address"))?;
            builder = builder.to(to);
        }
        let message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(report.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(report.html.clone()),
                    ),
            )
            .context("building the report's message")?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .context("sending the report through the SMTP server")?;
            }
            Transport::Files(files) => {
                files
                    .send(message)
                    .await
                    .context("writing the report as an .eml file")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_smtp_password_never_shows() {
        let url = "smtp://mailer:s3cr3t-pw@mail.example:587?tls=required";
        assert_eq!(
            redacted_url(url),
            "smtp://mailer:***@mail.example:587?tls=required"
        );
        let settings = MailSettings {
            smtp_url: Some(url.to_owned()),
            ..MailSettings::files("/tmp/x")
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("mailer:***@mail.example"), "{debug}");
    }

    // The pooled transport needs a Tokio runtime (as in the server).
    #[tokio::test]
    async fn an_unusable_smtp_url_is_refused_with_the_forms_it_takes() {
        let error = smtp_transport("imap://user:hunter2@mail.example", None)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("ROSTER_SMTP_URL can't be used"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://u:p@mail.example:587?tls=required",
            "smtps://u:p@mail.example",
        ] {
            assert!(smtp_transport(ok, None).is_ok(), "{ok}");
        }
    }
}
