//! App-only tokens: the client-credentials grant through the `oauth2` crate, cached per
//! tenant until a minute before they expire, and Microsoft's token errors mapped to
//! [`DirectoryError`] variants.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenResponse,
};
use oauth2::{
    AccessToken, AuthType, ClientId, EndpointNotSet, EndpointSet, HttpClientError,
    RequestTokenError, Scope, StandardRevocableToken, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::graph::{network_error, Inner};
use super::TenantId;
use crate::directory::{DirectoryError, MicrosoftDetail};

/// Tokens are used until this long before they expire.
const SAFETY_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime assumed when Microsoft does not say (it always does: `expires_in`).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// The identity platform's error body: `error`, `error_description` ("AADSTSnnnn: …"),
/// `error_codes`, `trace_id`, `correlation_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AadError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub error_codes: Option<Vec<u64>>,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl fmt::Display for AadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.first_line() {
            Some(line) => write!(f, "{}: {line}", self.error),
            None => f.write_str(&self.error),
        }
    }
}

impl oauth2::ErrorResponse for AadError {}

impl AadError {
    /// The `AADSTS` number: from `error_codes`, else from the description's start.
    fn number(&self) -> Option<u64> {
        if let Some(n) = self.error_codes.as_ref().and_then(|c| c.first()) {
            return Some(*n);
        }
        let rest = self
            .error_description
            .as_deref()?
            .trim_start()
            .strip_prefix("AADSTS")?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }

    fn first_line(&self) -> Option<&str> {
        self.error_description
            .as_deref()
            .and_then(|d| d.lines().next())
            .map(str::trim)
            .filter(|l| !l.is_empty())
    }

    fn detail(&self) -> MicrosoftDetail {
        MicrosoftDetail {
            code: self.number().map(|n| format!("AADSTS{n}")),
            error: Some(self.error.clone()),
            message: self.first_line().map(String::from),
            status: None,
            request_id: self.trace_id.clone(),
            correlation_id: self.correlation_id.clone(),
        }
    }

    /// The typed error an admin sees.
    pub(crate) fn into_directory_error(self) -> DirectoryError {
        let detail = Box::new(self.detail());
        match (self.number(), self.error.as_str()) {
            (Some(700016), _) => DirectoryError::AppNotConsented(detail),
            (Some(7000215 | 7000218), _) => DirectoryError::InvalidClientSecret(detail),
            (Some(7000222), _) => DirectoryError::ClientSecretExpired(detail),
            (Some(90002), _) => DirectoryError::TenantNotFound(detail),
            (Some(70011 | 1002012), _) => DirectoryError::InvalidScope(detail),
            (Some(_), _) => DirectoryError::TokenRefused(detail),
            (None, "unauthorized_client") => DirectoryError::AppNotConsented(detail),
            (None, "invalid_client") => DirectoryError::InvalidClientSecret(detail),
            (None, "invalid_scope") => DirectoryError::InvalidScope(detail),
            (None, _) => DirectoryError::TokenRefused(detail),
        }
    }
}

type TokenClient = oauth2::Client<
    AadError,
    BasicTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

#[derive(Clone)]
struct Cached {
    token: AccessToken,
    use_until: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// Tokens per tenant. One request for a tenant's token at a time; tenants do not wait for
/// each other.
#[derive(Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl TokenCache {
    fn slot(&self, tenant: &TenantId) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .entry(tenant.as_str().to_string())
            .or_default()
            .clone()
    }

    /// A token for the tenant, from the cache while it has more than a minute to live.
    pub(crate) async fn token(
        &self,
        inner: &Inner,
        tenant: &TenantId,
    ) -> Result<AccessToken, DirectoryError> {
        let slot = self.slot(tenant);
        let mut cached = slot.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.use_until) {
            return Ok(c.token.clone());
        }
        let fresh = fetch(inner, tenant).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// A new token after `stale` was refused, unless another request already replaced it.
    pub(crate) async fn refresh(
        &self,
        inner: &Inner,
        tenant: &TenantId,
        stale: &AccessToken,
    ) -> Result<AccessToken, DirectoryError> {
        let slot = self.slot(tenant);
        let mut cached = slot.lock().await;
        if let Some(c) = cached
            .as_ref()
            .filter(|c| c.token.secret() != stale.secret() && Instant::now() < c.use_until)
        {
            return Ok(c.token.clone());
        }
        *cached = None;
        let fresh = fetch(inner, tenant).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }
}

/// How long a token with this lifetime is used: until a minute before it expires (half its
/// life when that is shorter than two minutes).
fn usable_for(lifetime: Duration) -> Duration {
    let margin = SAFETY_MARGIN.min(lifetime / 2);
    lifetime.saturating_sub(margin)
}

