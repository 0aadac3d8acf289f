#![allow(clippy::unwrap_used)]

use app::error::AppError;
use app::ssr::limits::Limits;
use app::ssr::AppState;
use leptos::config::LeptosOptions;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use roster_core::{EmailAddress, NewPassword, OrganizationName};
use roster_server::report::mailer::{MailSettings, Mailer};
use roster_server::{operator, startup, worker};
use serde::de::DeserializeOwned;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::sync::oneshot;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TestApp {
    /// Stops the server and waits for it, so its connections are closed before the test's
    /// database is dropped.
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

/// An admin's HTTP client, with its own cookie jar.
pub struct Admin {
    pub email: String,
    pub organization_id: Uuid,
    pub client: reqwest::Client,
    address: String,
}

pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, false).await
}

pub async fn spawn_app_with(pool: PgPool, secure_cookies: bool) -> TestApp {
    spawn_app_configured(pool, secure_cookies, None, true).await
}

/// Roster's app registration in the test emulators.
pub const MS_CLIENT_ID: &str = "00000000-0000-4000-8000-00000000e365";
pub const MS_SECRET: &str = "api-test-secret";

/// The app pointed at a Microsoft 365 emulator (login and Graph at `emulator_url`).
pub async fn spawn_app_with_microsoft(pool: PgPool, emulator_url: &str) -> TestApp {
    spawn_app_configured(pool, false, Some(microsoft_config(emulator_url)), true).await
}

/// Roster's Microsoft 365 settings for an emulator at `emulator_url`, with quick retries.
pub fn microsoft_config(emulator_url: &str) -> roster_core::microsoft::MicrosoftConfig {
    use roster_core::microsoft::{ClientSecret, MicrosoftConfig, RetryPolicy};
    MicrosoftConfig::new(MS_CLIENT_ID, ClientSecret::new(MS_SECRET))
        .with_login_url(emulator_url)
        .with_graph_url(emulator_url)
        .with_retry(RetryPolicy {
            max_retries: 3,
            base_delay: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(20),
            max_total_wait: std::time::Duration::from_secs(2),
        })
}

/// Starts the real app on a random port, with the sync worker unless `with_worker` is false
/// (tests that drive the engine themselves). It runs on its own multi-threaded runtime, as in
/// production (`#[sqlx::test]` gives the test a single-threaded one), with its own pool on the
/// test's fresh database.
pub async fn spawn_app_configured(
    pool: PgPool,
    secure_cookies: bool,
    microsoft: Option<roster_core::microsoft::MicrosoftConfig>,
    with_worker: bool,
) -> TestApp {
    spawn_app_full(
        pool,
        secure_cookies,
        microsoft,
        with_worker,
        Default::default(),
        Limits::default(),
    )
    .await
}

/// The app pointed at a Microsoft 365 emulator whose test DNS server answers Roster's
/// domain-ownership lookups (`ROSTER_DNS_SERVER`).
pub async fn spawn_app_with_emulator_dns(
    pool: PgPool,
    emu: &roster_m365_emulator::RunningEmulator,
) -> TestApp {
    let dns = roster_core::ownership::dns::DnsSettings {
        server: Some(
            emu.dns_addr()
                .expect("the emulator serves DNS (EmulatorConfig::with_dns)"),
        ),
    };
    spawn_app_full(
        pool,
        false,
        Some(microsoft_config(emu.base_url())),
        true,
        dns,
        Limits::default(),
    )
    .await
}

/// The app with the given abuse limits (the others use production's defaults).
pub async fn spawn_app_with_limits(
    pool: PgPool,
    secure_cookies: bool,
    microsoft: Option<roster_core::microsoft::MicrosoftConfig>,
    with_worker: bool,
    limits: Limits,
) -> TestApp {
    spawn_app_full(
        pool,
        secure_cookies,
        microsoft,
        with_worker,
        Default::default(),
        limits,
    )
    .await
}

/// Everything configurable: ROSTER_DNS_SERVER and the abuse limits included. Report emails
/// go to `.eml` files in a fresh temporary folder.
pub async fn spawn_app_full(
    pool: PgPool,
    secure_cookies: bool,
    microsoft: Option<roster_core::microsoft::MicrosoftConfig>,
    with_worker: bool,
    dns: roster_core::ownership::dns::DnsSettings,
    limits: Limits,
) -> TestApp {
    let mail_dir = std::env::temp_dir().join(format!("roster-test-mail-{}", Uuid::new_v4()));
    spawn_app_mail(
        pool,
        secure_cookies,
        microsoft,
        with_worker,
        dns,
        limits,
        MailSettings::files(mail_dir),
    )
    .await
}

