//! What the Microsoft 365 connector logs: request ids of failures, never the client secret or
//! a token. Alone in its own test binary because it installs a thread-local log subscriber.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use reqwest::Method;
use roster_core::microsoft::{ClientSecret, MicrosoftClient, MicrosoftConfig, RetryPolicy};
use roster_core::{directory::collect_accounts, DirectoryError, DomainName, DomainRules};
use roster_m365_emulator::{spawn, EmulatorConfig, RunningEmulator, TenantFile};
use serde_json::{json, Value};
use std::time::Duration;

const CLIENT_ID: &str = "9a8b7c6d-1111-2222-3333-444455556666";
const SECRET: &str = "emulator-test-secret~value";
const CONTOSO: &str = "6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f";

async fn start_contoso() -> RunningEmulator {
    let tenant: TenantFile =
        serde_json::from_str(include_str!("../../emulator/tests/fixtures/contoso.json")).unwrap();
    spawn(EmulatorConfig::new(CLIENT_ID, SECRET).with_tenant(tenant))
        .await
        .unwrap()
}

fn config_for(emu: &RunningEmulator) -> MicrosoftConfig {
    MicrosoftConfig::new(CLIENT_ID, ClientSecret::new(SECRET))
        .with_login_url(emu.base_url())
        .with_graph_url(emu.base_url())
        .with_retry(RetryPolicy {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
}

fn client_for(emu: &RunningEmulator) -> MicrosoftClient {
    MicrosoftClient::new(config_for(emu)).unwrap()
}

fn rules(domain: &str) -> DomainRules {
    DomainRules::new(DomainName::parse(domain).unwrap())
}

async fn control(emu: &RunningEmulator, method: Method, path: &str, body: Option<Value>) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", emu.base_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    assert!(request.send().await.unwrap().status().is_success());
}

async fn read_all(client: &MicrosoftClient, tenant: &str, r: &DomainRules) {
    let mut pager = client.tenant(tenant).unwrap().pager();
    collect_accounts(&mut pager, r).await.unwrap();
}

/// Collects what the connector logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_request_ids_but_never_the_secret_or_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("roster_core=trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = start_contoso().await;
    let client = client_for(&emu);
    control(
        &emu,
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"throttleEvery": 2, "retryAfter": "0.01"})),
    )
    .await;
    read_all(&client, CONTOSO, &rules("contoso.com")).await;
    control(&emu, Method::POST, "/_emulator/tokens/expire", None).await;
    control(&emu, Method::DELETE, "/_emulator/faults", None).await;
    read_all(&client, CONTOSO, &rules("contoso.com")).await;
    let mut wrong = config_for(&emu);
    wrong.client_secret = ClientSecret::new("wrong-secret-value");
    let e = MicrosoftClient::new(wrong)
        .unwrap()
        .test_connection(CONTOSO, &rules("contoso.com"))
        .await
        .unwrap_err();
    assert!(matches!(e, DirectoryError::InvalidClientSecret(_)), "{e:?}");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request_id="), "{logs}");
    assert!(logs.contains("client_request_id="), "{logs}");
    assert!(
        logs.contains("AADSTS7000215") || logs.contains("7000215"),
        "{logs}"
    );
    assert!(!logs.contains(SECRET));
    assert!(!logs.contains("wrong-secret-value"));
    // Tokens are JWT-like: they all start with the base64 of `{"typ":"JWT"`.
    assert!(!logs.contains("eyJ"), "{logs}");
    assert!(!logs.to_ascii_lowercase().contains("bearer"), "{logs}");
}
