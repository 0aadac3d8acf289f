//! `DirectoryError`: every way reading a customer's directory can fail, as variants the UI can
//! match. `Display` is a sentence for an admin (what is wrong and what to do); what the
//! directory itself said (Microsoft's `AADSTSnnnn` or Graph error code, its text, the request
//! id) is kept apart in a [`MicrosoftDetail`] for the details pane, logs and support; what an
//! LDAP server said (its result code, Active Directory's sub-code, its diagnostic text) in an
//! [`LdapDetail`].

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

/// What Google answered (the Directory API's `{"error":{"errors":[{"reason",…}],"code",
/// "message"}}`, or the token endpoint's `{"error","error_description"}`), kept beside
/// Roster's own message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoogleDetail {
    /// HTTP status of the answer.
    pub status: Option<u16>,
    /// The Directory API's first `errors[].reason` (`forbidden`, `accessNotConfigured`,
    /// `userRateLimitExceeded`, `notFound`, …).
    pub reason: Option<String>,
    /// The OAuth `error` of a token answer (`invalid_grant`, `invalid_client`, …).
    pub error: Option<String>,
    /// Google's own text (`message`, or `error_description`), first line, at most 300 chars.
    pub message: Option<String>,
}

impl fmt::Display for GoogleDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(status) = self.status {
            parts.push(format!("HTTP {status}"));
        }
        if let Some(reason) = &self.reason {
            parts.push(reason.clone());
        }
        if let Some(error) = &self.error {
            parts.push(error.clone());
        }
        if let Some(message) = &self.message {
            parts.push(message.clone());
        }
        f.write_str(&parts.join(", "))
    }
}

/// What an LDAP server answered (or what went wrong on the way to it), kept beside Roster's
/// own message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdapDetail {
    /// `host:port` of the server this is about.
    pub server: String,
    /// The LDAP result code (49 invalidCredentials, 32 noSuchObject, …), when the server sent one.
    pub result_code: Option<u32>,
    /// Active Directory's sub-code of a rejected bind (`52e`, `533`, `775`, …).
    pub ad_code: Option<String>,
    /// The server's diagnostic text, or the network/TLS error, first line, cut to 300 chars.
    pub message: Option<String>,
    /// Every server tried before giving up, each with why it failed (connection phase only).
    pub tried: Vec<String>,
}

impl LdapDetail {
    pub fn new(server: impl Into<String>) -> LdapDetail {
        LdapDetail {
            server: server.into(),
            ..LdapDetail::default()
        }
    }

    /// The detail with this diagnostic text (first line, at most 300 characters).
    pub fn with_message(mut self, message: impl AsRef<str>) -> LdapDetail {
        let line = message.as_ref().lines().next().unwrap_or_default().trim();
        if !line.is_empty() {
            self.message = Some(line.chars().take(300).collect());
        }
        self
    }
}

impl fmt::Display for LdapDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = vec![format!("server {}", self.server)];
        if let Some(rc) = self.result_code {
            parts.push(format!("LDAP result {rc}"));
        }
        if let Some(code) = &self.ad_code {
            parts.push(format!("AD code {code}"));
        }
        if let Some(message) = &self.message {
            parts.push(message.clone());
        }
        if !self.tried.is_empty() {
            parts.push(format!("servers tried: {}", self.tried.join("; ")));
        }
        f.write_str(&parts.join(", "))
    }
}

/// Why Active Directory rejected a bind, from the `data NNN` of its diagnostic text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdBindReason {
    /// `52e`
    WrongPassword,
    /// `525`
    NoSuchUser,
    /// `530`
    NotPermittedNow,
    /// `531`
    NotPermittedHere,
    /// `532`
    PasswordExpired,
    /// `533`
    AccountDisabled,
    /// `701`
    AccountExpired,
    /// `773`
    MustResetPassword,
    /// `775`
    LockedOut,
}

