//! Proof of who granted admin consent: an OpenID Connect sign-in to the consenting tenant.
//!
//! Microsoft's consent answer (`tenant=…&admin_consent=True`) travels through the browser and
//! proves nothing: anyone can type it. So after it, the admin signs in (authorization code flow,
//! `scope=openid profile`, a `nonce`, PKCE S256) at `{login}/{tenant}/oauth2/v2.0/authorize`;
//! Roster redeems the code itself with its client secret and the PKCE verifier, and accepts the
//! ID token only if it is signed by a key of the tenant's JWKS (found through the tenant's
//! OpenID configuration document), issued by `{login}/{tenant}/v2.0` for Roster's client id,
//! current, carries the nonce Roster made, and names the same tenant (`tid`).
//!
//! Signing keys are cached per process for ten minutes and fetched again when a token names a
//! key the cache does not know (Microsoft rotates keys): [`crate::directory::jwks`].

use std::fmt;

use jsonwebtoken::{Algorithm, Validation};
use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, HttpClientError, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::graph::{network_error, Inner};
use super::token::AadError;
use super::{MicrosoftClient, TenantId};
pub use crate::directory::jwks::IdTokenProblem;
use crate::directory::jwks::{JwksCache, JwksError};
use crate::directory::DirectoryError;

/// Directory role template id of Global Administrator, as the `wids` claim lists it.
pub const GLOBAL_ADMINISTRATOR_ROLE: &str = "62e90394-69f5-4237-9190-012177145e10";

/// What Roster keeps while the admin signs in: the URL to send them to, and the request's
/// secrets (the nonce the ID token must carry, the PKCE verifier the code is redeemed with).
pub struct SignInStart {
    pub url: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl fmt::Debug for SignInStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInStart")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The account that signed in, proven by a valid ID token of the expected tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granter {
    pub tenant_id: TenantId,
    /// The account's object id (`oid`).
    pub oid: String,
    /// `preferred_username` (the user principal name, such as adele@contoso.com).
    pub username: String,
    pub name: Option<String>,
    /// The token's `wids` hold the Global Administrator role.
    pub global_admin: bool,
}

/// Why the sign-in did not prove the tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The code was not redeemed (refused, network, configuration).
    #[error("redeeming the sign-in code failed: {0}")]
    Redeem(DirectoryError),
    /// The tenant's OpenID configuration or keys could not be read.
    #[error("the tenant's signing keys could not be read: {0}")]
    Keys(String),
    #[error("{0}")]
    IdToken(IdTokenProblem),
}

#[derive(Clone, Debug, Deserialize, Serialize)]
struct IdTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenFields {}

type CodeClient = oauth2::Client<
    AadError,
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

impl MicrosoftClient {
    fn code_client(
        &self,
        tenant: &TenantId,
        redirect_uri: &str,
    ) -> Result<CodeClient, DirectoryError> {
        let inner = &self.inner;
        let invalid = |what: &str, e: &dyn fmt::Display| DirectoryError::InvalidConfig {
            reason: format!("the {what} is not a valid URL ({e})."),
        };
        let base = format!("{}/{}/oauth2/v2.0", inner.login_base, tenant);
        Ok(
            oauth2::Client::new(ClientId::new(inner.config.client_id.clone()))
                .set_client_secret(oauth2::ClientSecret::new(
                    inner.config.client_secret.expose().to_string(),
                ))
                .set_auth_type(AuthType::RequestBody)
                .set_auth_uri(
                    AuthUrl::new(format!("{base}/authorize"))
                        .map_err(|e| invalid("authorization URL", &e))?,
                )
                .set_token_uri(
                    TokenUrl::new(format!("{base}/token")).map_err(|e| invalid("token URL", &e))?,
                )
                .set_redirect_uri(
                    RedirectUrl::new(redirect_uri.to_string())
                        .map_err(|e| invalid("redirect URI", &e))?,
                ),
        )
    }