/// Asks the token endpoint of the tenant for an app-only token.
async fn fetch(inner: &Inner, tenant: &TenantId) -> Result<Cached, DirectoryError> {
    let config = &inner.config;
    let token_url = format!("{}/{}/oauth2/v2.0/token", inner.login_base, tenant);
    let token_url = TokenUrl::new(token_url).map_err(|e| DirectoryError::InvalidConfig {
        reason: format!("the login URL does not make a valid token URL ({e})."),
    })?;
    let client: TokenClient = oauth2::Client::new(ClientId::new(config.client_id.clone()))
        .set_client_secret(oauth2::ClientSecret::new(
            config.client_secret.expose().to_string(),
        ))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(token_url);
    let started = Instant::now();
    let answer = client
        .exchange_client_credentials()
        .add_scope(Scope::new(config.scope.clone()))
        .request_async(&inner.http)
        .await;
    match answer {
        Ok(response) => {
            let lifetime = response.expires_in().unwrap_or(DEFAULT_LIFETIME);
            tracing::debug!(tenant = %tenant, expires_in = lifetime.as_secs(), "got an app-only token");
            Ok(Cached {
                token: response.access_token().clone(),
                use_until: started + usable_for(lifetime),
            })
        }
        Err(RequestTokenError::ServerResponse(aad)) => {
            tracing::warn!(
                tenant = %tenant,
                error = %aad.error,
                code = ?aad.number(),
                trace_id = aad.trace_id.as_deref().unwrap_or(""),
                correlation_id = aad.correlation_id.as_deref().unwrap_or(""),
                "token request refused"
            );
            Err(aad.into_directory_error())
        }
        Err(RequestTokenError::Request(HttpClientError::Reqwest(e))) => {
            tracing::warn!(tenant = %tenant, error = %e, "token request failed");
            Err(network_error(&inner.login_host, &e))
        }
        Err(RequestTokenError::Request(e)) => Err(DirectoryError::Unreachable {
            host: inner.login_host.clone(),
            reason: e.to_string(),
        }),
        // The body is not echoed: a success body would hold the token.
        Err(RequestTokenError::Parse(e, _)) => {
            tracing::warn!(tenant = %tenant, error = %e, "token answer not understood");
            Err(DirectoryError::InvalidResponse {
                reason: format!("the token endpoint's answer could not be read ({e})."),
            })
        }
        Err(RequestTokenError::Other(reason)) => {
            tracing::warn!(tenant = %tenant, %reason, "token answer not understood");
            Err(DirectoryError::InvalidResponse {
                reason: format!("the token endpoint answered unexpectedly ({reason})."),
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(json: &str) -> AadError {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn real_token_errors_map_to_their_variants() {
        let wrong_secret = parse(include_str!(
            "../../../emulator/tests/samples/token_error_invalid_client_7000215.json"
        ));
        let e = wrong_secret.into_directory_error();
        assert!(matches!(e, DirectoryError::InvalidClientSecret(_)), "{e:?}");
        let d = e.microsoft().unwrap();
        assert_eq!(d.code.as_deref(), Some("AADSTS7000215"));
        assert_eq!(d.error.as_deref(), Some("invalid_client"));
        assert_eq!(
            d.message.as_deref(),
            Some("AADSTS7000215: Invalid client secret is provided.")
        );
        assert_eq!(
            d.request_id.as_deref(),
            Some("b179b7db-c957-4917-a1b6-66fab2042a00")
        );

        let not_consented = parse(include_str!(
            "../../../emulator/tests/samples/token_error_unauthorized_client_700016.json"
        ));
        let e = not_consented.into_directory_error();
        assert!(matches!(e, DirectoryError::AppNotConsented(_)), "{e:?}");
        assert_eq!(e.microsoft_code(), Some("AADSTS700016"));
        assert!(!e.to_string().contains("AADSTS"));
    }

    #[test]
    fn codes_come_from_error_codes_or_the_description() {
        let cases = [
            (
                r#"{"error":"invalid_client","error_codes":[7000222]}"#,
                "ClientSecretExpired",
            ),
            (
                r#"{"error":"invalid_request","error_codes":[90002]}"#,
                "TenantNotFound",
            ),
            (
                r#"{"error":"invalid_scope","error_codes":[70011]}"#,
                "InvalidScope",
            ),
            (
                r#"{"error":"invalid_scope","error_codes":[1002012]}"#,
                "InvalidScope",
            ),
            (
                r#"{"error":"invalid_client","error_codes":[7000218]}"#,
                "InvalidClientSecret",
            ),
            (
                r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found."}"#,
                "TenantNotFound",
            ),
            (
                r#"{"error":"invalid_request","error_codes":[900144]}"#,
                "TokenRefused",
            ),
            (r#"{"error":"unauthorized_client"}"#, "AppNotConsented"),
            (r#"{"error":"invalid_client"}"#, "InvalidClientSecret"),
            (r#"{"error":"temporarily_unavailable"}"#, "TokenRefused"),
        ];
        for (json, variant) in cases {
            let e = parse(json).into_directory_error();
            assert!(format!("{e:?}").starts_with(variant), "{json} → {e:?}");
        }
        let e = parse(r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found.\r\nTrace ID: 1"}"#)
            .into_directory_error();
        assert_eq!(e.microsoft_code(), Some("AADSTS90002"));
        assert_eq!(
            e.microsoft().and_then(|d| d.message.as_deref()),
            Some("AADSTS90002: Tenant 'x' not found.")
        );
    }

    #[test]
    fn tokens_are_used_until_a_minute_before_expiry() {
        assert_eq!(
            usable_for(Duration::from_secs(3599)),
            Duration::from_secs(3539)
        );
        assert_eq!(usable_for(Duration::from_secs(60)), Duration::from_secs(30));
        assert_eq!(usable_for(Duration::ZERO), Duration::ZERO);
    }
}
