//! The Microsoft 365 connector: app-only access to a tenant's directory through Microsoft
//! Graph, with a client-credentials token from the Microsoft identity platform.
//!
//! Everything Microsoft-specific is reached through [`MicrosoftConfig`]: the login and Graph
//! base URLs (national clouds, the emulator), the app's client id and secret. One
//! [`MicrosoftClient`] (HTTP client plus token cache) serves every tenant;
//! [`MicrosoftClient::tenant`] gives the [`Directory`] of one tenant.
//!
//! Reading: users (`$select` of the properties normalization uses, `$top=999`), mail-enabled
//! groups, and each group's `transitiveMembers`, following `@odata.nextLink` verbatim. 429, 503
//! and 504 are retried after `Retry-After` (fractional seconds allowed) or with capped,
//! jittered exponential backoff, within a [`RetryPolicy`]; a 401 gets one token refresh.
//! Where per-object reads remain (the connection test's lists), they go through JSON batching
//! (`$batch`, 20 per POST), each inner answer judged and retried like a single GET.

mod batch;
mod delta;
mod graph;
mod model;
mod pager;
#[cfg(test)]
mod samples;
mod sign_in;
mod token;

pub use delta::MicrosoftChanges;
pub use pager::MicrosoftPager;
pub use sign_in::{Granter, IdTokenProblem, SignInError, SignInStart, GLOBAL_ADMINISTRATOR_ROLE};

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::directory::{
    ChangePager, ConnectionTest, Directory, DirectoryError, DomainRules, ResumeState,
};
use crate::DomainName;

/// Microsoft's global login endpoint.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// Microsoft Graph, global service.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";
/// The app-only scope: every application permission consented for Graph.
pub const DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

/// The app's client secret. `Debug` prints `<redacted>`; it is not serializable.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(secret: impl Into<String>) -> ClientSecret {
        ClientSecret(secret.into())
    }

    /// The secret itself, for the token request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

impl From<String> for ClientSecret {
    fn from(secret: String) -> ClientSecret {
        ClientSecret(secret)
    }
}

/// How long to keep retrying one request that is throttled (429), unavailable (503, 504 and
/// other 5xx) or cannot connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of one request at most.
    pub max_retries: u32,
    /// First backoff when Microsoft gives no `Retry-After`; doubled each retry.
    pub base_delay: Duration,
    /// Longest backoff without `Retry-After`.
    pub max_delay: Duration,
    /// Most time spent waiting for one request; a `Retry-After` beyond it fails at once.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 8,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(300),
        }
    }
}

/// Where and as whom to reach Microsoft.
#[derive(Debug, Clone)]
pub struct MicrosoftConfig {
    /// `https://login.microsoftonline.com` (or a national cloud's, or the emulator's).
    pub login_url: String,
    /// `https://graph.microsoft.com` (or a national cloud's, or the emulator's).
    pub graph_url: String,
    /// The app-only scope; `https://graph.microsoft.com/.default`, or the national Graph's.
    pub scope: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Timeout of one HTTP request (connect, send, read the whole answer).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Groups whose members are read at the same time.
    pub member_concurrency: usize,
}

impl MicrosoftConfig {
    /// Microsoft's global cloud, with the app's id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: ClientSecret) -> MicrosoftConfig {
        MicrosoftConfig {
            login_url: DEFAULT_LOGIN_URL.into(),
            graph_url: DEFAULT_GRAPH_URL.into(),
            scope: DEFAULT_SCOPE.into(),
            client_id: client_id.into(),
            client_secret,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            member_concurrency: 4,
        }
    }

    pub fn with_login_url(mut self, url: impl Into<String>) -> MicrosoftConfig {
        self.login_url = url.into();
        self
    }

    pub fn with_graph_url(mut self, url: impl Into<String>) -> MicrosoftConfig {
        self.graph_url = url.into();
        self
    }

    pub fn with_scope(mut self, scope: impl Into<String>) -> MicrosoftConfig {
        self.scope = scope.into();
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> MicrosoftConfig {
        self.retry = retry;
        self
    }

    pub fn with_request_timeout(mut self, timeout: Duration) -> MicrosoftConfig {
        self.request_timeout = timeout;
        self
    }
}

