//! An emulator of the parts of Google that Roster's Google Workspace sync uses: the OAuth 2.0
//! web-server flow (consent page, token endpoint, revocation, OpenID discovery, JWKS) and the
//! Admin SDK Directory API reads (users, groups, members, domains, domain aliases), with
//! Google's paging, partial responses, error bodies and faults.
//!
//! Google serves these from three hosts (accounts.google.com, oauth2.googleapis.com,
//! admin.googleapis.com); their paths do not overlap, so one server answers all three and
//! Roster reaches it by pointing its three base URLs at the emulator.

pub mod batch;
pub mod control;
pub mod directory;
pub mod errors;
pub mod fields;
pub mod generate;
pub mod model;
pub mod oauth;
pub mod state;

pub use generate::GenerateSpec;
pub use model::WorkspaceFile;
pub use state::{GoogleConfig, GoogleFaults, GoogleState, ThrottleKind};

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The whole Google emulator as an axum router.
pub fn router(state: Arc<GoogleState>) -> Router {
    Router::new()
        .route("/o/oauth2/v2/auth", get(oauth::auth))
        .route("/_emulator/oauth/consent", post(oauth::consent))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .route(
            "/.well-known/openid-configuration",
            get(oauth::openid_configuration),
        )
        .route("/oauth2/v3/certs", get(oauth::certs))
        .route("/admin/directory/v1/users", get(directory::users))
        .route("/admin/directory/v1/groups", get(directory::groups))
        .route(
            "/admin/directory/v1/groups/{group}/members",
            get(directory::members),
        )
        .route(
            "/admin/directory/v1/customer/{customer}/domains",
            get(directory::domains),
        )
        .route(
            "/admin/directory/v1/customer/{customer}/domainaliases",
            get(directory::domain_aliases),
        )
        .route("/batch", post(batch::batch))
        .route("/batch/admin/directory_v1", post(batch::batch))
        .merge(control::routes())
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

/// Counts requests to Google's surfaces (not the control API) and adds the latency fault to
/// Directory requests.
async fn count(State(state): State<Arc<GoogleState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let mut latency = 0;
    if !path.starts_with("/_emulator/") {
        let mut inner = state.lock();
        inner.counters.total += 1;
        if path.starts_with("/admin/") {
            inner.counters.directory += 1;
            latency = inner.faults.latency_ms;
        } else if path.starts_with("/batch") {
            *inner.counters.by_kind.entry("batch".into()).or_default() += 1;
        } else {
            inner.counters.oauth += 1;
        }
    }
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let method = request.method().clone();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), "google request");
    response
}

/// A Google emulator serving in the background of this process.
pub struct RunningGoogle {
    base_url: String,
    addr: SocketAddr,
    state: Arc<GoogleState>,
    server: crate::serving::Background,
}

impl RunningGoogle {
    /// `http://127.0.0.1:PORT`: the accounts, oauth2 and admin base URL alike.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Direct access to Workspaces, grants, faults and counters.
    pub fn state(&self) -> &Arc<GoogleState> {
        &self.state
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.server.stop().await
    }
}

/// Builds the state, binds `config.addr` (port 0 = any free port) and serves in a background
/// task; the socket is bound before this returns, so requests can follow at once.
pub async fn spawn(config: GoogleConfig) -> anyhow::Result<RunningGoogle> {
    let bind = config.addr;
    let state = Arc::new(GoogleState::new(config)?);
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let server = crate::serving::Background::start(listener, router(state.clone()));
    Ok(RunningGoogle {
        base_url: format!("http://{addr}"),
        addr,
        state,
        server,
    })
}
