//! Server-only plumbing for the server functions: the shared state, the signed-in admin,
//! and turning failures into `AppError`s with the details logged.

pub mod auth;
pub mod db;
pub mod respond;

use crate::error::AppError;
use leptos::prelude::use_context;
use sqlx::PgPool;

/// What every request can reach. Provided as Leptos context by the server.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Set the `Secure` flag on cookies (when served over https).
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_ttl: chrono::Duration,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("secure_cookies", &self.secure_cookies)
            .field("session_ttl", &self.session_ttl)
            .finish_non_exhaustive()
    }
}

/// The state the server provided; its absence is a wiring bug, reported as internal.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>()
        .ok_or_else(|| internal(anyhow::anyhow!("AppState is missing from the Leptos context")))
}

/// Logs `err` with its whole cause chain under a fresh reference and returns the error the
/// admin sees, which carries only that reference.
pub fn internal(err: impl Into<anyhow::Error>) -> AppError {
    let err = err.into();
    let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase();
    tracing::error!(%reference, error = ?err, "internal error");
    AppError::Internal { reference }
}

/// `?`-friendly conversion of any error into an internal one, with context.
pub trait OrInternal<T> {
    fn or_internal(self, context: &'static str) -> Result<T, AppError>;
}

impl<T, E> OrInternal<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn or_internal(self, context: &'static str) -> Result<T, AppError> {
        self.map_err(|e| internal(e.into().context(context)))
    }
}
