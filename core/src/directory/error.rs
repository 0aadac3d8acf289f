//! `DirectoryError`: every way reading a customer's directory can fail, as variants the UI can
//! match. `Display` is a sentence for an admin (what is wrong and what to do); what the
//! directory itself said (Microsoft's `AADSTSnnnn` or Graph error code, its text, the request
//! id) is kept apart in a [`MicrosoftDetail`] for the details pane, logs and support.

use std::fmt;

/// What Microsoft answered, kept beside Roster's own message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MicrosoftDetail {
    /// `AADSTS700016` (identity platform) or Graph's `error.code`
    /// (`Authorization_RequestDenied`, `TooManyRequests`, …).
    pub code: Option<String>,
    /// The OAuth `error` of a token answer (`unauthorized_client`, `invalid_client`, …).
    pub error: Option<String>,
    /// Microsoft's own text, first line only (trace lines dropped).
    pub message: Option<String>,
    /// HTTP status of the answer.
    pub status: Option<u16>,
    /// Graph's `request-id`, or the identity platform's `trace_id`.
    pub request_id: Option<String>,
    /// The identity platform's `correlation_id`, or the `client-request-id` Roster sent.
    pub correlation_id: Option<String>,
}

impl fmt::Display for MicrosoftDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(status) = self.status {
            parts.push(format!("HTTP {status}"));
        }
        if let Some(code) = &self.code {
            parts.push(code.clone());
        }
        if let Some(error) = &self.error {
            parts.push(error.clone());
        }
        if let Some(message) = &self.message {
            parts.push(message.clone());
        }
        if let Some(id) = &self.request_id {
            parts.push(format!("request id {id}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// Why a directory could not be read. Each message is a sentence an admin can act on;
/// [`DirectoryError::microsoft`] gives what Microsoft said (boxed to keep results small).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// AADSTS700016: the app has no service principal in the tenant (consent never given or
    /// withdrawn, wrong tenant, or an unknown client id).
    #[error("Roster is not approved in this Microsoft 365 organization: admin consent was never given here or was withdrawn, or the tenant ID belongs to another organization. Ask a Global Administrator to grant consent to Roster.")]
    AppNotConsented(Box<MicrosoftDetail>),
    /// AADSTS7000215 (or 7000218, no secret sent): the client secret is wrong.
    #[error("Microsoft rejected Roster's client secret. Check that the secret's value (not its ID) is configured.")]
    InvalidClientSecret(Box<MicrosoftDetail>),
    /// AADSTS7000222: the client secret has expired.
    #[error("Roster's client secret for Microsoft 365 has expired. Create a new secret for the app registration and configure it.")]
    ClientSecretExpired(Box<MicrosoftDetail>),
    /// AADSTS90002: no such tenant.
    #[error(
        "Microsoft 365 has no organization with this tenant ID or domain. Check the tenant ID."
    )]
    TenantNotFound(Box<MicrosoftDetail>),
    /// AADSTS70011 / AADSTS1002012: the requested scope is not valid.
    #[error("Microsoft refused the permissions Roster asked for (invalid scope). Check the Graph URL and scope of the Microsoft 365 connection.")]
    InvalidScope(Box<MicrosoftDetail>),
    /// Any other refusal of the token endpoint.
    #[error("Microsoft refused to give Roster access to this organization. See the details from Microsoft below.")]
    TokenRefused(Box<MicrosoftDetail>),
    /// Graph 403 (`Authorization_RequestDenied`): a permission is missing or consent was revoked.
    #[error("Roster may not read this directory: a permission (User.Read.All, Group.Read.All) is missing or admin consent was revoked. Ask a Global Administrator to grant consent to Roster again.")]
    PermissionDenied(Box<MicrosoftDetail>),
    /// Graph 401 even with a fresh token.
    #[error("Microsoft 365 did not accept Roster's access token, even a fresh one. Try again later; if this persists, grant consent to Roster again.")]
    TokenRejected(Box<MicrosoftDetail>),
    /// 429 for longer than the retry budget.
    #[error("Microsoft 365 kept asking Roster to slow down (throttling) for longer than Roster waits. The next sync will try again.")]
    Throttled(Box<MicrosoftDetail>),
    /// 503/504 (or 5xx) for longer than the retry budget.
    #[error("Microsoft 365 is temporarily unavailable. The next sync will try again.")]
    ServiceUnavailable(Box<MicrosoftDetail>),
    /// No connection (DNS, refused, TLS, reset).
    #[error("Roster could not reach Microsoft 365 at {host}. Check the network and the login and Graph URLs of the connection.")]
    Unreachable { host: String, reason: String },
    /// No answer in time.
    #[error("Microsoft 365 at {host} did not answer in time. The next sync will try again.")]
    TimedOut { host: String },
    /// Not a GUID nor a domain (or one of the shared names like `common`).
    #[error("“{tenant}” is not a tenant ID. Enter the organization's directory (tenant) ID, e.g. 6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f, or one of its verified domains.")]
    InvalidTenantId { tenant: String },
    /// The connection's own settings are unusable (e.g. a malformed URL).
    #[error("The Microsoft 365 connection is misconfigured: {reason}")]
    InvalidConfig { reason: String },
    /// Another Graph error (e.g. 400 for a query Graph does not accept).
    #[error("Microsoft 365 answered with an error Roster did not expect. See the details from Microsoft below.")]
    Graph(Box<MicrosoftDetail>),
    /// An answer that could not be understood.
    #[error("Microsoft 365 sent an answer Roster could not read.")]
    InvalidResponse { reason: String },
}

