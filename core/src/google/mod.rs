//! The Google Workspace connector: a super admin's OAuth grant (refresh token) lets Roster read
//! the Workspace's users, groups and group members through the Admin SDK Directory API.
//!
//! - Settings: [`GoogleConfig`] (client id and secret, the accounts, OAuth 2.0 and Admin SDK
//!   base URLs — Google's by default, the emulator's by configuration —, the redirect URL).
//! - The grant (`grant.rs`): the authorization URL, the code exchange and its ID token's
//!   checks ([`GoogleClient::prove_grant`]), revocation.
//! - Access tokens from the refresh token, cached until near expiry (`token.rs`).
//! - Requests (`api.rs`): `fields=` limited to what normalization needs, `nextPageToken`
//!   paging, retries with exponential backoff and jitter for throttling and 5xx, and a
//!   per-process pacing under the Cloud project's quota ([`GoogleConfig::requests_per_minute`]);
//!   batch requests (`batch.rs`) that read the first page of members of many groups in one
//!   HTTP request ([`GoogleConfig::member_batch`]), each part paced and retried alike.
//! - [`GoogleDirectory`]: the [`Directory`] of one Workspace — Test Connection (`sample.rs`)
//!   and full change rounds (`round.rs`); which domains the Workspace owns (`domains.rs`).
//!
//! One [`GoogleClient`] (HTTP client, pacing, token and key caches) serves every Workspace.

mod api;
mod batch;
mod config;
mod domains;
mod grant;
mod model;
mod round;
mod sample;
mod token;

pub use config::{
    GoogleClientSecret, GoogleConfig, GoogleRetry, RefreshToken, DEFAULT_ACCOUNTS_URL,
    DEFAULT_ADMIN_URL, DEFAULT_MEMBER_BATCH, DEFAULT_OAUTH2_URL, PROJECT_QUOTA_PER_MINUTE,
};
pub use domains::WorkspaceDomains;
pub use grant::{GrantError, GrantStart, ProvenGrant, GRANT_SCOPES};
pub use round::GoogleChanges;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::directory::{
    ChangePager, ConnectionTest, Directory, DirectoryError, DomainRules, ResumeState,
    VerifiedDomains,
};

/// The connector: an HTTP client (no redirects, rustls), the pacing of this process, and the
/// token and signing-key caches, shared by every Workspace. Cheap to clone.
#[derive(Clone)]
pub struct GoogleClient {
    inner: Arc<api::Inner>,
}

impl fmt::Debug for GoogleClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl GoogleClient {
    /// Checks the URLs and builds the HTTP client.
    pub fn new(config: GoogleConfig) -> Result<GoogleClient, DirectoryError> {
        Ok(GoogleClient {
            inner: Arc::new(api::Inner::new(config)?),
        })
    }

    pub fn config(&self) -> &GoogleConfig {
        &self.inner.config
    }

    /// The Workspace's customer id (read from its first user): the directory's identity.
    pub async fn customer_id(&self, refresh: &RefreshToken) -> Result<String, DirectoryError> {
        domains::customer_id(&self.inner, refresh).await
    }

    /// The Workspace's domains and domain aliases.
    pub async fn workspace_domains(
        &self,
        refresh: &RefreshToken,
    ) -> Result<WorkspaceDomains, DirectoryError> {
        domains::workspace_domains(&self.inner, refresh).await
    }

    /// The directory of the Workspace `customer_id`, read as the grant of `refresh`.
    pub fn directory(&self, customer_id: &str, refresh: RefreshToken) -> GoogleDirectory {
        GoogleDirectory {
            client: self.clone(),
            customer_id: customer_id.trim().to_owned(),
            refresh,
            skip_suspended: false,
        }
    }
}

/// One Workspace's directory, read with a grant's refresh token.
#[derive(Clone)]
pub struct GoogleDirectory {
    client: GoogleClient,
    customer_id: String,
    refresh: RefreshToken,
    /// Leave suspended users out (Google bounces their mail); by default they are kept, marked
    /// disabled.
    skip_suspended: bool,
}

impl fmt::Debug for GoogleDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleDirectory")
            .field("customer_id", &self.customer_id)
            .field("skip_suspended", &self.skip_suspended)
            .finish_non_exhaustive()
    }
}

impl GoogleDirectory {
    /// Leaves suspended users out of rounds and Test Connection ("skip suspended users").
    pub fn skipping_suspended(mut self, skip: bool) -> GoogleDirectory {
        self.skip_suspended = skip;
        self
    }

    /// The Workspace's domains and domain aliases (a run checks its domain is still one).
    pub async fn workspace_domains(&self) -> Result<WorkspaceDomains, DirectoryError> {
        self.client.workspace_domains(&self.refresh).await
    }

    /// The round's pager with its concrete type.
    pub fn full_round(&self) -> GoogleChanges {
        GoogleChanges::new(self.client.inner.clone(), self.refresh.clone())
            .skipping_suspended(self.skip_suspended)
    }
}

#[async_trait]
impl Directory for GoogleDirectory {
    async fn test_connection(&self, rules: &DomainRules) -> Result<ConnectionTest, DirectoryError> {
        sample::test_connection(
            &self.client.inner,
            &self.refresh,
            rules,
            self.skip_suspended,
        )
        .await
    }

    /// The Workspace's customer id.
    fn identity(&self) -> String {
        self.customer_id.clone()
    }

    /// A full round every time: Google offers no change feed Roster uses.
    fn changes(&self, _resume: Option<&ResumeState>) -> Box<dyn ChangePager> {
        Box::new(self.full_round())
    }

    /// The Workspace's verified domains and verified domain aliases, read now.
    async fn verified_domains(&self) -> Result<Option<VerifiedDomains>, DirectoryError> {
        Ok(Some(
            self.workspace_domains().await?.verified(&self.customer_id),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let config = GoogleConfig::new(
            "id.apps.googleusercontent.com",
            GoogleClientSecret::new("very-secret-value"),
            "https://roster.example/cb",
        );
        assert_eq!(config.accounts_url, "https://accounts.google.com");
        assert_eq!(config.oauth2_url, "https://oauth2.googleapis.com");
        assert_eq!(config.admin_url, "https://admin.googleapis.com");
        let client = GoogleClient::new(config).unwrap();
        assert!(!format!("{client:?}").contains("very-secret-value"));
        assert!(format!("{client:?}").contains("<redacted>"));
        let directory = client.directory(" C03ly86ew ", RefreshToken::new("1//refresh-secret"));
        assert!(!format!("{directory:?}").contains("refresh-secret"));
        assert!(!format!("{:?}", RefreshToken::new("1//refresh-secret")).contains("refresh-secret"));
        assert_eq!(directory.identity(), "C03ly86ew");
    }
}
