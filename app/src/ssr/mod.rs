//! Server-only plumbing for the server functions: the shared state, the signed-in admin,
//! and turning failures into `AppError`s with the details logged.

pub mod auth;
pub mod connectors;
pub mod db;
pub mod google_grant;
pub mod grant_state;
pub mod jobs;
pub mod limits;
pub mod microsoft_consent;
pub mod respond;
pub mod root;
pub mod secrets;
pub mod sync_streams;

use crate::error::AppError;
use leptos::prelude::use_context;
use sqlx::PgPool;

/// What every request can reach. Provided as Leptos context by the server.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// `ROSTER_PUBLIC_URL` without a trailing slash: its origin is the only one whose
    /// requests may change anything, and the only one redirects go to.
    pub public_url: String,
    /// Set the `Secure` flag on cookies (when served over https); the session cookie is then
    /// `__Host-roster_session`.
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_ttl: chrono::Duration,
    /// The Microsoft 365 connector, when this installation has an app registration.
    pub microsoft: Option<MicrosoftSetup>,
    /// Where sync runs are queued (the server's apalis queue).
    pub syncs: std::sync::Arc<dyn jobs::SyncJobs>,
    /// Payloads of `sync_progress` notifications (`<organization_id>:<run_id>`; empty: reload
    /// everything), for the live progress streams.
    pub progress: tokio::sync::broadcast::Sender<String>,
    /// Where domain-ownership TXT lookups go (`ROSTER_DNS_SERVER`, or the system's resolvers).
    pub dns: roster_core::ownership::dns::DnsSettings,
    /// Becomes `true` when the server is shutting down: long-lived streams end then.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Concurrent password hashes and the per-client sign-in rate.
    pub limits: limits::Limits,
    /// `ROSTER_SECRET_KEY`, which seals LDAP passwords and Google grants; `None`: LDAP and
    /// Google Workspace sync are not configured.
    pub secret_key: Option<secrets::SecretKey>,
    /// The Google Workspace connector (its OAuth client and redirect URL), when configured.
    pub google: Option<roster_core::google::GoogleClient>,
}

impl AppState {
    /// The connector registry of this installation.
    pub fn connectors(&self) -> connectors::Connectors {
        connectors::Connectors {
            microsoft: self.microsoft.as_ref().map(|m| m.client.clone()),
            secret_key: self.secret_key.clone(),
            google: self.google.clone(),
        }
    }
}

/// Roster's Microsoft 365 app registration and where Microsoft sends admins back to.
#[derive(Clone, Debug)]
pub struct MicrosoftSetup {
    /// Holds the client id, secret (redacted in `Debug`), login and Graph URLs.
    pub client: roster_core::microsoft::MicrosoftClient,
    /// `ROSTER_PUBLIC_URL`, without a trailing slash.
    pub public_url: String,
}

impl MicrosoftSetup {
    /// The redirect URI registered for the app: `{public}/oauth/microsoft/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("{}{}", self.public_url, MICROSOFT_CALLBACK_PATH)
    }
}

/// Where Microsoft redirects the admin after the consent screen.
pub const MICROSOFT_CALLBACK_PATH: &str = "/oauth/microsoft/callback";

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.public_url)
            .field("secure_cookies", &self.secure_cookies)
            .field("session_ttl", &self.session_ttl)
            .field("microsoft", &self.microsoft)
            .field("google", &self.google)
            .finish_non_exhaustive()
    }
}

/// Everything a server function needs from its request, taken from the Leptos context
/// before the first `.await`: the reactive owner that holds the context is not guaranteed
/// to be current again once the function has been suspended on a multi-threaded runtime.
#[derive(Clone, Debug)]
pub struct Request {
    pub state: AppState,
    pub parts: Option<http::request::Parts>,
    pub response: Option<leptos_axum::ResponseOptions>,
}

