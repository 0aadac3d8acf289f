//! What operators and load balancers ask a server instance: `GET /healthz` (the process
//! answers), `GET /readyz` (the database answers and has every migration) and `GET /metrics`
//! (Prometheus text). None needs a sign-in; they only read, so the Origin check (which guards
//! requests that change something) lets them through. `/metrics` takes a bearer token when
//! `ROSTER_METRICS_TOKEN` is set.

pub mod metrics;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sqlx::PgPool;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Paths of the operator endpoints.
pub const HEALTHZ_PATH: &str = "/healthz";
pub const READYZ_PATH: &str = "/readyz";
pub const METRICS_PATH: &str = "/metrics";

/// How long `/readyz` waits for the database before it says it is unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// `ROSTER_METRICS_TOKEN`: the bearer token `/metrics` requires. Never in `Debug` or logs.
#[derive(Clone)]
pub struct MetricsToken(Arc<str>);

impl MetricsToken {
    /// `None` for an unset or blank value (metrics open to whoever reaches the port).
    pub fn parse(value: Option<&str>) -> Option<Self> {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| Self(v.into()))
    }

    /// Whether `Authorization: Bearer <token>` carries this token (compared in constant time).
    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let (a, b) = (given.trim().as_bytes(), self.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// The operator endpoints of one instance, on its database.
pub fn routes<S: Clone + Send + Sync + 'static>(
    pool: PgPool,
    metrics_token: Option<MetricsToken>,
) -> Router<S> {
    // Installed now, before any run records anything.
    let _ = metrics::handle();
    let ready = {
        let pool = pool.clone();
        move || readyz(pool.clone())
    };
    let scrape =
        move |headers: HeaderMap| render_metrics(pool.clone(), metrics_token.clone(), headers);
    Router::new()
        .route(HEALTHZ_PATH, get(|| async { "ok\n" }))
        .route(READYZ_PATH, get(ready))
        .route(METRICS_PATH, get(scrape))
}

async fn readyz(pool: PgPool) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, readiness(&pool)).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(reason)) => not_ready(reason),
        Err(_) => not_ready("database unreachable (no answer in 3 s)".to_owned()),
    }
}

fn not_ready(reason: String) -> Response {
    tracing::warn!(%reason, "not ready");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("not ready: {reason}\n"),
    )
        .into_response()
}

/// `Err` with a short reason when the database does not answer or lacks a migration of
/// `migrations/` (an instance of a newer release before `roster-server migrate` ran).
async fn readiness(pool: &PgPool) -> Result<(), String> {
    let applied = sqlx::query_scalar!("select version from _sqlx_migrations where success")
        .fetch_all(pool)
        .await
        .map_err(|error| match error.as_database_error() {
            // undefined_table: a database no migration ever ran on
            Some(db) if db.code().as_deref() == Some("42P01") => {
                "database has no migrations applied (run roster-server migrate)".to_owned()
            }
            _ => {
                tracing::warn!(error = ?error, "readiness: the database did not answer");
                "database unreachable".to_owned()
            }
        })?;
    let applied: HashSet<i64> = applied.into_iter().collect();
    let missing: Vec<String> = crate::startup::MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| m.version.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "migrations not applied: {} (run roster-server migrate)",
            missing.join(", ")
        ))
    }
}

async fn render_metrics(pool: PgPool, token: Option<MetricsToken>, headers: HeaderMap) -> Response {
    if let Some(token) = token {
        if !token.admits(&headers) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required (ROSTER_METRICS_TOKEN)\n",
            )
                .into_response();
        }
    }
    record_queue_depth(&pool).await;
    let handle = metrics::handle();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Sets the queue depth gauge from `apalis.jobs` (jobs waiting for a worker, all instances).
async fn record_queue_depth(pool: &PgPool) {
    let depth = sqlx::query_scalar!(
        r#"select count(*) as "n!" from apalis.jobs
           where job_type = $1 and status in ('Pending', 'Queued')"#,
        crate::worker::QUEUE
    )
    .fetch_one(pool)
    .await;
    match depth {
        Ok(n) => ::metrics::gauge!(metrics::QUEUE_DEPTH).set(n as f64),
        Err(error) => tracing::warn!(error = ?error, "could not read the queue depth"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn the_metrics_token_is_optional_and_checked_exactly() {
        assert!(MetricsToken::parse(None).is_none());
        assert!(MetricsToken::parse(Some("  ")).is_none());
        let token = MetricsToken::parse(Some(" s3cret ")).unwrap();
        assert!(token.admits(&bearer("Bearer s3cret")));
        assert!(!token.admits(&bearer("Bearer s3cre")));
        assert!(!token.admits(&bearer("Bearer s3cret2")));
        assert!(!token.admits(&bearer("Basic s3cret")));
        assert!(!token.admits(&HeaderMap::new()));
        assert_eq!(format!("{token:?}"), "MetricsToken(<redacted>)");
    }
}
