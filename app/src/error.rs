//! The one error type every server function returns. Its variants are what the UI matches
//! on; each one's message is written for an admin, never a developer.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A message about one form field, shown next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The `name` of the form field.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No valid session: sign in first. HTTP 401.
    #[error("Your session has ended. Please sign in again.")]
    Unauthorized,
    /// The thing does not exist, or belongs to another organization. HTTP 404.
    #[error("Not found. It may have been deleted, or the link is wrong.")]
    NotFound,
    /// Sign-in failed; the same for an unknown email and a wrong password. HTTP 401.
    #[error("The email or password is not correct.")]
    BadCredentials,
    /// Too many failed sign-ins for this email. HTTP 429.
    #[error("Too many failed sign-in attempts. Please wait {minutes} minute(s) and try again.")]
    LockedOut { minutes: i64 },
    /// Too many sign-in requests from one client address, whatever the email. HTTP 429.
    #[error("Too many sign-in attempts from your network. Please wait {seconds} second(s) and try again.")]
    RateLimited { seconds: u64 },
    /// The input was refused; nothing was changed. HTTP 422.
    #[error("{}", first_message(.0))]
    Invalid(Vec<FieldError>),
    /// The customer's directory could not be read: `message` says why in an admin's words,
    /// `microsoft_code` is what Microsoft said (`AADSTS700016`, `Authorization_RequestDenied`).
    /// HTTP 502.
    #[error("{message}{}", code_suffix(.microsoft_code))]
    Directory {
        message: String,
        microsoft_code: Option<String>,
    },
    /// This installation has no Microsoft 365 app registration configured. HTTP 503.
    #[error("The Microsoft 365 connection is not configured on this Roster installation. Ask your Roster operator to set it up.")]
    MicrosoftNotConfigured,
    /// The domain has no Microsoft 365 connection yet. HTTP 409.
    #[error("This domain is not connected to Microsoft 365 yet. Grant permission first.")]
    NotConnected,
    /// The request can't be done in the current state (a sync is already running, the plan
    /// was applied already); the message says why and what to do. HTTP 409.
    #[error("{0}")]
    Conflict(String),
    /// The domain's ownership is not proven (a sync was refused), or a check of its DNS record
    /// failed; the message says why and what to do. HTTP 409.
    #[error("{0}")]
    OwnershipNotVerified(String),
    /// Something failed inside Roster; the details are in the log under `reference`. HTTP 500.
    #[error("Something went wrong (reference {reference}). Please try again; if it keeps happening, contact support and quote the reference.")]
    Internal { reference: String },
    /// The request did not reach Roster or its answer could not be read.
    #[error("Roster could not be reached. Check your connection and try again.")]
    Transport(String),
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref()
        .map(|c| format!(" (Microsoft: {c})"))
        .unwrap_or_default()
}

fn first_message(errors: &[FieldError]) -> String {
    errors
        .first()
        .map(|e| e.message.clone())
        .unwrap_or_else(|| "The input is not valid.".to_owned())
}

impl AppError {
    /// A refusal about one field.
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// The message for `field`, if this error is about it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// The message for the form as a whole: everything that is not tied to a field the form
    /// shows (`fields`).
    pub fn form_message(&self, fields: &[&str]) -> Option<String> {
        match self {
            Self::Invalid(errors) => {
                let rest: Vec<_> = errors
                    .iter()
                    .filter(|e| !fields.contains(&e.field.as_str()))
                    .map(|e| e.message.clone())
                    .collect();
                (!rest.is_empty()).then(|| rest.join(" "))
            }
            other => Some(other.to_string()),
        }
    }

    #[cfg(feature = "ssr")]
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::Unauthorized | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::LockedOut { .. } | Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Directory { .. } => StatusCode::BAD_GATEWAY,
            Self::MicrosoftNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotConnected | Self::Conflict(_) | Self::OwnershipNotVerified(_) => {
                StatusCode::CONFLICT
            }
            Self::Transport(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Arguments that could not be read are bad input, not a crash.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                Self::invalid("", "Some of the form's fields are missing or malformed.")
            }
            other => Self::Transport(other.to_string()),
        }
    }
}