    /// The sign-in request for `tenant` (authorization code flow with PKCE and a nonce), with
    /// `state` as given.
    pub fn sign_in_start(
        &self,
        tenant: &TenantId,
        redirect_uri: &str,
        state: &str,
    ) -> Result<SignInStart, DirectoryError> {
        let client = self.code_client(tenant, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random().secret().clone();
        let state = state.to_string();
        let (url, _) = client
            .authorize_url(|| CsrfToken::new(state))
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("profile".into()))
            .add_extra_param("nonce", nonce.clone())
            .add_extra_param("response_mode", "query")
            .set_pkce_challenge(challenge)
            .url();
        Ok(SignInStart {
            url: url.into(),
            nonce,
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Redeems the sign-in code and validates its ID token: the proof that an account of
    /// `tenant` signed in to answer this very request.
    pub async fn prove_sign_in(
        &self,
        tenant: &TenantId,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Granter, SignInError> {
        let inner = &self.inner;
        let client = self
            .code_client(tenant, redirect_uri)
            .map_err(SignInError::Redeem)?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&inner.http)
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(RequestTokenError::ServerResponse(aad)) => {
                return Err(SignInError::Redeem(aad.into_directory_error()))
            }
            Err(RequestTokenError::Request(HttpClientError::Reqwest(e))) => {
                return Err(SignInError::Redeem(network_error(&inner.login_host, &e)))
            }
            Err(e) => {
                return Err(SignInError::Redeem(DirectoryError::InvalidResponse {
                    reason: format!("the token endpoint's answer could not be read ({e})."),
                }))
            }
        };
        // The access token is of no use to Roster; only the ID token is read.
        let id_token = response
            .extra_fields()
            .id_token
            .as_deref()
            .ok_or(SignInError::IdToken(IdTokenProblem::Missing))?;
        let claims = inner.keys.validate(inner, tenant, id_token).await?;
        check_claims(claims, tenant, nonce).map_err(SignInError::IdToken)
    }
}

/// The claims Roster reads from an ID token (signature, `iss`, `aud`, `exp`, `nbf` are checked
/// by `jsonwebtoken` before these are looked at).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct IdClaims {
    tid: Option<String>,
    oid: Option<String>,
    preferred_username: Option<String>,
    name: Option<String>,
    nonce: Option<String>,
    #[serde(default)]
    wids: Vec<String>,
}

/// The checks after the signature: the nonce of this request, the consenting tenant, an account.
fn check_claims(
    claims: IdClaims,
    tenant: &TenantId,
    nonce: &str,
) -> Result<Granter, IdTokenProblem> {
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(IdTokenProblem::WrongNonce);
    }
    let tid = claims
        .tid
        .ok_or_else(|| IdTokenProblem::MissingClaim("tid".into()))?;
    if TenantId::parse(&tid).ok().as_ref() != Some(tenant) {
        return Err(IdTokenProblem::OtherTenant { got: tid });
    }
    let oid = claims
        .oid
        .filter(|o| !o.trim().is_empty())
        .ok_or_else(|| IdTokenProblem::MissingClaim("oid".into()))?;
    let username = claims
        .preferred_username
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| IdTokenProblem::MissingClaim("preferred_username".into()))?;
    Ok(Granter {
        tenant_id: tenant.clone(),
        oid,
        username,
        name: claims.name.filter(|n| !n.trim().is_empty()),
        global_admin: claims.wids.iter().any(|w| w == GLOBAL_ADMINISTRATOR_ROLE),
    })
}

/// Each tenant's ID-token signing keys (the shared [`JwksCache`], keyed by the tenant's OpenID
/// configuration URL).
#[derive(Default)]
pub(crate) struct KeyCache {
    jwks: JwksCache,
}

