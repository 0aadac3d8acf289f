//! Building and serving the HTTP app. The pool and the shutdown signal are passed in, so
//! tests run the real app against their own database and stop it when they are done.

use crate::security::{headers, origin, origin::PublicOrigin};
use anyhow::{Context, Result};
use app::ssr::{sync_streams, AppState, MICROSOFT_CALLBACK_PATH};
use app::{shell, App};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub async fn connect(database_url: &str, max_connections: u32) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect(database_url)
        .await
        .context(
            "could not connect to Postgres (check DATABASE_URL and that the server is running)",
        )
}

/// Roster's migrations (`migrations/`), built into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

pub async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("applying database migrations")?;
    crate::worker::setup(pool).await
}

/// The whole HTTP app: pages, server functions, static files, and the operator endpoints
/// (`/healthz`, `/readyz`, `/metrics` without a token).
pub fn router(state: AppState, leptos_options: LeptosOptions) -> Router {
    router_with(state, leptos_options, None)
}

/// [`router`], with `/metrics` behind `metrics_token` when given (`ROSTER_METRICS_TOKEN`).
pub fn router_with(
    state: AppState,
    leptos_options: LeptosOptions,
    metrics_token: Option<crate::ops::MetricsToken>,
) -> Router {
    let routes = generate_route_list(App);
    let public = PublicOrigin::of(&state.public_url).unwrap_or_else(|| {
        panic!(
            "ROSTER_PUBLIC_URL must be an http(s) URL, got {:?}",
            state.public_url
        )
    });
    // Where "Grant permission" sends the admin: Microsoft's and Google's sign-in pages.
    let consent_origins: Vec<String> = [
        state
            .microsoft
            .as_ref()
            .and_then(|ms| headers::Policy::origin_of(&ms.client.config().login_url)),
        state
            .google
            .as_ref()
            .and_then(|g| headers::Policy::origin_of(&g.config().accounts_url)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let policy = headers::Policy::new(state.secure_cookies, &consent_origins);
    let limits = state.limits.clone();
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let callback = {
        let state = state.clone();
        move |query, headers| app::ssr::microsoft_consent::callback(state.clone(), query, headers)
    };
    let google_callback = {
        let state = state.clone();
        move |query, headers| app::ssr::google_grant::callback(state.clone(), query, headers)
    };
    let events = {
        let state = state.clone();
        move |path, headers| app::ssr::sync_streams::events(state.clone(), path, headers)
    };
    let changes_csv = {
        let state = state.clone();
        move |path, headers| app::ssr::sync_streams::changes_csv(state.clone(), path, headers)
    };
    let root = {
        let state = state.clone();
        move |headers| app::ssr::root::root(state.clone(), headers)
    };
    let router = Router::new()
        .merge(crate::ops::routes(state.pool.clone(), metrics_token))
        .route("/", axum::routing::get(root))
        .route(MICROSOFT_CALLBACK_PATH, axum::routing::get(callback))
        .route(
            app::ssr::google_grant::GOOGLE_CALLBACK_PATH,
            axum::routing::get(google_callback),
        )
        .route(sync_streams::EVENTS_PATH, axum::routing::get(events))
        .route(
            sync_streams::CHANGES_CSV_PATH,
            axum::routing::get(changes_csv),
        )
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .layer(axum::middleware::from_fn_with_state(
            public,
            origin::refuse_cross_site,
        ));
    let router = crate::limits::apply(router, &limits);
    headers::apply(router, &policy)
        .layer(TraceLayer::new_for_http())
        // No request may hold a connection forever, least of all during shutdown.
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .with_state(leptos_options)
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    // With the peer's address, for the per-client sign-in limit.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving HTTP")
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
