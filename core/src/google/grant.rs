//! The grant: a Google Workspace super admin lets Roster read the directory through Google's
//! OAuth 2.0 web-server flow, and Roster proves who did.
//!
//! [`GoogleClient::grant_start`] makes the authorization URL (`{accounts}/o/oauth2/v2/auth`:
//! code flow, PKCE S256, the caller's single-use `state`, a `nonce`, `access_type=offline` and
//! `prompt=consent` so that Google hands out a refresh token every time, the read-only
//! Directory scopes plus `openid email`). [`GoogleClient::prove_grant`] redeems the code with
//! the client secret and the PKCE verifier at `{oauth2}/token`, and accepts the grant only if
//! the ID token is signed by a key Google publishes (JWKS through the OpenID configuration,
//! cached: [`crate::directory::jwks`]), issued by Google for Roster's client id, current,
//! carries the nonce Roster made, and names a Workspace (`hd`). [`GoogleClient::revoke`] ends a
//! grant at Google.

use std::fmt;

use jsonwebtoken::{Algorithm, Validation};
use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

use super::api::{network_error, Inner};
use super::config::{RefreshToken, DEFAULT_ACCOUNTS_URL};
use super::token::{token_failure, token_url, GoogleTokenError};
use super::GoogleClient;
use crate::directory::jwks::{IdTokenProblem, JwksError};
use crate::directory::{DirectoryError, GoogleDetail};

/// What Roster asks the admin to grant: read-only users, groups, group members and domains,
/// and who they are.
pub const GRANT_SCOPES: [&str; 6] = [
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
    "https://www.googleapis.com/auth/admin.directory.domain.readonly",
    "openid",
    "email",
];

/// What Roster keeps while the admin is at Google: the URL to send them to, and the request's
/// secrets (the nonce the ID token must carry, the PKCE verifier the code is redeemed with).
pub struct GrantStart {
    pub url: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl fmt::Debug for GrantStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantStart")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A grant proven by a valid ID token: who granted it, their Workspace, and the refresh token
/// that lets Roster read the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenGrant {
    /// The granting account's email (`email`).
    pub email: String,
    /// The granting account's stable id (`sub`).
    pub subject: String,
    /// The Workspace's primary domain (`hd`), lower-case.
    pub hosted_domain: String,
    pub refresh_token: RefreshToken,
}

/// Why a grant was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The code was not redeemed (refused, network, configuration).
    #[error("redeeming the authorization code failed: {0}")]
    Redeem(DirectoryError),
    /// Google's OpenID configuration or keys could not be read.
    #[error("Google's signing keys could not be read: {0}")]
    Keys(String),
    #[error("{0}")]
    IdToken(IdTokenProblem),
    /// Google sent no refresh token (it does with `access_type=offline` and `prompt=consent`).
    #[error("Google sent no refresh token with the grant")]
    NoRefreshToken,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
struct IdTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenFields {}

type CodeClient = oauth2::Client<
    GoogleTokenError,
    StandardTokenResponse<IdTokenFields, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn code_client(inner: &Inner) -> Result<CodeClient, DirectoryError> {
    let invalid = |what: &str, e: &dyn fmt::Display| DirectoryError::GoogleInvalidConfig {
        reason: format!("the {what} is not a valid URL ({e})."),
    };
    Ok(
        oauth2::Client::new(ClientId::new(inner.config.client_id.clone()))
            .set_client_secret(oauth2::ClientSecret::new(
                inner.config.client_secret.expose().to_string(),
            ))
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(
                AuthUrl::new(format!("{}/o/oauth2/v2/auth", inner.accounts_base))
                    .map_err(|e| invalid("authorization URL", &e))?,
            )
            .set_token_uri(token_url(inner)?)
            .set_redirect_uri(
                RedirectUrl::new(inner.config.redirect_url.clone())
                    .map_err(|e| invalid("redirect URL", &e))?,
            ),
    )
}

/// The issuers Google's ID tokens may name: Google's (with and without scheme: Google uses
/// both) and the configured accounts URL (the emulator's). The keys that must have signed the
/// token come from the configured accounts URL in any case.
fn issuers(inner: &Inner) -> Vec<String> {
    let mut issuers = vec![
        DEFAULT_ACCOUNTS_URL.to_string(),
        "accounts.google.com".into(),
    ];
    if !issuers.contains(&inner.accounts_base) {
        issuers.push(inner.accounts_base.clone());
    }
    issuers
}

