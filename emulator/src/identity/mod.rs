//! The Microsoft identity platform surface: admin consent, OpenID Connect sign-in (discovery,
//! keys, authorize) and the token endpoint (client credentials, authorization code).

pub mod consent;
pub mod errors;
pub mod id_token;
pub mod keys;
pub mod sign_in;
pub mod token;

use crate::state::EmulatorState;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub fn routes() -> Router<Arc<EmulatorState>> {
    Router::new()
        .route("/{tenant}/v2.0/adminconsent", get(consent::consent_page))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(sign_in::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(sign_in::keys))
        .route("/{tenant}/oauth2/v2.0/authorize", get(sign_in::authorize))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route("/_emulator/consent", post(consent::consent_decision))
        .route("/_emulator/sign-in", post(sign_in::sign_in))
}
