//! Where and as whom Roster reaches Google: the OAuth client (id, secret), the three base URLs
//! (real Google by default, the emulator by configuration alone), the redirect URL, and the
//! pacing of requests. The secrets here are types whose `Debug` prints nothing of them.

use std::fmt;
use std::time::Duration;

/// Google's sign-in and consent pages (`/o/oauth2/v2/auth`) and OpenID configuration.
pub const DEFAULT_ACCOUNTS_URL: &str = "https://accounts.google.com";
/// Google's token and revocation endpoints (`/token`, `/revoke`).
pub const DEFAULT_OAUTH2_URL: &str = "https://oauth2.googleapis.com";
/// The Admin SDK (`/admin/directory/v1/…`).
pub const DEFAULT_ADMIN_URL: &str = "https://admin.googleapis.com";
/// Google's default quota of the Directory API: queries a minute per user per Cloud project.
pub const PROJECT_QUOTA_PER_MINUTE: u32 = 2_400;

/// Groups whose first page of members one batch request reads: 50 pages of 200 members are
/// about a megabyte of answer.
pub const DEFAULT_MEMBER_BATCH: usize = 50;

/// Roster's OAuth client secret. `Debug` prints `<redacted>`; it is not serializable.
#[derive(Clone, PartialEq, Eq)]
pub struct GoogleClientSecret(String);

impl GoogleClientSecret {
    pub fn new(secret: impl Into<String>) -> GoogleClientSecret {
        GoogleClientSecret(secret.into())
    }

    /// The secret itself, for the token endpoint only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for GoogleClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GoogleClientSecret(<redacted>)")
    }
}

/// A grant's refresh token: what lets Roster read the Workspace until it is revoked. Stored
/// encrypted by the server; `Debug` prints `<redacted>`; not serializable.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn new(token: impl Into<String>) -> RefreshToken {
        RefreshToken(token.into())
    }

    /// The token itself, for the token and revocation endpoints (and encryption at rest) only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// How long to keep retrying one request that Google throttles (403 `userRateLimitExceeded` /
/// `quotaExceeded`, 429 `rateLimitExceeded`), answers 5xx, or that cannot connect. Google sends
/// no `Retry-After`: the wait is exponential with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoogleRetry {
    /// Retries of one request at most.
    pub max_retries: u32,
    /// First backoff; doubled each retry.
    pub base_delay: Duration,
    /// Longest single backoff.
    pub max_delay: Duration,
    /// Most time spent waiting for one request.
    pub max_total_wait: Duration,
}

impl Default for GoogleRetry {
    fn default() -> Self {
        GoogleRetry {
            max_retries: 8,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(64),
            max_total_wait: Duration::from_secs(300),
        }
    }
}

/// The Google connector's settings (`ROSTER_GOOGLE_*`).
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    pub client_id: String,
    pub client_secret: GoogleClientSecret,
    /// `https://accounts.google.com` (or the emulator's).
    pub accounts_url: String,
    /// `https://oauth2.googleapis.com` (or the emulator's).
    pub oauth2_url: String,
    /// `https://admin.googleapis.com` (or the emulator's).
    pub admin_url: String,
    /// Where Google sends the admin back after the grant (Roster's callback).
    pub redirect_url: String,
    /// Timeout of one HTTP request (connect, send, read the whole answer).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: GoogleRetry,
    /// Groups whose members are read at the same time.
    pub member_concurrency: usize,
    /// Groups whose first page of members is read in one batch request (Google allows
    /// 1,000); 0 or 1: one `members.list` GET per group.
    pub member_batch: usize,
    /// Directory API requests a minute this process sends at most, all Workspaces together.
    /// Google's quota (2,400 a minute) is per Cloud project, which every Roster instance
    /// shares: each instance takes a share, so with N instances set it to at most 2,400 / N.
    pub requests_per_minute: u32,
}

impl GoogleConfig {
    /// Google's real endpoints, with Roster's OAuth client and callback.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: GoogleClientSecret,
        redirect_url: impl Into<String>,
    ) -> GoogleConfig {
        GoogleConfig {
            client_id: client_id.into(),
            client_secret,
            accounts_url: DEFAULT_ACCOUNTS_URL.into(),
            oauth2_url: DEFAULT_OAUTH2_URL.into(),
            admin_url: DEFAULT_ADMIN_URL.into(),
            redirect_url: redirect_url.into(),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: GoogleRetry::default(),
            member_concurrency: 4,
            member_batch: DEFAULT_MEMBER_BATCH,
            requests_per_minute: PROJECT_QUOTA_PER_MINUTE,
        }
    }

    pub fn with_accounts_url(mut self, url: impl Into<String>) -> GoogleConfig {
        self.accounts_url = url.into();
        self
    }

    pub fn with_oauth2_url(mut self, url: impl Into<String>) -> GoogleConfig {
        self.oauth2_url = url.into();
        self
    }

    pub fn with_admin_url(mut self, url: impl Into<String>) -> GoogleConfig {
        self.admin_url = url.into();
        self
    }

    pub fn with_retry(mut self, retry: GoogleRetry) -> GoogleConfig {
        self.retry = retry;
        self
    }

    pub fn with_requests_per_minute(mut self, per_minute: u32) -> GoogleConfig {
        self.requests_per_minute = per_minute;
        self
    }

    pub fn with_member_batch(mut self, parts: usize) -> GoogleConfig {
        self.member_batch = parts;
        self
    }

    pub fn with_request_timeout(mut self, timeout: Duration) -> GoogleConfig {
        self.request_timeout = timeout;
        self
    }
}
