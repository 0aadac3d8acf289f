//! Access tokens from a grant's refresh token (the `oauth2` crate's refresh grant at
//! `{oauth2}/token`), cached per grant until a minute before they expire, and the token
//! endpoint's errors (`{"error","error_description"}`) mapped to [`DirectoryError`]s.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenResponse,
};
use oauth2::{
    AccessToken, AuthType, ClientId, EndpointNotSet, EndpointSet, HttpClientError,
    RequestTokenError, StandardRevocableToken, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::api::{backoff, first_line, network_error, Inner};
use super::config::RefreshToken;
use crate::directory::{DirectoryError, GoogleDetail};

/// Tokens are used until this long before they expire.
const SAFETY_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime assumed when Google does not say (it does: `expires_in` 3599).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Google's token endpoint error body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GoogleTokenError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

impl fmt::Display for GoogleTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_description {
            Some(d) => write!(f, "{}: {d}", self.error),
            None => f.write_str(&self.error),
        }
    }
}

impl oauth2::ErrorResponse for GoogleTokenError {}

impl GoogleTokenError {
    fn detail(&self) -> GoogleDetail {
        GoogleDetail {
            status: None,
            reason: None,
            error: Some(self.error.clone()),
            message: self.error_description.as_deref().and_then(first_line),
        }
    }

    /// The typed error an admin sees.
    pub(crate) fn into_directory_error(self) -> DirectoryError {
        let detail = Box::new(self.detail());
        match self.error.as_str() {
            "invalid_grant" => DirectoryError::GoogleGrantRevoked(detail),
            "invalid_client" | "unauthorized_client" => {
                DirectoryError::GoogleClientRejected(detail)
            }
            "access_denied" | "invalid_scope" => DirectoryError::GoogleNotAuthorized(detail),
            _ => DirectoryError::GoogleApi(detail),
        }
    }
}

pub(crate) type RefreshClient = oauth2::Client<
    GoogleTokenError,
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

/// Access tokens per grant (keyed by the refresh token itself, held only in memory). One
/// refresh per grant at a time; grants do not wait for each other.
#[derive(Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<RefreshToken, Slot>>,
}

impl TokenCache {
    fn slot(&self, refresh: &RefreshToken) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(refresh.clone()).or_default().clone()
    }

    /// An access token for the grant, from the cache while it has more than a minute to live.
    pub(crate) async fn token(
        &self,
        inner: &Inner,
        refresh: &RefreshToken,
    ) -> Result<AccessToken, DirectoryError> {
        let slot = self.slot(refresh);
        let mut cached = slot.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.use_until) {
            return Ok(c.token.clone());
        }
        let fresh = fetch(inner, refresh).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// A new token after `stale` was refused, unless another request already replaced it.
    pub(crate) async fn refresh(
        &self,
        inner: &Inner,
        refresh: &RefreshToken,
        stale: &AccessToken,
    ) -> Result<AccessToken, DirectoryError> {
        let slot = self.slot(refresh);
        let mut cached = slot.lock().await;
        if let Some(c) = cached
            .as_ref()
            .filter(|c| c.token.secret() != stale.secret() && Instant::now() < c.use_until)
        {
            return Ok(c.token.clone());
        }
        *cached = None;
        let fresh = fetch(inner, refresh).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets the grant's access token (after a revocation).
    pub(crate) fn forget(&self, refresh: &RefreshToken) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(refresh);
    }
}

/// How long a token with this lifetime is used: until a minute before it expires (half its
/// life when that is shorter than two minutes).
fn usable_for(lifetime: Duration) -> Duration {
    let margin = SAFETY_MARGIN.min(lifetime / 2);
    lifetime.saturating_sub(margin)
}

pub(crate) fn token_url(inner: &Inner) -> Result<TokenUrl, DirectoryError> {
    TokenUrl::new(format!("{}/token", inner.oauth2_base)).map_err(|e| {
        DirectoryError::GoogleInvalidConfig {
            reason: format!("the OAuth 2.0 URL does not make a valid token URL ({e})."),
        }
    })
}