impl AdBindReason {
    pub const ALL: [AdBindReason; 9] = [
        AdBindReason::WrongPassword,
        AdBindReason::NoSuchUser,
        AdBindReason::NotPermittedNow,
        AdBindReason::NotPermittedHere,
        AdBindReason::PasswordExpired,
        AdBindReason::AccountDisabled,
        AdBindReason::AccountExpired,
        AdBindReason::MustResetPassword,
        AdBindReason::LockedOut,
    ];

    /// AD's code, as in `data 52e`.
    pub fn code(self) -> &'static str {
        match self {
            AdBindReason::WrongPassword => "52e",
            AdBindReason::NoSuchUser => "525",
            AdBindReason::NotPermittedNow => "530",
            AdBindReason::NotPermittedHere => "531",
            AdBindReason::PasswordExpired => "532",
            AdBindReason::AccountDisabled => "533",
            AdBindReason::AccountExpired => "701",
            AdBindReason::MustResetPassword => "773",
            AdBindReason::LockedOut => "775",
        }
    }

    /// Finds `data <code>` in AD's diagnostic text (`80090308: LdapErr: DSID-0C09042A,
    /// comment: AcceptSecurityContext error, data 52e, v3839`).
    pub fn from_diagnostic(text: &str) -> Option<AdBindReason> {
        let lower = text.to_ascii_lowercase();
        let at = lower.find("data ")?;
        let code: String = lower[at + 5..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        AdBindReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What it means and what to do, for the admin.
    fn explain(self) -> &'static str {
        match self {
            AdBindReason::WrongPassword => "the password is wrong. Enter the account's current password.",
            AdBindReason::NoSuchUser => "no such user exists. Check the user name (user@domain or its full DN).",
            AdBindReason::NotPermittedNow => "the account may not sign in at this time of day. Allow the account to sign in at all hours.",
            AdBindReason::NotPermittedHere => "the account may not sign in from this computer. Remove the account's workstation restriction.",
            AdBindReason::PasswordExpired => "the account's password has expired. Set a new password (ideally one that does not expire for this service account) and enter it here.",
            AdBindReason::AccountDisabled => "the account is disabled. Enable it in Active Directory.",
            AdBindReason::AccountExpired => "the account has expired. Extend its expiry date in Active Directory.",
            AdBindReason::MustResetPassword => "the account must change its password at next sign-in. Set a password without that requirement and enter it here.",
            AdBindReason::LockedOut => "the account is locked out after too many wrong passwords. Unlock it in Active Directory, then check the password entered here.",
        }
    }
}