/// A tenant id as Microsoft's login endpoint takes it: a GUID or a verified domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    /// Accepts a GUID or a domain name (lowercased); refuses `common`, `organizations`,
    /// `consumers` and anything that is not a plain path segment.
    pub fn parse(input: &str) -> Result<TenantId, DirectoryError> {
        let trimmed = input.trim();
        let invalid = || DirectoryError::InvalidTenantId {
            tenant: trimmed.to_string(),
        };
        if let Ok(uuid) = uuid::Uuid::parse_str(trimmed) {
            if trimmed.len() == 36 {
                return Ok(TenantId(uuid.hyphenated().to_string()));
            }
            return Err(invalid());
        }
        // A domain's normalized form is plain ASCII letters, digits, hyphens and dots: safe
        // as a path segment.
        DomainName::parse(trimmed)
            .map(|domain| TenantId(domain.as_str().to_string()))
            .map_err(|_| invalid())
    }

    /// Whether this is a tenant's GUID (not one of its domains).
    pub fn is_guid(&self) -> bool {
        uuid::Uuid::parse_str(&self.0).is_ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The connector: an HTTP client (no redirects, rustls) and a per-tenant token cache, shared by
/// all tenants. Cheap to clone.
#[derive(Clone)]
pub struct MicrosoftClient {
    inner: Arc<graph::Inner>,
}

impl fmt::Debug for MicrosoftClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MicrosoftClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl MicrosoftClient {
    /// Checks the URLs and builds the HTTP client.
    pub fn new(config: MicrosoftConfig) -> Result<MicrosoftClient, DirectoryError> {
        Ok(MicrosoftClient {
            inner: Arc::new(graph::Inner::new(config)?),
        })
    }

    pub fn config(&self) -> &MicrosoftConfig {
        &self.inner.config
    }

    /// The directory of one tenant (GUID or verified domain).
    pub fn tenant(&self, tenant_id: &str) -> Result<MicrosoftDirectory, DirectoryError> {
        Ok(MicrosoftDirectory {
            client: self.clone(),
            tenant: TenantId::parse(tenant_id)?,
        })
    }

    /// Gets a token for the tenant, reads the first page of users and of mail-enabled groups,
    /// and returns the first accounts as Roster would store them under `rules`.
    pub async fn test_connection(
        &self,
        tenant_id: &str,
        rules: &DomainRules,
    ) -> Result<ConnectionTest, DirectoryError> {
        self.tenant(tenant_id)?.test_connection(rules).await
    }
}

/// A Microsoft 365 organization (tenant) as `GET /v1.0/organization` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantOrganization {
    pub tenant_id: TenantId,
    pub display_name: String,
    /// Verified domain names, lower-case, the default domain first.
    pub verified_domains: Vec<String>,
}

impl TenantOrganization {
    /// Whether `domain` is one of the tenant's verified domains.
    pub fn has_verified_domain(&self, domain: &DomainName) -> bool {
        self.verified_domains.iter().any(|d| d == domain.as_str())
    }
}

/// One tenant's directory in Microsoft 365.
#[derive(Debug, Clone)]
pub struct MicrosoftDirectory {
    client: MicrosoftClient,
    tenant: TenantId,
}