impl Request {
    /// Captures the request from the context; call it synchronously, before any `.await`.
    pub fn capture() -> Result<Request, AppError> {
        let state = use_context::<AppState>().ok_or_else(|| {
            internal(anyhow::anyhow!(
                "AppState is missing from the Leptos context"
            ))
        })?;
        Ok(Request {
            state,
            parts: use_context::<http::request::Parts>(),
            response: use_context::<leptos_axum::ResponseOptions>(),
        })
    }

    /// A request for a plain axum route (not a server function), from its headers.
    pub fn from_headers(state: AppState, headers: http::HeaderMap) -> Request {
        let mut parts = http::Request::new(()).into_parts().0;
        parts.headers = headers;
        Request {
            state,
            parts: Some(parts),
            response: None,
        }
    }

    /// Whether the browser posted a plain HTML form (JavaScript off).
    pub fn accepts_html(&self) -> bool {
        self.parts.as_ref().is_some_and(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        })
    }

    /// Sends the browser to `path` after this call, as `leptos_axum::redirect` does: a real
    /// redirect for a plain form post, a hint the hydrated app follows otherwise.
    pub fn redirect(&self, path: &str) {
        let Some(response) = &self.response else {
            return;
        };
        let Ok(location) = http::HeaderValue::from_str(path) else {
            tracing::warn!(path, "cannot redirect to a path that is not a valid header");
            return;
        };
        response.insert_header(http::header::LOCATION, location);
        if self.accepts_html() {
            response.set_status(http::StatusCode::FOUND);
        } else {
            response.insert_header(
                http::HeaderName::from_static(leptos::server_fn::redirect::REDIRECT_HEADER),
                http::HeaderValue::from_static(""),
            );
        }
    }
}

/// Logs `err` with its whole cause chain under a fresh reference and returns the error the
/// admin sees, which carries only that reference.
pub fn internal(err: impl Into<anyhow::Error>) -> AppError {
    let err = err.into();
    let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase();
    tracing::error!(%reference, error = ?err, "internal error");
    AppError::Internal { reference }
}

/// A directory that could not be read, as the admin sees it: Roster's sentence and
/// Microsoft's code. Everything Microsoft said (text, request id) goes to the log with
/// `what` and the ids in the current span.
pub fn directory_error(err: &roster_core::DirectoryError, what: &'static str) -> AppError {
    match err.microsoft() {
        Some(detail) => tracing::warn!(
            %detail,
            code = detail.code.as_deref(),
            request_id = detail.request_id.as_deref(),
            "{what}: {err}"
        ),
        None => {
            // No directory's own words to show: the admin quotes the reference instead.
            let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase();
            tracing::warn!(%reference, error = ?err, "{what}: {err}");
            return AppError::Directory {
                message: format!("{err} (reference {reference})"),
                microsoft_code: None,
            };
        }
    }
    AppError::Directory {
        message: err.to_string(),
        microsoft_code: err.microsoft_code().map(str::to_owned),
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use roster_core::directory::MicrosoftDetail;
    use roster_core::DirectoryError;

    #[test]
    fn a_directory_error_without_the_directorys_words_gets_a_reference() {
        let err = DirectoryError::TimedOut {
            host: "ldap.example.com".into(),
        };
        let AppError::Directory {
            message,
            microsoft_code,
        } = directory_error(&err, "testing")
        else {
            panic!("not a directory error")
        };
        let (said, reference) = message.rsplit_once(" (reference ").unwrap();
        assert_eq!(said, err.to_string());
        assert_eq!(reference.len(), 9, "{reference}");
        assert!(reference.ends_with(')'));
        assert_eq!(microsoft_code, None);

        let detail = MicrosoftDetail {
            code: Some("Authorization_RequestDenied".into()),
            ..MicrosoftDetail::default()
        };
        let err = DirectoryError::PermissionDenied(Box::new(detail));
        assert_eq!(
            directory_error(&err, "testing"),
            AppError::Directory {
                message: err.to_string(),
                microsoft_code: Some("Authorization_RequestDenied".into()),
            }
        );
    }
}
