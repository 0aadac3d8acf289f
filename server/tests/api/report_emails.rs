//! Sync reports by email, delivered by the real report worker to a real SMTP server process
//! (aiosmtpd, started by `./dev test`: `server/tests/smtp_server.py`), which writes each message
//! it accepts to `ROSTER_TEST_SMTP_DIR`; and to `.eml` files when no SMTP server is configured.

#![allow(clippy::unwrap_used)]

use crate::helpers::{
    connect_to_tenant, generated_tenant, microsoft_config, spawn_app_mail, Admin, TestApp,
};
use app::model::RunDetail;
use roster_core::{RunState, SyncSource};
use roster_m365_emulator::RunningEmulator;
use roster_server::report::mailer::MailSettings;
use roster_server::sync::{self, NewRun};
use serde::Deserialize;
use sqlx::PgPool;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use uuid::Uuid;

const DOMAIN: &str = "reports.example";

/// A message as the SMTP test server saved it.
#[derive(Debug, Deserialize)]
struct Delivered {
    port: u16,
    mail_from: String,
    rcpt_tos: Vec<String>,
    subject: String,
    content_type: String,
    text: Option<String>,
    html: Option<String>,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests need the SMTP test server that `./dev test` starts (or `./dev smtp-test-server` for a run by hand)")
    })
}

fn smtp_dir() -> PathBuf {
    PathBuf::from(env("ROSTER_TEST_SMTP_DIR"))
}

