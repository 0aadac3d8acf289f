//! An in-memory emulator of the Microsoft identity platform and Microsoft Graph, limited to
//! what Roster uses: admin consent, client-credentials tokens and the directory reads
//! (users, groups, members, contacts, organization, delta), with Microsoft's errors,
//! paging and throttling.
//!
//! Roster's connector talks to it unchanged by pointing its login and Graph base URLs at the
//! emulator's one base URL. Tests start it in-process with [`spawn`] and set the scene through
//! [`RunningEmulator::state`] or the control API under `/_emulator/`.
//!
//! The Google Workspace emulator (OAuth 2.0 and the Admin SDK Directory API) lives in
//! [`google`], with its own router, state and binary (`google-emulator`); it shares the RSA
//! signing key, PKCE check, HTML escaping and background serving with the Microsoft one.

pub mod changes;
pub mod config;
pub mod control;
pub mod counters;
pub mod dns;
mod edit;
pub mod faults;
pub mod generate;
pub mod google;
pub mod graph;
mod html;
pub mod identity;
pub mod model;
mod serving;
pub mod state;
pub mod tenant;
pub mod tokens;

pub use config::EmulatorConfig;
pub use faults::FaultConfig;
pub use generate::GenerateSpec;
pub use model::TenantFile;
pub use state::{EmulatorState, TenantSummary};

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The state shared by all handlers.
pub type SharedState = Arc<EmulatorState>;

/// The whole emulator as an axum router: identity, Graph and the control API on one origin.
pub fn router(state: SharedState) -> Router {
    Router::new()
        .merge(identity::routes())
        .merge(graph::routes())
        .merge(control::routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            microsoft_surface,
        ))
        .with_state(state)
}

/// Counts requests to the Microsoft surfaces and adds the configured latency.
async fn microsoft_surface(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if !path.starts_with("/_emulator/") {
        state.counters().hit(counters::path_kind(&path));
        let latency = state.faults().config().latency_ms;
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
    }
    let method = request.method().clone();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), "request");
    response
}

/// An emulator serving in the background of this process.
pub struct RunningEmulator {
    base_url: String,
    addr: SocketAddr,
    state: SharedState,
    server: serving::Background,
    dns: Option<dns::DnsServer>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`: the login base URL and the Graph base URL alike.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the test DNS server answers, when it was asked for ([`EmulatorConfig::with_dns`]).
    pub fn dns_addr(&self) -> Option<SocketAddr> {
        self.dns.as_ref().map(dns::DnsServer::addr)
    }

    /// Direct access to tenants, consent, tokens, faults and counters.
    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.server.stop().await
    }
}

/// Builds the state from `config`, binds `config.addr` (port 0 = any free port) and serves in
/// a background task. The socket is bound before this returns, so requests can follow at once.
pub async fn spawn(config: EmulatorConfig) -> anyhow::Result<RunningEmulator> {
    let state = Arc::new(EmulatorState::new(&config)?);
    let listener = TcpListener::bind(config.addr).await?;
    let mut running = serve(listener, state)?;
    if let Some(addr) = config.dns_addr {
        running.dns = Some(dns::serve(addr, &running.state).await?);
    }
    Ok(running)
}

/// Serves an existing state on a bound listener in a background task.
pub fn serve(listener: TcpListener, state: SharedState) -> anyhow::Result<RunningEmulator> {
    let addr = listener.local_addr()?;
    let server = serving::Background::start(listener, router(state.clone()));
    Ok(RunningEmulator {
        base_url: format!("http://{addr}"),
        addr,
        state,
        server,
        dns: None,
    })
}