fn bind_message(user: &str, reason: &Option<AdBindReason>) -> String {
    match reason {
        Some(reason) => format!(
            "The LDAP server rejected the sign-in of “{user}”: {}",
            reason.explain()
        ),
        None => format!("The LDAP server rejected the sign-in of “{user}” (invalid credentials). Check the user name (user@domain or its full DN) and the password."),
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

    /// LDAP: the server's name does not resolve.
    #[error("Roster could not find the LDAP server “{host}”: the name does not resolve in DNS. Check the server name, or enter its IP address.")]
    LdapHostNotFound {
        host: String,
        detail: Box<LdapDetail>,
    },
    /// LDAP: the TCP connection was refused or the host is unreachable.
    #[error("Roster could not connect to the LDAP server at {host}:{port}: the connection was refused or the host is unreachable. Check the server name and port, and that the server accepts connections from Roster.")]
    LdapConnectFailed {
        host: String,
        port: u16,
        detail: Box<LdapDetail>,
    },
    /// LDAP: no TCP connection (or TLS handshake) within the connect timeout.
    #[error("The LDAP server at {host}:{port} did not accept a connection in time. Check the server name and port, and that a firewall lets Roster through.")]
    LdapConnectTimedOut {
        host: String,
        port: u16,
        detail: Box<LdapDetail>,
    },
    /// LDAP: the server's certificate chains to no trusted CA.
    #[error("The certificate of the LDAP server “{host}” is not trusted: no known certificate authority signed it. Paste the certificate of the CA that signed it (PEM) into the connection settings; as a last resort, turn certificate verification off.")]
    LdapTlsUntrusted {
        host: String,
        detail: Box<LdapDetail>,
    },
    /// LDAP: the certificate is valid, but for other names.
    #[error("The certificate of the LDAP server is not valid for the name “{host}”: it was issued for other names. Enter the server by a name its certificate is issued for.")]
    LdapTlsNameMismatch {
        host: String,
        detail: Box<LdapDetail>,
    },
    /// LDAP: any other TLS failure (expired certificate, no common protocol, not TLS at all).
    #[error("Roster could not set up an encrypted connection with the LDAP server “{host}”. Check that the security setting matches the port (LDAPS usually on 636, StartTLS on 389) and that the server's certificate is valid.")]
    LdapTls {
        host: String,
        detail: Box<LdapDetail>,
    },
    /// LDAP: the custom CA certificate could not be used.
    #[error("The CA certificate entered in the connection settings could not be read: {reason} Paste the CA certificate in PEM form (-----BEGIN CERTIFICATE-----).")]
    LdapBadCaCertificate { reason: String },
    /// LDAP result 49 on the bind, with Active Directory's reason where it gave one.
    #[error("{}", bind_message(user, reason))]
    LdapBindRejected {
        user: String,
        reason: Option<AdBindReason>,
        detail: Box<LdapDetail>,
    },
    /// LDAP result 8 (or 13): the server wants an encrypted connection for this bind.
    #[error("The LDAP server “{host}” requires an encrypted connection to sign in. Choose SSL (LDAPS) or StartTLS in the connection settings.")]
    LdapStrongAuthRequired {
        host: String,
        detail: Box<LdapDetail>,
    },
    /// LDAP result 32 on a base DN.
    #[error("The base DN “{base_dn}” does not exist on the LDAP server. Check its spelling, e.g. dc=example,dc=com.")]
    LdapBaseDnNotFound {
        base_dn: String,
        detail: Box<LdapDetail>,
    },
    /// LDAP result 4 (or 11): the server stopped the search at its size limit.
    #[error("The LDAP server stopped the search at its size limit for Roster's account. Raise the limit for that account (for paged searches too), or check that the server supports paged results.")]
    LdapSizeLimit { detail: Box<LdapDetail> },
    /// The search string is not a valid LDAP filter (Roster's parser, or the server's result 87).
    #[error("The LDAP search string is not a valid filter. Check its parentheses, operators (&, |, !) and attribute=value terms, e.g. (&(mail=*)(objectClass=user)).")]
    LdapFilterSyntax { detail: Box<LdapDetail> },
    /// An operation (bind, a page of a search) got no answer in time.
    #[error("The LDAP server “{host}” did not answer in time. The next sync will try again; if this persists, check the server's load.")]
    LdapTimedOut {
        host: String,
        detail: Box<LdapDetail>,
    },
    /// The connection dropped during the read.
    #[error("The connection to the LDAP server “{host}” was lost during the read. Nothing was changed; the next sync will try again.")]
    LdapConnectionLost {
        host: String,
        detail: Box<LdapDetail>,
    },
    /// Any other refusal of the server (insufficient access, busy, unwilling to perform, …).
    #[error("The LDAP server “{host}” refused Roster's request. See the server's answer in the details; check that Roster's account may read the base DNs.")]
    LdapServerError {
        host: String,
        detail: Box<LdapDetail>,
    },

    /// Google: the refresh token is refused (`invalid_grant`): the grant was revoked, the
    /// granting account deleted or suspended, or the token expired.
    #[error("Google no longer accepts the permission granted to Roster: it was revoked, or the account that granted it was deleted, suspended or lost its admin rights. Grant permission again as a super admin of the Google Workspace.")]
    GoogleGrantRevoked(Box<GoogleDetail>),
    /// Google: the Directory API refuses the granting admin (403 `forbidden`, "Not Authorized
    /// to access this resource/api"): not (or no longer) an admin allowed to read users and
    /// groups, or a scope was not granted.
    #[error("Google refused to let Roster read the directory: the account that granted permission is not (or no longer) a super admin, or not every permission was granted. Grant permission again as a super admin of the Google Workspace.")]
    GoogleNotAuthorized(Box<GoogleDetail>),
    /// Google: 403 `accessNotConfigured`: the Admin SDK API is off in Roster's Cloud project.
    #[error("The Admin SDK API is not enabled in the Google Cloud project of Roster's OAuth client. The operator of this Roster service must enable it (APIs & Services, Admin SDK API), then try again in a few minutes.")]
    GoogleApiNotEnabled(Box<GoogleDetail>),
    /// Google: the token endpoint refuses Roster's OAuth client (`invalid_client`,
    /// `unauthorized_client`): a configuration matter of the Roster service.
    #[error("Google refused Roster's OAuth client (its client ID or secret is wrong, or the client is not allowed this request). The operator of this Roster service must check ROSTER_GOOGLE_CLIENT_ID and ROSTER_GOOGLE_CLIENT_SECRET.")]
    GoogleClientRejected(Box<GoogleDetail>),
    /// Google kept throttling (403 `userRateLimitExceeded`/`quotaExceeded`, 429
    /// `rateLimitExceeded`) for longer than the retry budget.
    #[error("Google Workspace kept asking Roster to slow down (rate limits) for longer than Roster waits. The next sync will try again.")]
    GoogleThrottled(Box<GoogleDetail>),
    /// Google answered 5xx for longer than the retry budget.
    #[error("Google Workspace is temporarily unavailable. The next sync will try again.")]
    GoogleUnavailable(Box<GoogleDetail>),
    /// No connection to Google (DNS, refused, TLS, reset).
    #[error("Roster could not reach Google at {host}. The next sync will try again; if this persists, the operator should check the network and the ROSTER_GOOGLE_*_URL settings.")]
    GoogleUnreachable { host: String, reason: String },
    /// No answer from Google in time.
    #[error("Google at {host} did not answer in time. The next sync will try again.")]
    GoogleTimedOut { host: String },
    /// The Workspace that granted permission does not own the domain (neither a verified
    /// domain of it nor a domain alias).
    #[error("The Google Workspace that granted permission does not own {domain}: it is neither one of its verified domains nor a domain alias. Grant permission as a super admin of the Workspace that owns {domain}.")]
    GoogleDomainNotOwned { domain: String },
    /// Another error of the Directory API.
    #[error("Google Workspace answered with an error Roster did not expect. See Google's details below.")]
    GoogleApi(Box<GoogleDetail>),
    /// An answer from Google that could not be understood.
    #[error("Google Workspace sent an answer Roster could not read.")]
    GoogleInvalidResponse { reason: String },
    /// The Google connector's own settings are unusable (a malformed URL).
    #[error("The Google Workspace connector is misconfigured: {reason}")]
    GoogleInvalidConfig { reason: String },
}

impl DirectoryError {
    /// What Google said, when it said something.
    pub fn google(&self) -> Option<&GoogleDetail> {
        match self {
            DirectoryError::GoogleGrantRevoked(d)
            | DirectoryError::GoogleNotAuthorized(d)
            | DirectoryError::GoogleApiNotEnabled(d)
            | DirectoryError::GoogleClientRejected(d)
            | DirectoryError::GoogleThrottled(d)
            | DirectoryError::GoogleUnavailable(d)
            | DirectoryError::GoogleApi(d) => Some(d),
            _ => None,
        }
    }

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

    /// What the LDAP server said (or what failed on the way to it), for LDAP errors.
    pub fn ldap(&self) -> Option<&LdapDetail> {
        match self {
            DirectoryError::LdapHostNotFound { detail, .. }
            | DirectoryError::LdapConnectFailed { detail, .. }
            | DirectoryError::LdapConnectTimedOut { detail, .. }
            | DirectoryError::LdapTlsUntrusted { detail, .. }
            | DirectoryError::LdapTlsNameMismatch { detail, .. }
            | DirectoryError::LdapTls { detail, .. }
            | DirectoryError::LdapBindRejected { detail, .. }
            | DirectoryError::LdapStrongAuthRequired { detail, .. }
            | DirectoryError::LdapBaseDnNotFound { detail, .. }
            | DirectoryError::LdapSizeLimit { detail }
            | DirectoryError::LdapFilterSyntax { detail }
            | DirectoryError::LdapTimedOut { detail, .. }
            | DirectoryError::LdapConnectionLost { detail, .. }
            | DirectoryError::LdapServerError { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// The same error with the list of servers tried (connection phase) in its detail.
    pub fn with_servers_tried(mut self, tried: Vec<String>) -> DirectoryError {
        if let Some(detail) = self.ldap_mut() {
            detail.tried = tried;
        }
        self
    }

    fn ldap_mut(&mut self) -> Option<&mut LdapDetail> {
        match self {
            DirectoryError::LdapHostNotFound { detail, .. }
            | DirectoryError::LdapConnectFailed { detail, .. }
            | DirectoryError::LdapConnectTimedOut { detail, .. }
            | DirectoryError::LdapTlsUntrusted { detail, .. }
            | DirectoryError::LdapTlsNameMismatch { detail, .. }
            | DirectoryError::LdapTls { detail, .. }
            | DirectoryError::LdapBindRejected { detail, .. }
            | DirectoryError::LdapStrongAuthRequired { detail, .. }
            | DirectoryError::LdapBaseDnNotFound { detail, .. }
            | DirectoryError::LdapSizeLimit { detail }
            | DirectoryError::LdapFilterSyntax { detail }
            | DirectoryError::LdapTimedOut { detail, .. }
            | DirectoryError::LdapConnectionLost { detail, .. }
            | DirectoryError::LdapServerError { detail, .. } => Some(detail),
            _ => None,
        }
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
            _ => None,
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
                | DirectoryError::LdapConnectFailed { .. }
                | DirectoryError::LdapConnectTimedOut { .. }
                | DirectoryError::LdapTimedOut { .. }
                | DirectoryError::LdapConnectionLost { .. }
                | DirectoryError::GoogleThrottled(_)
                | DirectoryError::GoogleUnavailable(_)
                | DirectoryError::GoogleUnreachable { .. }
                | DirectoryError::GoogleTimedOut { .. }
        ) || matches!(
            self,
            // busy, unavailable
            DirectoryError::LdapServerError { detail, .. }
                if matches!(detail.result_code, Some(51 | 52))
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
                | DirectoryError::LdapHostNotFound { .. }
                | DirectoryError::LdapTlsUntrusted { .. }
                | DirectoryError::LdapTlsNameMismatch { .. }
                | DirectoryError::LdapTls { .. }
                | DirectoryError::LdapBadCaCertificate { .. }
                | DirectoryError::LdapBindRejected { .. }
                | DirectoryError::LdapStrongAuthRequired { .. }
                | DirectoryError::LdapBaseDnNotFound { .. }
                | DirectoryError::LdapSizeLimit { .. }
                | DirectoryError::LdapFilterSyntax { .. }
                | DirectoryError::GoogleGrantRevoked(_)
                | DirectoryError::GoogleNotAuthorized(_)
                | DirectoryError::GoogleApiNotEnabled(_)
                | DirectoryError::GoogleClientRejected(_)
                | DirectoryError::GoogleDomainNotOwned { .. }
                | DirectoryError::GoogleInvalidConfig { .. }
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