/// [`spawn_app_full`] with the report emails' settings (`ROSTER_SMTP_URL`, …); the report
/// worker runs with the sync worker.
pub async fn spawn_app_mail(
    pool: PgPool,
    secure_cookies: bool,
    microsoft: Option<roster_core::microsoft::MicrosoftConfig>,
    with_worker: bool,
    dns: roster_core::ownership::dns::DnsSettings,
    limits: Limits,
    mail: MailSettings,
) -> TestApp {
    spawn_app_keyed(
        pool,
        secure_cookies,
        microsoft,
        with_worker,
        dns,
        limits,
        mail,
        Some(test_secret_key()),
    )
    .await
}

/// The app without `ROSTER_SECRET_KEY`: LDAP sync is not configured.
pub async fn spawn_app_without_secret_key(pool: PgPool) -> TestApp {
    let mail_dir = std::env::temp_dir().join(format!("roster-test-mail-{}", Uuid::new_v4()));
    spawn_app_keyed(
        pool,
        false,
        None,
        false,
        Default::default(),
        Limits::default(),
        MailSettings::files(mail_dir),
        None,
    )
    .await
}

/// [`spawn_app_mail`] with `ROSTER_SECRET_KEY` (`None`: unset).
#[allow(clippy::too_many_arguments)]
pub async fn spawn_app_keyed(
    pool: PgPool,
    secure_cookies: bool,
    microsoft: Option<roster_core::microsoft::MicrosoftConfig>,
    with_worker: bool,
    dns: roster_core::ownership::dns::DnsSettings,
    limits: Limits,
    mail: MailSettings,
    secret_key: Option<app::ssr::secrets::SecretKey>,
) -> TestApp {
    spawn_app_connected(
        pool,
        secure_cookies,
        microsoft,
        with_worker,
        dns,
        limits,
        mail,
        secret_key,
        None,
    )
    .await
}

/// Roster's OAuth client in the test Google emulators.
pub const GOOGLE_CLIENT_ID: &str = "123456789012-roster.apps.googleusercontent.com";
pub const GOOGLE_SECRET: &str = "google-api-test-secret";

/// Roster's Google settings for an emulator at `emulator_url`, with quick retries (the
/// redirect URL is set to the app's own once it listens).
pub fn google_config(emulator_url: &str) -> roster_core::google::GoogleConfig {
    use roster_core::google::{GoogleClientSecret, GoogleConfig, GoogleRetry};
    GoogleConfig::new(
        GOOGLE_CLIENT_ID,
        GoogleClientSecret::new(GOOGLE_SECRET),
        "http://placeholder/oauth/google/callback",
    )
    .with_accounts_url(emulator_url)
    .with_oauth2_url(emulator_url)
    .with_admin_url(emulator_url)
    .with_retry(GoogleRetry {
        max_retries: 3,
        base_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(20),
        max_total_wait: std::time::Duration::from_secs(2),
    })
}

/// The app pointed at a Google emulator (accounts, OAuth 2.0 and Admin SDK at `emulator_url`),
/// with the sync worker and `ROSTER_SECRET_KEY`.
pub async fn spawn_app_with_google(pool: PgPool, emulator_url: &str) -> TestApp {
    let mail_dir = std::env::temp_dir().join(format!("roster-test-mail-{}", Uuid::new_v4()));
    spawn_app_connected(
        pool,
        false,
        None,
        true,
        Default::default(),
        Limits::default(),
        MailSettings::files(mail_dir),
        Some(test_secret_key()),
        Some(google_config(emulator_url)),
    )
    .await
}