/// The typed error of a failed token request (the body is never echoed: a success body would
/// hold a token).
pub(crate) fn token_failure(
    inner: &Inner,
    error: RequestTokenError<HttpClientError<reqwest::Error>, GoogleTokenError>,
) -> DirectoryError {
    match error {
        RequestTokenError::ServerResponse(e) => {
            tracing::warn!(error = %e.error, description = e.error_description.as_deref().unwrap_or(""),
                "Google's token endpoint refused the request");
            e.into_directory_error()
        }
        RequestTokenError::Request(HttpClientError::Reqwest(e)) => {
            tracing::warn!(error = %e, "token request failed");
            network_error(&inner.oauth2_host, &e)
        }
        RequestTokenError::Request(e) => DirectoryError::GoogleUnreachable {
            host: inner.oauth2_host.clone(),
            reason: e.to_string(),
        },
        RequestTokenError::Parse(e, _) => {
            tracing::warn!(error = %e, "token answer not understood");
            DirectoryError::GoogleInvalidResponse {
                reason: format!("the token endpoint's answer could not be read ({e})."),
            }
        }
        RequestTokenError::Other(reason) => {
            tracing::warn!(%reason, "token answer not understood");
            DirectoryError::GoogleInvalidResponse {
                reason: format!("the token endpoint answered unexpectedly ({reason})."),
            }
        }
    }
}

/// Asks the token endpoint for an access token of the grant; a connection failure or timeout
/// is tried again with the same backoff and budget as the Directory API's requests.
async fn fetch(inner: &Inner, refresh: &RefreshToken) -> Result<Cached, DirectoryError> {
    let policy = inner.config.retry;
    let mut retries = 0u32;
    let mut waited = Duration::ZERO;
    loop {
        let error = match fetch_once(inner, refresh).await {
            Ok(cached) => return Ok(cached),
            Err(
                e @ (DirectoryError::GoogleUnreachable { .. }
                | DirectoryError::GoogleTimedOut { .. }),
            ) => e,
            Err(e) => return Err(e),
        };
        let wait = backoff(&policy, retries);
        if retries >= policy.max_retries || waited + wait > policy.max_total_wait {
            return Err(error);
        }
        retries += 1;
        waited += wait;
        tokio::time::sleep(wait).await;
    }
}

async fn fetch_once(inner: &Inner, refresh: &RefreshToken) -> Result<Cached, DirectoryError> {
    let config = &inner.config;
    let client: RefreshClient = oauth2::Client::new(ClientId::new(config.client_id.clone()))
        .set_client_secret(oauth2::ClientSecret::new(
            config.client_secret.expose().to_string(),
        ))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(token_url(inner)?);
    let started = Instant::now();
    let answer = client
        .exchange_refresh_token(&oauth2::RefreshToken::new(refresh.expose().to_string()))
        .request_async(&inner.http)
        .await;
    match answer {
        Ok(response) => {
            let lifetime = response.expires_in().unwrap_or(DEFAULT_LIFETIME);
            tracing::debug!(expires_in = lifetime.as_secs(), "got a Google access token");
            Ok(Cached {
                token: response.access_token().clone(),
                use_until: started + usable_for(lifetime),
            })
        }
        Err(e) => Err(token_failure(inner, e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(json: &str) -> GoogleTokenError {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn token_errors_map_to_their_variants() {
        let e = parse(
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
        )
        .into_directory_error();
        assert!(matches!(e, DirectoryError::GoogleGrantRevoked(_)), "{e:?}");
        assert!(e
            .to_string()
            .contains("Grant permission again as a super admin"));
        assert!(e.needs_admin() && !e.is_transient());
        let d = e.google().unwrap();
        assert_eq!(d.error.as_deref(), Some("invalid_grant"));
        assert_eq!(
            d.message.as_deref(),
            Some("Token has been expired or revoked.")
        );
        // FACTS.md: 401 unauthorized_client, with Google's real description.
        let e = parse(r#"{"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}"#)
            .into_directory_error();
        assert!(
            matches!(e, DirectoryError::GoogleClientRejected(_)),
            "{e:?}"
        );
        let e = parse(
            r#"{"error":"invalid_client","error_description":"The OAuth client was not found."}"#,
        )
        .into_directory_error();
        assert!(
            matches!(e, DirectoryError::GoogleClientRejected(_)),
            "{e:?}"
        );
        let e = parse(r#"{"error":"invalid_grant","error_description":"Bad Request"}"#)
            .into_directory_error();
        assert!(matches!(e, DirectoryError::GoogleGrantRevoked(_)));
        let e = parse(r#"{"error":"temporarily_unavailable"}"#).into_directory_error();
        assert!(matches!(e, DirectoryError::GoogleApi(_)), "{e:?}");
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