impl MicrosoftDirectory {
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant
    }

    /// Gets (or reuses) an app-only token: checks the credentials and consent.
    pub async fn check_token(&self) -> Result<(), DirectoryError> {
        self.client
            .inner
            .tokens
            .token(&self.client.inner, &self.tenant)
            .await?;
        Ok(())
    }

    /// The tenant itself (`GET /v1.0/organization`): its id, name and verified domains. Reading
    /// it also proves that Roster holds a working token for the tenant.
    pub async fn organization(&self) -> Result<TenantOrganization, DirectoryError> {
        let inner = &self.client.inner;
        let page: model::GraphPage<model::GraphOrganization> = inner
            .get_json(&self.tenant, &inner.organization_url())
            .await?;
        let org = page
            .value
            .into_iter()
            .next()
            .ok_or_else(|| DirectoryError::InvalidResponse {
                reason: "Microsoft Graph returned no organization for the tenant.".into(),
            })?;
        let mut domains = org.verified_domains;
        // The default domain first, the rest in Microsoft's order.
        domains.sort_by_key(|d| !d.is_default);
        Ok(TenantOrganization {
            tenant_id: TenantId::parse(&org.id)?,
            display_name: org
                .display_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| org.id.clone()),
            verified_domains: domains
                .into_iter()
                .map(|d| d.name.trim().to_ascii_lowercase())
                .collect(),
        })
    }

    /// The pager of a full read, with its concrete type.
    pub fn pager(&self) -> MicrosoftPager {
        MicrosoftPager::new(self.client.inner.clone(), self.tenant.clone())
    }
}

#[async_trait]
impl Directory for MicrosoftDirectory {
    async fn test_connection(&self, rules: &DomainRules) -> Result<ConnectionTest, DirectoryError> {
        pager::test_connection(&self.client.inner, &self.tenant, rules).await
    }

    fn identity(&self) -> String {
        self.tenant.as_str().to_owned()
    }

    fn changes(&self, resume: Option<&ResumeState>) -> Box<dyn ChangePager> {
        Box::new(MicrosoftChanges::new(
            self.client.inner.clone(),
            self.tenant.clone(),
            resume,
        ))
    }

    /// The tenant's verified domains as `/organization` lists them now.
    async fn verified_domains(
        &self,
    ) -> Result<Option<crate::directory::VerifiedDomains>, DirectoryError> {
        let org = self.organization().await?;
        Ok(Some(crate::directory::VerifiedDomains {
            directory_name: org.display_name,
            domains: org.verified_domains,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let config = MicrosoftConfig::new("app", ClientSecret::new("very-secret-value"));
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret-value"));
        assert!(shown.contains("<redacted>"));
        let client = MicrosoftClient::new(config).unwrap();
        assert!(!format!("{client:?}").contains("very-secret-value"));
        assert_eq!(client.config().client_secret.expose(), "very-secret-value");
    }

    #[test]
    fn tenant_ids() {
        let ok = |s: &str| TenantId::parse(s).unwrap().as_str().to_string();
        assert_eq!(
            ok(" 6F2C1A3E-9A7B-4C1D-8E2F-0A1B2C3D4E5F "),
            "6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f"
        );
        assert_eq!(ok("Contoso.onmicrosoft.com"), "contoso.onmicrosoft.com");
        assert_eq!(ok("bücher.example"), "xn--bcher-kva.example");
        for bad in [
            "",
            "common",
            "organizations",
            "consumers",
            "contoso.com/../x",
            "a b.com",
            "x?y.com",
            "{6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f}",
            "6f2c1a3e9a7b4c1d8e2f0a1b2c3d4e5f",
        ] {
            assert!(
                matches!(
                    TenantId::parse(bad),
                    Err(DirectoryError::InvalidTenantId { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_urls_are_a_config_error() {
        let config =
            MicrosoftConfig::new("app", ClientSecret::new("s")).with_graph_url("not a url");
        assert!(matches!(
            MicrosoftClient::new(config),
            Err(DirectoryError::InvalidConfig { .. })
        ));
        let config =
            MicrosoftConfig::new("app", ClientSecret::new("s")).with_login_url("ftp://x.example");
        assert!(matches!(
            MicrosoftClient::new(config),
            Err(DirectoryError::InvalidConfig { .. })
        ));
    }
}