impl GoogleClient {
    /// The authorization request, with `state` as given (single-use, bound to the session and
    /// domain by the caller).
    pub fn grant_start(&self, state: &str) -> Result<GrantStart, DirectoryError> {
        let client = code_client(&self.inner)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random().secret().clone();
        let state = state.to_string();
        let (url, _) = client
            .authorize_url(|| CsrfToken::new(state))
            .add_scopes(GRANT_SCOPES.iter().map(|s| Scope::new((*s).to_string())))
            .add_extra_param("nonce", nonce.clone())
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent")
            .set_pkce_challenge(challenge)
            .url();
        Ok(GrantStart {
            url: url.into(),
            nonce,
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Redeems the authorization code and validates its ID token: the proof that an account
    /// of a Google Workspace granted this very request. `hosted_domain`, when given, is the
    /// Workspace (`hd`) the grant must come from.
    pub async fn prove_grant(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        hosted_domain: Option<&str>,
    ) -> Result<ProvenGrant, GrantError> {
        let inner = &self.inner;
        let client = code_client(inner).map_err(GrantError::Redeem)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&inner.http)
            .await
            .map_err(|e| GrantError::Redeem(token_failure(inner, e)))?;
        let id_token = response
            .extra_fields()
            .id_token
            .as_deref()
            .ok_or(GrantError::IdToken(IdTokenProblem::Missing))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[inner.config.client_id.as_str()]);
        validation.set_issuer(&issuers(inner));
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let config_url = format!("{}/.well-known/openid-configuration", inner.accounts_base);
        let claims: IdClaims = inner
            .keys
            .decode(&inner.http, &config_url, id_token, &validation)
            .await
            .map_err(|e| match e {
                JwksError::Keys(reason) => GrantError::Keys(reason),
                JwksError::Token(problem) => GrantError::IdToken(problem),
            })?;
        let refresh_token = response
            .refresh_token()
            .map(|t| RefreshToken::new(t.secret().clone()))
            .ok_or(GrantError::NoRefreshToken)?;
        let grant = check_claims(claims, nonce, hosted_domain, refresh_token)
            .map_err(GrantError::IdToken)?;
        tracing::info!(email = %grant.email, hd = %grant.hosted_domain, "Google grant proven");
        Ok(grant)
    }

    /// Ends a grant at Google (`{oauth2}/revoke`). A token Google no longer knows
    /// (`invalid_token`: revoked already) counts as revoked.
    pub async fn revoke(&self, refresh: &RefreshToken) -> Result<(), DirectoryError> {
        let inner = &self.inner;
        inner.tokens.forget(refresh);
        let response = inner
            .http
            .post(format!("{}/revoke", inner.oauth2_base))
            .form(&[("token", refresh.expose())])
            .send()
            .await
            .map_err(|e| network_error(&inner.oauth2_host, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body: GoogleTokenError = response.json().await.unwrap_or_default();
        if body.error == "invalid_token" {
            tracing::info!("the Google grant was already revoked");
            return Ok(());
        }
        tracing::warn!(%status, error = %body.error, "Google refused to revoke the grant");
        let mut error = body.into_directory_error();
        if let DirectoryError::GoogleApi(detail) = &mut error {
            detail.status = Some(status.as_u16());
        } else if error.google().is_none() {
            error = DirectoryError::GoogleApi(Box::new(GoogleDetail {
                status: Some(status.as_u16()),
                ..GoogleDetail::default()
            }));
        }
        Err(error)
    }
}

/// The claims Roster reads from an ID token (signature, `iss`, `aud`, `exp` are checked by
/// `jsonwebtoken` before these are looked at).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct IdClaims {
    sub: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    hd: Option<String>,
    nonce: Option<String>,
}

/// The checks after the signature: this request's nonce, a Workspace account (`hd`, the one
/// expected if any), a verified email.
fn check_claims(
    claims: IdClaims,
    nonce: &str,
    hosted_domain: Option<&str>,
    refresh_token: RefreshToken,
) -> Result<ProvenGrant, IdTokenProblem> {
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(IdTokenProblem::WrongNonce);
    }
    let hd = claims
        .hd
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| IdTokenProblem::OtherHostedDomain {
            got: "none (not a Google Workspace account)".into(),
        })?;
    if let Some(expected) = hosted_domain {
        if !expected.trim().eq_ignore_ascii_case(&hd) {
            return Err(IdTokenProblem::OtherHostedDomain { got: hd });
        }
    }
    let subject = claims
        .sub
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| IdTokenProblem::MissingClaim("sub".into()))?;
    let email = claims
        .email
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| IdTokenProblem::MissingClaim("email".into()))?;
    if claims.email_verified == Some(false) {
        return Err(IdTokenProblem::MissingClaim("email_verified".into()));
    }
    Ok(ProvenGrant {
        email,
        subject,
        hosted_domain: hd,
        refresh_token,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::google::{GoogleClientSecret, GoogleConfig};

    fn claims() -> IdClaims {
        IdClaims {
            sub: Some("110169484474386276334".into()),
            email: Some("admin@example.com".into()),
            email_verified: Some(true),
            hd: Some("Example.com".into()),
            nonce: Some("n-1".into()),
        }
    }

    fn token() -> RefreshToken {
        RefreshToken::new("1//refresh")
    }

    #[test]
    fn a_workspace_token_with_the_nonce_proves_the_grant() {
        let g = check_claims(claims(), "n-1", None, token()).unwrap();
        assert_eq!(g.email, "admin@example.com");
        assert_eq!(g.subject, "110169484474386276334");
        assert_eq!(g.hosted_domain, "example.com");
        assert_eq!(g.refresh_token.expose(), "1//refresh");
        assert!(!format!("{g:?}").contains("1//refresh"));
        assert!(check_claims(claims(), "n-1", Some("example.com"), token()).is_ok());
    }

    #[test]
    fn another_nonce_workspace_or_a_consumer_account_is_refused() {
        assert_eq!(
            check_claims(claims(), "n-2", None, token()),
            Err(IdTokenProblem::WrongNonce)
        );
        assert_eq!(
            check_claims(
                IdClaims {
                    nonce: None,
                    ..claims()
                },
                "n-1",
                None,
                token()
            ),
            Err(IdTokenProblem::WrongNonce)
        );
        assert_eq!(
            check_claims(claims(), "n-1", Some("other.example"), token()),
            Err(IdTokenProblem::OtherHostedDomain {
                got: "example.com".into()
            })
        );
        // A gmail.com account has no `hd`.
        assert!(matches!(
            check_claims(
                IdClaims {
                    hd: None,
                    ..claims()
                },
                "n-1",
                None,
                token()
            ),
            Err(IdTokenProblem::OtherHostedDomain { .. })
        ));
        assert_eq!(
            check_claims(
                IdClaims {
                    sub: None,
                    ..claims()
                },
                "n-1",
                None,
                token()
            ),
            Err(IdTokenProblem::MissingClaim("sub".into()))
        );
        assert!(check_claims(
            IdClaims {
                email_verified: Some(false),
                ..claims()
            },
            "n-1",
            None,
            token()
        )
        .is_err());
    }

    #[test]
    fn the_authorization_url_asks_for_an_offline_read_only_grant_with_pkce() {
        let client = GoogleClient::new(GoogleConfig::new(
            "roster.apps.googleusercontent.com",
            GoogleClientSecret::new("s"),
            "https://roster.example/oauth/google/callback",
        ))
        .unwrap();
        let start = client.grant_start("org.abc").unwrap();
        let url = reqwest::Url::parse(&start.url).unwrap();
        assert_eq!(
            format!(
                "{}://{}{}",
                url.scheme(),
                url.host_str().unwrap(),
                url.path()
            ),
            "https://accounts.google.com/o/oauth2/v2/auth"
        );
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let q = |k: &str| q.get(k).cloned().unwrap_or_default();
        assert_eq!(q("response_type"), "code");
        assert_eq!(q("client_id"), "roster.apps.googleusercontent.com");
        assert_eq!(
            q("redirect_uri"),
            "https://roster.example/oauth/google/callback"
        );
        assert_eq!(q("state"), "org.abc");
        assert_eq!(q("nonce"), start.nonce);
        assert_eq!(q("access_type"), "offline");
        assert_eq!(q("prompt"), "consent");
        assert_eq!(q("code_challenge_method"), "S256");
        assert_eq!(
            q("code_challenge"),
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
                start.pkce_verifier.clone()
            ))
            .as_str()
        );
        assert_eq!(q("scope"), GRANT_SCOPES.join(" "));
        // Two starts never share their secrets.
        let other = client.grant_start("org.abc").unwrap();
        assert_ne!(other.nonce, start.nonce);
        assert_ne!(other.pkce_verifier, start.pkce_verifier);
        assert!(!format!("{start:?}").contains(&start.pkce_verifier));
    }

    #[test]
    fn google_tokens_may_name_googles_issuers_or_the_configured_one() {
        let real = GoogleClient::new(GoogleConfig::new(
            "id",
            GoogleClientSecret::new("s"),
            "https://r/cb",
        ))
        .unwrap();
        assert_eq!(
            issuers(&real.inner),
            ["https://accounts.google.com", "accounts.google.com"]
        );
        let emulated = GoogleClient::new(
            GoogleConfig::new("id", GoogleClientSecret::new("s"), "https://r/cb")
                .with_accounts_url("http://127.0.0.1:9000/"),
        )
        .unwrap();
        assert_eq!(
            issuers(&emulated.inner),
            [
                "https://accounts.google.com",
                "accounts.google.com",
                "http://127.0.0.1:9000"
            ]
        );
    }
}