/// Everything: [`spawn_app_keyed`] with Google Workspace's settings.
#[allow(clippy::too_many_arguments)]
pub async fn spawn_app_connected(
    pool: PgPool,
    secure_cookies: bool,
    microsoft: Option<roster_core::microsoft::MicrosoftConfig>,
    with_worker: bool,
    dns: roster_core::ownership::dns::DnsSettings,
    limits: Limits,
    mail: MailSettings,
    secret_key: Option<app::ssr::secrets::SecretKey>,
    google: Option<roster_core::google::GoogleConfig>,
) -> TestApp {
    // The job queue's tables (`#[sqlx::test]` applies only Roster's migrations).
    worker::setup(&pool).await.unwrap();
    // `ROSTER_TEST_LOG=debug cargo test …` shows the servers' logs.
    if let Ok(filter) = std::env::var("ROSTER_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
    let connect_options = pool.connect_options().as_ref().clone();
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let server_pool = PgPoolOptions::new()
                .max_connections(5)
                .connect_lazy_with(connect_options);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let local = listener.local_addr().unwrap();
            address_tx.send(local).unwrap();
            let microsoft = microsoft.map(|config| app::ssr::MicrosoftSetup {
                client: roster_core::microsoft::MicrosoftClient::new(config).unwrap(),
                public_url: format!("http://{local}"),
            });
            let google = google.map(|mut config| {
                config.redirect_url = format!(
                    "http://{local}{}",
                    app::ssr::google_grant::GOOGLE_CALLBACK_PATH
                );
                roster_core::google::GoogleClient::new(config).unwrap()
            });
            let options = LeptosOptions::builder()
                .output_name("roster")
                .site_root("target/site")
                .site_pkg_dir("pkg")
                .build();
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let stopping = stop_rx.clone();
            let stopped = move || {
                let mut rx = stop_rx.clone();
                async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                }
            };
            let progress = roster_server::progress::channel();
            let state = AppState {
                pool: server_pool.clone(),
                // What the test clients use, so their requests are same-origin.
                public_url: format!("http://{local}"),
                secure_cookies,
                session_ttl: chrono::Duration::hours(1),
                microsoft: microsoft.clone(),
                syncs: std::sync::Arc::new(worker::Queue {
                    pool: server_pool.clone(),
                }),
                progress: progress.clone(),
                dns,
                stopping,
                limits,
                secret_key: secret_key.clone(),
                google: google.clone(),
            };
            // The real worker and progress listener, as in production.
            let engine = worker::Engine {
                pool: server_pool.clone(),
                connectors: app::ssr::connectors::Connectors {
                    microsoft: microsoft.map(|m| m.client),
                    secret_key,
                    google,
                },
                lease: roster_server::sync::lease::LeaseHolder::new(
                    std::time::Duration::from_secs(roster_server::sync::lease::DEFAULT_LEASE_SECS),
                ),
            };
            let worker = tokio::spawn({
                let stopped = stopped();
                async move {
                    if with_worker {
                        worker::run(engine, 2, 90, std::time::Duration::from_secs(5), stopped).await
                    } else {
                        Ok(())
                    }
                }
            });
            let mailer =
                std::sync::Arc::new(Mailer::new(&mail, &format!("http://{local}")).unwrap());
            let reports = tokio::spawn({
                let stopped = stopped();
                let pool = server_pool.clone();
                async move {
                    if with_worker {
                        worker::run_reports(pool, mailer, stopped).await
                    } else {
                        Ok(())
                    }
                }
            });
            let forwarder = tokio::spawn(roster_server::progress::forward(
                server_pool.clone(),
                progress,
                stopped(),
            ));
            let server = tokio::spawn(startup::serve(
                listener,
                startup::router(state, options),
                stopped(),
            ));
            let _ = shutdown_rx.await;
            let _ = stop_tx.send(true);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), worker).await;
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), reports).await;
            let _ = forwarder.await;
            // A client connection whose tasks live on the (now blocked) test runtime may never
            // close by itself: don't wait for it forever.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), server).await;
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(5), server_pool.close()).await;
        });
    });
    let address = format!("http://{}", address_rx.recv().unwrap());
    TestApp {
        address,
        pool,
        shutdown: Some(shutdown_tx),
        server: Some(server),
    }
}

/// The tests' `ROSTER_SECRET_KEY` (`./dev` uses the same fixed key for development).
pub const TEST_SECRET_KEY: &str = "cm9zdGVyLWRldi1zZWNyZXQta2V5LTMyLWJ5dGVzISE=";