/// Waits until the SMTP test server has saved a message for `recipient`.
async fn delivered_to(recipient: &str) -> Delivered {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for entry in std::fs::read_dir(smtp_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let message: Delivered =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if message.rcpt_tos.iter().any(|r| r == recipient) {
                return message;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no message for {recipient} reached the SMTP server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Setup {
    _emu: RunningEmulator,
    app: TestApp,
    admin: Admin,
    domain: Uuid,
    /// Unique to the test, so its messages are told apart in the shared folder.
    recipients: Vec<String>,
}

/// An organization with the domain connected to an emulator tenant of `users` users, its
/// notification recipients listed, the app sending mail as `mail` says.
async fn setup(pool: PgPool, users: usize, mail: MailSettings) -> Setup {
    let (emu, tenant_id) = generated_tenant(users, 2, &[DOMAIN], 7).await;
    let app = spawn_app_mail(
        pool,
        false,
        Some(microsoft_config(emu.base_url())),
        true,
        Default::default(),
        Default::default(),
        mail,
    )
    .await;
    let admin = app.admin("Reports").await;
    let domain = admin.create_domain(DOMAIN, "office365").await;
    connect_to_tenant(
        &app.pool,
        admin.organization_id,
        domain,
        DOMAIN,
        &tenant_id,
        &admin.email,
    )
    .await;
    let tag = Uuid::new_v4().simple().to_string();
    let recipients = vec![
        format!("ops-{tag}@watchers.example"),
        format!("it-{tag}@watchers.example"),
    ];
    set_notifications(&app.pool, &admin, domain, false, &recipients).await;
    Setup {
        _emu: emu,
        app,
        admin,
        domain,
        recipients,
    }
}

async fn set_notifications(
    pool: &PgPool,
    admin: &Admin,
    domain: Uuid,
    enabled: bool,
    recipients: &[String],
) {
    sqlx::query!(
        r#"insert into sync_settings (organization_id, domain_id, notifications_enabled, notification_recipients)
           values ($1, $2, $3, $4)
           on conflict (organization_id, domain_id) do update
           set notifications_enabled = $3, notification_recipients = $4"#,
        admin.organization_id,
        domain,
        enabled,
        recipients
    )
    .execute(pool)
    .await
    .unwrap();
}

impl Setup {
    async fn start(&self, mode: &str) -> Uuid {
        self.admin
            .call::<Uuid>(
                "start_sync",
                &[("domain_id", &self.domain.to_string()), ("mode", mode)],
            )
            .await
            .unwrap()
    }

    /// A scheduled run, as the scheduler queues it.
    async fn scheduled(&self) -> Uuid {
        sync::enqueue(
            &self.app.pool,
            &NewRun {
                organization_id: self.admin.organization_id,
                domain_id: self.domain,
                source: SyncSource::Office365,
                test: false,
                requested_by: None,
                applies_run_id: None,
            },
        )
        .await
        .unwrap()
    }

    async fn detail(&self, run: Uuid) -> RunDetail {
        self.admin
            .ok(
                "get_sync_run",
                &[
                    ("domain_id", &self.domain.to_string()),
                    ("run_id", &run.to_string()),
                ],
            )
            .await
    }

    /// Waits until the run's job is done — the run ended and its report, if it gets one, was
    /// queued (right after the ending, by the same job) — and the report is no longer queued.
    async fn settled(&self, run: Uuid) -> RunDetail {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let job_active: bool = sqlx::query_scalar(
                r#"select exists (select 1 from apalis.jobs
                       where job_type = 'roster_sync' and status in ('Pending', 'Queued', 'Running')
                         and convert_from(job, 'UTF8')::jsonb ->> 'run_id' = $1)"#,
            )
            .bind(run.to_string())
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
            let detail = self.detail(run).await;
            let report_pending = detail.report.as_ref().is_some_and(|r| r.status == "queued");
            if !job_active && !detail.run.is_active() && !report_pending {
                return detail;
            }
            assert!(Instant::now() < deadline, "run {run} did not settle");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn report_rows(&self, run: Uuid) -> i64 {
        sqlx::query_scalar!(
            r#"select count(*) as "n!" from report_emails where organization_id = $1 and run_id = $2"#,
            self.admin.organization_id,
            run
        )
        .fetch_one(&self.app.pool)
        .await
        .unwrap()
    }
}

fn smtp_settings(url: String) -> MailSettings {
    MailSettings {
        smtp_url: Some(url),
        from: "Roster Reports <reports@roster.example>".parse().unwrap(),
        ..MailSettings::files(std::env::temp_dir().join("roster-unused-mail"))
    }
}

fn plain_smtp() -> MailSettings {
    smtp_settings(format!("smtp://127.0.0.1:{}", env("ROSTER_TEST_SMTP_PORT")))
}

#[sqlx::test(migrations = "../migrations")]
async fn a_manual_sync_report_reaches_the_smtp_server_with_subject_both_parts_and_the_link(
    pool: PgPool,
) {
    let s = setup(pool, 30, plain_smtp()).await;
    let run = s.start("manual").await;
    let detail = s.settled(run).await;
    assert_eq!(detail.run.status, RunState::Applied);
    let counts = detail.counts.unwrap();
    let report = detail
        .report
        .expect("a Manual Sync with recipients is reported");
    assert_eq!(report.status, "sent");
    assert_eq!(report.attempts, 1);

    let message = delivered_to(&s.recipients[0]).await;
    let mut rcpt = message.rcpt_tos.clone();
    rcpt.sort();
    let mut expected = s.recipients.clone();
    expected.sort();
    assert_eq!(rcpt, expected, "one message to every listed recipient");
    assert_eq!(message.mail_from, "reports@roster.example");
    assert_eq!(
        message.subject,
        format!(
            "{DOMAIN}: sync succeeded — +{} −0 accounts, +{} −0 aliases",
            counts.accounts_added, counts.aliases_added
        )
    );
    assert_eq!(message.content_type, "multipart/alternative");
    let text = message.text.expect("a plain-text part");
    let html = message.html.expect("an HTML part");
    let link = format!("{}/domains/{}/sync/runs/{run}", s.app.address, s.domain);
    assert!(text.contains(&link), "{text}");
    assert!(html.contains(&format!("<a href=\"{link}\">")), "{html}");
    assert!(
        text.contains(&format!("Email accounts added: {}", counts.accounts_added)),
        "{text}"
    );
    assert!(text.contains("Account added: "), "{text}");

    // The run's page says where and when it went.
    let page = s
        .admin
        .get(&format!("/domains/{}/sync/runs/{run}", s.domain))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Report emailed to {}", s.recipients.join(", "))),
        "the run page names the recipients"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn starttls_with_authentication_delivers_the_report_trusting_the_private_ca(pool: PgPool) {
    let mut mail = smtp_settings(format!(
        "smtp://{}:{}@127.0.0.1:{}?tls=required",
        env("ROSTER_TEST_SMTP_USER"),
        env("ROSTER_TEST_SMTP_PASSWORD"),
        env("ROSTER_TEST_SMTP_TLS_PORT")
    ));
    mail.ca_file = Some(PathBuf::from(env("ROSTER_TEST_SMTP_CA")));
    let s = setup(pool, 5, mail).await;
    let run = s.start("manual").await;
    let detail = s.settled(run).await;
    assert_eq!(detail.report.unwrap().status, "sent");
    // That listener refuses MAIL before STARTTLS and authentication.
    let message = delivered_to(&s.recipients[0]).await;
    assert_eq!(message.port.to_string(), env("ROSTER_TEST_SMTP_TLS_PORT"));
    assert!(message
        .subject
        .starts_with(&format!("{DOMAIN}: sync succeeded")));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_wrong_smtp_password_fails_the_report_not_the_sync(pool: PgPool) {
    let mut mail = smtp_settings(format!(
        "smtp://{}:wrong-password@127.0.0.1:{}?tls=required",
        env("ROSTER_TEST_SMTP_USER"),
        env("ROSTER_TEST_SMTP_TLS_PORT")
    ));
    mail.ca_file = Some(PathBuf::from(env("ROSTER_TEST_SMTP_CA")));
    let s = setup(pool, 5, mail).await;
    let run = s.start("manual").await;
    let detail = s.settled(run).await;
    assert_eq!(detail.run.status, RunState::Applied);
    assert_eq!(detail.report.unwrap().status, "failed");
    let last_error = sqlx::query_scalar!(
        "select last_error from report_emails where organization_id = $1 and run_id = $2",
        s.admin.organization_id,
        run
    )
    .fetch_one(&s.app.pool)
    .await
    .unwrap()
    .unwrap();
    assert!(
        !last_error.contains("wrong-password"),
        "no password in the operator's error: {last_error}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_smtp_server_that_is_down_leaves_the_sync_applied_and_the_report_failed_on_the_run_page(
    pool: PgPool,
) {
    // A port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let s = setup(pool, 10, smtp_settings(format!("smtp://127.0.0.1:{port}"))).await;
    let run = s.start("manual").await;
    let detail = s.settled(run).await;
    assert_eq!(
        detail.run.status,
        RunState::Applied,
        "the sync is not failed by mail"
    );
    let report = detail.report.unwrap();
    assert_eq!(report.status, "failed");
    // The first attempt and the retry after each of the two (test-short) delays.
    assert_eq!(report.attempts, 3);
    let page = s
        .admin
        .get(&format!("/domains/{}/sync/runs/{run}", s.domain))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("The report could not be sent"),
        "the run page shows the failure"
    );
    assert!(page.contains("ROSTER_SMTP_URL"), "and what to do");
}

#[sqlx::test(migrations = "../migrations")]
async fn without_an_smtp_url_the_report_is_kept_as_an_eml_file(pool: PgPool) {
    let dir = std::env::temp_dir().join(format!("roster-eml-{}", Uuid::new_v4()));
    let s = setup(pool, 5, MailSettings::files(&dir)).await;
    let run = s.start("manual").await;
    assert_eq!(s.settled(run).await.report.unwrap().status, "sent");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("eml"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("To: "), "{eml}");
    for r in &s.recipients {
        assert!(eml.contains(r.as_str()), "{r} in {eml}");
    }
    assert!(eml.contains("multipart/alternative"), "{eml}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrations = "../migrations")]
async fn test_sync_sends_nothing_and_scheduled_runs_report_only_with_notifications_on(
    pool: PgPool,
) {
    let s = setup(pool, 5, plain_smtp()).await;
    let test_run = s.start("test").await;
    let detail = s.settled(test_run).await;
    assert_eq!(detail.run.status, RunState::Planned);
    assert!(detail.report.is_none());
    assert_eq!(s.report_rows(test_run).await, 0, "Test Sync sends nothing");

    // Scheduled, Sync Notifications off (recipients listed): nothing.
    let quiet = s.scheduled().await;
    let detail = s.settled(quiet).await;
    assert_eq!(detail.run.status, RunState::Applied);
    assert_eq!(s.report_rows(quiet).await, 0);

    // Scheduled, Sync Notifications on: reported.
    set_notifications(&s.app.pool, &s.admin, s.domain, true, &s.recipients).await;
    let loud = s.scheduled().await;
    let detail = s.settled(loud).await;
    assert_eq!(detail.report.unwrap().status, "sent");
    let message = delivered_to(&s.recipients[1]).await;
    assert!(
        message
            .subject
            .starts_with(&format!("{DOMAIN}: sync succeeded — +0 −0 accounts")),
        "{}",
        message.subject
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn finished_report_jobs_go_with_the_retention_sweep(pool: PgPool) {
    roster_server::worker::setup(&pool).await.unwrap();
    let job = roster_server::report::ReportJob {
        organization_id: Uuid::new_v4(),
        run_id: Uuid::new_v4(),
    };
    let mut tx = pool.begin().await.unwrap();
    roster_server::worker::push_report(&mut tx, job)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let jobs = || async {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from apalis.jobs where job_type = 'roster_report' and convert_from(job, 'UTF8')::jsonb ->> 'run_id' = $1",
        )
        .bind(job.run_id.to_string())
        .fetch_one(&pool)
        .await
        .unwrap();
        n
    };
    sync::retention::sweep(&pool, 90).await.unwrap();
    assert_eq!(jobs().await, 1, "a pending report job stays");
    sqlx::query(
        "update apalis.jobs set status = 'Done', done_at = now() - interval '91 days' where job_type = 'roster_report'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sync::retention::sweep(&pool, 90).await.unwrap();
    assert_eq!(jobs().await, 0, "a report job done 91 days ago is deleted");
}
