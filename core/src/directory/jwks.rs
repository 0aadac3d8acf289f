//! ID-token signature checks shared by the connectors whose grant is proven by an OpenID
//! Connect sign-in (Microsoft 365, Google Workspace): the issuer's signing keys (JWKS), found
//! through its OpenID configuration document, cached per process for ten minutes and read
//! again when a token names a key the cache does not know (issuers rotate keys).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::time::Instant;

/// How long an issuer's signing keys are used before they are read again.
const KEYS_TTL: Duration = Duration::from_secs(600);

/// Why an ID token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenProblem {
    #[error("the token endpoint's answer held no ID token")]
    Missing,
    #[error("the ID token could not be read ({0})")]
    Malformed(String),
    #[error("the ID token names a signing key the issuer does not publish")]
    UnknownKey,
    #[error("the ID token's signature is not valid")]
    BadSignature,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is not valid yet")]
    NotYetValid,
    #[error("the ID token's issuer is not the expected one")]
    WrongIssuer,
    #[error("the ID token was issued for another application")]
    WrongAudience,
    #[error("the ID token's nonce is not the one Roster sent")]
    WrongNonce,
    /// Microsoft: the token's `tid` is not the tenant that consented.
    #[error("the ID token is of tenant {got}, not of the tenant that consented")]
    OtherTenant { got: String },
    /// Google: the token's `hd` (the Workspace's primary domain) is not the expected one, or
    /// absent (a consumer Google account).
    #[error("the ID token is of the Google account domain “{got}”, not of a Google Workspace that may be connected")]
    OtherHostedDomain { got: String },
    #[error("the ID token has no {0} claim")]
    MissingClaim(String),
}

/// Why a token could not be checked: its keys could not be read, or the token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwksError {
    /// The OpenID configuration or the JWKS could not be read.
    Keys(String),
    Token(IdTokenProblem),
}

struct IssuerKeys {
    fetched: Instant,
    keys: HashMap<String, DecodingKey>,
}

/// Signing keys per OpenID configuration URL, by `kid`.
#[derive(Default)]
pub(crate) struct JwksCache {
    issuers: Mutex<HashMap<String, Arc<IssuerKeys>>>,
}

#[derive(Deserialize)]
struct OpenIdConfiguration {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<serde_json::Value>,
}

impl JwksCache {
    fn cached(&self, config_url: &str) -> Option<Arc<IssuerKeys>> {
        let issuers = self.issuers.lock().unwrap_or_else(PoisonError::into_inner);
        issuers
            .get(config_url)
            .filter(|k| k.fetched.elapsed() < KEYS_TTL)
            .cloned()
    }

    /// Reads the OpenID configuration, then its JWKS.
    async fn fetch(
        &self,
        http: &reqwest::Client,
        config_url: &str,
    ) -> Result<Arc<IssuerKeys>, JwksError> {
        let config: OpenIdConfiguration = get_json(http, config_url).await?;
        let jwks: JwksDocument = get_json(http, &config.jwks_uri).await?;
        let keys: HashMap<String, DecodingKey> = jwks
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(&jwk).ok().map(|key| (kid, key))
            })
            .collect();
        tracing::debug!(
            config_url,
            keys = keys.len(),
            "read the issuer's signing keys"
        );
        let entry = Arc::new(IssuerKeys {
            fetched: Instant::now(),
            keys,
        });
        self.issuers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(config_url.to_string(), entry.clone());
        Ok(entry)
    }

    /// Checks the token's signature with a key the issuer publishes, and what `validation`
    /// asks (issuer, audience, lifetime); returns its claims.
    pub(crate) async fn decode<T: DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        config_url: &str,
        token: &str,
        validation: &Validation,
    ) -> Result<T, JwksError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| JwksError::Token(IdTokenProblem::Malformed(e.to_string())))?;
        let kid = header
            .kid
            .ok_or(JwksError::Token(IdTokenProblem::UnknownKey))?;
        let (mut keys, fresh) = match self.cached(config_url) {
            Some(keys) => (keys, false),
            None => (self.fetch(http, config_url).await?, true),
        };
        if !fresh && !keys.keys.contains_key(&kid) {
            // A new key (issuers rotate them): read the keys once more.
            keys = self.fetch(http, config_url).await?;
        }
        let key = keys
            .keys
            .get(&kid)
            .ok_or(JwksError::Token(IdTokenProblem::UnknownKey))?;
        jsonwebtoken::decode::<T>(token, key, validation)
            .map(|data| data.claims)
            .map_err(|e| JwksError::Token(problem_of(&e)))
    }
}

fn problem_of(e: &jsonwebtoken::errors::Error) -> IdTokenProblem {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidSignature => IdTokenProblem::BadSignature,
        ErrorKind::ExpiredSignature => IdTokenProblem::Expired,
        ErrorKind::ImmatureSignature => IdTokenProblem::NotYetValid,
        ErrorKind::InvalidIssuer => IdTokenProblem::WrongIssuer,
        ErrorKind::InvalidAudience => IdTokenProblem::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => IdTokenProblem::MissingClaim(claim.clone()),
        _ => IdTokenProblem::Malformed(e.to_string()),
    }
}

async fn get_json<T: DeserializeOwned>(http: &reqwest::Client, url: &str) -> Result<T, JwksError> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| JwksError::Keys(format!("{url}: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(JwksError::Keys(format!("{url} answered {status}")));
    }
    response
        .json()
        .await
        .map_err(|e| JwksError::Keys(format!("{url}: {e}")))
}