impl DirectoryError {
    /// Whether the directory no longer accepts the state a change round resumed from (Graph:
    /// `410 Gone`, or `syncStateNotFound` / `syncStateInvalid` / `resyncRequired`): the round
    /// must start over from scratch.
    pub fn is_sync_state_lost(&self) -> bool {
        let DirectoryError::Graph(detail) = self else {
            return false;
        };
        detail.status == Some(410)
            || matches!(
                detail.code.as_deref(),
                Some("syncStateNotFound" | "syncStateInvalid" | "resyncRequired")
            )
    }

    /// What Microsoft said, when it said something.
    pub fn microsoft(&self) -> Option<&MicrosoftDetail> {
        match self {
            DirectoryError::AppNotConsented(d)
            | DirectoryError::InvalidClientSecret(d)
            | DirectoryError::ClientSecretExpired(d)
            | DirectoryError::TenantNotFound(d)
            | DirectoryError::InvalidScope(d)
            | DirectoryError::TokenRefused(d)
            | DirectoryError::PermissionDenied(d)
            | DirectoryError::TokenRejected(d)
            | DirectoryError::Throttled(d)
            | DirectoryError::ServiceUnavailable(d)
            | DirectoryError::Graph(d) => Some(d),
            DirectoryError::Unreachable { .. }
            | DirectoryError::TimedOut { .. }
            | DirectoryError::InvalidTenantId { .. }
            | DirectoryError::InvalidConfig { .. }
            | DirectoryError::InvalidResponse { .. } => None,
        }
    }

    /// Microsoft's code: `AADSTS700016`, `Authorization_RequestDenied`, …
    pub fn microsoft_code(&self) -> Option<&str> {
        self.microsoft().and_then(|d| d.code.as_deref())
    }

    /// Whether trying again later may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DirectoryError::Throttled(_)
                | DirectoryError::ServiceUnavailable(_)
                | DirectoryError::Unreachable { .. }
                | DirectoryError::TimedOut { .. }
        )
    }

    /// Whether an admin has to fix the connection (credentials, consent, tenant) first.
    pub fn needs_admin(&self) -> bool {
        matches!(
            self,
            DirectoryError::AppNotConsented(_)
                | DirectoryError::InvalidClientSecret(_)
                | DirectoryError::ClientSecretExpired(_)
                | DirectoryError::TenantNotFound(_)
                | DirectoryError::InvalidScope(_)
                | DirectoryError::PermissionDenied(_)
                | DirectoryError::InvalidTenantId { .. }
                | DirectoryError::InvalidConfig { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_sentences_and_keep_microsoft_apart() {
        let detail = MicrosoftDetail {
            code: Some("AADSTS700016".into()),
            error: Some("unauthorized_client".into()),
            message: Some("AADSTS700016: Application with identifier 'x' was not found".into()),
            status: Some(400),
            ..MicrosoftDetail::default()
        };
        let e = DirectoryError::AppNotConsented(Box::new(detail));
        let msg = e.to_string();
        assert!(msg.ends_with('.'));
        assert!(!msg.contains("AADSTS"));
        assert_eq!(e.microsoft_code(), Some("AADSTS700016"));
        assert!(e.needs_admin());
        assert!(!e.is_transient());
        let shown = e.microsoft().map(ToString::to_string).unwrap_or_default();
        assert!(shown.starts_with("HTTP 400, AADSTS700016, unauthorized_client"));
        let e = DirectoryError::TimedOut {
            host: "graph.microsoft.com".into(),
        };
        assert!(e.is_transient());
        assert_eq!(e.microsoft_code(), None);
    }

    #[test]
    fn only_passing_trouble_is_transient() {
        let d = || Box::new(MicrosoftDetail::default());
        let transient = [
            DirectoryError::Throttled(d()),
            DirectoryError::ServiceUnavailable(d()),
            DirectoryError::Unreachable {
                host: "graph.microsoft.com".into(),
                reason: "connection refused".into(),
            },
            DirectoryError::TimedOut {
                host: "graph.microsoft.com".into(),
            },
        ];
        for e in &transient {
            assert!(e.is_transient(), "{e:?}");
        }
        // Consent revoked, credentials, configuration: retrying can't help.
        let permanent = [
            DirectoryError::AppNotConsented(d()),
            DirectoryError::InvalidClientSecret(d()),
            DirectoryError::ClientSecretExpired(d()),
            DirectoryError::TenantNotFound(d()),
            DirectoryError::InvalidScope(d()),
            DirectoryError::TokenRefused(d()),
            DirectoryError::PermissionDenied(d()),
            DirectoryError::Graph(d()),
            DirectoryError::InvalidTenantId {
                tenant: "common".into(),
            },
            DirectoryError::InvalidConfig {
                reason: "bad URL".into(),
            },
            DirectoryError::InvalidResponse {
                reason: "not JSON".into(),
            },
        ];
        for e in &permanent {
            assert!(!e.is_transient(), "{e:?}");
        }
    }
}