impl KeyCache {
    /// Checks the token's signature, issuer, audience and lifetime; returns its claims.
    async fn validate(
        &self,
        inner: &Inner,
        tenant: &TenantId,
        token: &str,
    ) -> Result<IdClaims, SignInError> {
        let config_url = format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            inner.login_base, tenant
        );
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[inner.config.client_id.as_str()]);
        validation.set_issuer(&[format!("{}/{}/v2.0", inner.login_base, tenant)]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud"]);
        validation.validate_nbf = true;
        self.jwks
            .decode(&inner.http, &config_url, token, &validation)
            .await
            .map_err(|e| match e {
                JwksError::Keys(reason) => SignInError::Keys(reason),
                JwksError::Token(problem) => SignInError::IdToken(problem),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const CONTOSO: &str = "6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f";

    fn claims() -> IdClaims {
        IdClaims {
            tid: Some(CONTOSO.into()),
            oid: Some("0a1b".into()),
            preferred_username: Some("adele@contoso.com".into()),
            name: Some("Adele Vance".into()),
            nonce: Some("n-1".into()),
            wids: vec![
                GLOBAL_ADMINISTRATOR_ROLE.into(),
                "b79fbf4d-3ef9-4689-8143-76b194e85509".into(),
            ],
        }
    }

    fn contoso() -> TenantId {
        TenantId::parse(CONTOSO).unwrap()
    }

    #[test]
    fn a_token_of_the_tenant_with_the_nonce_proves_the_granter() {
        let g = check_claims(claims(), &contoso(), "n-1").unwrap();
        assert_eq!(g.username, "adele@contoso.com");
        assert_eq!(g.oid, "0a1b");
        assert!(g.global_admin);
        let plain = IdClaims {
            wids: vec![],
            ..claims()
        };
        assert!(!check_claims(plain, &contoso(), "n-1").unwrap().global_admin);
    }

    #[test]
    fn another_tenant_or_nonce_is_refused() {
        let other = IdClaims {
            tid: Some("11111111-2222-4333-8444-555555555555".into()),
            ..claims()
        };
        assert!(matches!(
            check_claims(other, &contoso(), "n-1"),
            Err(IdTokenProblem::OtherTenant { .. })
        ));
        assert_eq!(
            check_claims(claims(), &contoso(), "n-2"),
            Err(IdTokenProblem::WrongNonce)
        );
        let no_nonce = IdClaims {
            nonce: None,
            ..claims()
        };
        assert_eq!(
            check_claims(no_nonce, &contoso(), "n-1"),
            Err(IdTokenProblem::WrongNonce)
        );
        let no_tid = IdClaims {
            tid: None,
            ..claims()
        };
        assert_eq!(
            check_claims(no_tid, &contoso(), "n-1"),
            Err(IdTokenProblem::MissingClaim("tid".into()))
        );
    }

    #[test]
    fn the_sign_in_request_carries_pkce_a_nonce_and_the_state() {
        let client = MicrosoftClient::new(
            super::super::MicrosoftConfig::new("app-id", super::super::ClientSecret::new("s"))
                .with_login_url("https://login.example"),
        )
        .unwrap();
        let start = client
            .sign_in_start(&contoso(), "https://roster.example/cb", "org.abc")
            .unwrap();
        let url = url_of(&start.url);
        assert_eq!(
            url.0,
            format!("https://login.example/{CONTOSO}/oauth2/v2.0/authorize")
        );
        let q = |k: &str| url.1.get(k).cloned().unwrap_or_default();
        assert_eq!(q("response_type"), "code");
        assert_eq!(q("scope"), "openid profile");
        assert_eq!(q("state"), "org.abc");
        assert_eq!(q("nonce"), start.nonce);
        assert_eq!(q("code_challenge_method"), "S256");
        assert_eq!(
            q("code_challenge"),
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
                start.pkce_verifier.clone()
            ))
            .as_str()
        );
        assert_eq!(q("redirect_uri"), "https://roster.example/cb");
        assert!(!format!("{start:?}").contains(&start.pkce_verifier));
    }

    fn url_of(s: &str) -> (String, HashMap<String, String>) {
        let url = reqwest::Url::parse(s).unwrap();
        let base = format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.path()
        );
        (base, url.query_pairs().into_owned().collect())
    }
}