pub fn test_secret_key() -> app::ssr::secrets::SecretKey {
    app::ssr::secrets::SecretKey::from_base64(TEST_SECRET_KEY).unwrap()
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        // A stuck request fails the test with a message instead of hanging the suite.
        .timeout(std::time::Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    /// A fresh organization with one admin, not signed in yet.
    pub async fn create_org(&self, name: &str) -> (String, Uuid) {
        let email = format!(
            "admin-{}@{}.example",
            Uuid::new_v4().simple(),
            name.to_lowercase()
        );
        let created = operator::create_organization(
            &self.pool,
            &OrganizationName::parse(name).unwrap(),
            &EmailAddress::parse(&email).unwrap(),
            &NewPassword::parse(PASSWORD).unwrap(),
        )
        .await
        .unwrap();
        (email, created.organization_id)
    }

    /// A fresh organization with a signed-in admin.
    pub async fn admin(&self, org: &str) -> Admin {
        let (email, organization_id) = self.create_org(org).await;
        self.sign_in(email, organization_id).await
    }

    /// Another session (another browser) of an existing admin.
    pub async fn admin_session(&self, email: &str) -> Admin {
        let organization_id =
            sqlx::query_scalar!("select organization_id from admins where email = $1", email)
                .fetch_one(&self.pool)
                .await
                .unwrap();
        self.sign_in(email.to_owned(), organization_id).await
    }

    async fn sign_in(&self, email: String, organization_id: Uuid) -> Admin {
        let client = signed_in_client(&self.address, &email).await;
        Admin {
            email,
            organization_id,
            client,
            address: self.address.clone(),
        }
    }

    pub fn anonymous(&self) -> Admin {
        Admin {
            email: String::new(),
            organization_id: Uuid::nil(),
            client: new_client(),
            address: self.address.clone(),
        }
    }
}

/// Connects `domain` (named `name`) to the emulator's `tenant` as the consent callback stores
/// it once the granter is proven (the consent flow itself is tested in `microsoft.rs`); the
/// tenant lists the domain as verified.
pub async fn connect_to_tenant(
    pool: &PgPool,
    organization_id: Uuid,
    domain: Uuid,
    name: &str,
    tenant: &str,
    granted_by: &str,
) {
    sqlx::query!(
        r#"insert into microsoft_connections (organization_id, domain_id, tenant_id, tenant_name,
               tenant_domains, domain_verified, granted_by_email)
           values ($1, $2, $3, 'Test tenant', array[$4], true, $5)"#,
        organization_id,
        domain,
        tenant,
        name,
        granted_by
    )
    .execute(pool)
    .await
    .unwrap();
}

/// A client signed in at `address` as `email` (with [`PASSWORD`]); the sign-in must succeed.
pub async fn signed_in_client(address: &str, email: &str) -> reqwest::Client {
    let client = new_client();
    let res = post(
        &client,
        address,
        "login",
        &[("email", email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "sign-in failed: {}",
        res.text().await.unwrap()
    );
    client
}

/// POSTs a form to a server function, as the hydrated app does.
pub async fn post(
    client: &reqwest::Client,
    address: &str,
    name: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(format!("{address}/api/{name}"))
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap()
}

impl Admin {
    /// GETs a path of the app with this admin's cookies (redirects are not followed).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    pub async fn raw(&self, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
        post(&self.client, &self.address, name, form).await
    }

    /// Calls a server function and decodes its answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        name: &str,
        form: &[(&str, &str)],
    ) -> Result<T, (StatusCode, AppError)> {
        let res = self.raw(name, form).await;
        let status = res.status();
        let body = res.text().await.unwrap();
        if status.is_success() {
            Ok(serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{name}: cannot decode {body:?}: {e}")))
        } else {
            Err((
                status,
                serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("{name}: cannot decode error {body:?}: {e}")),
            ))
        }
    }

    /// Calls a server function that must succeed.
    pub async fn ok<T: DeserializeOwned>(&self, name: &str, form: &[(&str, &str)]) -> T {
        match self.call(name, form).await {
            Ok(v) => v,
            Err((status, err)) => panic!("{name} failed with {status}: {err:?}"),
        }
    }

    /// Calls a server function that must refuse the input; returns the field errors.
    pub async fn invalid(&self, name: &str, form: &[(&str, &str)]) -> Vec<app::error::FieldError> {
        match self.call::<serde_json::Value>(name, form).await {
            Err((StatusCode::UNPROCESSABLE_ENTITY, AppError::Invalid(errors))) => errors,
            other => panic!("{name}: expected a validation error, got {other:?}"),
        }
    }

    pub async fn create_domain(&self, name: &str, server_type: &str) -> Uuid {
        self.ok(
            "create_domain",
            &[("name", name), ("server_type", server_type)],
        )
        .await
    }
}

/// A domain name no other test uses.
pub fn unique_domain(prefix: &str) -> String {
    format!(
        "{prefix}-{}.example",
        &Uuid::new_v4().simple().to_string()[..10]
    )
}

pub fn fields(errors: &[app::error::FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

/// A Microsoft 365 emulator with one generated tenant (consent granted) with mail at
/// `domains`, deterministic for `seed`; returns it and the tenant's id.
pub async fn generated_tenant(
    users: usize,
    groups: usize,
    domains: &[&str],
    seed: u64,
) -> (roster_m365_emulator::RunningEmulator, String) {
    use roster_m365_emulator::{spawn, EmulatorConfig, GenerateSpec};
    let emu = spawn(
        EmulatorConfig::new(MS_CLIENT_ID, MS_SECRET).with_generated(GenerateSpec {
            users,
            groups,
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            seed,
            consented: true,
            ..GenerateSpec::default()
        }),
    )
    .await
    .unwrap();
    let id = emu.state().summaries()[0].id.clone();
    (emu, id)
}
